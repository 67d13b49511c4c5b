//! Follow-up commands (`systemctl --user …`, `launchctl …`): shown to the user as shell lines
//! they can paste, or run for them with `--now`, each bounded in time.
//!
//! This module does not choose the commands; the platform modules do.

use crate::Error;
use crate::wire::api::ErrorCode;
use std::fmt;
use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may take (`systemctl enable --now` waits for the start job).
const TIMEOUT: Duration = Duration::from_secs(60);

/// One command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowUp {
    pub program: String,
    pub args: Vec<String>,
}

impl FollowUp {
    #[must_use]
    pub fn new(program: &str, args: &[&str]) -> Self {
        Self { program: program.to_owned(), args: args.iter().map(|&a| a.to_owned()).collect() }
    }

    /// Runs the command; `Ok` with its output when it exits 0.
    pub fn run(&self) -> crate::Result<Finished> {
        match self.attempt() {
            Attempt::Done(finished) => Ok(finished),
            Attempt::NoManager { error, .. } | Attempt::Failed(error) => Err(error),
        }
    }

    /// Runs the command and tells a service manager that cannot be reached (no user
    /// systemd, no launchctl) from other failures, so a caller can go on without one.
    #[must_use]
    pub fn attempt(&self) -> Attempt {
        let finished = match self.launch() {
            Ok(finished) => finished,
            Err(Launch::Missing(error)) => {
                return Attempt::NoManager {
                    reason: format!("{} is not installed", self.program),
                    error: Error::new(
                        ErrorCode::Internal,
                        format!("cannot run `{self}`: {error}"),
                        hint_for(&self.program, "", true),
                    ),
                };
            }
            Err(Launch::Failed(error)) => return Attempt::Failed(error),
        };
        if finished.success {
            return Attempt::Done(finished);
        }
        let detail = finished.stderr.trim();
        let error = Error::new(
            ErrorCode::Internal,
            format!("`{self}` failed{}{detail}", if detail.is_empty() { "" } else { ": " }),
            hint_for(&self.program, detail, false),
        );
        match no_manager_line(detail) {
            Some(reason) => Attempt::NoManager { reason: reason.to_owned(), error },
            None => Attempt::Failed(error),
        }
    }

    /// Runs the command and reports how it ended, failing only when it cannot run at all.
    pub fn run_unchecked(&self) -> crate::Result<Finished> {
        self.launch().map_err(|launch| match launch {
            Launch::Missing(error) => Error::new(
                ErrorCode::Internal,
                format!("cannot run `{self}`: {error}"),
                hint_for(&self.program, "", true),
            ),
            Launch::Failed(error) => error,
        })
    }

    fn launch(&self) -> Result<Finished, Launch> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Launch::Missing(e)
                } else {
                    Launch::Failed(Error::new(
                        ErrorCode::Internal,
                        format!("cannot run `{self}`: {e}"),
                        hint_for(&self.program, "", false),
                    ))
                }
            })?;
        // Read both pipes on threads, so a chatty command cannot block on a full pipe.
        let readers = [child.stdout.take().map(drain), child.stderr.take().map(drain)];
        let deadline = Instant::now() + TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(Launch::Failed(Error::new(
                        ErrorCode::Internal,
                        format!("`{self}` did not finish within {} s", TIMEOUT.as_secs()),
                        "run it yourself to see what it waits for",
                    )));
                }
            }
        };
        let [stdout, stderr] =
            readers.map(|reader| reader.and_then(|r| r.join().ok()).unwrap_or_default());
        Ok(Finished { success: status.success(), stdout, stderr })
    }
}

/// How [`FollowUp::attempt`] ended.
#[derive(Debug)]
pub enum Attempt {
    Done(Finished),
    /// No service manager answers here: `reason` in a few words (systemctl's own line), and
    /// the error to report when the caller cannot go on without one.
    NoManager {
        reason: String,
        error: Error,
    },
    Failed(Error),
}

/// Why a command could not run to its end.
enum Launch {
    /// The program is not installed.
    Missing(std::io::Error),
    Failed(Error),
}

/// What systemctl prints when no user manager answers: without a session bus (a
/// container, an SSH session) it cannot connect; with one, the bus cannot start or find
/// the manager.
const NO_MANAGER_SIGNS: [&str; 5] = [
    "Failed to connect to bus",
    "No medium found",
    "System has not been booted with systemd",
    "Process org.freedesktop.systemd1 exited",
    "The name org.freedesktop.systemd1 was not provided",
];

fn no_manager_line(detail: &str) -> Option<&str> {
    detail
        .lines()
        .map(str::trim)
        .find(|line| NO_MANAGER_SIGNS.iter().any(|sign| line.contains(sign)))
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(1 << 20).read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn hint_for(program: &str, detail: &str, missing: bool) -> String {
    let no_manager = missing || no_manager_line(detail).is_some();
    match program {
        "systemctl" if no_manager => "no systemd user manager answers here (a container, or an SSH session without one): log in normally, or on a server run `loginctl enable-linger $USER` and log in again; the files are in place".into(),
        "launchctl" if no_manager => "launchctl is only on macOS: run the commands on the Mac where the agent should run".into(),
        _ => "the files are in place: fix the cause shown, then run the commands again (or the same bedprov command)".into(),
    }
}

/// How a command ended.
#[derive(Debug)]
pub struct Finished {
    pub success: bool,
    pub stdout: String,
    pub stderr: String,
}

impl fmt::Display for FollowUp {
    /// As a POSIX shell line: arguments that need it are single-quoted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let words = std::iter::once(&self.program).chain(&self.args).map(String::as_str);
        f.write_str(&crate::wire::shell::posix_command_line(words))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_as_a_line_to_paste() {
        let command =
            FollowUp::new("launchctl", &["bootstrap", "gui/501", "/Users/a b/it's.plist"]);
        assert_eq!(command.to_string(), r"launchctl bootstrap gui/501 '/Users/a b/it'\''s.plist'");
        assert_eq!(FollowUp::new("x", &[""]).to_string(), "x ''");
    }

    #[test]
    fn an_unreachable_manager_is_told_from_other_failures() {
        let gone = FollowUp::new(
            "sh",
            &[
                "-c",
                "echo 'Removed \"x\".' >&2; echo 'Failed to connect to bus: No medium found' >&2; exit 1",
            ],
        );
        match gone.attempt() {
            Attempt::NoManager { reason, error } => {
                assert_eq!(reason, "Failed to connect to bus: No medium found");
                assert!(error.to_string().contains("Removed"), "systemctl's words: {error}");
            }
            other => panic!("{other:?}"),
        }
        match FollowUp::new("bedprov-no-such-program", &[]).attempt() {
            Attempt::NoManager { reason, .. } => {
                assert_eq!(reason, "bedprov-no-such-program is not installed");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(FollowUp::new("sh", &["-c", "exit 3"]).attempt(), Attempt::Failed(_)));
        assert!(matches!(FollowUp::new("true", &[]).attempt(), Attempt::Done(_)));
    }

    #[test]
    fn runs_and_reports_failure_with_its_stderr() {
        let ok = FollowUp::new("sh", &["-c", "echo out; echo err >&2"]).run().unwrap();
        assert_eq!((ok.stdout.as_str(), ok.stderr.as_str()), ("out\n", "err\n"));
        let error = FollowUp::new("sh", &["-c", "echo broken >&2; exit 3"]).run().unwrap_err();
        assert!(error.to_string().contains("broken"), "{error}");
        let missing = FollowUp::new("bedprov-no-such-program", &[]).run().unwrap_err();
        assert!(missing.to_string().starts_with("cannot run"), "{missing}");
    }
}
