//! `bedprov-helper` as real processes, evaluated by real shells: exactly the expected
//! variables, nothing hostile ever executed, refusals leave stdout empty, `exec` passes the
//! exit status through, and a missing daemon is started on demand.

mod common;

use common::{Sandbox, json, run};
use std::fmt::Write as _;
use std::io::{Read as _, Write as _};
use std::process::Command;

/// Runs `script` in `shell` with a clean environment, printing `env` before and after.
fn env_diff(sandbox: &Sandbox, shell: &str, eval: &str) -> (Vec<String>, String) {
    let helper = common::helper_bin();
    let script = format!(
        "env | sort > before; {eval}; env | sort > after; comm -13 before after | cut -d= -f1"
    );
    let mut command = sandbox.command(shell);
    command.current_dir(sandbox.dir.path()).env("BEDPROV_NO_AUTOSTART", "1").env("HELPER", helper);
    command.arg("-c").arg(script);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{shell}: {stderr}");
    (stdout.lines().map(str::to_owned).filter(|l| l != "_" && l != "OLDPWD").collect(), stderr)
}

fn shells() -> Vec<&'static str> {
    ["bash", "dash", "zsh"].into_iter().filter(|s| which(s)).collect()
}

fn which(program: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {program}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

#[test]
fn eval_sets_exactly_the_token_and_region_variables_in_every_shell() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let shells = shells();
    assert!(shells.contains(&"bash") && shells.contains(&"dash"));
    for shell in shells {
        let (added, _) = env_diff(&sandbox, shell, r#"eval "$("$HELPER" env --shell sh)""#);
        // The region under both names: boto3 reads only AWS_DEFAULT_REGION.
        assert_eq!(
            added,
            ["AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION", "AWS_REGION"],
            "{shell}"
        );
        let (_, stderr) = env_diff(
            &sandbox,
            shell,
            r#"eval "$("$HELPER" env --shell sh)"; case "$AWS_BEARER_TOKEN_BEDROCK" in bedrock-api-key-*) ;; *) echo BAD >&2;; esac"#,
        );
        assert!(!stderr.contains("BAD"));
    }
    if which("fish") {
        let mut command = sandbox.command("fish");
        command.env("BEDPROV_NO_AUTOSTART", "1").arg("-c").arg(format!(
            "{} env --shell fish | source; echo $AWS_REGION $AWS_DEFAULT_REGION; string match -q 'bedrock-api-key-*' $AWS_BEARER_TOKEN_BEDROCK; and echo ok",
            common::helper_bin()
        ));
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, "us-east-1 us-east-1\nok\n");
    }
}

#[test]
fn the_shell_is_taken_from_shell_when_not_given() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let mut command = sandbox.helper(&["env"]);
    command.env("SHELL", "/usr/bin/fish");
    assert!(run(&mut command).1.starts_with("set -gx AWS_BEARER_TOKEN_BEDROCK '"));
    let mut command = sandbox.helper(&["env"]);
    command.env("SHELL", "/bin/zsh");
    assert!(run(&mut command).1.starts_with("export AWS_BEARER_TOKEN_BEDROCK='"));
}

#[test]
fn hostile_profile_names_never_execute_anything() {
    let sandbox = Sandbox::new();
    let marker = sandbox.dir.path().join("pwned");
    let hostile = [
        format!("$(touch {})", marker.display()),
        format!("`touch {}`", marker.display()),
        format!("x';touch {};'", marker.display()),
        format!("a\"b;touch {}", marker.display()),
    ];
    let mut credentials = String::new();
    for name in &hostile {
        let (key, secret) = (common::EXAMPLE_KEY_ID, common::EXAMPLE_SECRET);
        let _ = write!(
            credentials,
            "[{name}]\naws_access_key_id = {key}\naws_secret_access_key = {secret}\n"
        );
    }
    sandbox.write_credentials(&credentials);
    let _daemon = sandbox.daemon();
    for name in &hostile {
        for shell in shells() {
            let mut command = sandbox.command(shell);
            command
                .env("BEDPROV_NO_AUTOSTART", "1")
                .env("HELPER", common::helper_bin())
                .env("P", name);
            command.arg("-c").arg(
                r#"eval "$("$HELPER" env --shell sh --profile "$P")"; echo "${AWS_REGION:-unset}""#,
            );
            let (_, stdout, _) = run(&mut command);
            assert!(stdout == "us-east-1\n" || stdout == "unset\n", "{shell} {name}: {stdout}");
        }
        // The profile travels in the query string; even as AWS_PROFILE it cannot escape.
        let mut command = sandbox.helper(&["env"]);
        command.env("AWS_PROFILE", name);
        let (code, stdout, _) = run(&mut command);
        assert!(code == 0 || stdout.is_empty());
    }
    assert!(!marker.exists(), "a hostile profile name was executed");
}

/// A fake daemon that answers every request with `body` (200): for values the real daemon
/// never sends, such as a region with a line break.
fn fake_daemon(sandbox: &Sandbox, body: &'static str) -> std::thread::JoinHandle<()> {
    std::fs::create_dir_all(sandbox.socket().parent().unwrap()).unwrap();
    let listener = std::os::unix::net::UnixListener::bind(sandbox.socket()).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(3) {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n{body}", body.len());
        }
    })
}

#[test]
fn line_breaks_and_nul_from_a_daemon_are_refused_with_empty_stdout() {
    for body in [
        r#"{"token":"bedrock-api-key-x","region":"us-east-1\ntouch /tmp/x","profile":"p","issued_at":"","expires_at":"","credential_expires_at":null,"ttl_seconds":1}"#,
        r#"{"token":"bedrock-api-key-x\r","region":"us-east-1","profile":"p","issued_at":"","expires_at":"","credential_expires_at":null,"ttl_seconds":1}"#,
        r#"{"token":"bedrock-api-key-x\u0000y","region":"us-east-1","profile":"p","issued_at":"","expires_at":"","credential_expires_at":null,"ttl_seconds":1}"#,
    ] {
        let sandbox = Sandbox::new();
        let _server = fake_daemon(&sandbox, body);
        let (code, stdout, stderr) = run(&mut sandbox.helper(&["env"]));
        assert_eq!(code, 2, "{stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("refusing to export"), "{stderr}");
    }
}

#[test]
fn token_json_and_exec_modes() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let (code, token, _) =
        run(&mut sandbox.helper(&["token", "--region", "eu-west-1", "--ttl", "2h"]));
    assert_eq!(code, 0);
    assert_eq!(token.lines().count(), 1);
    let decoded = bedprov::token::decode(&token).unwrap();
    assert_eq!(decoded.region, "eu-west-1");
    assert_eq!(decoded.ttl.as_secs(), 7200);

    let (_, body, _) = run(&mut sandbox.helper(&["json", "--ttl=2h", "--region=eu-west-1"]));
    let body = json(&body);
    assert_eq!(body["token"].as_str().unwrap(), token.trim(), "same slot, same token");

    let mut exec = sandbox.helper(&["exec", "--region", "ap-south-1", "--", "sh", "-c", "test \"$AWS_REGION\" = ap-south-1 && case $AWS_BEARER_TOKEN_BEDROCK in bedrock-api-key-*) exit 42;; esac"]);
    assert_eq!(run(&mut exec).0, 42, "exit status passes through");
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["exec", "--", "/nonexistent/cmd"]));
    assert_eq!(code, 127);
    assert!(stdout.is_empty() && stderr.contains("cannot run"));

    // AWS_REGION from the caller's environment picks the slot, as an SDK would.
    let mut command = sandbox.helper(&["json"]);
    command.env("AWS_REGION", "ca-central-1");
    assert_eq!(json(&run(&mut command).1)["region"], "ca-central-1");
}

#[test]
fn usage_errors_and_a_missing_daemon_leave_stdout_empty() {
    let sandbox = Sandbox::new();
    for (args, code) in [
        (vec![], 2),
        (vec!["bogus"], 2),
        (vec!["exec"], 2),
        (vec!["exec", "--"], 2),
        (vec!["env", "--shell", "cmd"], 2),
        (vec!["env"], 6),
    ] {
        let (got, stdout, stderr) = run(&mut sandbox.helper(&args));
        assert_eq!(got, code, "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains("hint:"), "{stderr}");
    }
    let (code, stdout, _) = run(&mut sandbox.helper(&["--help"]));
    assert_eq!(code, 0);
    assert!(stdout.contains("eval \"$(bedprov-helper env)\""));
}

#[test]
fn a_missing_daemon_is_started_on_demand() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let mut command = sandbox.command(common::helper_bin());
    command.arg("env");
    let (code, stdout, stderr) = run(&mut command);
    // Stop the daemon the helper started, whatever happened.
    let stopped = run(&mut sandbox.bedprov(&["daemon", "stop"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("export AWS_BEARER_TOKEN_BEDROCK='bedrock-api-key-"));
    assert!(stderr.contains("started the bedprov daemon"));
    assert!(stopped.1.contains("stopped"), "{stopped:?}");
}

/// boto3 reads its region only from `AWS_DEFAULT_REGION` (or the config file, which has
/// none here): after `eval "$(bedprov-helper env)"`, under `bedprov-helper exec`, and after
/// `eval "$(bedprov token --format env)"`, a real boto3 client gets the token's region.
#[test]
fn a_boto3_client_gets_the_region_in_every_shell_and_through_exec() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let probe = "import boto3; print(boto3.client('bedrock-runtime').meta.region_name)";
    let shell_run = |shell: &str, script: &str| {
        let mut command = sandbox.command(shell);
        command
            .env("BEDPROV_NO_AUTOSTART", "1")
            .env("HELPER", common::helper_bin())
            .env("BEDPROV", common::bedprov_bin())
            .env("PY", common::python())
            .env("PROBE", probe)
            .arg("-c")
            .arg(script);
        run(&mut command)
    };
    // Without the helper, boto3 has no region at all here.
    let (code, _, stderr) = shell_run("sh", r#""$PY" -c "$PROBE""#);
    assert_ne!(code, 0);
    assert!(stderr.contains("NoRegionError"), "{stderr}");
    for shell in shells() {
        let (code, stdout, stderr) = shell_run(
            shell,
            r#"eval "$("$HELPER" env --shell sh --region eu-central-1)"; "$PY" -c "$PROBE""#,
        );
        assert_eq!((code, stdout.as_str()), (0, "eu-central-1\n"), "{shell}: {stderr}");
        let (code, stdout, stderr) = shell_run(
            shell,
            r#"eval "$("$BEDPROV" token --format env --shell sh --region sa-east-1)"; "$PY" -c "$PROBE""#,
        );
        assert_eq!((code, stdout.as_str()), (0, "sa-east-1\n"), "{shell}: {stderr}");
    }
    if which("fish") {
        let (code, stdout, stderr) = shell_run(
            "fish",
            "$HELPER env --shell fish --region ca-central-1 | source; $PY -c $PROBE",
        );
        assert_eq!((code, stdout.as_str()), (0, "ca-central-1\n"), "fish: {stderr}");
    }
    let mut exec = sandbox.helper(&["exec", "--region", "ap-northeast-1", "--"]);
    exec.arg(common::python()).args(["-c", probe]);
    let (code, stdout, stderr) = run(&mut exec);
    assert_eq!((code, stdout.as_str()), (0, "ap-northeast-1\n"), "{stderr}");
}

/// Everything after `--` is the command's, even flags the helper itself knows.
#[test]
fn exec_runs_everything_after_the_double_dash_even_the_helpers_own_flags() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let mut python = sandbox.helper(&["exec", "--"]);
    python.arg(common::python()).arg("-V");
    let (code, stdout, stderr) = run(&mut python);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Python 3."), "python did not run: {stdout}");
    let (code, stdout, stderr) =
        run(&mut sandbox.helper(&["exec", "--", "sh", "-c", "echo \"$@\"", "sh", "--help", "--"]));
    assert_eq!((code, stdout.as_str()), (0, "--help --\n"), "{stderr}");
}

/// A flag's value is the next argument, whatever it says: `--profile help` asks for a
/// profile named help (unknown here), never for the usage text, which `eval` would run.
#[test]
fn a_value_that_reads_help_is_a_value_and_usage_reaches_stdout_only_for_help() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let _daemon = sandbox.daemon();
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["env", "--profile", "help"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("help") && !stderr.contains("Usage"), "{stderr}");
    for args in
        [&["env", "--help"][..], &["--help", "env"], &["env", "-h"], &["token", "--version"]]
    {
        let (code, stdout, stderr) = run(&mut sandbox.helper(args));
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
        assert!(stderr.contains("goes alone"), "{args:?}: {stderr}");
    }
    let (code, stdout, _) = run(&mut sandbox.helper(&["--version"]));
    assert_eq!(
        (code, stdout.as_str()),
        (0, concat!("bedprov-helper ", env!("BEDPROV_VERSION"), "\n"))
    );
}
