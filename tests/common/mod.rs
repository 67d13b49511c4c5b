//! Shared test support: sandboxed homes, the real binaries, and real peers (moto, Python).
// Each test crate uses some of it; `pub` here means "for the test crates".
#![allow(dead_code, unreachable_pub)]

pub mod argv;
pub mod bedrock;

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Output, Stdio};
use tempfile::TempDir;

/// AWS's documented example keys: safe in fixtures, never real.
pub const EXAMPLE_KEY_ID: &str = "AKIDEXAMPLE";
pub const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

pub fn bedprov_bin() -> &'static str {
    env!("CARGO_BIN_EXE_bedprov")
}

pub fn helper_bin() -> &'static str {
    env!("CARGO_BIN_EXE_bedprov-helper")
}

/// The Python that has AWS's generator and moto (set up by `scripts/test-deps`).
pub fn python() -> PathBuf {
    let path = std::env::var_os("BEDPROV_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-env/venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} not found: run the tests with `scripts/test` (it installs AWS's token generator and moto)",
        path.display()
    );
    path
}

pub fn support_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support").join(name)
}

/// A private HOME with `~/.aws`, and a runtime dir for sockets, removed on drop.
pub struct Sandbox {
    pub dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new().prefix("bedprov-test-").tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home/.aws")).unwrap();
        let runtime = dir.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        std::fs::set_permissions(&runtime, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Self { dir }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn write_config(&self, text: &str) {
        std::fs::write(self.home().join(".aws/config"), text).unwrap();
    }

    pub fn write_credentials(&self, text: &str) {
        std::fs::write(self.home().join(".aws/credentials"), text).unwrap();
    }

    /// Writes an executable script into the sandbox and returns its path.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = self.dir.path().join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    /// A command with a clean environment: only PATH, HOME, the runtime dir and IMDS off.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.runtime_dir())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("LANG", "C.UTF-8")
            // Units a bedprov package may have installed on this machine stay out of tests.
            .env("BEDPROV_PACKAGED_UNIT_DIR", self.dir.path().join("packaged-units"))
            .stdin(Stdio::null());
        // The Secret Service (keyring tests) lives on the session bus `scripts/test` starts.
        if let Some(bus) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
            command.env("DBUS_SESSION_BUS_ADDRESS", bus);
        }
        command
    }

    pub fn bedprov(&self, args: &[&str]) -> Command {
        let mut command = self.command(bedprov_bin());
        command.args(args);
        command
    }
}

/// Runs a command and returns its output with stdout/stderr as text.
pub fn run(command: &mut Command) -> (i32, String, String) {
    let Output { status, stdout, stderr } = command.output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// A Python peer on 127.0.0.1 (a port the kernel picked), stopped when dropped or when the
/// test process dies (it exits when its stdin closes): moto, or a small fake where moto
/// has no support.
pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    pub endpoint: String,
}

impl Moto {
    /// moto in server mode (IAM, STS, Secrets Manager).
    pub fn start() -> Self {
        Self::start_script("moto_server.py")
    }

    /// A peer from `tests/support/` that prints its port on the first line.
    pub fn start_script(script: &str) -> Self {
        Self::start_script_with(script, &[], &[])
    }

    /// Like [`Moto::start_script`], with arguments and environment.
    pub fn start_script_with(script: &str, args: &[&str], envs: &[(&str, &str)]) -> Self {
        let mut child = Command::new(python())
            .arg(support_file(script))
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let stdin = child.stdin.take().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port: u16 =
            line.trim().parse().unwrap_or_else(|_| panic!("moto did not start: {line:?}"));
        Self { child, _stdin: stdin, endpoint: format!("http://127.0.0.1:{port}") }
    }

    /// Runs a boto3 snippet against this moto (for setting up state); returns its stdout.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\nkw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='{EXAMPLE_KEY_ID}', aws_secret_access_key='{EXAMPLE_SECRET}')\n{code}",
            self.endpoint
        );
        let output = Command::new(python()).arg("-c").arg(script).output().unwrap();
        assert!(
            output.status.success(),
            "boto3 setup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Parses a JSON document printed by a command.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Seconds since the epoch of an RFC 3339 time printed by bedprov.
pub fn epoch(rfc3339: &str) -> i64 {
    let parsed =
        time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| panic!("{rfc3339}: {e}"));
    parsed.unix_timestamp()
}

pub fn now_epoch() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// libfaketime, for daemons whose wall clock a test moves (monotonic time is left alone,
/// as during a laptop suspend).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

impl Sandbox {
    pub fn socket(&self) -> PathBuf {
        self.runtime_dir().join("bedprov/bedprov.sock")
    }

    /// A static `default` profile with AWS's example keys.
    pub fn static_default_profile(&self) {
        self.write_credentials(&format!(
            "[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"
        ));
    }

    /// `bedprov daemon run` in the foreground, waited for until its socket answers.
    pub fn daemon(&self) -> Daemon {
        self.daemon_with(|_| {})
    }

    /// Like [`Sandbox::daemon`], letting the test adjust the command first.
    pub fn daemon_with(&self, adjust: impl FnOnce(&mut Command)) -> Daemon {
        let mut command = self.bedprov(&["daemon", "run", "-v"]);
        command.stdout(Stdio::null()).stderr(Stdio::from(self.log_file()));
        adjust(&mut command);
        let child = command.spawn().expect("start the daemon");
        let daemon = Daemon { child: Some(child), socket: self.socket() };
        daemon.wait_ready();
        daemon
    }

    /// The foreground daemons' stderr (appended), for assertions about logs.
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("daemon-stderr.log")
    }

    fn log_file(&self) -> std::fs::File {
        std::fs::OpenOptions::new().create(true).append(true).open(self.log_path()).unwrap()
    }

    pub fn helper(&self, args: &[&str]) -> Command {
        let mut command = self.command(helper_bin());
        command.args(args).env("BEDPROV_NO_AUTOSTART", "1");
        command
    }
}

/// A daemon process, stopped (SIGTERM, then SIGKILL) when dropped.
pub struct Daemon {
    pub child: Option<Child>,
    pub socket: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn wait_ready(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if self.client().get_json::<serde_json::Value>("/v1/health").is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        panic!("the daemon did not answer on {} within 10 s", self.socket.display());
    }

    pub fn client(&self) -> bedprov::wire::client::Client {
        bedprov::wire::client::Client::new(&self.socket, std::time::Duration::from_secs(30))
    }

    pub fn signal(&self, signal: &str) {
        let status =
            Command::new("kill").args(["-s", signal, &self.pid().to_string()]).status().unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait(&mut self) -> Option<i32> {
        self.child.take().map(|mut c| c.wait().unwrap().code().unwrap_or(-1))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .stderr(Stdio::null())
                .status();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
            while std::time::Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `credential_process` script whose answer a test controls: it reads `mode` (ok/fail) and
/// the lifetime in seconds from files next to it, and appends a line to `calls` per run.
pub struct ControlledCreds {
    pub dir: PathBuf,
}

impl ControlledCreds {
    pub fn install(sandbox: &Sandbox, profile: &str, lifetime_secs: u64) -> Self {
        let dir = sandbox.dir.path().join(format!("creds-{profile}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("mode"), "ok").unwrap();
        std::fs::write(dir.join("lifetime"), lifetime_secs.to_string()).unwrap();
        let script = sandbox.script(
            &format!("creds-{profile}.sh"),
            &format!(
                r#"d='{dir}'
echo run >> "$d/calls"
[ "$(cat "$d/mode")" = ok ] || {{ echo 'credential source offline' >&2; exit 1; }}
exp=$(date -u -d "+$(cat "$d/lifetime") seconds" +%Y-%m-%dT%H:%M:%SZ)
key=ASIA$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr a-f A-F)
printf '{{"Version":1,"AccessKeyId":"%s","SecretAccessKey":"{EXAMPLE_SECRET}","SessionToken":"EXAMPLE+token/%s=","Expiration":"%s"}}' "$key" "$key" "$exp""#,
                dir = dir.display()
            ),
        );
        let config_path = sandbox.home().join(".aws/config");
        let mut config = std::fs::read_to_string(&config_path).unwrap_or_default();
        let _ = write!(
            config,
            "\n[profile {profile}]\ncredential_process = {}\nregion = us-west-2\n",
            script.display()
        );
        std::fs::write(config_path, config).unwrap();
        Self { dir }
    }

    pub fn set_mode(&self, mode: &str) {
        std::fs::write(self.dir.join("mode"), mode).unwrap();
    }

    pub fn calls(&self) -> usize {
        std::fs::read_to_string(self.dir.join("calls")).map_or(0, |s| s.lines().count())
    }
}

/// Moves a faked wall clock (see [`LIBFAKETIME`]) by writing its offset file.
pub struct FakeClock {
    pub file: PathBuf,
}

impl FakeClock {
    pub fn new(sandbox: &Sandbox) -> Self {
        let file = sandbox.dir.path().join("faketime");
        std::fs::write(&file, "+0\n").unwrap();
        Self { file }
    }

    /// Environment for a process that should run on this clock.
    pub fn apply(&self, command: &mut Command) {
        command.envs(self.vars());
    }

    /// The environment of a process on this clock, as pairs (for peers started with them).
    pub fn vars(&self) -> Vec<(&'static str, String)> {
        assert!(Path::new(LIBFAKETIME).exists(), "libfaketime missing: run scripts/test-deps");
        vec![
            ("LD_PRELOAD", LIBFAKETIME.to_owned()),
            ("FAKETIME_TIMESTAMP_FILE", self.file.display().to_string()),
            ("FAKETIME_NO_CACHE", "1".to_owned()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".to_owned()),
            ("FAKETIME_DONT_RESET", "1".to_owned()),
        ]
    }

    /// Sets the offset from real time, in seconds.
    pub fn set_offset(&self, seconds: i64) {
        std::fs::write(&self.file, format!("{seconds:+}\n")).unwrap();
    }
}

/// moto plus the stand-in for what it lacks (IAM service-specific credentials, Bedrock
/// ListFoundationModels), and the environment that points bedprov at them.
pub struct AwsPeers {
    pub moto: Moto,
    pub fake: Moto,
}

impl AwsPeers {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn start_with(fake_env: &[(&str, &str)]) -> Self {
        let moto = Moto::start();
        let fake = Moto::start_script_with("aws_fake.py", &[moto.endpoint.as_str()], fake_env);
        Self { moto, fake }
    }

    /// Points a command at the peers: STS and Secrets Manager at moto, IAM and Bedrock at
    /// the fake (which forwards the IAM calls moto knows).
    pub fn apply(&self, command: &mut Command) {
        command
            .env("AWS_ENDPOINT_URL", &self.moto.endpoint)
            .env("AWS_ENDPOINT_URL_IAM", &self.fake.endpoint)
            .env("AWS_ENDPOINT_URL_BEDROCK", &self.fake.endpoint);
    }

    /// Runs boto3 code against moto (state set-up and assertions); returns its stdout.
    pub fn boto(&self, code: &str) -> String {
        self.moto.boto(code)
    }
}

/// Whether the tests run as root (CI does): switching to another uid needs it.
pub fn is_root() -> bool {
    nix::unistd::getuid().is_root()
}

/// A socket served by another user (uid 65534), answering with a forged token: see
/// `tests/support/foreign_socket.py`. Needs root. Stopped when dropped.
pub struct ForeignSocket {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<std::process::ChildStdout>,
}

impl ForeignSocket {
    /// `squat`: uid 65534 creates the socket's directory and serves in it. `peer`: the
    /// directory is ours, the process serving the socket is uid 65534's.
    pub fn start(mode: &str, socket: &Path) -> Self {
        let mut child = Command::new(python())
            .arg(support_file("foreign_socket.py"))
            .arg(mode)
            .arg(socket)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the foreign socket");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line, "ready\n", "the foreign socket did not start");
        Self { child, stdin, stdout }
    }

    /// Stops serving; returns how many bytes each connection received.
    pub fn stop(mut self) -> Vec<usize> {
        drop(self.stdin.take());
        let _ = self.child.wait();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stdout, &mut rest).unwrap();
        rest.lines().filter_map(|line| line.strip_prefix("connection ")?.parse().ok()).collect()
    }
}

impl Drop for ForeignSocket {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
