//! `bedprov daemon run|start|stop|status|refresh`, `bedprov status` and `bedprov socket-path`.

use super::Output;
use crate::daemon::{self, detach};
use crate::render::Format;
use crate::wire::api::TokenQuery;
use crate::wire::api::endpoint::{Refresh, Status};
use crate::wire::client::Client;
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

#[derive(Debug, Subcommand)]
pub enum DaemonCommand {
    /// Run in the foreground (for systemd, launchd and debugging); logs start-up, refreshes
    /// and errors to stderr (more with -v).
    Run(RunArgs),
    /// Start in the background; returns once the socket answers (or fails with the reason).
    Start(RunArgs),
    /// Stop the running daemon and wait until its socket is gone.
    Stop,
    /// Show the daemon's tokens: state, expiry, next refresh, last error.
    Status(StatusArgs),
    /// Refresh every token now (ignoring backoff), e.g. right after `aws sso login`. Answers
    /// within 10 s; slower refreshes go on in the background and are named.
    Refresh,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Config file with slots to keep warm (default: ~/.config/bedprov/config.toml).
    #[arg(long, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Also run the local Bedrock proxy for long-running apps, on ADDR (a loopback address
    /// and port; default: the config file's `[proxy] listen`, else 127.0.0.1:8239).
    #[arg(long, value_name = "ADDR", num_args = 0..=1, require_equals = false)]
    #[allow(clippy::option_option)] // clap: absent, `--proxy` alone, or `--proxy ADDR`
    pub proxy: Option<Option<String>>,
    /// Send the proxy's requests to URL instead of AWS's regional endpoints (`{region}` in
    /// it is replaced): a VPC endpoint, a gateway.
    #[arg(long, value_name = "URL")]
    pub proxy_upstream: Option<String>,
}

impl RunArgs {
    fn proxy_flags(&self) -> crate::proxy::settings::Flags {
        crate::proxy::settings::Flags {
            listen: self.proxy.clone(),
            upstream: self.proxy_upstream.clone(),
        }
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, value_parser = Format::parser(Format::REPORT), default_value_t = Format::Human)]
    pub format: Format,
}

fn client(socket: &Path) -> Client {
    Client::new(socket, Duration::from_secs(30))
}

/// Runs a daemon subcommand. `daemon start` returns in both processes: the parent with its
/// message, the daemon (after it stops) with its exit code.
pub(super) fn run(
    command: DaemonCommand,
    socket: &Path,
    verbosity: u8,
) -> crate::Result<DaemonOutcome> {
    let output = match command {
        DaemonCommand::Run(args) => {
            let options = daemon::Options {
                socket: socket.to_path_buf(),
                proxy: args.proxy_flags(),
                config_path: config_path(args.config),
                ready: None,
            };
            daemon::run(options)?;
            Output::default()
        }
        DaemonCommand::Start(args) => {
            let environment = crate::wire::aws_env::AwsEnv::from_process();
            let proxy = args.proxy_flags();
            match detach::start(socket, config_path(args.config), proxy, verbosity)? {
                detach::Started::Parent(message) => Output {
                    stdout: message,
                    notes: daemon::shell_credentials_warning(&environment).into_iter().collect(),
                    failure: None,
                },
                detach::Started::DaemonExited(code) => {
                    return Ok(DaemonOutcome::DaemonExited(code));
                }
            }
        }
        DaemonCommand::Stop => Output::from(detach::stop(socket)?),
        DaemonCommand::Status(args) => status(socket, args.format)?,
        DaemonCommand::Refresh => {
            // No query: every slot.
            let body = client(socket).call(Refresh, &TokenQuery::default())?;
            let mut text = format!("refreshed {} token(s), {} failed", body.refreshed, body.failed);
            if body.pending > 0 {
                let _ = write!(
                    text,
                    ", {} still refreshing (in the background: see `bedprov status`)",
                    body.pending
                );
            }
            text.push('\n');
            text.push_str(&crate::render::status::slots(&body.slots, SystemTime::now()));
            Output::from(text)
        }
    };
    Ok(DaemonOutcome::Done(output))
}

/// See [`run`].
#[derive(Debug)]
pub(super) enum DaemonOutcome {
    Done(Output),
    DaemonExited(i32),
}

pub(super) fn status(socket: &Path, format: Format) -> crate::Result<Output> {
    let status = client(socket).call(Status, &())?;
    Ok(Output::from(match format {
        Format::Json => crate::render::status::json(&status),
        // The rest is human: the parser admits no other.
        _ => crate::render::status::human(&status, SystemTime::now()),
    }))
}

fn config_path(flag: Option<PathBuf>) -> PathBuf {
    flag.unwrap_or_else(crate::paths::config_file)
}
