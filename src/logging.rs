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

/// The filter for a verbosity (`-v` = info, `-vv` = debug, `-vvv` = trace) unless
/// `RUST_LOG` is set.
#[must_use]
pub fn env_filter(verbosity: u8) -> EnvFilter {
    let base = match verbosity {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(base))
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
    let filter = env_filter(verbosity).and(filter_fn(clamp_allows));
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
