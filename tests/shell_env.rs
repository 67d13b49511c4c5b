//! The token is signed with what an AWS SDK in the user's shell would sign with, and says
//! when it really dies. For each shell set-up (its own credentials with and without a
//! session token and `AWS_CREDENTIAL_EXPIRATION`, `AWS_PROFILE` beside them, only
//! `AWS_DEFAULT_PROFILE`, an empty `AWS_ACCESS_KEY_ID=`, `AWS_CONFIG_FILE` elsewhere, partial
//! or expired credentials), `bedprov token` and `bedprov-helper` against a daemon started
//! elsewhere are compared with what botocore resolves from the same environment and files:
//! the access key inside the token, `expires_at`, `credential_expires_at`, the exit code and
//! the message. Then the daemon: a shell that autostarts it leaves nothing of its own
//! behind for the next shell; shell credentials reach only their own slot; credentials
//! travel only in request bodies.

mod common;

use common::{EXAMPLE_KEY_ID, EXAMPLE_SECRET, Sandbox, epoch, json, now_epoch, run};
use serde_json::Value;
use std::process::Command;

const DEV_KEY: &str = "AKIADEVEXAMPLE111111";
const OTHER_KEY: &str = "AKIAOTHEREXAMPLE2222";
const SHELL_KEY: &str = "ASIASHELLEXAMPLE3333";
const SHELL_SECRET: &str = "shellSecretEXAMPLE+/0123456789abcdefghij";
const SHELL_SESSION: &str = "shellSessionTokenEXAMPLE+/=0123456789abcdefghijklmnopqrstuvwxyz";

/// `default` (static keys, eu-west-1) and `dev` (static keys, us-west-2) in `~/.aws`, and a
/// profile `other` in a config file elsewhere.
fn sandbox() -> Sandbox {
    let sandbox = Sandbox::new();
    sandbox.write_config("[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n");
    sandbox.write_credentials(&format!(
        "[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n\n[dev]\naws_access_key_id = {DEV_KEY}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
    ));
    std::fs::create_dir_all(sandbox.dir.path().join("elsewhere")).unwrap();
    std::fs::write(
        sandbox.dir.path().join("elsewhere/config"),
        format!(
            "[profile other]\nregion = ap-southeast-2\naws_access_key_id = {OTHER_KEY}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
        ),
    )
    .unwrap();
    sandbox
}

/// RFC 3339 for `seconds` from now, and its epoch.
fn from_now(seconds: i64) -> (String, i64) {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    let at = at.replace_nanosecond(0).unwrap();
    (at.format(&time::format_description::well_known::Rfc3339).unwrap(), at.unix_timestamp())
}

/// A shell set-up: its AWS variables and the `--profile` flag given, if any.
struct Setup {
    name: &'static str,
    vars: Vec<(&'static str, String)>,
    profile_flag: Option<&'static str>,
}

impl Setup {
    fn new(name: &'static str, vars: &[(&'static str, &str)]) -> Self {
        let vars = vars.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
        Self { name, vars, profile_flag: None }
    }

    fn shell_credentials(name: &'static str, extra: &[(&'static str, &str)]) -> Self {
        let mut vars =
            vec![("AWS_ACCESS_KEY_ID", SHELL_KEY), ("AWS_SECRET_ACCESS_KEY", SHELL_SECRET)];
        vars.extend_from_slice(extra);
        Self::new(name, &vars)
    }

    fn apply(&self, sandbox: &Sandbox, command: &mut Command) {
        for (name, value) in &self.vars {
            let value = value.replace("$SANDBOX", &sandbox.dir.path().display().to_string());
            command.env(name, value);
        }
    }

    fn flags(&self) -> Vec<&'static str> {
        self.profile_flag.map(|p| vec!["--profile", p]).unwrap_or_default()
    }
}

/// What botocore resolves in the set-up (an explicit profile as `Session(profile=…)`, which
/// is what `aws --profile` does): the key, its expiry, its method and the region, or the
/// exception's name.
fn botocore(sandbox: &Sandbox, setup: &Setup) -> Value {
    let script = r#"
import json, sys, botocore.session
out = {}
try:
    profile = sys.argv[1] or None
    session = botocore.session.Session(profile=profile)
    credentials = session.get_credentials()
    if credentials is None:
        out["error"] = "NoCredentialsError"
    else:
        frozen = credentials.get_frozen_credentials()
        expiry = getattr(credentials, "_expiry_time", None)
        out["access_key"] = frozen.access_key
        out["session_token"] = frozen.token is not None
        out["expiry"] = int(expiry.timestamp()) if expiry else None
        out["method"] = credentials.method
        out["region"] = session.get_config_variable("region")
except Exception as error:
    out["error"] = type(error).__name__
print(json.dumps(out))
"#;
    let mut command = sandbox.command(common::python());
    command.arg("-c").arg(script).arg(setup.profile_flag.unwrap_or(""));
    setup.apply(sandbox, &mut command);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "botocore oracle failed: {stderr}");
    json(&stdout)
}

/// What a bedprov command printed: exit code, stdout, stderr.
struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
}

fn outcome(command: &mut Command) -> Outcome {
    let (code, stdout, stderr) = run(command);
    Outcome { code, stdout, stderr }
}

fn cli(sandbox: &Sandbox, setup: &Setup) -> Outcome {
    let mut args = vec!["token", "--format", "json"];
    args.extend(setup.flags());
    let mut command = sandbox.bedprov(&args);
    setup.apply(sandbox, &mut command);
    outcome(&mut command)
}

fn helper(sandbox: &Sandbox, setup: &Setup) -> Outcome {
    let mut args = vec!["json"];
    args.extend(setup.flags());
    let mut command = sandbox.helper(&args);
    setup.apply(sandbox, &mut command);
    outcome(&mut command)
}

/// What `bedprov decode` reads in a token (in a clean environment).
fn decoded(sandbox: &Sandbox, token: &str) -> Value {
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["decode", token, "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    json(&stdout)
}

/// The access key inside a token.
fn decoded_key(sandbox: &Sandbox, token: &str) -> String {
    decoded(sandbox, token)["access_key_id"].as_str().unwrap().to_owned()
}

/// Checks one bedprov answer against botocore's.
fn agrees(sandbox: &Sandbox, setup: &Setup, who: &str, got: &Outcome, oracle: &Value) {
    let what = format!("{} ({who})", setup.name);
    if oracle.get("error").is_some() {
        assert_ne!(
            got.code, 0,
            "{what}: botocore fails ({oracle}), bedprov signed: {}",
            got.stdout
        );
        assert!(got.stdout.is_empty(), "{what}: a failure prints nothing on stdout");
        return;
    }
    assert_eq!(got.code, 0, "{what}: {}", got.stderr);
    let body = json(&got.stdout);
    let token = body["token"].as_str().unwrap();
    let key = oracle["access_key"].as_str().unwrap();
    let inside = decoded(sandbox, token);
    assert_eq!(inside["access_key_id"], key, "{what}: the key inside the token");
    assert_eq!(inside["has_session_token"], oracle["session_token"], "{what}: session token");
    assert_eq!(body["access_key_id"], key, "{what}");
    let issued = epoch(body["issued_at"].as_str().unwrap());
    assert!((issued - now_epoch()).abs() < 60, "{what}");
    if let Some(expiry) = oracle["expiry"].as_i64() {
        assert_eq!(
            body["credential_expires_at"].as_str().map(epoch),
            Some(expiry),
            "{what}: credential_expires_at"
        );
        let expires = epoch(body["expires_at"].as_str().unwrap());
        assert_eq!(expires, expiry.min(issued + 43200), "{what}: expires_at");
    } else {
        assert!(body["credential_expires_at"].is_null(), "{what}: {body}");
        assert_eq!(epoch(body["expires_at"].as_str().unwrap()) - issued, 43200, "{what}");
    }
    let source = if oracle["method"] == "env" { "environment" } else { "static_keys" };
    assert_eq!(body["credential_source"], source, "{what}");
    if let Some(region) = oracle["region"].as_str() {
        assert_eq!(body["region"], region, "{what}: the region boto3 would use");
    }
}

/// Every set-up where botocore signs: `bedprov token` and the helper (through a daemon
/// started with a clean environment) sign with the same key and state the same expiry.
#[test]
fn cli_and_helper_sign_with_what_botocore_in_the_shell_would_use() {
    let sandbox = sandbox();
    let _daemon = sandbox.daemon();
    let (in_15_min, _) = from_now(15 * 60);
    let setups = [
        Setup::shell_credentials("shell keys without a session token", &[]),
        Setup::shell_credentials(
            "shell keys with a session token",
            &[("AWS_SESSION_TOKEN", SHELL_SESSION)],
        ),
        Setup::shell_credentials(
            "shell keys expiring in 15 minutes",
            &[("AWS_SESSION_TOKEN", SHELL_SESSION), ("AWS_CREDENTIAL_EXPIRATION", &in_15_min)],
        ),
        Setup::shell_credentials("AWS_PROFILE beside shell keys", &[("AWS_PROFILE", "dev")]),
        Setup::new("AWS_DEFAULT_PROFILE only", &[("AWS_DEFAULT_PROFILE", "dev")]),
        Setup::new(
            "AWS_DEFAULT_PROFILE before AWS_PROFILE",
            &[("AWS_DEFAULT_PROFILE", "dev"), ("AWS_PROFILE", "default")],
        ),
        Setup::new(
            "an empty AWS_ACCESS_KEY_ID",
            &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "x"), ("AWS_PROFILE", "dev")],
        ),
        Setup::new(
            "AWS_CONFIG_FILE elsewhere",
            &[("AWS_CONFIG_FILE", "$SANDBOX/elsewhere/config"), ("AWS_PROFILE", "other")],
        ),
        Setup::new("AWS_DEFAULT_REGION", &[("AWS_DEFAULT_REGION", "ca-central-1")]),
        Setup {
            profile_flag: Some("dev"),
            ..Setup::shell_credentials("--profile beside shell keys", &[])
        },
    ];
    for setup in &setups {
        let oracle = botocore(&sandbox, setup);
        assert!(oracle.get("error").is_none(), "{}: {oracle}", setup.name);
        agrees(&sandbox, setup, "bedprov token", &cli(&sandbox, setup), &oracle);
        agrees(&sandbox, setup, "bedprov-helper", &helper(&sandbox, setup), &oracle);
    }
}

/// Where botocore refuses, bedprov refuses too, with the documented exit code, a message
/// that says what is wrong and nothing on stdout; never a token signed with something else.
#[test]
fn what_botocore_refuses_is_refused_with_a_reason() {
    let sandbox = sandbox();
    let _daemon = sandbox.daemon();
    let (expired, _) = from_now(-60);
    let cases = [
        (
            Setup::new("a key id without a secret", &[("AWS_ACCESS_KEY_ID", SHELL_KEY)]),
            "AWS_ACCESS_KEY_ID is set in the environment, but AWS_SECRET_ACCESS_KEY is not",
        ),
        (
            Setup::shell_credentials(
                "expired shell keys",
                &[("AWS_CREDENTIAL_EXPIRATION", &expired)],
            ),
            "expired at",
        ),
        (
            Setup::shell_credentials(
                "an expiry without a time zone",
                &[("AWS_CREDENTIAL_EXPIRATION", "2030-01-01 00:00:00")],
            ),
            "AWS_CREDENTIAL_EXPIRATION is not a time with a time zone",
        ),
        (
            Setup::shell_credentials(
                "a missing AWS_PROFILE beside shell keys",
                &[("AWS_PROFILE", "nope")],
            ),
            "AWS profile `nope` is not defined",
        ),
    ];
    for (setup, message) in &cases {
        let oracle = botocore(&sandbox, setup);
        assert!(oracle.get("error").is_some(), "{}: botocore signs: {oracle}", setup.name);
        for (who, got) in
            [("bedprov token", cli(&sandbox, setup)), ("bedprov-helper", helper(&sandbox, setup))]
        {
            agrees(&sandbox, setup, who, &got, &oracle);
            assert_eq!(got.code, 3, "{} ({who}): {}", setup.name, got.stderr);
            assert!(got.stderr.contains(message), "{} ({who}): {}", setup.name, got.stderr);
            assert!(got.stderr.contains("hint:"), "{} ({who}): {}", setup.name, got.stderr);
            assert!(!got.stderr.contains(SHELL_SECRET), "{}", setup.name);
        }
    }
}

/// The real expiry is said plainly: `bedprov token` notes the cap (or that temporary
/// credentials came without a stated expiry), names environment credentials as such, and
/// `bedprov decode` in the shell that holds them shows the capped expiry.
#[test]
fn the_real_expiry_and_the_real_source_are_said_plainly() {
    let sandbox = sandbox();
    let (in_15_min, at) = from_now(15 * 60);
    let setup = Setup::shell_credentials(
        "shell keys expiring in 15 minutes",
        &[
            ("AWS_SESSION_TOKEN", SHELL_SESSION),
            ("AWS_CREDENTIAL_EXPIRATION", &in_15_min),
            ("AWS_PROFILE", "dev"),
        ],
    );
    let mut command = sandbox.bedprov(&["token"]);
    setup.apply(&sandbox, &mut command);
    let (code, human, stderr) = run(&mut command);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        human.contains(&format!(
            "Type:    Short-term token (signed by environment credentials (AWS_ACCESS_KEY_ID {SHELL_KEY}))"
        )),
        "{human}"
    );
    assert!(!human.contains("signed by profile"), "the profile only chose the region: {human}");
    assert!(human.contains("Region:  us-west-2 (from profile dev)"), "{human}");
    assert!(
        human.contains("Note:    requested 12h, but your credentials expire in 15 min")
            || human.contains("expire in 14 min"),
        "{human}"
    );
    let token = cli(&sandbox, &setup);
    let body = json(&token.stdout);
    assert!(
        token.stderr.contains("note: requested 12h, but your credentials expire in"),
        "{}",
        token.stderr
    );
    let token = body["token"].as_str().unwrap();

    // decode in the shell that holds the credentials knows when they die; elsewhere it
    // cannot, and says only what the token itself says.
    let mut decode = sandbox.bedprov(&["decode", token, "--format", "json"]);
    setup.apply(&sandbox, &mut decode);
    let decoded = json(&run(&mut decode).1);
    assert_eq!(decoded["expires_at"].as_str().map(epoch), Some(at));
    assert_eq!(decoded["credential_expires_at"].as_str().map(epoch), Some(at));
    assert!(decoded["remaining_seconds"].as_i64().unwrap() <= 15 * 60);
    let mut decode = sandbox.bedprov(&["decode", token]);
    setup.apply(&sandbox, &mut decode);
    let text = run(&mut decode).1;
    assert!(
        text.contains("(AWS_CREDENTIAL_EXPIRATION in this shell): the token stops working then"),
        "{text}"
    );
    let elsewhere = json(&run(&mut sandbox.bedprov(&["decode", token, "--format", "json"])).1);
    assert!(elsewhere["credential_expires_at"].is_null());
    assert_eq!(
        elsewhere["expires_at"].as_str().map(epoch),
        Some(epoch(body["issued_at"].as_str().unwrap()) + 43200)
    );

    // Temporary credentials without a stated expiry: the token may die before it says.
    let unknown =
        Setup::shell_credentials("no stated expiry", &[("AWS_SESSION_TOKEN", SHELL_SESSION)]);
    let mut command = sandbox.bedprov(&["token"]);
    unknown.apply(&sandbox, &mut command);
    let human = run(&mut command).1;
    assert!(
        human.contains("Note:    AWS_SESSION_TOKEN is set without AWS_CREDENTIAL_EXPIRATION"),
        "{human}"
    );
    // A profile's own keys are named as such.
    let (_, human, _) = run(&mut sandbox.bedprov(&["token", "--profile", "dev"]));
    assert!(human.contains("(signed by profile dev (access keys))"), "{human}");
}

fn daemon_status(sandbox: &Sandbox) -> Value {
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["status", "--format", "json"]));
    assert_eq!(code, 0, "{stderr}");
    json(&stdout)
}

/// A shell with temporary credentials, a profile, a region and its own config file starts
/// the daemon: the daemon inherits none of them (its environment is read back from /proc),
/// the shell's token is signed with its own credentials, and a second, clean shell gets the
/// `default` profile's token, not the first shell's. Status shows the first shell's slot as
/// environment credentials (key id and expiry, never the secret).
#[test]
fn autostart_leaves_nothing_of_the_first_shell_in_the_daemon() {
    let sandbox = sandbox();
    let (in_40_min, at) = from_now(40 * 60);
    let first = Setup::shell_credentials(
        "a shell with temporary credentials",
        &[
            ("AWS_SESSION_TOKEN", SHELL_SESSION),
            ("AWS_CREDENTIAL_EXPIRATION", &in_40_min),
            ("AWS_PROFILE", "other"),
            ("AWS_DEFAULT_REGION", "sa-east-1"),
            ("AWS_CONFIG_FILE", "$SANDBOX/elsewhere/config"),
        ],
    );
    let mut command = sandbox.command(common::helper_bin());
    command.arg("json");
    first.apply(&sandbox, &mut command);
    let started = outcome(&mut command);
    let _stop = Stop(&sandbox);
    assert_eq!(started.code, 0, "{}", started.stderr);
    assert!(started.stderr.contains("started the bedprov daemon"), "{}", started.stderr);
    let body = json(&started.stdout);
    assert_eq!(decoded_key(&sandbox, body["token"].as_str().unwrap()), SHELL_KEY);
    assert_eq!(body["region"], "sa-east-1");
    assert_eq!(body["credential_source"], "environment");
    assert_eq!(body["credential_expires_at"].as_str().map(epoch), Some(at));
    assert_eq!(body["expires_at"].as_str().map(epoch), Some(at));

    let status = daemon_status(&sandbox);
    let environ = std::fs::read(format!("/proc/{}/environ", status["pid"])).unwrap();
    let environ = String::from_utf8_lossy(&environ);
    for name in bedprov::wire::aws_env::NOT_INHERITED {
        assert!(
            !environ.split('\0').any(|v| v.starts_with(&format!("{name}="))),
            "{name} was inherited"
        );
    }

    let second = Setup::new("a clean shell", &[]);
    let oracle = botocore(&sandbox, &second);
    let got = helper(&sandbox, &second);
    agrees(&sandbox, &second, "bedprov-helper after another shell's autostart", &got, &oracle);
    let body = json(&got.stdout);
    assert_eq!(body["access_key_id"], EXAMPLE_KEY_ID);
    assert_eq!(body["region"], "eu-west-1");
    assert_eq!(body["profile"], "default");

    let status = daemon_status(&sandbox);
    let slots = status["slots"].as_array().unwrap();
    let shell_slot = slots.iter().find(|s| s["credential_source"] == "environment").unwrap();
    assert_eq!(shell_slot["access_key_id"], SHELL_KEY);
    assert_eq!(shell_slot["credential_expires_at"].as_str().map(epoch), Some(at));
    let clean_slot = slots.iter().find(|s| s["credential_source"] == "static_keys").unwrap();
    assert_eq!(clean_slot["access_key_id"], EXAMPLE_KEY_ID);
    let (_, human, _) = run(&mut sandbox.bedprov(&["status"]));
    assert!(
        human.contains(&format!(
            "signed by environment credentials (AWS_ACCESS_KEY_ID {SHELL_KEY})"
        )),
        "{human}"
    );
    for text in [
        status.to_string(),
        human,
        std::fs::read_to_string(sandbox.home().join(".local/state/bedprov/daemon.log")).unwrap(),
    ] {
        assert!(!text.contains(SHELL_SECRET) && !text.contains(SHELL_SESSION), "{text}");
    }
}

/// Stops the daemon a test started, also when the test fails half-way.
struct Stop<'a>(&'a Sandbox);

impl Drop for Stop<'_> {
    fn drop(&mut self) {
        let _ = run(&mut self.0.bedprov(&["daemon", "stop"]));
    }
}

/// Shell credentials reach only a client that holds the same ones: the same key id with
/// another secret gets a slot (and a token) of its own; the shell's keys never serve a
/// request without them; and at -vvv no secret reaches the log.
#[test]
fn shell_credentials_reach_only_their_own_slot() {
    let sandbox = sandbox();
    let _daemon = sandbox.daemon_with(|command| {
        command.arg("-vvv").env("RUST_LOG", "trace");
    });
    let first = Setup::shell_credentials("first", &[("AWS_SESSION_TOKEN", SHELL_SESSION)]);
    let other_secret = "otherSecretEXAMPLE+/0123456789abcdefghijk";
    let second = Setup::new(
        "same key id, other secret",
        &[
            ("AWS_ACCESS_KEY_ID", SHELL_KEY),
            ("AWS_SECRET_ACCESS_KEY", other_secret),
            ("AWS_SESSION_TOKEN", SHELL_SESSION),
        ],
    );
    let a = json(&helper(&sandbox, &first).stdout);
    let b = json(&helper(&sandbox, &second).stdout);
    let again = json(&helper(&sandbox, &first).stdout);
    assert_eq!(a["access_key_id"], SHELL_KEY);
    assert_eq!(b["access_key_id"], SHELL_KEY);
    assert_ne!(a["token"], b["token"], "another secret signs another token");
    assert_eq!(a["token"], again["token"], "the same credentials reach the same slot");
    let clean = json(&helper(&sandbox, &Setup::new("clean", &[])).stdout);
    assert_eq!(clean["access_key_id"], EXAMPLE_KEY_ID);
    let status = daemon_status(&sandbox);
    let environment_slots = status["slots"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["credential_source"] == "environment")
        .count();
    assert_eq!(environment_slots, 2, "{status}");
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "not a -vvv log");
    for secret in [SHELL_SECRET, other_secret, SHELL_SESSION] {
        assert!(!log.contains(secret), "a secret reached the daemon log");
        assert!(!status.to_string().contains(secret));
    }
}

/// The same request, as any client can send it: `POST /v1/token` with a JSON body signs
/// with the body's credentials; a plain shell's request and curl's `GET` share one slot;
/// credentials in a query string are refused; bodies are bounded.
#[test]
fn post_carries_the_environment_and_get_refuses_credentials_in_the_url() {
    let sandbox = sandbox();
    let _daemon = sandbox.daemon();
    let curl = |args: &[&str]| {
        let mut command = Command::new("curl");
        command.args(["-sS", "--max-time", "10", "--unix-socket"]).arg(sandbox.socket());
        command.args(["-w", "\n%{http_code}"]).args(args);
        let (_, out, _) = run(&mut command);
        let (body, status) = out.rsplit_once('\n').unwrap();
        (status.to_owned(), body.to_owned())
    };
    let request = format!(
        r#"{{"ttl":"1h","environment":{{"AWS_ACCESS_KEY_ID":"{SHELL_KEY}","AWS_SECRET_ACCESS_KEY":"{SHELL_SECRET}","AWS_DEFAULT_REGION":"eu-north-1"}}}}"#
    );
    let (status, body) = curl(&["--data-binary", &request, "http://localhost/v1/token"]);
    assert_eq!(status, "200", "{body}");
    let body = json(&body);
    assert_eq!(body["access_key_id"], SHELL_KEY);
    assert_eq!(body["region"], "eu-north-1");
    assert_eq!(body["ttl_seconds"], 3600);

    let (_, get) = curl(&["http://localhost/v1/token"]);
    let (_, post) = curl(&["--data-binary", r#"{"environment":{}}"#, "http://localhost/v1/token"]);
    assert_eq!(json(&get)["token"], json(&post)["token"], "one slot for the same identity");
    assert_eq!(json(&get)["access_key_id"], EXAMPLE_KEY_ID);

    let (status, body) =
        curl(&[&format!("http://localhost/v1/token?AWS_SECRET_ACCESS_KEY={SHELL_SECRET}")]);
    assert_eq!(status, "400", "{body}");
    assert!(!body.contains(SHELL_SECRET));
    let (status, body) =
        curl(&["--data-binary", &"x".repeat(17 * 1024), "http://localhost/v1/token"]);
    assert_eq!(status, "413", "{body}");
    let (status, body) = curl(&[
        "--data-binary",
        r#"{"environment":"AKIA-leaked-secret"}"#,
        "http://localhost/v1/token",
    ]);
    assert_eq!(status, "400", "{body}");
    assert!(!body.contains("leaked"), "errors never echo request values: {body}");
}
