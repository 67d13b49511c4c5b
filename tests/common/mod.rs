//! Shared test support: sandboxed homes, the real binaries, and real peers (moto, Python).
#![allow(dead_code)]

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
            .stdin(Stdio::null());
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

/// moto in server mode on 127.0.0.1 (a port the kernel picked), stopped when dropped or
/// when the test process dies (it exits when its stdin closes).
pub struct Moto {
    child: Child,
    _stdin: ChildStdin,
    pub endpoint: String,
}

impl Moto {
    pub fn start() -> Self {
        let mut child = Command::new(python())
            .arg(support_file("moto_server.py"))
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
