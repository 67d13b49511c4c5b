//! `bedprov daemon start` and `stop`.
//!
//! Start forks with `daemonize` before any tokio runtime exists (a runtime built before a
//! fork never runs its tasks in the child). The parent then waits on a pipe: the daemon
//! writes "ready" once its socket accepts connections, or its error as the JSON body the
//! socket answers errors with (kind, message, hint); a daemon that dies first closes the
//! pipe. So the parent's exit status and error tell the truth about the start.
//! Stop asks over the socket and waits until the socket file is gone (or, when systemd owns
//! the socket, until the process is).

use super::{Options, Readiness};
use crate::Error;
use crate::wire::api::ErrorCode;
use crate::wire::api::endpoint::{Health, Shutdown, Status};
use crate::wire::client::{Client, ClientError};
use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long `start` waits for the daemon to report.
pub const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `stop` waits for the socket to disappear.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(8);

/// Which side of the fork we are on after [`start`].
#[derive(Debug)]
pub enum Started {
    /// The original process: the daemon is up; here is what to tell the user.
    Parent(String),
    /// The daemon process, after it stopped: its exit code.
    DaemonExited(i32),
}

/// Starts a detached daemon; see the module docs.
pub fn start(
    socket: &Path,
    config_path: PathBuf,
    proxy: crate::proxy::settings::Flags,
    verbosity: u8,
) -> crate::Result<Started> {
    let client = Client::new(socket, Duration::from_secs(2));
    if client.call(Health, &()).is_ok() {
        return Err(super::socket::already_running(socket));
    }
    // The daemon works from `/`: a config named relative to here must still be the one read.
    let config_path = std::path::absolute(&config_path).unwrap_or(config_path);
    let log_path = crate::paths::daemon_log();
    let log = open_log(&log_path)?;
    let (read_end, write_end) =
        nix::unistd::pipe().map_err(|e| Error::io("cannot create a pipe")(e.into()))?;
    let daemonize = daemonize::Daemonize::new()
        .working_directory("/")
        .umask(0o077)
        .stdout(log.try_clone().map_err(Error::io("cannot open the log"))?)
        .stderr(log);
    match daemonize.execute() {
        daemonize::Outcome::Parent(Ok(_)) => {
            drop(write_end);
            wait_ready(read_end, socket, &log_path).map(Started::Parent)
        }
        daemonize::Outcome::Parent(Err(error)) => Err(Error::new(
            ErrorCode::Internal,
            format!("cannot detach the daemon: {error}"),
            "run it in the foreground with `bedprov daemon run` to see why",
        )),
        daemonize::Outcome::Child(result) => {
            drop(read_end);
            // stderr is the log file now: logging starts here, without colours.
            crate::harden::harden_process();
            crate::logging::init_stderr(verbosity, crate::logging::Role::Daemon);
            if let Err(error) = result {
                let error = Error::new(
                    ErrorCode::Internal,
                    format!("cannot detach: {error}"),
                    "run `bedprov daemon run` to see why",
                );
                super::report_ready(write_end, &Readiness::Failed(error.to_body()));
                return Ok(Started::DaemonExited(error.exit_code()));
            }
            let options = Options {
                socket: socket.to_path_buf(),
                config_path,
                ready: Some(write_end),
                proxy,
            };
            Ok(Started::DaemonExited(match super::run(options) {
                Ok(()) => 0,
                Err(error) => {
                    tracing::error!(%error, "daemon stopped");
                    error.exit_code()
                }
            }))
        }
    }
}

fn open_log(path: &Path) -> crate::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io(format!("cannot open the daemon log {}", path.display())))
}

/// Reads the daemon's report from the pipe (bounded in time), then confirms with a health
/// check over the socket.
fn wait_ready(read_end: std::os::fd::OwnedFd, socket: &Path, log: &Path) -> crate::Result<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut report = String::new();
        let _ = std::fs::File::from(read_end).take(64 * 1024).read_to_string(&mut report);
        let _ = tx.send(report);
    });
    let see_log = format!("see the log: {}", log.display());
    let report = rx.recv_timeout(START_TIMEOUT).map_err(|_| {
        Error::new(
            ErrorCode::Internal,
            format!("the daemon did not report ready within {} s", START_TIMEOUT.as_secs()),
            see_log.clone(),
        )
    })?;
    match Readiness::parse(&report) {
        Some(Readiness::Ready) => {}
        Some(Readiness::Failed(error)) => return Err(error.into()),
        None => {
            return Err(Error::new(
                ErrorCode::Internal,
                "the daemon exited during start-up",
                see_log,
            ));
        }
    }
    let client = Client::new(socket, Duration::from_secs(2));
    let health = client.call(Health, &())?;
    let mut message =
        format!("bedprov daemon started (pid {}) on {}\n", health.pid, socket.display());
    if let Some(proxy) = client.call(Status, &()).ok().and_then(|status| status.proxy) {
        let _ = writeln!(message, "proxy: {} (upstream: {})", proxy.listen, proxy.upstream);
    }
    let _ = writeln!(message, "log: {}", log.display());
    Ok(message)
}

/// Stops the daemon on `socket` and waits for its socket file to go.
pub fn stop(socket: &Path) -> crate::Result<String> {
    let client = Client::new(socket, Duration::from_secs(5));
    let health = match client.call(Shutdown, &()) {
        Ok(health) => health,
        Err(ClientError::Unreachable { .. }) => {
            return Ok(format!("no bedprov daemon was running on {}\n", socket.display()));
        }
        Err(error) => return Err(error.into()),
    };
    // Done when the socket is gone, or when the process is: a socket systemd owns (socket
    // activation) stays, and probing it would only start the daemon again.
    let deadline = Instant::now() + STOP_TIMEOUT;
    while socket.exists() && process_running(health.pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if socket.exists() && process_running(health.pid) {
        return Err(Error::new(
            ErrorCode::Internal,
            format!(
                "the daemon (pid {}) did not stop within {} s",
                health.pid,
                STOP_TIMEOUT.as_secs()
            ),
            format!("stop it with `kill {}`", health.pid),
        ));
    }
    let mut message = format!("bedprov daemon (pid {}) stopped\n", health.pid);
    if socket.exists() {
        let _ = writeln!(
            message,
            "The socket {} stays: it belongs to a socket unit (bedprov.socket), which starts the daemon again on the next request. To keep it stopped: systemctl --user stop bedprov.socket",
            socket.display()
        );
    }
    Ok(message)
}

/// True while `pid` runs: it exists and, on Linux, is not a zombie waiting for its parent.
fn process_running(pid: u32) -> bool {
    // Pid 0 would address our own process group.
    let Some(raw) = i32::try_from(pid).ok().filter(|p| *p > 0) else { return false };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Err(nix::errno::Errno::ESRCH) => false,
        _ => !is_zombie(pid),
    }
}

fn is_zombie(pid: u32) -> bool {
    // `/proc/<pid>/stat`: "pid (comm) state ...", and comm may itself contain ") ".
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| stat.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::api::ErrorEnvelope;
    use crate::wire::exit;

    /// A start-up failure crosses the readiness pipe as the socket's own error body, and the
    /// waiting parent fails with the daemon's kind (so its exit code), message and hint.
    #[test]
    fn a_start_up_failure_crosses_the_pipe_as_the_sockets_error_body() {
        let failure = Error::new(
            ErrorCode::AlreadyRunning,
            "a bedprov daemon is already running on /run/x.sock\nforged: line",
            "use it as it is",
        );
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        super::super::report_ready(write_end, &Readiness::Failed(failure.to_body()));
        let mut sent = String::new();
        std::fs::File::from(read_end).read_to_string(&mut sent).unwrap();
        assert_eq!(sent.lines().count(), 1, "{sent}");
        let envelope: ErrorEnvelope = serde_json::from_str(&sent).unwrap();
        assert_eq!(envelope.error, failure.to_body());

        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        super::super::report_ready(write_end, &Readiness::Failed(failure.to_body()));
        let error =
            wait_ready(read_end, Path::new("/nonexistent/s.sock"), Path::new("/log")).unwrap_err();
        assert_eq!(error.exit_code(), exit::ALREADY_RUNNING);
        assert_eq!(
            error.to_string(),
            "a bedprov daemon is already running on /run/x.sock\\u{a}forged: line"
        );
        assert_eq!(error.hint(), "use it as it is");
    }

    #[test]
    fn ready_is_one_word_and_anything_else_is_a_silent_death() {
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        super::super::report_ready(write_end, &Readiness::Ready);
        let mut sent = String::new();
        std::fs::File::from(read_end).read_to_string(&mut sent).unwrap();
        assert_eq!(sent, "ready\n");
        assert!(matches!(Readiness::parse(&sent), Some(Readiness::Ready)));
        for other in ["", "error: x\nhint: y\ncode: 8\n", "{\"error\":{}}"] {
            assert!(Readiness::parse(other).is_none(), "{other:?}");
        }
        let (read_end, write_end) = nix::unistd::pipe().unwrap();
        drop(write_end);
        let error = wait_ready(read_end, Path::new("/nonexistent/s.sock"), Path::new("/var/log/d"))
            .unwrap_err();
        assert_eq!(error.exit_code(), exit::INTERNAL);
        assert_eq!(error.to_string(), "the daemon exited during start-up");
        assert_eq!(error.hint(), "see the log: /var/log/d");
    }
}
