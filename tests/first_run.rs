//! What a new user meets first, as real processes: no credentials reads the same whatever
//! the instance-metadata address answers (a stand-in for each answer, compared with what
//! botocore resolves on the same inputs), no third-party log line at default verbosity with
//! bedprov saying what matters in its own words, and a foreground daemon that logs what a
//! detached one does.
//!
//! These tests do not set `AWS_EC2_METADATA_DISABLED`: the metadata client runs, against
//! `AWS_EC2_METADATA_SERVICE_ENDPOINT`.

mod common;

use common::{AwsPeers, Daemon, Moto, Sandbox, run};
use std::process::{Command, Stdio};

const NO_CREDENTIALS: i32 = 3;

/// What answers at the metadata address.
enum Metadata {
    /// Nothing listens: the connection is refused (a laptop).
    Refused(String),
    /// `tests/support/imds_standin.py` in one of its modes.
    StandIn { peer: Moto, log: std::path::PathBuf },
}

impl Metadata {
    fn refused() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        Self::Refused(format!("http://127.0.0.1:{port}"))
    }

    fn stand_in(sandbox: &Sandbox, mode: &str) -> Self {
        let log = sandbox.dir.path().join(format!("imds-{mode}.log"));
        let peer = Moto::start_script_with(
            "imds_standin.py",
            &[mode],
            &[("IMDS_LOG", log.to_str().unwrap())],
        );
        Self::StandIn { peer, log }
    }

    fn endpoint(&self) -> &str {
        match self {
            Self::Refused(endpoint) => endpoint,
            Self::StandIn { peer, .. } => &peer.endpoint,
        }
    }

    /// Requests the stand-in received (none for a refused connection).
    fn asked(&self) -> usize {
        match self {
            Self::Refused(_) => 0,
            Self::StandIn { log, .. } => {
                std::fs::read_to_string(log).map_or(0, |text| text.lines().count())
            }
        }
    }

    /// The metadata client runs, against this endpoint.
    fn apply(&self, command: &mut Command) {
        command
            .env_remove("AWS_EC2_METADATA_DISABLED")
            .env("AWS_EC2_METADATA_SERVICE_ENDPOINT", self.endpoint());
    }
}

/// What botocore resolves in `sandbox` with the metadata client pointed at `metadata`:
/// "none" or the access key id.
fn botocore_credentials(sandbox: &Sandbox, metadata: &Metadata) -> String {
    let mut command = sandbox.command(common::python());
    metadata.apply(&mut command);
    command.args([
        "-c",
        "import botocore.session\nc = botocore.session.get_session().get_credentials()\nprint('none' if c is None else c.access_key)",
    ]);
    let (code, stdout, stderr) = run(&mut command);
    assert_eq!(code, 0, "botocore failed: {stderr}");
    stdout.trim().to_owned()
}

/// The answer of a laptop, where nothing listens at the metadata address: exit 3 and this
/// stderr, exactly (no other line).
fn laptop_answer(sandbox: &Sandbox, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(args));
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.starts_with("error: no AWS credentials found for profile `default`\n"));
    assert!(stderr.contains("  hint: run `aws configure`"), "{stderr}");
    stderr
}

#[test]
fn no_credentials_reads_the_same_whatever_the_metadata_address_answers() {
    let sandbox = Sandbox::new();
    let commands: [&[&str]; 3] = [&["token"], &["check"], &["key", "list"]];
    let expected: Vec<String> = commands.iter().map(|args| laptop_answer(&sandbox, args)).collect();
    for mode in ["refused", "forbidden", "not-found", "no-role", "silent"] {
        let metadata = match mode {
            "refused" => Metadata::refused(),
            _ => Metadata::stand_in(&sandbox, mode),
        };
        assert_eq!(botocore_credentials(&sandbox, &metadata), "none", "{mode}: botocore");
        for (args, expected) in commands.iter().zip(&expected) {
            let mut command = sandbox.bedprov(args);
            metadata.apply(&mut command);
            let (code, stdout, stderr) = run(&mut command);
            assert_eq!(code, NO_CREDENTIALS, "{mode} {args:?}: {stderr}");
            assert!(stdout.is_empty(), "{mode} {args:?}: {stdout}");
            assert_eq!(&stderr, expected, "{mode} {args:?}: as on a laptop, nothing more");
        }
        if mode != "refused" {
            assert!(metadata.asked() > 0, "{mode}: the metadata client never asked");
        }
        // With -v, what the metadata service answered is there to read.
        if mode == "forbidden" {
            let mut command = sandbox.bedprov(&["token", "-v"]);
            metadata.apply(&mut command);
            let (_, _, stderr) = run(&mut command);
            assert!(
                stderr.contains("the instance metadata service gave no credentials"),
                "{stderr}"
            );
            assert!(stderr.contains("forbidden"), "{stderr}");
        }
    }
}

/// `bedprov daemon run` as systemd runs it: no `-v`.
fn quiet_daemon(sandbox: &Sandbox, adjust: impl FnOnce(&mut Command)) -> Daemon {
    let mut command = sandbox.bedprov(&["daemon", "run"]);
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(sandbox.log_path()).unwrap();
    command.stdout(Stdio::null()).stderr(Stdio::from(log));
    adjust(&mut command);
    let daemon = Daemon { child: Some(command.spawn().unwrap()), socket: sandbox.socket() };
    daemon.wait_ready();
    daemon
}

#[test]
fn the_daemon_says_no_credentials_the_same_way_behind_a_forbidding_proxy() {
    let sandbox = Sandbox::new();
    let metadata = Metadata::stand_in(&sandbox, "forbidden");
    let _daemon = quiet_daemon(&sandbox, |command| metadata.apply(command));
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["env"]));
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr
            .starts_with("bedprov-helper: error: no AWS credentials found for profile `default`\n"),
        "as `bedprov token` says it: {stderr}"
    );
    assert!(stderr.contains("run `aws configure`"), "{stderr}");
    assert!(!stderr.contains("IMDS") && !stderr.contains("ProviderError"), "{stderr}");
    let (_, status, _) = run(&mut sandbox.bedprov(&["status"]));
    assert!(status.contains("no AWS credentials found"), "{status}");
    assert!(metadata.asked() > 0, "the daemon's metadata client never asked");
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(!log.contains(" WARN aws") && !log.contains("ProviderError"), "{log}");
}

#[test]
fn sdk_warnings_stay_out_of_a_default_run_and_bedprov_names_a_missing_config_file() {
    let peers = AwsPeers::start();
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let missing = sandbox.dir.path().join("gone/config");
    let check = |extra: &[&str]| {
        let mut command = sandbox.bedprov(&[&["check"], extra].concat());
        peers.apply(&mut command);
        command.env("AWS_CONFIG_FILE", &missing);
        run(&mut command)
    };
    let (code, _, stderr) = check(&[]);
    assert_eq!(code, 0, "{stderr}");
    let note = format!(
        "note: AWS_CONFIG_FILE names {}, which does not exist: bedprov, like the AWS CLI, reads it as empty (no profiles or settings from it)\n",
        missing.display()
    );
    assert_eq!(stderr, note, "one plain sentence, and nothing from the SDK");

    // The SDK does warn about it: -v shows its lines too.
    let (_, _, verbose) = check(&["-v"]);
    assert!(verbose.contains(" WARN aws_runtime"), "{verbose}");
    assert_eq!(verbose.matches("note: AWS_CONFIG_FILE").count(), 1, "{verbose}");

    // Minting needs no network: the same single sentence before the token.
    let mut token = sandbox.bedprov(&["token", "--format", "env"]);
    token.env("AWS_CONFIG_FILE", &missing).env("AWS_SHARED_CREDENTIALS_FILE", &missing);
    let (code, stdout, stderr) = run(&mut token);
    assert_eq!(code, NO_CREDENTIALS, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.matches("note: AWS_CONFIG_FILE names").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("note: AWS_SHARED_CREDENTIALS_FILE names").count(), 1, "{stderr}");
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[test]
fn the_foreground_daemon_logs_what_the_detached_one_does() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let mut foreground = quiet_daemon(&sandbox, |_| {});
    let (code, _, stderr) = run(&mut sandbox.helper(&["env"]));
    assert_eq!(code, 0, "{stderr}");
    foreground.signal("TERM");
    assert_eq!(foreground.wait(), Some(0));
    let foreground_log = std::fs::read_to_string(sandbox.log_path()).unwrap();

    let (code, _, stderr) = run(&mut sandbox.bedprov(&["daemon", "start"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&mut sandbox.helper(&["env"]));
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["daemon", "stop"]));
    assert_eq!(code, 0, "{stderr}");
    let detached_log =
        std::fs::read_to_string(sandbox.home().join(".local/state/bedprov/daemon.log")).unwrap();

    for (how, log) in [("foreground", &foreground_log), ("detached", &detached_log)] {
        for line in
            [" INFO bedprov::daemon: bedprov daemon listening", "token refreshed", "stopping on"]
        {
            assert!(log.contains(line), "{how} daemon log lacks {line:?}:\n{log}");
        }
        assert!(!log.contains("DEBUG") && !log.contains(" WARN aws"), "{how}:\n{log}");
    }
}
