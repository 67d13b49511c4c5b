//! The daemon: keeps fresh tokens in memory and serves them over a private Unix socket.
//!
//! - [`socket`]: the socket file: private directory, lock, stale check, bind, ownership.
//! - [`activation`]: a listening socket passed by systemd (`bedprov.socket`) instead.
//! - [`http`]: accept, peer-uid check, request heads gathered cheaply, hyper with timeouts.
//! - [`admission`]: the connection table: a cap that sheds the longest-idle connection.
//! - [`routes`]: the socket API (`wire::api`) on top of [`state`].
//! - [`state`]: slots, the background refresh loop, status.
//! - [`detach`]: `bedprov daemon start` (fork before any runtime, report readiness truly)
//!   and `stop`.
//! - [`program`]: `bedprov-daemon`, the lean executable the daemon runs as.
//!
//! The local Bedrock proxy (`crate::proxy`), when turned on, is bound here before the
//! daemon reports ready and served beside the socket, from the same slots.
//!
//! This module owns the lifecycle: start-up, readiness, signals (TERM/INT drain and exit,
//! HUP reloads the config), and noticing when the socket is taken from under us.

pub mod activation;
pub mod admission;
pub mod detach;
#[cfg(test)]
mod herd;
pub mod http;
pub mod program;
pub mod routes;
pub mod socket;
pub mod state;

use crate::Error;
use crate::slot::{AwsChain, CredentialSource};
use crate::wire::api::{ErrorBody, ErrorEnvelope};
use crate::wire::aws_env::AwsEnv;
use state::Daemon;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// How often the daemon checks that its socket file is still its own.
pub const SOCKET_CHECK: Duration = Duration::from_secs(2);

/// How to run.
#[derive(Debug)]
pub struct Options {
    pub socket: PathBuf,
    pub config_path: PathBuf,
    /// Write end of the readiness pipe (`daemon start`): [`Readiness`], then closed.
    pub ready: Option<OwnedFd>,
    /// `--proxy` and `--proxy-upstream` (the config file's `[proxy]` table fills in the rest).
    pub proxy: crate::proxy::settings::Flags,
}

/// Runs the daemon in the foreground until it is told to stop. Builds its own runtime: call
/// it from a process that has none (and, when detaching, only after the fork).
pub fn run(options: Options) -> crate::Result<()> {
    raise_fd_limit();
    let mut ready = options.ready;
    // First, while we are still single-threaded: it edits the environment.
    let result = activation::take_from_env().and_then(|activated| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(Error::io("cannot start the async runtime"))?;
        let baseline = crate::watch::Baseline::new(crate::paths::aws_files());
        let result = runtime.block_on(serve(
            options.socket,
            options.config_path,
            &options.proxy,
            activated,
            Arc::new(AwsChain::watched(Arc::clone(&baseline))),
            baseline,
            &mut ready,
        ));
        // Background tasks (a credential_process mid-run, the watcher) must not delay exit.
        runtime.shutdown_timeout(Duration::from_millis(200));
        result
    });
    if let (Err(error), Some(pipe)) = (&result, ready.take()) {
        report_failure(pipe, error);
    }
    result
}

/// Tells `bedprov daemon start` why the daemon did not start.
fn report_failure(pipe: OwnedFd, error: &Error) {
    report_ready(pipe, &Readiness::Failed(error.to_body()));
}

/// Each client holds a descriptor: lift the soft limit to the hard one (up to 65 536) so
/// the connection cap, not a default of 1024, is what bounds concurrent clients.
fn raise_fd_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let wanted = hard.min(65_536);
        if soft < wanted
            && let Err(error) = setrlimit(Resource::RLIMIT_NOFILE, wanted, hard)
        {
            tracing::debug!(%error, "cannot raise the open-file limit");
        }
    }
}

/// The daemon's own AWS environment, which serves clients that send none (curl, the
/// config file's slots). `bedprov-helper` starts the daemon without the shell's AWS
/// variables; a daemon started by hand in a shell that has credentials of its own says so.
fn own_environment() -> AwsEnv {
    let environment = AwsEnv::from_process();
    if let Some(warning) = shell_credentials_warning(&environment) {
        tracing::warn!("{warning}");
    }
    environment
}

/// What to tell the user when the daemon's environment holds AWS credentials.
#[must_use]
pub fn shell_credentials_warning(environment: &AwsEnv) -> Option<String> {
    let key = environment.access_key_id.as_deref()?;
    let until = environment
        .credential_expiration
        .as_deref()
        .map_or_else(String::new, |at| format!(", valid until {}", crate::quote::shown(at)));
    Some(format!(
        "this daemon's environment holds AWS credentials (AWS_ACCESS_KEY_ID {}{until}): it signs with them for clients that send no environment of their own (curl, the config file's slots); bedprov-helper always sends its own shell's. To keep them out, start the daemon from a shell without them",
        crate::quote::shown(key)
    ))
}

/// The proxy's settings from the flags and the config file's `[proxy]` table; `None` when
/// neither turns it on.
fn proxy_settings(
    flags: &crate::proxy::settings::Flags,
    config_path: &std::path::Path,
) -> crate::Result<Option<crate::proxy::settings::Settings>> {
    let config = crate::config::Config::load(config_path)?;
    crate::proxy::settings::resolve(flags, config.proxy.as_ref())
}

/// Binds the local Bedrock proxy, when it is on, before the daemon reports ready (so a port
/// in use fails the start).
fn start_proxy(
    settings: Option<&crate::proxy::settings::Settings>,
    daemon: &Arc<Daemon>,
) -> crate::Result<Option<crate::proxy::Started>> {
    let Some(settings) = settings else {
        return Ok(None);
    };
    let started = crate::proxy::start(settings, daemon)?;
    daemon.attach_proxy(started.info());
    Ok(Some(started))
}

/// SIGHUP reloads the slots only: the proxy keeps the settings it started with. Say so when
/// the config file now asks for others.
fn warn_if_proxy_changed(
    flags: &crate::proxy::settings::Flags,
    config_path: &std::path::Path,
    running: Option<&crate::proxy::settings::Settings>,
) {
    const KEPT: &str = "the proxy keeps the settings it started with until the daemon restarts (bedprov daemon stop && bedprov daemon start)";
    match proxy_settings(flags, config_path) {
        Ok(wanted) if wanted.as_ref() == running => {}
        Ok(_) => tracing::warn!("the config file's [proxy] settings changed; {KEPT}"),
        Err(error) => {
            tracing::warn!(%error, "the config file's [proxy] settings are invalid; {KEPT}");
        }
    }
}

/// What a starting daemon tells `bedprov daemon start` over the readiness pipe: one line,
/// `ready`, or its error as the same JSON body the socket answers with.
#[derive(Debug)]
pub(crate) enum Readiness {
    Ready,
    Failed(ErrorBody),
}

impl Readiness {
    const READY: &str = "ready";

    /// The line written to the pipe.
    fn line(&self) -> String {
        match self {
            Self::Ready => format!("{}\n", Self::READY),
            Self::Failed(error) => {
                let envelope = ErrorEnvelope { error: error.clone() };
                let mut line = serde_json::to_string(&envelope).expect("an error body serializes");
                line.push('\n');
                line
            }
        }
    }

    /// What the daemon said, or `None` for anything else (a daemon that died silently
    /// closes the pipe without a word).
    #[must_use]
    pub(crate) fn parse(report: &str) -> Option<Self> {
        let report = report.trim();
        if report == Self::READY {
            return Some(Self::Ready);
        }
        serde_json::from_str::<ErrorEnvelope>(report).ok().map(|e| Self::Failed(e.error))
    }
}

fn report_ready(pipe: OwnedFd, readiness: &Readiness) {
    let mut file = std::fs::File::from(pipe);
    let _ = file.write_all(readiness.line().as_bytes());
}

async fn serve(
    socket_path: PathBuf,
    config_path: PathBuf,
    proxy_flags: &crate::proxy::settings::Flags,
    activated: Option<activation::Activated>,
    source: Arc<dyn CredentialSource>,
    baseline: Arc<crate::watch::Baseline>,
    ready: &mut Option<OwnedFd>,
) -> crate::Result<()> {
    // Settings read at every refresh are checked now, so a typo fails the start, not a
    // refresh hours later.
    crate::creds::process::timeout()?;
    // A socket systemd owns is borrowed: no lock, never unlinked, no ownership watchdog.
    let is_activated = activated.is_some();
    let (listener, bound) = match activated {
        Some(activated) => activation::listen(activated, &socket_path)?,
        None => socket::claim(&socket_path)?,
    };
    let socket_path = bound.path.clone();
    let environment = own_environment();
    let daemon = Arc::new(
        Daemon::new(source, crate::clock::system(), config_path.clone(), socket_path.clone())
            .with_environment(environment),
    );
    let started = daemon.reload_config().and_then(|count| {
        let settings = proxy_settings(proxy_flags, &config_path)?;
        let proxy = start_proxy(settings.as_ref(), &daemon)?;
        Ok((count, settings, proxy))
    });
    let (warmed, proxy_started_with, proxy) = match started {
        Ok(started) => started,
        Err(error) => {
            bound.unlink_if_ours();
            return Err(error);
        }
    };
    // Before the first request: unknown profiles are refused without making a slot.
    daemon.reload_profiles().await;
    let mut hangups =
        signal(SignalKind::hangup()).map_err(Error::io("cannot install signal handlers"))?;
    let mut terms =
        signal(SignalKind::terminate()).map_err(Error::io("cannot install signal handlers"))?;
    let mut ints =
        signal(SignalKind::interrupt()).map_err(Error::io("cannot install signal handlers"))?;

    tracing::info!(socket = %socket_path.display(), pid = std::process::id(), warmed, activated = is_activated, "bedprov daemon listening");
    if let Some(pipe) = ready.take() {
        report_ready(pipe, &Readiness::Ready);
    }

    let (shutdown, mut stopped) = watch::channel(false);
    let refresher = tokio::spawn(Arc::clone(&daemon).refresh_loop());
    let watcher = crate::watch::spawn(baseline, {
        let daemon = Arc::clone(&daemon);
        move |_changed| {
            let daemon = Arc::clone(&daemon);
            async move { daemon.files_changed().await }
        }
    });
    let server = tokio::spawn(http::serve(listener, Arc::clone(&daemon), shutdown.clone()));
    let proxy = proxy.map(|proxy| tokio::spawn(proxy.serve(shutdown.subscribe())));
    let reason = loop {
        tokio::select! {
            _ = terms.recv() => break "SIGTERM",
            _ = ints.recv() => break "SIGINT",
            _ = hangups.recv() => match daemon.reload_config() {
                Ok(count) => {
                    tracing::info!(slots = count, "config reloaded");
                    warn_if_proxy_changed(proxy_flags, &config_path, proxy_started_with.as_ref());
                }
                Err(error) => tracing::warn!(%error, "config not reloaded; keeping the previous one"),
            },
            _ = stopped.wait_for(|s| *s) => break "a shutdown request",
            () = tokio::time::sleep(SOCKET_CHECK) => {
                if !bound.still_ours() {
                    tracing::warn!(socket = %socket_path.display(), "the socket file was removed or replaced; exiting without touching it");
                    break "losing the socket";
                }
            }
        }
    };
    tracing::info!("stopping on {reason}");
    let _ = shutdown.send(true);
    let _ = server.await;
    if let Some(proxy) = proxy {
        let _ = proxy.await;
    }
    refresher.abort();
    watcher.abort();
    bound.unlink_if_ours();
    Ok(())
}
