//! `bedprov token` and `bedprov decode` as real processes: every credential source a shell
//! commonly has (static keys, `credential_process`, assume-role via moto, SSO), every error path with
//! its message and exit code, and no secret in diagnostics even at trace level.

mod common;

use common::{EXAMPLE_KEY_ID, EXAMPLE_SECRET, Moto, Sandbox, epoch, json, now_epoch, run};

fn static_profile(sandbox: &Sandbox) {
    sandbox.write_credentials(&format!(
        "[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n\n[work]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
    ));
}

#[test]
fn static_keys_give_a_twelve_hour_token_with_no_credential_expiry() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["token", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(body["region"], "us-east-1");
    assert_eq!(body["profile"], "default");
    assert_eq!(body["ttl_seconds"], 43200);
    assert!(body["credential_expires_at"].is_null());
    let issued = epoch(body["issued_at"].as_str().unwrap());
    assert_eq!(epoch(body["expires_at"].as_str().unwrap()) - issued, 43200);
    assert!((issued - now_epoch()).abs() < 30);

    // The token decodes to what the JSON says.
    let token = body["token"].as_str().unwrap();
    let (code, decoded, _) = run(&mut sandbox.bedprov(&["decode", token, "--format", "json"]));
    assert_eq!(code, 0);
    let decoded = json(&decoded);
    assert_eq!(decoded["access_key_id"], EXAMPLE_KEY_ID);
    assert_eq!(decoded["region"], "us-east-1");
    assert_eq!(decoded["expires_at"], body["expires_at"]);
    assert_eq!(decoded["has_session_token"], false);
    assert_eq!(decoded["expired"], false);
    assert!(!decoded.to_string().contains("Signature"));
}

#[test]
fn every_format_renders() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let (code, human, _) =
        run(&mut sandbox.bedprov(&["token", "--ttl", "90min", "--region", "eu-west-1"]));
    assert_eq!(code, 0);
    assert!(human.starts_with("✓ Bedrock API key generated"));
    assert!(human.contains("Region:  eu-west-1 (from --region)"));
    assert!(
        human.contains("(1 hour 30 min from now)") || human.contains("(1 hour 29 min from now)"),
        "{human}"
    );
    assert!(human.contains("export AWS_BEARER_TOKEN_BEDROCK='bedrock-api-key-"));
    assert!(human.contains("Never commit"));

    let (_, env, _) = run(&mut sandbox.bedprov(&["token", "--format", "env", "--shell", "bash"]));
    let lines: Vec<&str> = env.lines().collect();
    assert_eq!(lines.len(), 3);
    assert!(lines[0].starts_with("export AWS_BEARER_TOKEN_BEDROCK='bedrock-api-key-"));
    assert_eq!(lines[1], "export AWS_REGION='us-east-1'");
    // boto3 reads only AWS_DEFAULT_REGION.
    assert_eq!(lines[2], "export AWS_DEFAULT_REGION='us-east-1'");
    assert!(human.contains("export AWS_DEFAULT_REGION='eu-west-1'"), "{human}");

    let (_, fish, _) = run(&mut sandbox.bedprov(&["token", "--format", "env", "--shell", "fish"]));
    assert!(fish.starts_with("set -gx AWS_BEARER_TOKEN_BEDROCK '"));
    assert!(
        fish.ends_with("set -gx AWS_REGION 'us-east-1'\nset -gx AWS_DEFAULT_REGION 'us-east-1'\n")
    );
    let (_, pwsh, _) = run(&mut sandbox.bedprov(&["token", "--format", "env", "--shell", "pwsh"]));
    assert!(pwsh.starts_with("$env:AWS_BEARER_TOKEN_BEDROCK = '"));
    assert!(
        pwsh.ends_with("$env:AWS_REGION = 'us-east-1'\n$env:AWS_DEFAULT_REGION = 'us-east-1'\n")
    );

    let (_, raw, _) = run(&mut sandbox.bedprov(&["token", "--format", "raw"]));
    assert!(raw.starts_with("bedrock-api-key-") && raw.ends_with('\n') && raw.lines().count() == 1);
}

#[test]
fn region_precedence_is_flag_env_profile_default() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    sandbox.write_config("[default]\nregion = ap-south-1\n");
    let region = |extra: &[(&str, &str)], args: &[&str]| {
        let mut command = sandbox.bedprov(&[&["token", "--format", "json"], args].concat());
        command.envs(extra.iter().copied());
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{stderr}");
        json(&stdout)["region"].as_str().unwrap().to_owned()
    };
    assert_eq!(region(&[], &[]), "ap-south-1");
    assert_eq!(region(&[("AWS_DEFAULT_REGION", "eu-west-2")], &[]), "eu-west-2");
    assert_eq!(
        region(&[("AWS_DEFAULT_REGION", "eu-west-2"), ("AWS_REGION", "eu-west-3")], &[]),
        "eu-west-3"
    );
    assert_eq!(region(&[("AWS_REGION", "eu-west-3")], &["--region", "us-west-2"]), "us-west-2");
    sandbox.write_config("");
    assert_eq!(region(&[], &[]), "us-east-1");
}

#[test]
fn credential_process_expiry_caps_the_token() {
    let sandbox = Sandbox::new();
    let expiry = time::OffsetDateTime::now_utc() + time::Duration::minutes(30);
    let expiry = expiry.replace_nanosecond(0).unwrap();
    let expiry_text = expiry.format(&time::format_description::well_known::Rfc3339).unwrap();
    let script = sandbox.script(
        "creds.sh",
        &format!(
            r#"echo '{{"Version":1,"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","SecretAccessKey":"{EXAMPLE_SECRET}","SessionToken":"EXAMPLE+session/token==","Expiration":"{expiry_text}"}}'"#
        ),
    );
    sandbox.write_config(&format!("[profile proc]\ncredential_process = {}\n", script.display()));
    let (code, stdout, stderr) =
        run(&mut sandbox.bedprov(&["token", "--profile", "proc", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(epoch(body["expires_at"].as_str().unwrap()), expiry.unix_timestamp());
    assert_eq!(epoch(body["credential_expires_at"].as_str().unwrap()), expiry.unix_timestamp());
    assert_eq!(body["ttl_seconds"], 43200);
    assert!(stderr.contains("requested 12h, but your credentials expire in"), "{stderr}");

    let (_, human, _) = run(&mut sandbox.bedprov(&["token", "--profile", "proc"]));
    assert!(
        human.contains("Note:    requested 12h, but your credentials expire in 29 min")
            || human.contains("expire in 30 min"),
        "{human}"
    );
}

#[test]
fn assume_role_credentials_from_moto_sign_the_token() {
    let moto = Moto::start();
    let role_arn = moto.boto(
        "iam = boto3.client('iam', **kw)\nr = iam.create_role(RoleName='bedrock-dev', AssumeRolePolicyDocument=json.dumps({'Version':'2012-10-17','Statement':[{'Effect':'Allow','Principal':{'AWS':'*'},'Action':'sts:AssumeRole'}]}))\nprint(r['Role']['Arn'])",
    );
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    sandbox.write_config(&format!(
        "[profile dev]\nrole_arn = {}\nsource_profile = default\nregion = eu-central-1\n",
        role_arn.trim()
    ));
    let mut command = sandbox.bedprov(&["token", "--profile", "dev", "--format", "json"]);
    command.env("AWS_ENDPOINT_URL", &moto.endpoint);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    assert_eq!(body["region"], "eu-central-1");
    // The profile sets no duration_seconds, so STS grants its default hour: the token is
    // capped there, not at 12 h.
    let credential_expiry = epoch(body["credential_expires_at"].as_str().unwrap());
    assert!((credential_expiry - (now_epoch() + 3600)).abs() < 60, "{body}");
    assert_eq!(body["expires_at"], body["credential_expires_at"]);

    let (_, decoded, _) =
        run(&mut sandbox.bedprov(&["decode", body["token"].as_str().unwrap(), "--format", "json"]));
    let decoded = json(&decoded);
    let key = decoded["access_key_id"].as_str().unwrap();
    assert!(key.starts_with("ASIA"), "temporary key expected, got {key}");
    assert_ne!(key, EXAMPLE_KEY_ID);
    assert_eq!(decoded["has_session_token"], true);
}

#[test]
fn no_credentials_says_what_to_run() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["token"]));
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("error: no AWS credentials found"), "{stderr}");
    assert!(
        stderr.contains("aws configure")
            && stderr.contains("aws sso login --profile X")
            && stderr.contains("AWS_PROFILE")
    );
}

#[test]
fn unknown_profile_is_named_with_the_profiles_found() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--profile", "nope"]));
    assert_eq!(code, 3);
    assert!(stderr.contains("AWS profile `nope` is not defined"), "{stderr}");
    assert!(stderr.contains("profiles found: default, work"), "{stderr}");
    // The same through AWS_PROFILE.
    let mut command = sandbox.bedprov(&["token"]);
    command.env("AWS_PROFILE", "nope");
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 3);
    assert!(stderr.contains("`nope`"));
}

#[test]
fn expired_sso_session_names_the_login_command() {
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[profile dev]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n\n[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n",
    );
    // Never logged in: no cached token at all.
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--profile", "dev"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("run `aws sso login --profile dev`"), "{stderr}");

    // Logged in long ago: the cached token expired and has no refresh token.
    let cache = sandbox.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let sha1 = std::process::Command::new("sh")
        .arg("-c")
        .arg("printf corp | sha1sum | cut -d' ' -f1")
        .output()
        .unwrap();
    let name = String::from_utf8(sha1.stdout).unwrap();
    std::fs::write(
        cache.join(format!("{}.json", name.trim())),
        r#"{"accessToken":"EXAMPLEaccesstoken","expiresAt":"2020-01-01T00:00:00Z","region":"us-east-1","startUrl":"https://example.awsapps.com/start"}"#,
    )
    .unwrap();
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--profile", "dev"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("SSO session for profile `dev` has expired"), "{stderr}");
    assert!(stderr.contains("aws sso login --profile dev"));
}

#[test]
fn bad_ttl_and_region_name_the_allowed_forms() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--ttl", "13h"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("15 minutes to 12 hours"), "{stderr}");
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--ttl", "soon"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("90min") && stderr.contains("3600"), "{stderr}");
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["token", "--region", "mars-1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("not an AWS region name") && stderr.contains("us-east-1"), "{stderr}");
    let mut command = sandbox.bedprov(&["token"]);
    command.env("AWS_REGION", "US East");
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 2, "{stderr}");
}

#[test]
fn decode_refuses_malformed_input_without_panicking() {
    let sandbox = Sandbox::new();
    for input in ["garbage", "bedrock-api-key-%%%", "bedrock-api-key-aGVsbG8=", "ABSKsomething", ""]
    {
        let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["decode", input]));
        assert_eq!(code, 2, "{input}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.starts_with("error: ") && stderr.contains("hint:"), "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn trace_logging_never_shows_the_token_or_secret() {
    let sandbox = Sandbox::new();
    let script = sandbox.script(
        "creds.sh",
        &format!(
            r#"echo 'stderr noise {EXAMPLE_SECRET}' >&2; echo '{{"Version":1,"AccessKeyId":"ASIAIOSFODNN7EXAMPLE","SecretAccessKey":"{EXAMPLE_SECRET}","SessionToken":"EXAMPLEsessiontokenvalue"}}'"#
        ),
    );
    sandbox.write_config(&format!("[profile proc]\ncredential_process = {}\n", script.display()));
    let mut command = sandbox.bedprov(&["token", "--profile", "proc", "--format", "raw", "-vvv"]);
    command.env("RUST_LOG", "trace");
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "trace logging was on");
    let token_body = &stdout.trim()["bedrock-api-key-".len()..];
    for secret in [token_body, &token_body[..40], EXAMPLE_SECRET, "EXAMPLEsessiontokenvalue"] {
        assert!(!stderr.contains(secret), "secret leaked into stderr");
    }
}

// ---------------------------------------------------------------------------------------
// Suggested commands keep secrets off command lines.

use common::argv::{markdown_commands, mentions_secret_variable, secrets_on_command_lines};

#[test]
fn the_argv_scan_flags_secrets_on_command_lines_and_only_those() {
    for unsafe_line in [
        r#"curl -sS -H "Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK" "https://bedrock.us-east-1.amazonaws.com/""#,
        r#"bedprov decode --format json "$AWS_BEARER_TOKEN_BEDROCK""#,
        "env AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY your-app",
        r#"echo "$(curl -H "X-Token: ${AWS_SESSION_TOKEN}" x)""#,
        "$ curl -H 'Authorization: Bearer bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t' x",
        "aws configure set x ABSKQmVkcm9ja0FQSUtleS1leGFtcGxlMTIz",
        "true && curl -u x:$AWS_SECRET_ACCESS_KEY https://example.com # a comment",
    ] {
        assert_eq!(
            secrets_on_command_lines(unsafe_line),
            [unsafe_line],
            "not flagged: {unsafe_line}"
        );
    }
    let safe = [
        r#"printf 'Authorization: Bearer %s\n' "$AWS_BEARER_TOKEN_BEDROCK" | curl -sS -H @- "https://bedrock.us-east-1.amazonaws.com/""#,
        "export AWS_BEARER_TOKEN_BEDROCK='bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t'",
        "set -gx AWS_BEARER_TOKEN_BEDROCK 'bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t'",
        "$env:AWS_BEARER_TOKEN_BEDROCK = 'bedrock-api-key-YmVkcm9jay5hbWF6b25hd3MuY29t'",
        r#"AWS_SESSION_TOKEN="$AWS_SESSION_TOKEN" your-app"#,
        r#"eval "$(bedprov-helper env)"       # in any shell"#,
        r#"printf '%s' "$AWS_BEARER_TOKEN_BEDROCK" | bedprov decode --format json"#,
    ];
    assert!(secrets_on_command_lines(&safe.join("\n")).is_empty());
}

/// The human output of `bedprov token`, for a static default profile.
fn token_output(sandbox: &Sandbox) -> String {
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["token"]));
    assert_eq!(code, 0, "{stderr}");
    stdout
}

#[test]
fn no_suggested_command_puts_a_secret_on_a_command_line() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let mut outputs = vec![("bedprov token".to_owned(), token_output(&sandbox))];
    for args in [
        &["--help"][..],
        &["token", "--help"],
        &["decode", "--help"],
        &["key", "create", "--help"],
        &["key", "rotate", "--help"],
        &["request", "--help"],
        &["daemon", "--help"],
    ] {
        let (code, stdout, _) = run(&mut sandbox.bedprov(args));
        assert_eq!(code, 0);
        outputs.push((format!("bedprov {}", args.join(" ")), stdout));
    }
    let (_, helper_help, _) = run(&mut sandbox.helper(&["--help"]));
    outputs.push(("bedprov-helper --help".to_owned(), helper_help));
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let readme_commands = markdown_commands(&readme).join("\n");
    outputs.push(("README.md".to_owned(), readme_commands.clone()));
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs");
    for page in std::fs::read_dir(docs).unwrap().map(|entry| entry.unwrap().path()) {
        let text = std::fs::read_to_string(&page).unwrap();
        outputs.push((page.display().to_string(), markdown_commands(&text).join("\n")));
    }

    for (source, text) in &outputs {
        let found = secrets_on_command_lines(text);
        assert!(found.is_empty(), "{source} suggests a secret on a command line: {found:#?}");
    }
    // The scans saw what they are about: commands that use the token.
    assert!(outputs[0].1.lines().any(mentions_secret_variable), "{}", outputs[0].1);
    let readme_uses = readme_commands.lines().filter(|l| mentions_secret_variable(l)).count();
    assert!(readme_uses >= 2, "the README shows {readme_uses} commands that use a secret");
}

/// A one-shot HTTP server on 127.0.0.1: it answers one request with `[]`, after checking
/// that no process's command line holds `secret` while the client waits for the answer.
/// Returns the port and a handle giving the request head and the processes that held it.
fn listener_watching_argv(secret: String) -> (u16, std::thread::JoinHandle<(String, Vec<String>)>) {
    use std::io::{Read as _, Write as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut chunk = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the client closed before its request head was complete");
            head.extend_from_slice(&chunk[..n]);
        }
        let holders: Vec<String> = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|entry| entry.file_name().to_string_lossy().parse::<u32>().is_ok())
            .filter_map(|entry| {
                let cmdline = std::fs::read(entry.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                cmdline.contains(&secret).then_some(cmdline)
            })
            .collect();
        stream
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]")
            .unwrap();
        (String::from_utf8_lossy(&head).into_owned(), holders)
    });
    (port, handle)
}

/// Runs `script` in `shell`, given on standard input (so it is on no command line itself);
/// returns the request head the listener saw and the processes whose command line held the
/// token.
fn run_in_shell(
    shell: &str,
    script: &str,
    token: &str,
    port: u16,
    listener: std::thread::JoinHandle<(String, Vec<String>)>,
) -> (String, Vec<String>) {
    use std::io::Write as _;
    let script = script
        .replace("https://bedrock.us-east-1.amazonaws.com", &format!("http://127.0.0.1:{port}"));
    let mut child = std::process::Command::new(shell)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {shell}: {e}"));
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout == "[]",
        "{shell}: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let (head, holders) = listener.join().unwrap();
    assert!(head.contains(&format!("\r\nAuthorization: Bearer {token}\r\n")), "{shell}: {head}");
    (head, holders)
}

#[test]
fn the_suggested_test_command_sends_the_token_without_putting_it_on_a_command_line() {
    let sandbox = Sandbox::new();
    static_profile(&sandbox);
    let output = token_output(&sandbox);
    let token = output
        .lines()
        .find_map(|l| l.strip_prefix("export AWS_BEARER_TOKEN_BEDROCK='")?.strip_suffix('\''))
        .unwrap()
        .to_owned();
    // What a user copies: the setup snippet, then the test command.
    let section = |title: &str| -> String {
        let start = output.find(title).unwrap_or_else(|| panic!("no {title}: {output}"));
        let body = &output[start + title.len()..];
        body[..body.find("\n## ").unwrap_or(body.len())].to_owned()
    };
    let script = format!(
        "{}\n{}\n",
        section("## Quick setup (copy/paste)\n"),
        section("## Test it (lists the Claude models this token can see)\n")
    );
    assert!(script.contains("curl ") && script.matches(&token).count() == 1, "{script}");

    for shell in ["dash", "bash", "zsh", "fish"] {
        let (port, listener) = listener_watching_argv(token.clone());
        let (_, holders) = run_in_shell(shell, &script, &token, port, listener);
        assert!(holders.is_empty(), "{shell}: the token is on a command line: {holders:#?}");
    }

    // The control: the token on curl's command line is seen there.
    let (port, listener) = listener_watching_argv(token.clone());
    let exposed = format!(
        "export AWS_BEARER_TOKEN_BEDROCK='{token}'\ncurl -sS -H \"Authorization: Bearer $AWS_BEARER_TOKEN_BEDROCK\" \"https://bedrock.us-east-1.amazonaws.com/foundation-models\"\n"
    );
    let (_, holders) = run_in_shell("bash", &exposed, &token, port, listener);
    assert!(holders.iter().any(|h| h.starts_with("curl ")), "{holders:#?}");
}

#[test]
fn decode_shows_crafted_fields_escaped_and_json_keeps_them_exact() {
    use base64::Engine as _;
    let sandbox = Sandbox::new();
    // A token whose scope carries a screen clear, a terminal title and a forged status line.
    let key = "AKID\u{1b}]0;owned\u{7}";
    let region = "us-east-1\r\nStatus:        valid, 12 hours left\u{1b}[2J";
    let credential = bedprov::wire::api::percent_encode(&format!(
        "{key}/20260101/{region}/bedrock/aws4_request"
    ));
    let url = format!(
        "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}&X-Amz-Date=20260101T000000Z&X-Amz-Expires=43200&X-Amz-SignedHeaders=host&X-Amz-Signature={}",
        "0".repeat(64)
    );
    let token =
        format!("bedrock-api-key-{}", base64::engine::general_purpose::STANDARD.encode(url));
    let decode = |format: &str| {
        let mut command = sandbox.bedprov(&["decode", "--format", format]);
        command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped());
        command.stderr(std::process::Stdio::piped());
        let mut child = command.spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), token.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        (String::from_utf8(output.stdout).unwrap(), String::from_utf8(output.stderr).unwrap())
    };
    let (human, stderr) = decode("human");
    for text in [&human, &stderr] {
        assert!(!text.contains(['\r', '\u{1b}', '\u{7}']), "{text:?}");
    }
    let labels: Vec<&str> = human.lines().filter_map(|l| l.split_once(':').map(|p| p.0)).collect();
    assert_eq!(
        labels,
        ["Status", "Region", "Access key", "Issued at", "Expires at", "Session token"],
        "{human}"
    );
    assert_eq!(human.lines().filter(|l| l.starts_with("Status:")).count(), 1, "{human}");
    assert!(human.contains("Access key:    AKID\\u{1b}]0;owned\\u{7}\n"), "{human}");
    assert!(human.contains("Region:        us-east-1\\u{d}\\u{a}Status:"), "{human}");

    let (body, _) = decode("json");
    let body = json(&body);
    assert_eq!(body["region"], region);
    assert_eq!(body["access_key_id"], key);
}
