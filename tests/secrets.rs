//! No secret goes anywhere the user did not send it. Representative flows run as real
//! processes with `RUST_LOG=trace` and `-vvv`: `bedprov token` (static keys, credentials in
//! the environment, and a `credential_process` that prints secrets on its stderr and
//! sometimes fails), a detached daemon serving the helper (also with a shell's own
//! credentials) and curl through refreshes and failures, `bedprov key create|rotate|list`
//! against moto with every store (and a create stopped by SIGTERM, whose key is taken back),
//! `bedprov check` and `bedprov decode`.
//!
//! Every token, signature, secret access key, session token and API key produced is
//! collected from where it legitimately appears (the stdout of the command that prints it, the
//! keyring, Secrets Manager, the credential helper's own record). Then the daemon's log, every
//! stderr, every stdout that has no business holding it, and every file (and file name) under
//! the sandbox — HOME, the runtime dir, TMPDIR, the working directory — are scanned for each
//! of them, for a token's base64 body and signature on their own, and for token-shaped text
//! nobody collected. Zero occurrences allowed. A negative control plants secrets in those
//! places and checks that the scan reports each one.

mod common;

use base64::Engine as _;
use common::{AwsPeers, Sandbox, json, run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What a collected secret is, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Token,
    TokenBody,
    Signature,
    SecretKey,
    SessionToken,
    ApiKey,
    /// What the `credential_process` printed on its stderr.
    StderrNoise,
}

/// Secrets that came into being together (a token and its parts, one set of credentials):
/// a place that may hold one member, such as the stdout that printed a token, holds the family.
type Family = usize;

struct Secret {
    kind: Kind,
    family: Family,
    value: String,
}

#[derive(Default)]
struct Secrets {
    list: Vec<Secret>,
    families: Family,
}

impl Secrets {
    fn family(&mut self) -> Family {
        self.families += 1;
        self.families
    }

    /// Adds a secret and its percent-encoded form (how it travels in a URL).
    fn add(&mut self, family: Family, kind: Kind, value: &str) {
        assert!(value.len() >= 16, "{kind:?} too short to search for: {value:?}");
        for form in [value.to_owned(), bedprov::wire::api::percent_encode(value)] {
            if !self.list.iter().any(|s| s.value == form) {
                self.list.push(Secret { kind, family, value: form });
            }
        }
    }

    /// A bearer token, its base64 body and its signature (one family); the session token it
    /// carries, if any, joins the secrets no place may hold.
    fn add_token(&mut self, token: &str) -> Family {
        if let Some(known) = self.list.iter().find(|s| s.value == token) {
            return known.family;
        }
        let family = self.family();
        let body = token.strip_prefix("bedrock-api-key-").expect("a short-term token");
        self.add(family, Kind::Token, token);
        self.add(family, Kind::TokenBody, body);
        let url = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        let url = String::from_utf8(url).unwrap();
        let param = |name: &str| {
            url.split('&').find_map(|p| p.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned)
        };
        let signature = param("X-Amz-Signature").unwrap();
        assert_eq!(signature.len(), 64);
        self.add(family, Kind::Signature, &signature);
        if let Some(session) = param("X-Amz-Security-Token") {
            let decoded = bedprov::wire::api::percent_decode(&session).unwrap();
            let loose = self.family();
            self.add(loose, Kind::SessionToken, &decoded);
        }
        family
    }

    fn count(&self, kind: Kind) -> usize {
        self.list.iter().filter(|s| s.kind == kind).count()
    }
}

/// Somewhere secrets must not be, except the families listed.
struct Place {
    name: String,
    bytes: Vec<u8>,
    may_hold: Vec<Family>,
}

impl Place {
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>, may_hold: &[Family]) -> Self {
        Self { name: name.into(), bytes: bytes.into(), may_hold: may_hold.to_vec() }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Text shaped like a secret, whoever made it: a token (prefixed, or its base64 body, which
/// always starts with `bedrock.amazonaws.com` encoded), or a `SigV4` signature.
fn shapes(bytes: &[u8]) -> Vec<&'static str> {
    let mut found = Vec::new();
    let base64ish = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/');
    let mut rest = bytes;
    while let Some(at) = find(rest, b"bedrock-api-key-") {
        rest = &rest[at + 16..];
        if rest.iter().take_while(|b| base64ish(b)).count() >= 20 {
            found.push("a token (bedrock-api-key-…)");
            break;
        }
    }
    if find(bytes, b"YmVkcm9jay5hbWF6b25hd3MuY29t").is_some() {
        found.push("a token's base64 body");
    }
    for marker in [&b"X-Amz-Signature="[..], b"Signature="] {
        let mut rest = bytes;
        while let Some(at) = find(rest, marker) {
            rest = &rest[at + marker.len()..];
            if rest.len() >= 64 && rest[..64].iter().all(u8::is_ascii_hexdigit) {
                found.push("a SigV4 signature");
                break;
            }
        }
    }
    found
}

/// Every place holding a secret it may not hold, or a secret's shape.
fn scan(places: &[Place], secrets: &Secrets) -> Vec<String> {
    let mut findings = Vec::new();
    for place in places {
        for secret in &secrets.list {
            if !place.may_hold.contains(&secret.family)
                && find(&place.bytes, secret.value.as_bytes()).is_some()
            {
                findings.push(format!("{:?} #{} in {}", secret.kind, secret.family, place.name));
            }
        }
        if place.may_hold.is_empty() {
            for shape in shapes(&place.bytes) {
                findings.push(format!("{shape} in {}", place.name));
            }
        }
    }
    findings
}

/// Every regular file under `root` (and its name), except those `exempt` lets hold families.
fn files(root: &Path, exempt: &BTreeMap<PathBuf, Vec<Family>>) -> Vec<Place> {
    let mut places = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            places.push(Place::new(
                format!("the file name {}", path.display()),
                path.as_os_str().as_encoded_bytes(),
                &[],
            ));
            if meta.is_dir() {
                dirs.push(path);
            } else if meta.is_file() {
                let may_hold = exempt.get(&path).cloned().unwrap_or_default();
                places.push(Place::new(
                    path.display().to_string(),
                    std::fs::read(&path).unwrap(),
                    &may_hold,
                ));
            }
        }
    }
    places
}

/// The sandbox, the AWS peers, the secrets collected and the places to scan.
struct Run {
    sandbox: Sandbox,
    peers: AwsPeers,
    /// Outside the sandbox: the credential helper and its record of what it issued.
    book: tempfile::TempDir,
    secrets: Secrets,
    places: Vec<Place>,
    static_family: Family,
}

impl Run {
    fn tmp(&self) -> PathBuf {
        self.sandbox.dir.path().join("tmp")
    }

    /// Any program with the sandbox's environment, trace logging, and its cwd in TMPDIR.
    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = self.sandbox.command(program);
        command.env("RUST_LOG", "trace").env("TMPDIR", self.tmp()).current_dir(self.tmp());
        command
    }

    fn bedprov(&self, args: &[&str]) -> Command {
        let mut command = self.command(common::bedprov_bin());
        command.args(args).arg("-vvv");
        self.peers.apply(&mut command);
        command
    }

    /// Runs a command; its stderr is scanned, its stdout may hold only `may_hold`.
    fn run(&mut self, what: &str, mut command: Command, may_hold: &[Family]) -> (i32, String) {
        let (code, stdout, stderr) = run(&mut command);
        self.places.push(Place::new(format!("stderr of {what}"), stderr, &[]));
        self.places.push(Place::new(format!("stdout of {what}"), stdout.clone(), may_hold));
        (code, stdout)
    }

    /// Runs a command that prints a token (its stdout may hold it), and collects the token.
    fn token(&mut self, what: &str, command: Command, extract: fn(&str) -> String) -> String {
        let mut command = command;
        let (code, stdout, stderr) = run(&mut command);
        assert_eq!(code, 0, "{what}: {stderr}");
        let token = extract(&stdout);
        let family = self.secrets.add_token(&token);
        self.places.push(Place::new(format!("stderr of {what}"), stderr, &[]));
        self.places.push(Place::new(format!("stdout of {what}"), stdout, &[family]));
        token
    }

    /// Collects what the credential helper issued so far (and printed on its stderr).
    fn collect_issued(&mut self) -> usize {
        let issued = std::fs::read_to_string(self.book.path().join("issued")).unwrap_or_default();
        for line in issued.lines() {
            let [_key, secret, session, noise] = line.split(' ').collect::<Vec<_>>()[..] else {
                panic!("bad record {line:?}");
            };
            let family = self.secrets.family();
            self.secrets.add(family, Kind::SecretKey, secret);
            self.secrets.add(family, Kind::SessionToken, session);
            self.secrets.add(family, Kind::StderrNoise, noise);
        }
        issued.lines().count()
    }

    fn set_helper_mode(&self, mode: &str) {
        std::fs::write(self.book.path().join("mode"), mode).unwrap();
    }
}

/// Temporary credentials made up for a shell's environment, collected as secrets.
fn shell_credentials(run: &mut Run) -> (String, String, String) {
    let family = run.secrets.family();
    let key = format!("ASIA{}", random_secret(16).to_ascii_uppercase().replace(['+', '/'], "Q"));
    let secret = random_secret(40);
    let session = random_secret(360);
    run.secrets.add(family, Kind::SecretKey, &secret);
    run.secrets.add(family, Kind::SessionToken, &session);
    (key, secret, session)
}

fn random_secret(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    (0..len).map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())])).collect()
}

fn setup() -> Run {
    assert!(
        std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
        "run the tests with scripts/test: it starts a Secret Service on a private D-Bus session"
    );
    let sandbox = Sandbox::new();
    let book = tempfile::Builder::new().prefix("bedprov-secrets-book-").tempdir().unwrap();
    std::fs::create_dir(sandbox.dir.path().join("tmp")).unwrap();

    // Static keys for the default profile, made up for this run.
    let mut secrets = Secrets::default();
    let static_family = secrets.family();
    let static_secret = random_secret(40);
    secrets.add(static_family, Kind::SecretKey, &static_secret);
    let key_id = format!("AKIA{}", random_secret(16).to_ascii_uppercase().replace(['+', '/'], "Q"));
    sandbox.write_credentials(&format!(
        "[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {static_secret}\n"
    ));

    // A credential_process that makes fresh secrets each run, records them in the book, and
    // prints them on its stderr; in `fail` mode it prints them and fails.
    let helper = book.path().join("creds.sh");
    std::fs::write(
        &helper,
        format!(
            r#"#!/bin/sh
d='{book}'
key=ASIA$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
secret=$(head -c 30 /dev/urandom | base64 | tr -d '\n')
session=$(head -c 120 /dev/urandom | base64 | tr -d '\n')
noise=$(head -c 24 /dev/urandom | base64 | tr -d '\n')
echo "$key $secret $session $noise" >> "$d/issued"
echo "credential helper debug: secret=$secret session=$session note=$noise" >&2
[ "$(cat "$d/mode")" = ok ] || exit 1
exp=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
printf '{{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"%s","SessionToken":"%s","Expiration":"%s"}}' "$key" "$secret" "$session" "$exp"
"#,
            book = book.path().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    std::fs::write(book.path().join("mode"), "ok").unwrap();
    sandbox.write_config(&format!(
        "[profile proc]\ncredential_process = {}\nregion = eu-west-1\n",
        helper.display()
    ));

    Run { sandbox, peers: AwsPeers::start(), book, secrets, places: Vec::new(), static_family }
}

fn json_token(stdout: &str) -> String {
    json(stdout)["token"].as_str().unwrap().to_owned()
}

fn raw_token(stdout: &str) -> String {
    stdout.trim().to_owned()
}

fn env_token(stdout: &str) -> String {
    let line = stdout
        .lines()
        .find(|l| l.contains("AWS_BEARER_TOKEN_BEDROCK") && l.contains("bedrock-api-key-"))
        .unwrap_or_else(|| panic!("no token line in {stdout}"));
    let start = line.find("bedrock-api-key-").unwrap();
    line[start..].trim_end_matches('\'').to_owned()
}

/// `bedprov token`: static keys, and the credential helper (also failing), in every format.
fn cli_tokens(run: &mut Run) {
    let command = run.bedprov(&["token", "--format", "json"]);
    let token = run.token("bedprov token (static)", command, json_token);
    let command = run.bedprov(&["token", "--ttl", "1h", "--region", "us-west-2"]);
    run.token("bedprov token (human)", command, env_token);
    let command = run.bedprov(&["token", "--profile", "proc", "--format", "raw"]);
    run.token("bedprov token --profile proc", command, raw_token);
    let command = run.bedprov(&["token", "--profile", "proc", "--format", "env"]);
    run.token("bedprov token --profile proc --format env", command, env_token);

    // Credentials in the environment, as aws-vault or granted leave them.
    let (key, secret, session) = shell_credentials(run);
    let mut command = run.bedprov(&["token", "--format", "json"]);
    command
        .env("AWS_ACCESS_KEY_ID", &key)
        .env("AWS_SECRET_ACCESS_KEY", &secret)
        .env("AWS_SESSION_TOKEN", &session);
    run.token("bedprov token (shell credentials)", command, json_token);

    run.set_helper_mode("fail");
    let command = run.bedprov(&["token", "--profile", "proc"]);
    let (code, _) = run.run("bedprov token with a failing credential_process", command, &[]);
    assert_ne!(code, 0);
    run.set_helper_mode("ok");

    // decode shows what a token says, never its secrets.
    let command = run.bedprov(&["decode", &token, "--format", "json"]);
    let (code, _) = run.run("bedprov decode --format json", command, &[]);
    assert_eq!(code, 0);
    let command = run.bedprov(&["decode", &token]);
    let (code, _) = run.run("bedprov decode", command, &[]);
    assert_eq!(code, 0);
}

/// A detached daemon (logging to a file under HOME) serving the helper and curl, refreshed
/// by request, by a failing source and back.
fn daemon_tokens(run: &mut Run) {
    let command = run.bedprov(&["daemon", "start"]);
    let (code, _) = run.run("bedprov daemon start", command, &[]);
    assert_eq!(code, 0, "the daemon did not start");
    let _stop = Stopper(run.bedprov(&["daemon", "stop"]));
    let helper = |run: &Run, args: &[&str]| {
        let mut command = run.command(common::helper_bin());
        command.args(args).env("BEDPROV_NO_AUTOSTART", "1");
        command
    };
    let curl = |run: &Run, url: &str| {
        let mut command = run.command("curl");
        command.args(["-sS", "--max-time", "10", "--unix-socket"]).arg(run.sandbox.socket());
        command.arg(url);
        command
    };
    for round in 0..2 {
        let command = helper(run, &["json"]);
        run.token(&format!("bedprov-helper json (round {round})"), command, json_token);
        let command = helper(run, &["env", "--shell", "sh", "--profile", "proc"]);
        run.token(&format!("bedprov-helper env (round {round})"), command, env_token);
        let command = helper(run, &["token", "--profile", "proc", "--ttl", "90min"]);
        run.token(&format!("bedprov-helper token (round {round})"), command, raw_token);
        let command = curl(run, "http://localhost/v1/token?profile=proc&region=us-east-2");
        run.token(&format!("curl /v1/token (round {round})"), command, json_token);
        let command = run.bedprov(&["daemon", "refresh"]);
        let (code, _) = run.run(&format!("bedprov daemon refresh (round {round})"), command, &[]);
        assert_eq!(code, 0);
    }
    // A shell with credentials of its own: they travel to the daemon in a request body and
    // sign its tokens, and show up nowhere (log, status, stderr).
    let (key, secret, session) = shell_credentials(run);
    for mode in ["json", "token"] {
        let mut command = helper(run, &[mode]);
        command
            .env("AWS_ACCESS_KEY_ID", &key)
            .env("AWS_SECRET_ACCESS_KEY", &secret)
            .env("AWS_SESSION_TOKEN", &session);
        let extract = if mode == "json" { json_token } else { raw_token };
        run.token(&format!("bedprov-helper {mode} (shell credentials)"), command, extract);
    }

    // The source fails: the refresh fails (the helper's stderr is full of secrets), the old
    // tokens are still served, status shows the error.
    run.set_helper_mode("fail");
    let command = run.bedprov(&["daemon", "refresh"]);
    run.run("bedprov daemon refresh (failing)", command, &[]);
    let command = helper(run, &["token", "--profile", "proc"]);
    run.token("bedprov-helper token (degraded)", command, raw_token);
    let command = run.bedprov(&["status", "--format", "json"]);
    let (_, status) = run.run("bedprov status --format json", command, &[]);
    assert!(status.contains("degraded"), "{status}");
    let command = run.bedprov(&["status"]);
    run.run("bedprov status", command, &[]);
    let command = curl(run, "http://localhost/v1/status");
    run.run("curl /v1/status", command, &[]);
    run.set_helper_mode("ok");
}

/// Stops the detached daemon, also when the test fails half-way.
struct Stopper(Command);

impl Drop for Stopper {
    fn drop(&mut self) {
        let status = self.0.stdout(std::process::Stdio::null()).status().unwrap();
        assert!(status.success() || std::thread::panicking(), "bedprov daemon stop failed");
    }
}

/// Long-term keys against moto with each store, and the control-plane commands.
fn long_term_keys(run: &mut Run) {
    // Printed once: the stdout of this command may hold the secret key.
    let create = ["key", "create", "--format", "json", "--business-unit"];
    let printed = |run: &mut Run, what: &str, args: &[&str], field: &str, kind: Kind| {
        let (code, stdout, stderr) = run_quietly(run.bedprov(args));
        assert_eq!(code, 0, "{what}: {stderr}");
        let family = run.secrets.family();
        run.secrets.add(family, kind, json(&stdout)[field].as_str().unwrap());
        run.places.push(Place::new(format!("stderr of {what}"), stderr, &[]));
        run.places.push(Place::new(format!("stdout of {what}"), stdout, &[family]));
    };
    printed(
        run,
        "key create",
        &[&create[..], &["leak-print"]].concat(),
        "secret_access_key",
        Kind::SecretKey,
    );
    printed(
        run,
        "key create --kind api-key",
        &[&create[..], &["leak-api", "--kind", "api-key"]].concat(),
        "api_key",
        Kind::ApiKey,
    );
    printed(
        run,
        "key rotate",
        &["key", "rotate", "--business-unit", "leak-print", "--format", "json"],
        "secret_access_key",
        Kind::SecretKey,
    );

    // Taken back: a create stopped by SIGTERM while its output sat unread in a pipe. Its
    // secret is collected from the pipe; the run's stderr and logs may not hold it.
    let mut command = run.bedprov(&[&create[..], &["leak-undone"]].concat());
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut pipe = child.stdout.take().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        use rustix::event::{PollFd, PollFlags, Timespec, poll};
        let mut fds = [PollFd::new(&pipe, PollFlags::IN)];
        if poll(&mut fds, Some(&Timespec { tv_sec: 0, tv_nsec: 10_000_000 })).unwrap() > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the interrupted create wrote nothing");
    }
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(143), "{}", String::from_utf8_lossy(&output.stderr));
    let mut written = String::new();
    std::io::Read::read_to_string(&mut pipe, &mut written).unwrap();
    let family = run.secrets.family();
    run.secrets.add(family, Kind::SecretKey, json(&written)["secret_access_key"].as_str().unwrap());
    run.places.push(Place::new("stderr of key create (interrupted)", output.stderr, &[]));

    // Stored: the stdout must not hold the secret; it is read back from the store.
    let command = run.bedprov(&[&create[..], &["leak-keyring", "--store", "keyring"]].concat());
    let (code, stdout) = run.run("key create --store keyring", command, &[]);
    assert_eq!(code, 0);
    let key_id = json(&stdout)["access_key_id"].as_str().unwrap().to_owned();
    let mut lookup = run.sandbox.command("secret-tool");
    lookup.args(["lookup", "service", "bedprov", "username"]);
    lookup.arg(format!("leak-keyring-bedrock-user/{key_id}"));
    let (code, stored, stderr) = run_quietly(lookup);
    assert_eq!(code, 0, "secret-tool: {stderr}");
    let family = run.secrets.family();
    run.secrets.add(family, Kind::SecretKey, json(&stored)["SecretAccessKey"].as_str().unwrap());

    let command = run.bedprov(&[&create[..], &["leak-sm", "--store", "secretsmanager"]].concat());
    let (code, _) = run.run("key create --store secretsmanager", command, &[]);
    assert_eq!(code, 0);
    let stored = run.peers.boto(
        "sm = boto3.client('secretsmanager', **kw)\nprint(sm.get_secret_value(SecretId='bedprov/leak-sm')['SecretString'])",
    );
    let family = run.secrets.family();
    run.secrets.add(family, Kind::SecretKey, json(&stored)["SecretAccessKey"].as_str().unwrap());

    for (what, args) in [
        ("key list", &["key", "list", "--format", "json"][..]),
        ("key list (human)", &["key", "list"]),
        ("check", &["check", "--format", "json"]),
        ("check (human)", &["check"]),
    ] {
        let command = run.bedprov(args);
        let (code, _) = run.run(what, command, &[]);
        assert_eq!(code, 0, "{what}");
    }
}

fn run_quietly(mut command: Command) -> (i32, String, String) {
    run(&mut command)
}

#[test]
fn no_secret_reaches_a_log_a_stderr_or_a_file_at_trace_level() {
    let mut run = setup();
    cli_tokens(&mut run);
    daemon_tokens(&mut run);
    long_term_keys(&mut run);
    let issued = run.collect_issued();

    // The flows produced what they should: otherwise the scan proves nothing.
    let secrets = &run.secrets;
    assert!(issued >= 8, "credential_process ran {issued} times");
    assert!(secrets.count(Kind::Token) >= 10, "{} tokens", secrets.count(Kind::Token));
    assert!(secrets.count(Kind::Signature) >= 10);
    assert!(secrets.count(Kind::SecretKey) >= issued + 6);
    assert!(secrets.count(Kind::SessionToken) >= issued);
    assert!(secrets.count(Kind::ApiKey) >= 1);
    assert!(secrets.count(Kind::StderrNoise) >= issued);

    // Everything under the sandbox: HOME (the daemon's log too), the runtime dir, TMPDIR.
    // The credentials file is where the user keeps the static keys.
    let log = run.sandbox.home().join(".local/state/bedprov/daemon.log");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.matches("token refreshed").count() >= 6, "{log_text}");
    let exempt =
        BTreeMap::from([(run.sandbox.home().join(".aws/credentials"), vec![run.static_family])]);
    let mut places = std::mem::take(&mut run.places);
    places.extend(files(run.sandbox.dir.path(), &exempt));
    let traced = places.iter().filter(|p| find(&p.bytes, b"TRACE").is_some()).count();
    let debugged = places.iter().filter(|p| find(&p.bytes, b"DEBUG").is_some()).count();
    assert!(traced + debugged > 0, "no debug or trace line anywhere: was logging on?");

    let findings = scan(&places, &run.secrets);
    eprintln!(
        "scanned {} places ({} bytes) for {} secrets: {} tokens, {} secret keys, {} session tokens, {} API keys",
        places.len(),
        places.iter().map(|p| p.bytes.len()).sum::<usize>(),
        run.secrets.list.len(),
        run.secrets.count(Kind::Token),
        run.secrets.count(Kind::SecretKey),
        run.secrets.count(Kind::SessionToken),
        run.secrets.count(Kind::ApiKey),
    );
    assert!(
        findings.is_empty(),
        "{} leaks among {} secrets in {} places:\n{}",
        findings.len(),
        run.secrets.list.len(),
        places.len(),
        findings.join("\n")
    );

    // Negative control: the same scan, with secrets planted where they must not be, reports
    // each of them (and nothing else).
    let pick = |kind: Kind| run.secrets.list.iter().find(|s| s.kind == kind).unwrap();
    let plants = [
        (run.sandbox.home().join(".cache/planted"), pick(Kind::Token)),
        (run.sandbox.runtime_dir().join("bedprov/planted"), pick(Kind::Signature)),
        (run.tmp().join("planted.log"), pick(Kind::SessionToken)),
        (run.sandbox.home().join(".local/state/bedprov/planted"), pick(Kind::TokenBody)),
        (run.sandbox.home().join("planted-api-key"), pick(Kind::ApiKey)),
        (run.sandbox.dir.path().join("planted-noise"), pick(Kind::StderrNoise)),
    ];
    for (path, secret) in &plants {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("INFO something happened: {}\n", secret.value)).unwrap();
    }
    places.extend(
        files(run.sandbox.dir.path(), &exempt).into_iter().filter(|p| p.name.contains("planted")),
    );
    places.push(Place::new(
        "a planted stderr",
        "x bedrock-api-key-QUJDREVGR0hJSktMTU5PUFFSU1RV y",
        &[],
    ));
    let findings = scan(&places, &run.secrets);
    for (path, secret) in &plants {
        let expected = format!("{:?} #{} in {}", secret.kind, secret.family, path.display());
        assert!(findings.contains(&expected), "missed {expected}: {findings:#?}");
    }
    assert!(findings.contains(&"a token (bedrock-api-key-…) in a planted stderr".to_owned()));
    assert!(findings.iter().all(|f| f.contains("planted")), "{findings:#?}");
}
