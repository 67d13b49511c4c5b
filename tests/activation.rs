//! Socket activation as real processes: a launcher binds the socket and hands it to
//! `bedprov daemon run` at descriptor 3 with `LISTEN_FDS`/`LISTEN_PID`, as systemd does. The
//! daemon serves through it, never takes it over (no lock, no unlink), keeps it and the
//! variables from its children, ignores variables meant for another process, and the helper
//! never starts a second daemon while systemd holds the socket.

mod common;

use common::{Daemon, EXAMPLE_SECRET, Sandbox, json, run};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Makes the socket's directory as `RuntimeDirectory=`/`DirectoryMode=` would: 0700.
fn socket_dir(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.socket().parent().unwrap().to_path_buf();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

/// `bedprov daemon run -v`, started by the launcher with a socket bound at `socket`.
fn launch(sandbox: &Sandbox, socket: &Path, listen_pid: &str, listen_fds: &str) -> Command {
    let mut command = sandbox.command(common::python());
    command
        .arg(common::support_file("socket_activate.py"))
        .arg(socket)
        .args([listen_pid, listen_fds, common::bedprov_bin(), "daemon", "run", "-v"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::OpenOptions::new().create(true).append(true).open(sandbox.log_path()).unwrap(),
        ));
    command
}

fn start(mut command: Command, socket: &Path) -> Daemon {
    let daemon = Daemon { child: Some(command.spawn().unwrap()), socket: socket.to_path_buf() };
    daemon.wait_ready();
    daemon
}

/// A `credential_process` profile whose tool records its environment and open descriptors.
fn probing_profile(sandbox: &Sandbox) -> PathBuf {
    let record = sandbox.dir.path().join("child");
    let script = sandbox.script(
        "probe-creds.sh",
        &format!(
            "env > '{0}.env'; ls -l /proc/$$/fd > '{0}.fds'\nprintf '{{\"Version\":1,\"AccessKeyId\":\"AKIDEXAMPLE\",\"SecretAccessKey\":\"{EXAMPLE_SECRET}\"}}'",
            record.display()
        ),
    );
    sandbox.write_config(&format!(
        "[profile probe]\ncredential_process = {}\nregion = us-west-2\n",
        script.display()
    ));
    record
}

fn log(sandbox: &Sandbox) -> String {
    std::fs::read_to_string(sandbox.log_path()).unwrap_or_default()
}

#[test]
fn an_activated_daemon_serves_through_the_passed_socket_and_never_takes_it_over() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let record = probing_profile(&sandbox);
    let socket = sandbox.socket();
    socket_dir(&sandbox);
    let mut daemon = start(launch(&sandbox, &socket, "self", "1"), &socket);

    let (code, token, stderr) = run(&mut sandbox.helper(&["token"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(token.starts_with("bedrock-api-key-"));
    let health = daemon.client().get_json::<serde_json::Value>("/v1/health").unwrap();
    assert_eq!(health["pid"], daemon.pid(), "the launcher's process became the daemon");
    let (_, status, _) = run(&mut sandbox.bedprov(&["status", "--format", "json"]));
    assert_eq!(json(&status)["socket"], socket.to_str().unwrap());
    assert!(log(&sandbox).contains("activated=true"), "{}", log(&sandbox));

    // Children inherit neither the variables nor the listening socket.
    let (code, _, stderr) = run(&mut sandbox.helper(&["--profile", "probe", "token"]));
    assert_eq!(code, 0, "{stderr}");
    let env = std::fs::read_to_string(record.with_extension("env")).unwrap();
    assert!(!env.contains("LISTEN_"), "{env}");
    assert!(env.contains("HOME="), "the probe did record its environment");
    let fds = std::fs::read_to_string(record.with_extension("fds")).unwrap();
    assert!(!fds.contains("socket:"), "a socket leaked into credential_process: {fds}");

    // The file belongs to whoever bound it: no lock taken, not unlinked on SIGTERM.
    let mut lock = socket.as_os_str().to_owned();
    lock.push(".lock");
    assert!(!Path::new(&lock).exists(), "no lock beside a socket systemd owns");
    daemon.signal("TERM");
    assert_eq!(daemon.wait(), Some(0));
    assert!(socket.exists(), "SIGTERM must leave the activated socket in place");
}

#[test]
fn the_watchdog_leaves_an_activated_daemon_alone() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let socket = sandbox.socket();
    socket_dir(&sandbox);
    let mut daemon = start(launch(&sandbox, &socket, "self", "1"), &socket);
    // systemd may replace the file (RemoveOnStop, a restarted socket unit); a daemon that
    // created its own socket exits then, an activated one keeps serving its descriptor.
    let moved = socket.with_file_name("moved.sock");
    std::fs::rename(&socket, &moved).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(daemon.child.as_mut().unwrap().try_wait().unwrap().is_none(), "still running");
    let client = bedprov::wire::client::Client::new(&moved, Duration::from_secs(10));
    assert!(client.get_json::<serde_json::Value>("/v1/health").is_ok());
}

#[test]
fn a_listen_pid_for_another_process_is_ignored_and_the_daemon_binds_its_own() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let record = probing_profile(&sandbox);
    let dir = socket_dir(&sandbox);
    let passed = dir.join("passed.sock");
    // Pid 1 is never ours: the variables were meant for someone else.
    let mut daemon = start(launch(&sandbox, &passed, "1", "1"), &sandbox.socket());
    assert!(log(&sandbox).contains("ignoring LISTEN_PID"), "{}", log(&sandbox));
    assert!(log(&sandbox).contains("activated=false"));

    let (code, token, stderr) = run(&mut sandbox.helper(&["token"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(token.starts_with("bedrock-api-key-"));
    let mut lock = sandbox.socket().into_os_string();
    lock.push(".lock");
    assert!(Path::new(&lock).exists(), "its own socket, with the usual lock");
    // Even ignored, the variables do not reach children.
    assert_eq!(run(&mut sandbox.helper(&["--profile", "probe", "token"])).0, 0);
    let env = std::fs::read_to_string(record.with_extension("env")).unwrap();
    assert!(!env.contains("LISTEN_"), "{env}");

    daemon.signal("TERM");
    assert_eq!(daemon.wait(), Some(0));
    assert!(!sandbox.socket().exists(), "it unlinks the socket it created");
    assert!(passed.exists(), "and leaves the one that was not meant for it");
}

#[test]
fn malformed_activation_is_refused_with_a_hint() {
    let sandbox = Sandbox::new();
    let socket = sandbox.socket();
    socket_dir(&sandbox);
    for (fds, expected) in [("2", "passed 2 sockets"), ("x", "LISTEN_FDS is not a number")] {
        let _ = std::fs::remove_file(&socket);
        let mut command = launch(&sandbox, &socket, "self", fds);
        command.stderr(Stdio::piped());
        let (code, _, stderr) = run(&mut command);
        assert_eq!(code, 2, "{stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(stderr.contains("hint:") && stderr.contains("ListenStream"), "{stderr}");
    }
}

#[test]
fn the_helper_never_autostarts_a_second_daemon_while_systemd_holds_the_socket() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let socket = sandbox.socket();
    socket_dir(&sandbox);
    // systemd's own launcher: it binds now and executes the daemon on the first connection.
    let mut command = sandbox.command("systemd-socket-activate");
    command
        .arg("--listen")
        .arg(&socket)
        .args([
            "-E",
            "HOME",
            "-E",
            "XDG_RUNTIME_DIR",
            "-E",
            "PATH",
            "-E",
            "AWS_EC2_METADATA_DISABLED",
        ])
        .args([common::bedprov_bin(), "daemon", "run", "-v"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let child = command.spawn().expect("systemd-socket-activate (from the systemd package)");
    let mut daemon = Daemon { child: Some(child), socket: socket.clone() };
    let deadline = Instant::now() + Duration::from_secs(10);
    while !socket.exists() {
        assert!(Instant::now() < deadline, "systemd-socket-activate did not bind");
        std::thread::sleep(Duration::from_millis(10));
    }

    // Autostart on: no daemon runs yet, but the connect succeeds, so none is started.
    let mut helper = sandbox.helper(&["token"]);
    helper.env_remove("BEDPROV_NO_AUTOSTART");
    let (code, token, stderr) = run(&mut helper);
    assert_eq!(code, 0, "{stderr}");
    assert!(token.starts_with("bedrock-api-key-"));
    assert!(!stderr.contains("started the bedprov daemon"), "{stderr}");
    assert!(
        !sandbox.home().join(".local/state/bedprov/daemon.log").exists(),
        "`bedprov daemon start` never ran"
    );
    let health = daemon.client().get_json::<serde_json::Value>("/v1/health").unwrap();
    assert_eq!(health["pid"], daemon.pid(), "the one daemon is the activated one");

    // `daemon stop` stops it, and says the socket stays with its owner.
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&["daemon", "stop"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("stopped") && stdout.contains("stays"), "{stdout}");
    assert_eq!(daemon.wait(), Some(0));
    assert!(socket.exists());
}
