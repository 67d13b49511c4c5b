//! Diagnostics via `tracing`: to stderr (or a log file when detached), filtered by `-v` or
//! `RUST_LOG`. Whatever the filter, the targets that could print signing material or HTTP
//! bodies are clamped, so a token never reaches a log even at `RUST_LOG=trace`. Every
//! field's value (the message too) is shown through [`crate::quote::shown_long`]: a profile
//! name from a socket query or an error from outside cannot break or forge a log line.

use std::fmt;
use std::path::Path;
use tracing::field::Field;
use tracing::{Level, Metadata};
use tracing_subscriber::field::MakeExt as _;
use tracing_subscriber::filter::{FilterExt, LevelFilter, Targets, filter_fn};
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

/// The filter for a verbosity (`-v` = info, `-vv` = debug, `-vvv` = trace) unless
/// `RUST_LOG` is set to a level (`debug`) or to targets with levels (`bedprov=debug,warn`).
/// A `RUST_LOG` that says neither is ignored.
#[must_use]
pub fn filter(verbosity: u8) -> Targets {
    from_rust_log(std::env::var("RUST_LOG").ok().as_deref()).unwrap_or_else(|| {
        Targets::new().with_default(match verbosity {
            0 => LevelFilter::WARN,
            1 => LevelFilter::INFO,
            2 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    })
}

fn from_rust_log(value: Option<&str>) -> Option<Targets> {
    value.filter(|v| !v.trim().is_empty())?.parse().ok()
}

/// True for events the clamp lets through.
#[must_use]
pub fn clamp_allows(meta: &Metadata<'_>) -> bool {
    *meta.level() <= Level::INFO || !CLAMPED.iter().any(|prefix| meta.target().starts_with(prefix))
}

fn init<W>(verbosity: u8, writer: W, ansi: bool)
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = filter(verbosity).and(filter_fn(clamp_allows));
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
pub fn init_stderr(verbosity: u8) {
    use std::io::IsTerminal;
    init(verbosity, std::io::stderr, std::io::stderr().is_terminal());
}

/// Logs to `path` (appending, mode 0600), never with colours.
pub fn init_file(verbosity: u8, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    init(verbosity, std::sync::Mutex::new(file), false);
    Ok(())
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

    #[test]
    fn rust_log_takes_a_level_or_targets_and_anything_else_is_ignored() {
        use tracing::Level;
        let at =
            |targets: &Targets, target: &str, level: Level| targets.would_enable(target, &level);
        let debug = from_rust_log(Some("debug")).unwrap();
        assert!(at(&debug, "bedprov::daemon", Level::DEBUG) && !at(&debug, "x", Level::TRACE));
        let mixed = from_rust_log(Some("bedprov=trace,warn")).unwrap();
        assert!(at(&mixed, "bedprov::slot", Level::TRACE));
        assert!(at(&mixed, "aws_config", Level::WARN) && !at(&mixed, "aws_config", Level::INFO));
        for ignored in [None, Some(""), Some("  "), Some("bedprov=loud"), Some("[{a=b}]")] {
            assert!(from_rust_log(ignored).is_none(), "{ignored:?}");
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
