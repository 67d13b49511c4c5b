//! `bedprov service install|uninstall|status`: arguments, and the calls into `service`.

use super::Output;
use crate::service::{self, Context, Feature, InstallOptions, Platform, UninstallOptions};
use crate::wire::api::ErrorCode;
use clap::{Args, Subcommand};
use std::path::Path;

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Install the user service that runs `bedprov daemon run` for this bedprov binary.
    ///
    /// systemd user units on Linux, a launchd agent on macOS. Prints the commands that start
    /// it, or runs them with --now. Running it again changes nothing.
    Install(InstallArgs),
    /// Remove the files `service install` wrote.
    Uninstall(UninstallArgs),
    /// Show the installed service files, whether they are current, and the service's state.
    Status(PlatformArgs),
}

#[derive(Debug, Args)]
pub struct PlatformArgs {
    /// systemd user units in `$XDG_CONFIG_HOME/systemd/user` (the default on Linux).
    #[arg(long, conflicts_with = "launchd")]
    pub systemd: bool,
    /// A launchd agent in ~/Library/LaunchAgents (the default on macOS).
    #[arg(long)]
    pub launchd: bool,
}

impl PlatformArgs {
    fn platform(&self) -> crate::Result<Platform> {
        Platform::choose(self.systemd, self.launchd)
    }
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // Independent command-line flags, as clap reads them.
pub struct InstallArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Also install bedprov.socket: systemd owns the socket and starts the daemon on first use.
    #[arg(long, conflicts_with = "launchd")]
    pub socket_activation: bool,
    /// Also install the filesystem sandboxing drop-in (needs unprivileged user namespaces).
    #[arg(long, conflicts_with = "launchd")]
    pub sandbox: bool,
    /// Run the daemon with the local Bedrock proxy (`daemon run --proxy`), on ADDR if given
    /// (default: the config file's `[proxy] listen`, else 127.0.0.1:8239).
    #[arg(long, value_name = "ADDR", num_args = 0..=1)]
    #[allow(clippy::option_option)] // clap: absent, `--proxy` alone, or `--proxy ADDR`
    pub proxy: Option<Option<String>>,
    /// Run the follow-up commands (load, enable and start) instead of printing them.
    #[arg(long)]
    pub now: bool,
    /// Overwrite service files that were edited by hand.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    #[command(flatten)]
    pub platform: PlatformArgs,
    /// Stop and disable the service first (instead of printing the commands).
    #[arg(long)]
    pub now: bool,
    /// Remove service files even if they were edited by hand.
    #[arg(long)]
    pub force: bool,
}

pub(super) fn run(command: ServiceCommand, socket: &Path) -> crate::Result<Output> {
    let ctx = Context::from_env(socket)?;
    match command {
        ServiceCommand::Install(args) => {
            let ctx = match &args.proxy {
                Some(listen) => ctx.with_proxy(
                    listen.as_deref().map(crate::proxy::settings::parse_listen).transpose()?,
                ),
                None => ctx,
            };
            let extras = [
                (args.socket_activation, Feature::SocketActivation),
                (args.sandbox, Feature::Sandbox),
            ];
            let options = InstallOptions {
                platform: args.platform.platform()?,
                extras: extras.into_iter().filter(|(on, _)| *on).map(|(_, f)| f).collect(),
                now: args.now,
                force: args.force,
            };
            let report = service::install(&ctx, &options)?;
            // The files are in place; the service is not running, as the report says.
            let failure = report.unreached.as_ref().map(|unreached| {
                crate::Error::new(ErrorCode::Internal,
                    format!(
                        "the service was installed but not started: no user manager answers here ({})",
                        unreached.reason
                    ),
                    "log in with a user manager (a desktop session; on a server, `loginctl enable-linger $USER`, then log in again) and run `bedprov service install --now` again; meanwhile `bedprov daemon start` runs the daemon without one",
                )
            });
            Ok(Output {
                stdout: crate::render::service::install(&report),
                notes: report.notes,
                failure,
            })
        }
        ServiceCommand::Uninstall(args) => {
            let options = UninstallOptions {
                platform: args.platform.platform()?,
                now: args.now,
                force: args.force,
            };
            let report = service::uninstall(&ctx, &options)?;
            Ok(Output::from(crate::render::service::uninstall(&report)))
        }
        ServiceCommand::Status(args) => {
            let report = service::status(&ctx, args.platform()?)?;
            Ok(Output::from(crate::render::service::status(&report)))
        }
    }
}
