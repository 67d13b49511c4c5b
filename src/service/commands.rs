//! Follow-up commands (`systemctl --user …`, `launchctl …`): shown to the user as shell lines
//! they can paste, or run for them with `--now`, each bounded in time.
//!
//! This module does not choose the commands; the platform modules do.

use crate::Error;
use crate::wire::exit;
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
        let finished = self.run_unchecked()?;
        if finished.success {
            return Ok(finished);
        }
        let detail = finished.stderr.trim();
        Err(Error::other(
            exit::INTERNAL,
            format!("`{self}` failed{}{detail}", if detail.is_empty() { "" } else { ": " }),
            hint_for(&self.program, detail, false),
        ))
    }

    /// Runs the command and reports how it ended, failing only when it cannot run at all.
    pub fn run_unchecked(&self) -> crate::Result<Finished> {
        let mut child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                Error::other(
                    exit::INTERNAL,
                    format!("cannot run `{self}`: {e}"),
                    hint_for(&self.program, "", true),
                )
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
                    return Err(Error::other(
                        exit::INTERNAL,
                        format!("`{self}` did not finish within {} s", TIMEOUT.as_secs()),
                        "run it yourself to see what it waits for",
                    ));
                }
            }
        };
        let [stdout, stderr] =
            readers.map(|reader| reader.and_then(|r| r.join().ok()).unwrap_or_default());
        Ok(Finished { success: status.success(), stdout, stderr })
    }
}

fn drain(mut pipe: impl std::io::Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = (&mut pipe).take(1 << 20).read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn hint_for(program: &str, detail: &str, missing: bool) -> String {
    let no_manager = missing
        || [
            "Failed to connect to bus",
            "No medium found",
            "System has not been booted with systemd",
        ]
        .iter()
        .any(|sign| detail.contains(sign));
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
        f.write_str(&quote(&self.program))?;
        for arg in &self.args {
            write!(f, " {}", quote(arg))?;
        }
        Ok(())
    }
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@%+,".contains(c));
    if plain { word.to_owned() } else { format!("'{}'", word.replace('\'', r"'\''")) }
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
    fn runs_and_reports_failure_with_its_stderr() {
        let ok = FollowUp::new("sh", &["-c", "echo out; echo err >&2"]).run().unwrap();
        assert_eq!((ok.stdout.as_str(), ok.stderr.as_str()), ("out\n", "err\n"));
        let error = FollowUp::new("sh", &["-c", "echo broken >&2; exit 3"]).run().unwrap_err();
        assert!(error.to_string().contains("broken"), "{error}");
        let missing = FollowUp::new("bedprov-no-such-program", &[]).run().unwrap_err();
        assert!(missing.to_string().starts_with("cannot run"), "{missing}");
    }
}
