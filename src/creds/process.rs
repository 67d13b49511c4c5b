//! Running a profile's `credential_process`, with the guarantees aws-config's runner lacks:
//! a bounded time (a hung child is killed and reaped), bounded output, and the child's
//! stderr never copied into an error or a log (tools print secrets there). Both pipes are
//! read to their end whatever the child writes, so it never blocks on a full pipe.
//!
//! This is the only way bedprov runs a `credential_process`, whether a profile names one
//! itself or a role takes its source credentials from one (see [`super::chain`]).

//!
//! The command runs in a process group of its own. When it is given up on (timeout, or the
//! refresh waiting for it is cancelled) the whole group is killed, not just `sh`, so
//! nothing it started keeps running. `sh` is reaped here; its children, orphaned as they
//! die, are reaped by init like any orphan.
//!
//! Output format: AWS's `credential_process` JSON, `Version: 1`, with `AccessKeyId`,
//! `SecretAccessKey`, optional `SessionToken` and optional `Expiration` (RFC 3339).

use super::CredsError;
use aws_credential_types::Credentials;
use serde::Deserialize;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use zeroize::Zeroizing;

/// How long a `credential_process` may run before it is killed, unless [`TIMEOUT_ENV`] says.
pub const TIMEOUT: Duration = Duration::from_secs(60);
/// Overrides [`TIMEOUT`]: whole seconds, 1 to [`MAX_TIMEOUT_SECS`]. For tools that need
/// longer (a hardware-key prompt) or tests that need shorter.
pub const TIMEOUT_ENV: &str = "BEDPROV_CREDENTIAL_PROCESS_TIMEOUT";
/// The longest [`TIMEOUT_ENV`] may ask for: a refresh must not wait on a process for ever.
pub const MAX_TIMEOUT_SECS: u64 = 3600;
/// The most stdout accepted from it (real answers are under 4 KB).
const MAX_OUTPUT: u64 = 64 * 1024;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ProcessOutput {
    version: Option<serde_json::Value>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
    session_token: Option<String>,
    expiration: Option<String>,
}

/// The timeout in force: [`TIMEOUT_ENV`] if set (and valid), else [`TIMEOUT`].
pub fn timeout() -> crate::Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Err(std::env::VarError::NotPresent) => Ok(TIMEOUT),
        Ok(value) => parse_timeout(&value),
        Err(std::env::VarError::NotUnicode(_)) => parse_timeout("(not UTF-8)"),
    }
}

fn parse_timeout(value: &str) -> crate::Result<Duration> {
    match value.trim().parse::<u64>() {
        Ok(secs) if (1..=MAX_TIMEOUT_SECS).contains(&secs) => Ok(Duration::from_secs(secs)),
        _ => Err(crate::Error::usage(
            format!(
                "{TIMEOUT_ENV}={value} is not a number of seconds from 1 to {MAX_TIMEOUT_SECS}"
            ),
            format!(
                "set it to whole seconds (e.g. {TIMEOUT_ENV}=120), or unset it for the default of {} s",
                TIMEOUT.as_secs()
            ),
        )),
    }
}

/// Runs `command` (through `sh -c`, as the AWS CLI does) and parses its credentials.
pub async fn run(
    profile: &str,
    command: &str,
    timeout: Duration,
) -> Result<Credentials, CredsError> {
    let fail = |problem: String| CredsError::Process { profile: profile.to_owned(), problem };
    let child = tokio::process::Command::new("sh")
        .args(["-c", command])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, so a timeout kills the whole tree, not just `sh`.
        .process_group(0)
        .spawn()
        .map_err(|e| fail(format!("could not be started: {e}")))?;
    let mut running = Running::new(child);
    let stdout = running.child().stdout.take().expect("stdout is piped");
    let stderr = running.child().stderr.take().expect("stderr is piped");

    let mut output = Zeroizing::new(Vec::new());
    let work = async {
        // Both pipes are read to their end, so the child never blocks on a full one: stdout
        // is kept up to one byte past the limit, stderr is counted and dropped unread.
        let (printed, stderr_bytes) =
            tokio::join!(drain(stdout, Some(&mut *output), MAX_OUTPUT + 1), drain(stderr, None, 0));
        printed?;
        Ok::<_, std::io::Error>((running.child().wait().await?, stderr_bytes.unwrap_or(0)))
    };
    let (status, stderr_bytes) = match tokio::time::timeout(timeout, work).await {
        Ok(Ok(finished)) => {
            // Reaped normally: whatever it left running in the background is its business.
            running.reaped();
            finished
        }
        Ok(Err(e)) => return Err(fail(format!("failed while running: {e}"))),
        Err(_) => {
            // Dropping `running` kills the whole group and reaps `sh`.
            return Err(fail(format!(
                "did not finish within {} s and was stopped",
                timeout.as_secs()
            )));
        }
    };
    let stderr_note = if stderr_bytes == 0 {
        String::new()
    } else {
        format!(" (its stderr, {stderr_bytes} bytes, is not shown: it may contain secrets)")
    };
    if !status.success() {
        return Err(fail(format!("exited with {status}{stderr_note}")));
    }
    if output.len() as u64 > MAX_OUTPUT {
        return Err(fail("printed more than 64 KiB".into()));
    }
    parse(&output).map_err(|problem| fail(format!("{problem}{stderr_note}")))
}

/// Reads `pipe` to its end and returns how many bytes it carried. The first `keep` bytes go
/// into `into` (when given); the rest pass through a small buffer that is wiped after use.
async fn drain(
    mut pipe: impl tokio::io::AsyncRead + Unpin,
    mut into: Option<&mut Vec<u8>>,
    keep: u64,
) -> std::io::Result<u64> {
    let mut buffer = Zeroizing::new(vec![0u8; 8192]);
    let mut total = 0u64;
    loop {
        let read = pipe.read(&mut buffer[..]).await?;
        if read == 0 {
            return Ok(total);
        }
        if let Some(into) = into.as_deref_mut() {
            let room = usize::try_from(keep.saturating_sub(total)).unwrap_or(usize::MAX);
            into.extend_from_slice(&buffer[..read.min(room)]);
        }
        total += read as u64;
    }
}

/// A running credential process. Unless it was reaped normally, dropping this kills its
/// whole process group (tokio's `kill_on_drop` alone would kill `sh` and leave its children
/// running) and reaps `sh` in the background, so no zombie lingers either. That covers the
/// timeout, and a run abandoned half-way (a cancelled refresh, a daemon shutting down).
struct Running {
    child: Option<tokio::process::Child>,
    /// The group to kill; `None` once `sh` has been reaped (its pid, the group id, may
    /// then be reused).
    group: Option<nix::unistd::Pid>,
}

impl Running {
    fn new(child: tokio::process::Child) -> Self {
        // The leader's pid is the group id (process_group(0)).
        let group =
            child.id().and_then(|id| i32::try_from(id).ok()).map(nix::unistd::Pid::from_raw);
        Self { child: Some(child), group }
    }

    fn child(&mut self) -> &mut tokio::process::Child {
        self.child.as_mut().expect("present until dropped")
    }

    fn reaped(&mut self) {
        self.group = None;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(group) = self.group else { return };
        let _ = nix::sys::signal::killpg(group, nix::sys::signal::Signal::SIGKILL);
        if let (Some(mut child), Ok(runtime)) =
            (self.child.take(), tokio::runtime::Handle::try_current())
        {
            runtime.spawn(async move {
                let _ = child.wait().await;
            });
        }
    }
}

/// Parses `credential_process` JSON. Error texts never quote the input.
fn parse(output: &[u8]) -> Result<Credentials, String> {
    let parsed: ProcessOutput = serde_json::from_slice(output).map_err(|e| {
        format!(
            "printed something that is not credential JSON (at line {}, column {})",
            e.line(),
            e.column()
        )
    })?;
    match parsed.version {
        Some(serde_json::Value::Number(n)) if n.as_u64() == Some(1) => {}
        Some(other) => {
            let shown = match other {
                serde_json::Value::Number(n) => n.to_string(),
                _ => "a non-number".into(),
            };
            return Err(format!("printed Version {shown}; only Version 1 is defined"));
        }
        None => return Err("printed no Version (expected \"Version\": 1)".into()),
    }
    let access_key_id =
        parsed.access_key_id.filter(|s| !s.is_empty()).ok_or("printed no AccessKeyId")?;
    let secret = Zeroizing::new(
        parsed.secret_access_key.filter(|s| !s.is_empty()).ok_or("printed no SecretAccessKey")?,
    );
    let expiry = match parsed.expiration {
        None => None,
        Some(text) => Some(
            crate::timefmt::parse_rfc3339(&text)
                .ok_or("printed an Expiration that is not an RFC 3339 time")?,
        ),
    };
    Ok(Credentials::new(
        access_key_id,
        secret.as_str(),
        parsed.session_token,
        expiry,
        "credential_process",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_version_one() {
        let creds = parse(br#"{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(creds.session_token(), Some("t"));
        assert!(creds.expiry().is_some());
        let long_term = parse(br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s"}"#).unwrap();
        assert_eq!(long_term.expiry(), None);
    }

    #[test]
    fn typed_errors_never_quote_the_output() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        for (input, expected) in [
            (format!("garbage {secret}"), "not credential JSON"),
            (
                format!(r#"{{"Version":2,"AccessKeyId":"A","SecretAccessKey":"{secret}"}}"#),
                "Version 2",
            ),
            (format!(r#"{{"AccessKeyId":"A","SecretAccessKey":"{secret}"}}"#), "no Version"),
            (format!(r#"{{"Version":1,"SecretAccessKey":"{secret}"}}"#), "no AccessKeyId"),
            (r#"{"Version":1,"AccessKeyId":"A"}"#.to_owned(), "no SecretAccessKey"),
            (
                format!(
                    r#"{{"Version":1,"AccessKeyId":"A","SecretAccessKey":"{secret}","Expiration":"soon"}}"#
                ),
                "RFC 3339",
            ),
        ] {
            let err = parse(input.as_bytes()).unwrap_err();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains(secret));
        }
    }

    #[test]
    fn the_timeout_setting_is_whole_seconds_within_bounds() {
        assert_eq!(parse_timeout("5").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_timeout(" 3600 ").unwrap(), Duration::from_secs(3600));
        for bad in ["0", "3601", "-1", "1.5", "10s", ""] {
            let err = parse_timeout(bad).unwrap_err();
            assert!(err.to_string().contains(TIMEOUT_ENV), "{err}");
            assert!(err.hint().contains("unset it"), "{}", err.hint());
        }
    }

    #[tokio::test]
    async fn hung_process_is_killed_at_the_timeout() {
        let started = std::time::Instant::now();
        let err = run("p", "sleep 30", Duration::from_millis(200)).await.unwrap_err();
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    /// Within a second: gone, or (if `zombie_ok`) a zombie waiting for init.
    async fn dies(pid: &str, zombie_ok: bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(1);
        while std::time::Instant::now() < deadline {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat)
                    if zombie_ok
                        && stat.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')) =>
                {
                    return true;
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            }
        }
        false
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_timeout_or_a_cancelled_run_kills_what_the_process_started() {
        let dir = tempfile::tempdir().unwrap();
        for (name, give_up) in [("timeout", false), ("cancelled", true)] {
            let pids = dir.path().join(name);
            let command = format!("sleep 30 & echo $$ $! > '{}'; wait", pids.display());
            let run = run("p", &command, Duration::from_millis(300));
            if give_up {
                assert!(tokio::time::timeout(Duration::from_millis(150), run).await.is_err());
            } else {
                assert!(run.await.unwrap_err().to_string().contains("did not finish"));
            }
            let pids = std::fs::read_to_string(&pids).unwrap();
            let (sh, background) = pids.trim().split_once(' ').unwrap();
            assert!(dies(sh, false).await, "{name}: `sh` ({sh}) was not reaped");
            assert!(
                dies(background, true).await,
                "{name}: its child {background} is still running"
            );
        }
    }

    #[tokio::test]
    async fn a_flood_on_stderr_or_stdout_is_drained_without_blocking_the_child() {
        // 512 KiB on stderr: far beyond a pipe's buffer, so a reader that stops early would
        // leave the child blocked in write() until the timeout.
        let flood = "head -c 524288 /dev/zero | tr '\\0' x >&2";
        let answer = r#"{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s"}"#;
        let creds =
            run("p", &format!("{flood}; echo '{answer}'"), Duration::from_secs(20)).await.unwrap();
        assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
        // Too much on stdout: refused as such, not as a timeout.
        let err = run("p", "head -c 524288 /dev/zero", Duration::from_secs(20)).await.unwrap_err();
        assert!(err.to_string().contains("more than 64 KiB"), "{err}");
    }

    #[tokio::test]
    async fn stderr_is_never_quoted() {
        let err = run("p", "echo SECRETSTDERR >&2; exit 3", TIMEOUT).await.unwrap_err();
        let text = err.to_string();
        assert!(text.contains("exited with") && text.contains("not shown"), "{text}");
        assert!(!text.contains("SECRETSTDERR"));
    }
}
