//! `bedprov-helper`: hands a fresh Bedrock token from the daemon to shells and tools in
//! about a millisecond. Uses only `std` and `bedprov::wire`: its start-up time is the
//! product, so no async runtime, no argument-parsing crate, no AWS crates.
//!
//! stdout is complete, valid output or empty; every problem goes to stderr with a hint and
//! a documented exit code (`bedprov::wire::exit`).
//!
//! Every request carries the shell's AWS environment (`wire::aws_env`), credentials
//! included, so the daemon signs with what an AWS SDK in this shell would sign with.

use bedprov::wire::api::{TokenRequest, token_vars};
use bedprov::wire::aws_env::{self, AwsEnv};
use bedprov::wire::client::{Client, ClientError};
use bedprov::wire::shell::{self, Shell};
use bedprov::wire::{exit, socket_path};
use std::ffi::OsString;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

const USAGE: &str = "\
bedprov-helper: a fresh Amazon Bedrock token from the bedprov daemon, in about a millisecond

Usage:
  eval \"$(bedprov-helper env)\"            export AWS_BEARER_TOKEN_BEDROCK, AWS_REGION and
                                          AWS_DEFAULT_REGION
  bedprov-helper token                    print the bare token (for tools that run a key command)
  bedprov-helper json                     print the token and its expiry as JSON
  bedprov-helper exec -- CMD [ARGS...]    run CMD with the variables set

The token is signed with what an AWS SDK in this shell would use: its own credentials
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, until AWS_CREDENTIAL_EXPIRATION),
else the profile in AWS_DEFAULT_PROFILE or AWS_PROFILE (else \"default\"), read from
AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (else ~/.aws). They go to the daemon over its
private socket, for this shell's requests only.

Options (before or after the command):
  --profile NAME     AWS profile; sets the shell's own credentials aside, as aws --profile does
  --region REGION    region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else the profile's)
  --ttl DURATION     token lifetime, 15m to 12h (default 12h)
  --shell SHELL      env syntax: sh, bash, zsh, fish, pwsh (default: from $SHELL)
  --socket PATH      daemon socket (default: $BEDPROV_SOCKET, else $XDG_RUNTIME_DIR/bedprov/bedprov.sock)

If no daemon answers, the helper starts one (`bedprov daemon start`); set
BEDPROV_NO_AUTOSTART=1 to turn that off. BEDPROV_HELPER_TIMEOUT (seconds, default 20)
bounds the wait for an answer.
";

/// `--version`: the package version, and the git commit when built from a checkout.
const VERSION: &str = env!("BEDPROV_VERSION");

/// How long the helper waits for a `bedprov daemon start` it launched.
const AUTOSTART_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, PartialEq, Eq)]
enum Mode {
    Env,
    Token,
    Json,
    Exec(Vec<OsString>),
}

#[derive(Debug)]
struct Args {
    mode: Mode,
    request: TokenRequest,
    shell: Option<Shell>,
    socket: Option<PathBuf>,
}

/// A failure: what to print and the exit code.
struct Failure {
    message: String,
    hint: String,
    code: i32,
}

impl From<ClientError> for Failure {
    fn from(error: ClientError) -> Self {
        Self { message: error.to_string(), hint: error.hint(), code: error.exit_code() }
    }
}

fn usage_error(message: impl Into<String>) -> Failure {
    Failure {
        message: message.into(),
        hint: "run `bedprov-helper --help` for usage".into(),
        code: exit::USAGE,
    }
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h" || a == "help")
        && !args.iter().any(|a| a == "--")
    {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.iter().any(|a| a == "--version" || a == "-V") {
        println!("bedprov-helper {VERSION}");
        return ExitCode::SUCCESS;
    }
    match parse(args).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("bedprov-helper: error: {}", failure.message);
            if !failure.hint.is_empty() {
                eprintln!("  hint: {}", failure.hint);
            }
            ExitCode::from(u8::try_from(failure.code).unwrap_or(1))
        }
    }
}

fn parse(raw: Vec<OsString>) -> Result<Args, Failure> {
    let mut mode = None;
    let mut request = TokenRequest::default();
    let mut shell = None;
    let mut socket = None;
    let mut iter = raw.into_iter();
    while let Some(arg) = iter.next() {
        let text =
            arg.to_str().ok_or_else(|| usage_error("arguments must be valid UTF-8"))?.to_owned();
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => {
                (flag.to_owned(), Some(value.to_owned()))
            }
            _ => (text.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, Failure> {
            inline
                .clone()
                .or_else(|| iter.next().and_then(|v| v.into_string().ok()))
                .ok_or_else(|| usage_error(format!("{name} needs a value")))
        };
        match flag.as_str() {
            "--profile" => request.profile = Some(value("--profile")?),
            "--region" => request.region = Some(value("--region")?),
            "--ttl" => request.ttl = Some(value("--ttl")?),
            "--shell" => shell = Some(Shell::parse(&value("--shell")?).map_err(usage_error)?),
            "--socket" => socket = Some(PathBuf::from(value("--socket")?)),
            "env" | "token" | "json" | "exec" if mode.is_none() => {
                mode = Some(match flag.as_str() {
                    "env" => Mode::Env,
                    "token" => Mode::Token,
                    "json" => Mode::Json,
                    _ => Mode::Exec(Vec::new()),
                });
            }
            "--" if matches!(mode, Some(Mode::Exec(_))) => {
                let command: Vec<OsString> = iter.by_ref().collect();
                if command.is_empty() {
                    return Err(usage_error("exec needs a command after `--`"));
                }
                mode = Some(Mode::Exec(command));
            }
            other => {
                let shown: String = other.chars().take(40).collect();
                return Err(usage_error(format!("unexpected argument `{shown}`")));
            }
        }
    }
    let mode = mode.ok_or_else(|| usage_error("no command given: use env, token, json or exec"))?;
    if mode == Mode::Exec(Vec::new()) {
        return Err(usage_error("exec needs `-- CMD [ARGS...]`"));
    }
    // The shell's own choices, as the AWS SDKs would read them; the daemon applies the flags
    // to them by the SDKs' rules.
    request.environment = Some(AwsEnv::from_process());
    Ok(Args { mode, request, shell, socket })
}

fn timeout() -> Duration {
    std::env::var("BEDPROV_HELPER_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|secs| *secs > 0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs)
}

fn run(args: Args) -> Result<(), Failure> {
    let socket = socket_path::resolve(args.socket.as_deref());
    let client = Client::new(&socket, timeout());
    match args.mode {
        Mode::Token => {
            let token = with_autostart(&client, |c| c.token_plain_for(&args.request))?;
            print_all(&format!("{}\n", token.expose()))
        }
        Mode::Json => {
            let body = with_autostart(&client, |c| c.token_for(&args.request))?;
            let mut text = serde_json::to_string(&body).expect("TokenBody serializes");
            text.push('\n');
            print_all(&text)
        }
        Mode::Env => {
            let body = with_autostart(&client, |c| c.token_for(&args.request))?;
            let shell = args.shell.unwrap_or_else(Shell::from_env);
            let lines = shell::export_lines(shell, &token_vars(body.token.expose(), &body.region))
                .map_err(|e| Failure {
                    message: e.to_string(),
                    hint: String::new(),
                    code: exit::USAGE,
                })?;
            print_all(&lines)
        }
        Mode::Exec(command) => {
            let body = with_autostart(&client, |c| c.token_for(&args.request))?;
            let error = Command::new(&command[0])
                .args(&command[1..])
                .envs(token_vars(body.token.expose(), &body.region))
                .exec();
            let code = if error.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
            Err(Failure {
                message: format!("cannot run {}: {error}", command[0].to_string_lossy()),
                hint: "check the command name and your PATH".into(),
                code,
            })
        }
    }
}

/// Writes all of `text` to stdout, or reports why not (nothing partial is left unreported).
fn print_all(text: &str) -> Result<(), Failure> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|e| Failure {
        message: format!("cannot write to stdout: {e}"),
        hint: String::new(),
        code: exit::INTERNAL,
    })
}

/// Calls the daemon; if none answers, starts one (unless turned off) and calls again.
///
/// With socket activation (`bedprov.socket`) this never starts a second daemon: systemd holds
/// the listening socket, so the connect succeeds and waits while systemd starts the service.
fn with_autostart<T>(
    client: &Client,
    call: impl Fn(&Client) -> Result<T, ClientError>,
) -> Result<T, Failure> {
    match call(client) {
        Err(ClientError::Unreachable { .. }) if !autostart_disabled() => {
            start_daemon(client)?;
            Ok(call(client)?)
        }
        other => Ok(other?),
    }
}

fn autostart_disabled() -> bool {
    std::env::var_os("BEDPROV_NO_AUTOSTART").is_some_and(|v| !v.is_empty() && v != "0")
}

/// `bedprov` next to this executable, else from PATH.
fn bedprov_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name("bedprov"))
        .filter(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("bedprov"))
}

/// Starts `bedprov daemon start` without this shell's AWS credentials, profile, region or
/// config files: the daemon serves every shell, and each one's own reach it per request.
fn start_daemon(client: &Client) -> Result<(), Failure> {
    let program = bedprov_program();
    let mut command = Command::new(&program);
    for name in aws_env::NOT_INHERITED {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--socket")
        .arg(client.socket())
        .args(["daemon", "start"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Failure {
            message: format!(
                "no daemon is running and `{} daemon start` could not be run: {e}",
                program.display()
            ),
            hint: "install bedprov next to bedprov-helper or on PATH, or start the daemon yourself"
                .into(),
            code: exit::DAEMON_UNREACHABLE,
        })?;
    let deadline = Instant::now() + AUTOSTART_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => {
                eprintln!(
                    "bedprov-helper: started the bedprov daemon on {}",
                    client.socket().display()
                );
                return Ok(());
            }
            // Another helper may have won the race to start it: that is fine too.
            Ok(Some(status)) if status.code() == Some(exit::ALREADY_RUNNING) => return Ok(()),
            Ok(Some(status)) => {
                return Err(Failure {
                    message: format!("no daemon is running, and starting one failed ({status})"),
                    hint: "see the error above; `bedprov daemon run` shows more".into(),
                    code: exit::DAEMON_UNREACHABLE,
                });
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Failure {
                    message: format!(
                        "the daemon did not start within {} s",
                        AUTOSTART_TIMEOUT.as_secs()
                    ),
                    hint: "run `bedprov daemon run` to see why".into(),
                    code: exit::DAEMON_UNREACHABLE,
                });
            }
        }
    }
}
