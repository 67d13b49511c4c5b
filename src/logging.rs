//! Diagnostics via `tracing`: to stderr (or a log file when detached), filtered by `-v` or
//! `RUST_LOG`. By default only bedprov's own lines show (a command's warnings; the daemon's
//! start-up, refreshes and errors): what the AWS SDK, hyper or zbus warn about, bedprov says
//! in its own words where it matters, and `-v` shows theirs too. Whatever the filter, the
//! targets that could print signing material or HTTP bodies are clamped, so a token never
//! reaches a log even at `RUST_LOG=trace`. Every
//! field's value (the message too) is shown through [`crate::quote::shown_long`]: a profile
//! name from a socket query or an error from outside cannot break or forge a log line.

use std::fmt;
use tracing::field::Field;
use tracing::{Level, Metadata};
use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::{self, FormatFields};
use tracing_subscriber::prelude::*;

/// Dependency targets never logged below `info`, whatever the user asks for: at debug and
/// trace they print canonical requests, headers and bodies.
const CLAMPED: &[&str] = &[
    "aws_sigv4",
    "aws_smithy",
    "aws_sdk",
    "aws_config",
    "aws_runtime",
    "hyper",
    "h2",
    "rustls",
    "zbus",
];

/// Who is logging, which decides what a run without `-v` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A command: its own warnings only (its errors are reported as messages with hints).
    Command,
    /// The daemon, in the foreground (as systemd and launchd run it) or detached: also its
    /// start-up, refreshes and errors.
    Daemon,
}

/// The level of bedprov's own targets without `-v`, per role.
const fn own_default(role: Role) -> &'static str {
    match role {
        Role::Command => "warn",
        Role::Daemon => "info",
    }
}

/// The filter directives for a verbosity (`-v` = info, `-vv` = debug, `-vvv` = trace, for
/// every crate). Without `-v`, other crates log only errors: their warnings (an SDK
/// provider that found nothing, a missing `AWS_CONFIG_FILE`) are not the user's business
/// unless asked for.
#[must_use]
pub fn directives(verbosity: u8, role: Role) -> String {
    match verbosity {
        0 => format!("error,bedprov={}", own_default(role)),
        1 => "info".into(),
        2 => "debug".into(),
        _ => "trace".into(),
    }
}

/// The filter for a verbosity and role ([`directives`]) unless `RUST_LOG` is set.
#[must_use]
pub fn env_filter(verbosity: u8, role: Role) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(directives(verbosity, role)))
}

/// True for events the clamp lets through.
#[must_use]
pub fn clamp_allows(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !CLAMPED.iter().any(|prefix| meta.target().starts_with(prefix))
}

fn init<W>(verbosity: u8, role: Role, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = env_filter(verbosity, role).and(filter_fn(clamp_allows));
    let layer = tracing_subscriber::fmt::layer()
        .fmt_fields(quoted_fields())
        .with_writer(writer)
        .with_ansi(ansi)
        .with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Fields as the default format writes them (`message name=value …`), each value quoted.
#[must_use]
pub fn quoted_fields() -> impl for<'w> FormatFields<'w> + Send + Sync + 'static {
    format::debug_fn(|writer: &mut format::Writer<'_>, field: &Field, value: &dyn fmt::Debug| {
        let value = crate::quote::shown_long(&format!("{value:?}"));
        match field.name() {
            "message" => writer.write_str(&value),
            name => write!(writer, "{name}={value}"),
        }
    })
    .delimited(" ")
}

/// Logs to stderr, with colours only on a terminal.
pub fn init_stderr(verbosity: u8, role: Role) {
    use std::io::IsTerminal;
    init(verbosity, role, std::io::stderr, std::io::stderr().is_terminal());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn a_field_from_outside_cannot_break_or_forge_a_log_line() {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&written);
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(quoted_fields())
            .with_ansi(false)
            .with_writer(move || SharedBuffer(Arc::clone(&sink)))
            .finish();
        let profile = "evil\r\n2026-01-01T00:00:00Z  INFO bedprov: forged\u{1b}[2J";
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(profile = %profile, error = ?profile, "refresh failed for {profile}");
        });
        let log = String::from_utf8(written.lock().unwrap().clone()).unwrap();
        assert_eq!(log.matches('\n').count(), 1, "{log}");
        assert!(!log.contains(['\r', '\u{1b}']), "{log}");
        assert!(log.contains("refresh failed for evil\\u{d}\\u{a}2026"), "{log}");
        assert!(log.contains(" profile=evil\\u{d}\\u{a}2026"), "{log}");
    }

    /// What a subscriber with the default filter of `verbosity` and `role` writes for one
    /// event of each kind that matters.
    fn logged(verbosity: u8, role: Role) -> String {
        let written = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&written);
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(move || SharedBuffer(Arc::clone(&sink)))
                .with_filter(
                    EnvFilter::new(directives(verbosity, role)).and(filter_fn(clamp_allows)),
                ),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(target: "aws_config::meta::credentials::chain", "sdk-warn");
            tracing::warn!(target: "aws_runtime::env_config::source", "runtime-warn");
            tracing::warn!(target: "hyper_util::client", "hyper-warn");
            tracing::warn!(target: "zbus::connection", "zbus-warn");
            tracing::error!(target: "aws_smithy_runtime::client", "sdk-error");
            tracing::debug!(target: "aws_sigv4::http_request", "canonical-request");
            tracing::warn!(target: "bedprov::creds", "own-warn");
            tracing::info!(target: "bedprov::daemon", "own-info");
            tracing::debug!(target: "bedprov::slot", "own-debug");
        });
        String::from_utf8(written.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn by_default_only_bedprov_speaks_and_the_daemon_says_more_than_a_command() {
        let quiet = ["sdk-warn", "runtime-warn", "hyper-warn", "zbus-warn"];
        let command = logged(0, Role::Command);
        for line in quiet.iter().chain(&["own-info", "own-debug", "canonical-request"]) {
            assert!(!command.contains(line), "{line} in a command's default log:\n{command}");
        }
        assert!(command.contains("own-warn") && command.contains("sdk-error"), "{command}");
        let daemon = logged(0, Role::Daemon);
        for line in quiet.iter().chain(&["own-debug", "canonical-request"]) {
            assert!(!daemon.contains(line), "{line} in the daemon's default log:\n{daemon}");
        }
        assert!(daemon.contains("own-warn") && daemon.contains("own-info"), "{daemon}");

        // Asked for: everyone's warnings, for both roles alike; the clamp still holds.
        for role in [Role::Command, Role::Daemon] {
            let verbose = logged(1, role);
            for line in quiet.iter().chain(&["own-info"]) {
                assert!(verbose.contains(line), "{line} missing with -v:\n{verbose}");
            }
            let trace = logged(3, role);
            assert!(trace.contains("own-debug"), "{trace}");
            assert!(!trace.contains("canonical-request"), "the clamp holds at trace:\n{trace}");
        }
    }

    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedBuffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
}
