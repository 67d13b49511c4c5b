//! Profile chains as the AWS CLI resolves them, run as real processes against moto's STS
//! (behind the fake, which logs each AssumeRole and refuses an MFA role without its code):
//! role sessions as long as `duration_seconds` asks, MFA codes typed on a terminal (and the
//! daemon, which never asks), SSO login hints naming the profile `aws sso login` accepts,
//! and a `credential_process` behind a role kept to bedprov's rules. Where botocore defines
//! the behaviour, it resolves the same files and its AssumeRole call is compared with ours.

mod common;

use common::{
    AwsPeers, EXAMPLE_KEY_ID, EXAMPLE_SECRET, Moto, Sandbox, bedprov_bin, epoch, json, now_epoch,
    python, run, support_file,
};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/tester";
const MFA_CODE: &str = "123456";

/// moto's STS behind the fake: every AssumeRole logged, and a role whose name contains
/// `mfa` refused unless the call carries the device and [`MFA_CODE`].
struct Sts {
    peers: AwsPeers,
    log: PathBuf,
}

impl Sts {
    fn start(sandbox: &Sandbox) -> Self {
        let log = sandbox.dir.path().join("assume-role.log");
        let peers = AwsPeers::start_with(&[
            ("FAKE_STS_LOG", log.to_str().unwrap()),
            ("FAKE_MFA_ROLE", "mfa"),
            ("FAKE_MFA_CODE", MFA_CODE),
        ]);
        Self { peers, log }
    }

    fn apply(&self, command: &mut Command) {
        self.peers.apply(command);
        command.env("AWS_ENDPOINT_URL_STS", &self.peers.fake.endpoint);
    }

    /// Creates a role anyone may assume; returns its ARN.
    fn role(&self, name: &str) -> String {
        self.peers
            .boto(&format!(
                "iam = boto3.client('iam', **kw)\nr = iam.create_role(RoleName='{name}', AssumeRolePolicyDocument=json.dumps({{'Version':'2012-10-17','Statement':[{{'Effect':'Allow','Principal':{{'AWS':'*'}},'Action':'sts:AssumeRole'}}]}}))\nprint(r['Role']['Arn'])"
            ))
            .trim()
            .to_owned()
    }

    /// The AssumeRole calls so far, oldest first.
    fn calls(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(json).collect()
    }
}

/// What botocore resolves for `profile` from the sandbox's files (typing `code` if asked
/// for an MFA code): `{"key": access key id, "expiry": epoch seconds}`.
fn botocore(sandbox: &Sandbox, sts: &Sts, profile: &str, code: &str) -> Value {
    let script = format!(
        "import boto3, json\n\
         session = boto3.Session(profile_name='{profile}')\n\
         provider = session._session.get_component('credential_provider').get_provider('assume-role')\n\
         provider._prompter = lambda prompt: '{code}'\n\
         credentials = session.get_credentials()\n\
         frozen = credentials.get_frozen_credentials()\n\
         print(json.dumps({{'key': frozen.access_key, 'expiry': credentials._expiry_time.timestamp()}}))\n"
    );
    let mut command = sandbox.command(python());
    command.arg("-c").arg(script);
    sts.apply(&mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "botocore failed: {stderr}");
    json(&stdout)
}

/// Runs `bedprov ARGS` with stdin and stderr on a pseudo-terminal (stdout on a pipe, as in
/// `eval "$(bedprov …)"`), typing each answer once its prompt shows. Returns the exit code,
/// stdout, and everything the terminal showed.
fn on_terminal(
    sandbox: &Sandbox,
    sts: &Sts,
    answers: &[(&str, &str)],
    args: &[&str],
) -> (i64, String, String) {
    let answers: Vec<[&str; 2]> = answers.iter().map(|(prompt, text)| [*prompt, *text]).collect();
    let mut command = sandbox.command(python());
    command
        .arg(support_file("terminal.py"))
        .arg(serde_json::to_string(&answers).unwrap())
        .arg(bedprov_bin())
        .args(args);
    sts.apply(&mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "terminal.py failed: {stderr}");
    let report = json(&stdout);
    (
        report["code"].as_i64().unwrap(),
        report["stdout"].as_str().unwrap().to_owned(),
        report["terminal"].as_str().unwrap().to_owned(),
    )
}

/// The access key id inside a token, as `bedprov decode` reads it.
fn token_key(sandbox: &Sandbox, token: &str) -> String {
    let (code, decoded, stderr) = run(&mut sandbox.bedprov(&["decode", token, "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    json(&decoded)["access_key_id"].as_str().unwrap().to_owned()
}

fn slot_status(daemon: &common::Daemon, profile: &str) -> Value {
    let status = daemon.client().get_json::<Value>("/v1/status").unwrap();
    status["slots"].as_array().unwrap().iter().find(|s| s["profile"] == profile).cloned().unwrap()
}

#[test]
fn duration_seconds_gives_a_twelve_hour_role_session_and_token_as_botocore_does() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    let role = sts.role("bedrock-long");
    sandbox.static_default_profile();
    sandbox.write_config(&format!(
        "[profile long]\nrole_arn = {role}\nsource_profile = default\nduration_seconds = 43200\nexternal_id = ext-1\nregion = eu-central-1\n"
    ));
    let mut command = sandbox.bedprov(&["token", "--profile", "long", "--format", "json"]);
    sts.apply(&mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    let credential_expiry = epoch(body["credential_expires_at"].as_str().unwrap());
    assert!((credential_expiry - (now_epoch() + 43_200)).abs() < 60, "{body}");
    let lifetime =
        epoch(body["expires_at"].as_str().unwrap()) - epoch(body["issued_at"].as_str().unwrap());
    assert_eq!(lifetime, 43_200, "a full 12 h token: {body}");
    assert!(token_key(&sandbox, body["token"].as_str().unwrap()).starts_with("ASIA"));

    let theirs = botocore(&sandbox, &sts, "long", MFA_CODE);
    let their_expiry = theirs["expiry"].as_f64().unwrap() as i64;
    assert!((their_expiry - credential_expiry).abs() < 60, "botocore: {theirs}, ours: {body}");
    let calls = sts.calls();
    assert_eq!(calls.len(), 2, "{calls:?}");
    for key in ["RoleArn", "DurationSeconds", "ExternalId", "SerialNumber"] {
        assert_eq!(calls[0][key], calls[1][key], "{key}: {calls:?}");
    }
    assert_eq!(calls[0]["DurationSeconds"], "43200");
    assert!(calls[0]["RoleSessionName"].as_str().unwrap().starts_with("bedprov-session-"));
    assert!(calls[1]["RoleSessionName"].as_str().unwrap().starts_with("botocore-session-"));
}

#[test]
fn an_mfa_code_is_asked_on_a_terminal_and_without_one_bedprov_login_is_named() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    let role = sts.role("bedrock-mfa");
    sandbox.static_default_profile();
    sandbox.write_config(&format!(
        "[profile admin]\nrole_arn = {role}\nsource_profile = default\nmfa_serial = {MFA_SERIAL}\nduration_seconds = 7200\nregion = us-east-1\n"
    ));

    // No terminal: nothing asked, STS not called, the command that works named.
    let mut command = sandbox.bedprov(&["token", "--profile", "admin", "--format", "json"]);
    sts.apply(&mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("needs an MFA code") && stderr.contains("no terminal"), "{stderr}");
    assert!(stderr.contains("`bedprov login --profile admin`"), "{stderr}");
    assert!(sts.calls().is_empty());

    // On a terminal: asked as the AWS CLI asks, again until six digits are typed.
    let prompt = format!("Enter MFA code for {MFA_SERIAL}: ");
    let args = ["token", "--profile", "admin", "--format", "json"];
    let (code, stdout, terminal) =
        on_terminal(&sandbox, &sts, &[(&prompt, "12ab"), (&prompt, MFA_CODE)], &args);
    assert_eq!(code, 0, "{terminal}");
    assert!(terminal.contains("Please enter the 6-digit code"), "{terminal}");
    let body = json(&stdout);
    let credential_expiry = epoch(body["credential_expires_at"].as_str().unwrap());
    assert!((credential_expiry - (now_epoch() + 7200)).abs() < 60, "{body}");
    assert_eq!(body["expires_at"], body["credential_expires_at"]);
    let calls = sts.calls();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0]["SerialNumber"], MFA_SERIAL);
    assert_eq!(calls[0]["TokenCode"], MFA_CODE);
    assert_eq!(calls[0]["DurationSeconds"], "7200");

    // A wrong code: AWS's refusal, and a hint about the code.
    let (code, stdout, terminal) = on_terminal(&sandbox, &sts, &[(&prompt, "654321")], &args);
    assert_eq!(code, 3, "{terminal}");
    assert!(stdout.is_empty());
    assert!(terminal.contains("MultiFactorAuthentication failed"), "{terminal}");
    assert!(terminal.contains("each code works once"), "{terminal}");

    // botocore sends the same call for the same files.
    botocore(&sandbox, &sts, "admin", MFA_CODE);
    let calls = sts.calls();
    let theirs = calls.last().unwrap();
    for key in ["RoleArn", "SerialNumber", "TokenCode", "DurationSeconds"] {
        assert_eq!(calls[0][key], theirs[key], "{key}: {calls:?}");
    }
}

/// `work` assumes a role from `admin`, whose role needs an MFA code (from static keys).
fn mfa_chain(sandbox: &Sandbox, sts: &Sts) {
    let (work, admin) = (sts.role("bedrock-work"), sts.role("bedrock-mfa-admin"));
    sandbox.static_default_profile();
    sandbox.write_config(&format!(
        "[profile work]\nrole_arn = {work}\nsource_profile = admin\nregion = us-east-1\n\
         [profile admin]\nrole_arn = {admin}\nsource_profile = default\nmfa_serial = {MFA_SERIAL}\nduration_seconds = 43200\nregion = us-east-1\n\
         [profile plain]\nregion = us-east-1\ncredential_process = /bin/false\n"
    ));
}

#[test]
fn bedprov_login_asks_once_for_the_role_that_needs_the_code() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    mfa_chain(&sandbox, &sts);

    // With no daemon to take the session, no code is asked for (a code works only once).
    let mut command = sandbox.bedprov(&["login", "--profile", "work"]);
    sts.apply(&mut command);
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("bedprov daemon start"), "{stderr}");
    let daemon = sandbox.daemon_with(|command| sts.apply(command));
    // A slot for `work`, waiting for a login.
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "work"]));
    assert_eq!(code, 4, "{stderr}");
    assert_eq!(slot_status(&daemon, "work")["state"], "needs_login");

    // No terminal: it says where to run it.
    let mut command = sandbox.bedprov(&["login", "--profile", "work"]);
    sts.apply(&mut command);
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("asks for the MFA code on a terminal"), "{stderr}");
    assert!(stderr.contains("run `bedprov login --profile work` in a terminal"), "{stderr}");
    assert!(sts.calls().is_empty());

    // On a terminal: one prompt; the MFA role is assumed with the code, for the 12 h its
    // profile asks; the role above it is the daemon's to assume from that session.
    let prompt = format!("Enter MFA code for {MFA_SERIAL}: ");
    let (code, stdout, terminal) =
        on_terminal(&sandbox, &sts, &[(&prompt, MFA_CODE)], &["login", "--profile", "work"]);
    assert_eq!(terminal.matches("Enter MFA code").count(), 1, "{terminal}");
    let calls = sts.calls();
    assert!(calls[0]["RoleArn"].as_str().unwrap().ends_with("/bedrock-mfa-admin"));
    assert_eq!(calls[0]["TokenCode"], MFA_CODE);
    assert_eq!(calls[0]["DurationSeconds"], "43200");
    for text in [&stdout, &terminal] {
        assert!(!text.contains("ASIA") && !text.contains("SecretAccessKey"), "{text}");
    }
    // The daemon took the session: it assumed `work` from it (no code asked), and serves.
    assert_eq!(code, 0, "{terminal}");
    assert!(stdout.contains("from this MFA session until"), "{stdout}");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls[1]["RoleArn"].as_str().unwrap().ends_with("/bedrock-work"));
    assert!(calls[1].get("TokenCode").is_none_or(serde_json::Value::is_null), "{calls:?}");
    assert_eq!(slot_status(&daemon, "work")["state"], "fresh");
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["json", "--profile", "work"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(token_key(&sandbox, json(&stdout)["token"].as_str().unwrap()).starts_with("ASIA"));
    // The log names the session's key id (not a secret), never its secret parts.
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap_or_default();
    assert!(log.contains("took a role session from bedprov login"), "{log}");
    assert!(!log.contains("secret_access_key") && !log.contains("session_token"), "{log}");

    // A profile without an MFA role: nothing to log in to, and what works instead.
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["login", "--profile", "plain"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("assumes no role that needs an MFA code"), "{stderr}");
    assert!(stderr.contains("without a login"), "{stderr}");
}

#[test]
fn the_daemon_never_asks_for_a_code_and_names_bedprov_login() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    mfa_chain(&sandbox, &sts);
    let daemon = sandbox.daemon_with(|command| sts.apply(command));
    for profile in ["work", "admin"] {
        let (code, stdout, stderr) = run(&mut sandbox.helper(&["json", "--profile", profile]));
        assert_eq!(code, 4, "{stderr}");
        assert!(stdout.is_empty());
        let command = format!("`bedprov login --profile {profile}`");
        assert!(stderr.contains(&command), "{stderr}");
        let slot = slot_status(&daemon, profile);
        assert_eq!(slot["state"], "needs_login", "{slot}");
        assert_eq!(slot["last_error"]["code"], "needs_login", "{slot}");
        assert!(slot["last_error"]["hint"].as_str().unwrap().contains(&command), "{slot}");
    }
    assert!(sts.calls().is_empty(), "no AssumeRole without a code");
}

const SSO_SESSION: &str = "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n";

/// What `aws sso login` leaves behind for the `corp` session: the token cache.
fn sso_logged_in(sandbox: &Sandbox) {
    let sha1 = Command::new("sh").arg("-c").arg("printf corp | sha1sum | cut -d' ' -f1").output();
    let cache = sandbox.home().join(".aws/sso/cache");
    std::fs::create_dir_all(&cache).unwrap();
    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(8);
    let expires = expires.format(&time::format_description::well_known::Rfc3339).unwrap();
    std::fs::write(
        cache.join(format!("{}.json", String::from_utf8(sha1.unwrap().stdout).unwrap().trim())),
        format!(
            r#"{{"accessToken":"EXAMPLEssoaccesstoken","expiresAt":"{expires}","region":"us-east-1","startUrl":"https://example.awsapps.com/start"}}"#
        ),
    )
    .unwrap();
}

#[test]
fn a_legacy_sso_profile_never_logged_in_needs_login_in_the_cli_and_the_daemon() {
    let sandbox = Sandbox::new();
    sandbox.write_config(
        "[profile legacy]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Dev\nregion = us-east-1\n",
    );
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["token", "--profile", "legacy"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr
            .contains("the AWS SSO session for profile `legacy` has expired or was never started"),
        "{stderr}"
    );
    assert!(stderr.contains("run `aws sso login --profile legacy`"), "{stderr}");
    assert!(!stderr.contains("failed to read"), "{stderr}");

    let daemon = sandbox.daemon();
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "legacy"]));
    assert_eq!(code, 4, "{stderr}");
    assert!(stderr.contains("aws sso login --profile legacy"), "{stderr}");
    let slot = slot_status(&daemon, "legacy");
    assert_eq!(slot["state"], "needs_login", "{slot}");
    assert!(slot["last_error"]["hint"].as_str().unwrap().contains("--profile legacy"), "{slot}");
}

#[test]
fn a_role_over_sso_names_the_sso_profile_and_works_once_logged_in() {
    let portal = Moto::start_script("sso_portal.py");
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    let role = sts.role("bedrock-dev");
    sandbox.write_config(&format!(
        "[profile dev]\nrole_arn = {role}\nsource_profile = corp-sso\nregion = us-east-1\n\
         [profile corp-sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n{SSO_SESSION}"
    ));
    let with_peers = |command: &mut Command| {
        sts.apply(command);
        command.env("AWS_ENDPOINT_URL_SSO", &portal.endpoint);
    };
    let mut command = sandbox.bedprov(&["token", "--profile", "dev", "--format", "json"]);
    with_peers(&mut command);
    let (code, _, stderr) = run(&mut command);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains(
            "SSO session of profile `corp-sso`, which profile `dev` takes its credentials from"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("run `aws sso login --profile corp-sso`"), "{stderr}");
    assert!(!stderr.contains("--profile dev`"), "aws sso login rejects a role profile: {stderr}");

    let daemon = sandbox.daemon_with(with_peers);
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "dev"]));
    assert_eq!(code, 4, "{stderr}");
    let slot = slot_status(&daemon, "dev");
    assert_eq!(slot["state"], "needs_login", "{slot}");
    assert!(
        slot["last_error"]["hint"].as_str().unwrap().contains("aws sso login --profile corp-sso"),
        "{slot}"
    );

    // Logged in: the SSO role's keys assume the role, as botocore does.
    sso_logged_in(&sandbox);
    let mut command = sandbox.bedprov(&["token", "--profile", "dev", "--format", "json"]);
    with_peers(&mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    let body = json(&stdout);
    let key = token_key(&sandbox, body["token"].as_str().unwrap());
    assert!(key.starts_with("ASIA") && !key.starts_with("ASIASSO"), "the role's key: {key}");
    assert_eq!(sts.calls().last().unwrap()["RoleArn"], role.as_str());
}

const STDERR_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYCHAINEDSECRET";

#[test]
fn a_credential_process_behind_a_role_never_shows_its_stderr() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    let role = sts.role("bedrock-chained");
    let valid = format!(
        r#"{{"Version":1,"AccessKeyId":"{EXAMPLE_KEY_ID}","SecretAccessKey":"{EXAMPLE_SECRET}"}}"#
    );
    let works = sandbox.script(
        "chained-works.sh",
        &format!("echo 'debug: secret={STDERR_SECRET}' >&2; printf '{valid}'"),
    );
    let fails =
        sandbox.script("chained-fails.sh", &format!("echo 'token={STDERR_SECRET}' >&2; exit 3"));
    sandbox.write_config(&format!(
        "[profile via-works]\nrole_arn = {role}\nsource_profile = works\nregion = us-east-1\n\
         [profile works]\ncredential_process = {}\n\
         [profile via-fails]\nrole_arn = {role}\nsource_profile = fails\nregion = us-east-1\n\
         [profile fails]\ncredential_process = {}\n",
        works.display(),
        fails.display()
    ));

    let token = |profile: &str| {
        let mut command =
            sandbox.bedprov(&["token", "--profile", profile, "--format", "json", "-vvv"]);
        command.env("RUST_LOG", "trace");
        sts.apply(&mut command);
        run(&mut command)
    };
    let (code, stdout, stderr) = token("via-works");
    assert_eq!(code, 0, "{stderr}");
    assert!(token_key(&sandbox, json(&stdout)["token"].as_str().unwrap()).starts_with("ASIA"));
    assert!(stderr.contains("TRACE") || stderr.contains("DEBUG"), "trace logging was on");
    assert!(!stderr.contains(STDERR_SECRET), "{stderr}");
    let (code, _, stderr) = token("via-fails");
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("the credential_process of profile `fails` exited with"), "{stderr}");
    assert!(stderr.contains("is not shown: it may contain secrets"), "{stderr}");
    assert!(!stderr.contains(STDERR_SECRET), "{stderr}");

    let daemon = sandbox.daemon_with(|command| {
        sts.apply(command);
        command.env("RUST_LOG", "trace");
    });
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "via-works"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "via-fails"]));
    assert_eq!(code, 7, "{stderr}");
    assert!(!stderr.contains(STDERR_SECRET));
    let status = daemon.client().request("GET", "/v1/status", "application/json").unwrap();
    let status = String::from_utf8_lossy(&status.body).into_owned();
    assert!(status.contains("is not shown"), "{status}");
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "the daemon logged at trace");
    for (name, text) in [("status", &status), ("log", &log)] {
        assert!(!text.contains(STDERR_SECRET), "the secret is in the {name}");
    }
}

/// One process from `/proc/<pid>/stat`: pid, state, process group, command line.
fn processes() -> Vec<(u32, char, u32, String)> {
    let mut list = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default();
        let state = fields[0].chars().next().unwrap_or('?');
        list.push((pid, state, fields[2].parse().unwrap_or(0), cmdline));
    }
    list
}

/// The process group running `script`, once it and its two children run.
fn group_of(script: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = processes();
        if let Some(&(leader, ..)) = all.iter().find(|p| p.3.contains(script) && p.1 != 'Z')
            && all.iter().filter(|p| p.2 == leader && p.1 != 'Z').count() >= 3
        {
            return leader;
        }
        assert!(Instant::now() < deadline, "{script} never started");
        thread::sleep(Duration::from_millis(10));
    }
}

/// True once no process of the group runs (dead orphans wait for init, as any orphan).
fn group_gone(group: u32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !processes().iter().any(|p| p.2 == group && p.1 != 'Z') {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hung_credential_process_behind_a_role_is_killed_and_stalls_only_its_slot() {
    let sandbox = Sandbox::new();
    let sts = Sts::start(&sandbox);
    let role = sts.role("bedrock-hung");
    sandbox.static_default_profile();
    let script = sandbox.script("chained-hang.sh", "sleep 3600 & sleep 3600 & wait");
    let script = script.to_str().unwrap().to_owned();
    sandbox.write_config(&format!(
        "[profile via-hang]\nrole_arn = {role}\nsource_profile = hang\nregion = us-east-1\n\
         [profile hang]\ncredential_process = {script}\n"
    ));
    let mut daemon = sandbox.daemon_with(|command| {
        sts.apply(command);
        command.env("BEDPROV_CREDENTIAL_PROCESS_TIMEOUT", "2");
    });

    let hung = thread::scope(|scope| {
        let asking = scope.spawn(|| {
            let started = Instant::now();
            let answer = run(&mut sandbox.helper(&["json", "--profile", "via-hang"]));
            (answer, started.elapsed())
        });
        let group = group_of(&script);
        // Meanwhile another slot is served at once.
        let started = Instant::now();
        let (code, _, stderr) = run(&mut sandbox.helper(&["json", "--profile", "default"]));
        assert_eq!(code, 0, "{stderr}");
        assert!(started.elapsed() < Duration::from_millis(1500), "{:?}", started.elapsed());
        (asking.join().unwrap(), group)
    });
    let (((code, stdout, stderr), took), group) = hung;
    assert_eq!(code, 7, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("did not finish within 2 s and was stopped"), "{stderr}");
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(6), "{took:?}");
    assert!(group_gone(group, Duration::from_secs(1)), "the hung process group survived");
    assert_eq!(slot_status(&daemon, "via-hang")["state"], "failed");

    // Hung again, and the daemon is stopped meanwhile: nothing of it survives.
    let mut refresh = Command::new("curl")
        .args(["-sS", "-X", "POST", "--unix-socket"])
        .arg(sandbox.socket())
        .arg("http://localhost/v1/refresh?profile=via-hang")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let group = group_of(&script);
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["daemon", "stop"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(daemon.wait().is_some());
    let _ = refresh.wait();
    assert!(group_gone(group, Duration::from_secs(1)), "a process outlived `bedprov daemon stop`");
}
