//! Diagnostics via `tracing`: to stderr (or a log file when detached), filtered by `-v` or
//! `RUST_LOG`. Whatever the filter, the targets that could print signing material or HTTP
//! bodies are clamped, so a token never reaches a log even at `RUST_LOG=trace`.

use std::path::Path;
use tracing::{Level, Metadata};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
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
    let layer =
        tracing_subscriber::fmt::layer().with_writer(writer).with_ansi(ansi).with_filter(filter);
    let _ = tracing_subscriber::registry().with(layer).try_init();
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
