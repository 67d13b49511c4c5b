//! The `bedprov` command line: argument definitions (clap), dispatch, and the one place
//! errors become a message, a hint and an exit code. Each subcommand lives in its own file
//! and returns the text for stdout; this module prints it.

mod check;
pub mod completions;
mod daemon;
mod decode;
mod deliver;
pub mod helper_command;
mod key;
mod login;
pub mod man;
mod proxy;
mod request;
mod service;
mod setup;
mod token;

use crate::wire::exit;
use clap::{Parser, Subcommand};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// The version `--version` shows: the package version, and the git commit when built from a
/// checkout ("0.1.0 (1a2b3c4d5e6f)"); set by the build script.
pub const VERSION: &str = env!("BEDPROV_VERSION");

/// Amazon Bedrock API keys, made simple and safe.
///
/// Short-term tokens are the default and the recommendation: `bedprov token`.
#[derive(Debug, Parser)]
#[command(name = "bedprov", version = VERSION, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// More diagnostics on stderr (-v info, -vv debug, -vvv trace, also from the AWS SDK and
    /// other libraries); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,

    /// The daemon's socket (default: $XDG_RUNTIME_DIR/bedprov/bedprov.sock).
    #[arg(long, global = true, env = "BEDPROV_SOCKET", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mint a short-term Bedrock API key (no daemon needed).
    Token(token::TokenArgs),
    /// Show what a token says about itself: region, key, expiry (never its secrets).
    Decode(decode::DecodeArgs),
    /// The local daemon that keeps tokens fresh and serves them over a Unix socket.
    #[command(subcommand)]
    Daemon(daemon::DaemonCommand),
    /// Same as `bedprov daemon status`.
    Status(daemon::StatusArgs),
    /// Print the daemon's socket path (for `curl --unix-socket "$(bedprov socket-path)"`).
    SocketPath,
    /// Check your AWS identity, Claude model access in the region, and token minting.
    Check(check::CheckArgs),
    /// Type the MFA code of a profile's role once; the daemon signs its tokens from that session.
    ///
    /// For profiles with `mfa_serial`: the daemon cannot ask for codes, so this asks on the
    /// terminal, assumes the role, and hands the role session to the daemon until it expires.
    Login(login::LoginArgs),
    /// Long-term credentials per business unit (systems, CI/CD). Prefer short-term tokens.
    #[command(subcommand)]
    Key(key::KeyCommand),
    /// Run the daemon as a user service: systemd user units or a launchd agent.
    #[command(subcommand)]
    Service(service::ServiceCommand),
    /// The daemon's local Bedrock proxy for long-running apps (see `daemon start --proxy`).
    #[command(subcommand)]
    Proxy(proxy::ProxyCommand),
    /// Point an app at the daemon's local Bedrock proxy: `bedprov setup claude-code`.
    #[command(subcommand)]
    Setup(setup::SetupCommand),
    /// Ask in plain words: "Bedrock key for 6 hours", "Bedrock key for Marketing Team".
    ///
    /// Shows the plan (and the equivalent command), then runs it; long-term keys ask first.
    Request(request::RequestArgs),
    /// Print the shell completion script for bedprov (or bedprov-helper with --helper).
    ///
    /// Where each shell looks for it (for the current user):
    ///
    /// bash: ~/.local/share/bash-completion/completions/bedprov (and bedprov-helper)
    ///
    /// zsh: _bedprov (and _bedprov-helper) in a directory on $fpath, before compinit runs
    ///
    /// fish: ~/.config/fish/completions/bedprov.fish (and bedprov-helper.fish)
    ///
    /// PowerShell: append it to $PROFILE
    ///
    /// The Debian package installs them for every user.
    Completions(completions::CompletionsArgs),
    /// Write the man pages: bedprov(1), one per subcommand, and bedprov-helper(1).
    Man(man::ManArgs),
}

/// The identity and region AWS calls are made with (`check`, `key …`).
#[derive(Debug, clap::Args)]
pub struct AwsTarget {
    /// AWS profile; credentials in the environment are then ignored (default as for bedprov
    /// token: credentials in the environment, else $AWS_DEFAULT_PROFILE, $AWS_PROFILE,
    /// "default").
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region (default as for bedprov token: $AWS_REGION, $AWS_DEFAULT_REGION, the
    /// profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

/// What a command produced: text for stdout, notes for stderr, and — when part of the work
/// succeeded but not all (a key created but not verified) — the failure to report after it.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout: String,
    pub notes: Vec<String>,
    pub failure: Option<crate::Error>,
}

impl From<String> for Output {
    fn from(stdout: String) -> Self {
        Self { stdout, notes: Vec::new(), failure: None }
    }
}

/// Entry point of the `bedprov` binary.
#[must_use]
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE as u8 } else { 0 });
        }
    };
    crate::harden::harden_process();
    // A detached daemon starts logging after the fork, once stderr is its log file.
    match cli.command {
        Command::Daemon(daemon::DaemonCommand::Start(_)) => {}
        Command::Daemon(daemon::DaemonCommand::Run(_)) => {
            crate::logging::init_stderr(cli.verbose, crate::logging::Role::Daemon);
        }
        _ => crate::logging::init_stderr(cli.verbose, crate::logging::Role::Command),
    }
    match run(cli) {
        Ok(Outcome::DaemonExited(code)) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Ok(Outcome::Done(output)) => {
            for note in &output.notes {
                eprintln!("note: {}", crate::quote::shown_long(note));
            }
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`bedprov token | head -c 10`) is not an error worth a message.
            // (A new long-term secret is not printed here: see `deliver`.)
            let _ = stdout.write_all(output.stdout.as_bytes()).and_then(|()| stdout.flush());
            match output.failure {
                Some(error) => {
                    report(&error);
                    ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
                }
                None => ExitCode::SUCCESS,
            }
        }
        Err(error) => {
            report(&error);
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

/// Prints an error and its hint to stderr, quoted: they may carry text from outside (an AWS
/// error message, a profile name, a config value).
pub fn report(error: &crate::Error) {
    eprintln!("error: {}", crate::quote::shown_long(&error.to_string()));
    let hint = error.hint();
    if !hint.is_empty() {
        eprintln!("  hint: {}", crate::quote::shown_long(hint));
    }
}

fn run(cli: Cli) -> crate::Result<Outcome> {
    let socket = crate::wire::socket_path::resolve(cli.socket.as_deref());
    let output = match cli.command {
        Command::Token(args) => block_on(token::run(args))?,
        Command::Decode(args) => Output::from(decode::run(&args)?),
        Command::Daemon(command) => return daemon::run(command, &socket, cli.verbose),
        Command::Status(args) => daemon::status(&socket, args.format)?,
        Command::SocketPath => Output::from(format!("{}\n", socket.display())),
        Command::Check(args) => block_on(check::run(args))?,
        Command::Login(args) => block_on(login::run(args, &socket))?,
        Command::Key(command) => block_on(key::run(command))?,
        Command::Service(command) => service::run(command, &socket)?,
        Command::Proxy(command) => proxy::run(&command)?,
        Command::Setup(command) => setup::run(command, &socket)?,
        Command::Request(args) => return request::run(&args, cli.socket, cli.verbose),
        Command::Completions(args) => completions::run(&args),
        Command::Man(args) => man::run(&args)?,
    };
    Ok(Outcome::Done(output))
}

use daemon::DaemonOutcome as Outcome;

/// Runs a future on a fresh single-threaded runtime (CLI commands make a few calls at most).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread tokio runtime can always be built")
        .block_on(future)
}
