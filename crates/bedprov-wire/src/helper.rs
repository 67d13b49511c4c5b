//! `bedprov-helper`: hands a fresh Bedrock token from the daemon to shells and tools in
//! about a millisecond. Its whole logic lives here, in a crate of std and serde only: its
//! start-up time is the product, so no async runtime, no argument-parsing crate, no AWS
//! crates. The binary passes in its version and calls [`main`].
//!
//! stdout is complete, valid output or empty; every problem goes to stderr with a hint and
//! a documented exit code ([`crate::exit`]). Usage text reaches stdout only for `--help`.
//!
//! Arguments are read by position, strictly: `--help` and `--version` only alone; a flag's
//! value is the next argument, whatever it says; everything after `--` is the command of
//! `exec`. So `exec -- python3 -V` runs python, and `env --profile help` asks for profile
//! `help` (an error from the daemon, nothing on stdout).
//!
//! Every request carries the shell's AWS environment ([`crate::aws_env`]), credentials
//! included, so the daemon signs with what an AWS SDK in this shell would sign with.

use crate::api::{ProxyRequest, TokenBody, TokenRequest, endpoint, proxy_vars, token_vars};
use crate::aws_env::{self, AwsEnv};
use crate::client::{Client, ClientError};
use crate::shell::{self, Shell};
use crate::{exit, socket_path};
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
  bedprov-helper --help | --version       (alone)

The token is signed with what an AWS SDK in this shell would use: its own credentials
(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, until AWS_CREDENTIAL_EXPIRATION),
else the profile in AWS_DEFAULT_PROFILE or AWS_PROFILE (else \"default\"), read from
AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (else ~/.aws). They go to the daemon over its
private socket, for this shell's requests only.

Options (before or after the command; for exec, before `--`: everything after it is CMD's):
  --profile NAME     AWS profile; sets the shell's own credentials aside, as aws --profile does
  --region REGION    region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else the profile's)
  --ttl DURATION     token lifetime, 15m to 12h (default 12h)
  --shell SHELL      env syntax: sh, bash, zsh, fish, pwsh (default: from $SHELL)
  --socket PATH      daemon socket (default: $BEDPROV_SOCKET, else $XDG_RUNTIME_DIR/bedprov/bedprov.sock)
  --proxy            (env, exec) the daemon's local Bedrock proxy instead of a token: a key
                     that never expires and the proxy's URLs, for apps that outlive tokens
A value may follow its option as the next argument or after `=` (needed for one starting with -).

For long-running apps: eval \"$(bedprov-helper env --proxy)\" sets AWS_BEARER_TOKEN_BEDROCK to
the proxy's local key, AWS_REGION and AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_BEDROCK_RUNTIME and
AWS_ENDPOINT_URL_BEDROCK (HTTPS, verified with AWS_CA_BUNDLE) and ANTHROPIC_BEDROCK_BASE_URL:
the app's requests go to the daemon, which signs each with a fresh token. It needs a daemon
running with the proxy (bedprov daemon start --proxy).

The helper talks only to a daemon of your own user: it refuses a socket whose directory is
another user's or writable by others, or that another user's process serves.

If no daemon answers, the helper starts one (`bedprov daemon start`); set
BEDPROV_NO_AUTOSTART=1 to turn that off. BEDPROV_HELPER_TIMEOUT (seconds, default 20)
bounds the wait for an answer.
";

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

/// What the arguments ask for.
#[derive(Debug, PartialEq, Eq)]
enum Invocation {
    Help,
    Version,
    Run(Box<Args>),
}

#[derive(Debug, PartialEq, Eq)]
struct Args {
    mode: Mode,
    /// `--proxy`: the local proxy's variables instead of a token's.
    proxy: bool,
    request: TokenRequest,
    shell: Option<Shell>,
    socket: Option<PathBuf>,
}

/// A failure: what to print and the exit code.
#[derive(Debug)]
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

/// The whole of `bedprov-helper`: reads the process's arguments and environment, prints what
/// they ask for. `version` is what `--version` shows.
#[must_use]
pub fn main(version: &str) -> ExitCode {
    let outcome =
        parse(std::env::args_os().skip(1).collect()).and_then(|invocation| match invocation {
            Invocation::Help => print_all(USAGE),
            Invocation::Version => print_all(&format!("bedprov-helper {version}\n")),
            Invocation::Run(args) => run(*args),
        });
    match outcome {
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

/// An argument, shortened for a message.
fn shown(text: &str) -> String {
    let mut shown: String = text.chars().take(40).collect();
    if shown.len() < text.len() {
        shown.push('…');
    }
    shown
}

/// Reads the arguments by position (see the module docs). Gathers the shell's AWS
/// environment for a run.
fn parse(raw: Vec<OsString>) -> Result<Invocation, Failure> {
    if let [only] = raw.as_slice() {
        match only.to_str() {
            Some("--help" | "-h" | "help") => return Ok(Invocation::Help),
            Some("--version" | "-V") => return Ok(Invocation::Version),
            _ => {}
        }
    }
    let mut mode = None;
    let mut options = Options::default();
    let mut iter = raw.into_iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            if mode != Some(Mode::Exec(Vec::new())) {
                return Err(usage_error(
                    "`--` goes only with exec, before its command: bedprov-helper exec -- CMD",
                ));
            }
            let command: Vec<OsString> = iter.by_ref().collect();
            if command.is_empty() {
                return Err(usage_error("exec needs a command after `--`"));
            }
            mode = Some(Mode::Exec(command));
            break;
        }
        let text = arg.to_str().ok_or_else(|| usage_error("arguments must be valid UTF-8"))?;
        let (flag, inline) = match text.split_once('=') {
            Some((flag, value)) if flag.starts_with("--") => (flag, Some(value)),
            _ => (text, None),
        };
        if Options::NAMES.contains(&flag) {
            let value = option_value(flag, inline, &mut iter)?;
            options.set(flag, value)?;
            continue;
        }
        if flag == "--proxy" {
            if inline.is_some() {
                return Err(usage_error("--proxy takes no value"));
            }
            if options.proxy {
                return Err(usage_error("--proxy is given twice"));
            }
            options.proxy = true;
            continue;
        }
        mode = Some(match flag {
            "env" if mode.is_none() => Mode::Env,
            "token" if mode.is_none() => Mode::Token,
            "json" if mode.is_none() => Mode::Json,
            "exec" if mode.is_none() => Mode::Exec(Vec::new()),
            "--help" | "-h" | "--version" | "-V" => {
                return Err(usage_error(format!(
                    "{flag} goes alone: `bedprov-helper {flag}` (after `exec --` it is the command's)"
                )));
            }
            other if other.starts_with('-') => {
                return Err(usage_error(format!("unknown option `{}`", shown(other))));
            }
            other if mode.is_some() => {
                return Err(usage_error(format!(
                    "unexpected argument `{}`: a command is already given (for exec, put CMD after `--`)",
                    shown(other)
                )));
            }
            other => {
                return Err(usage_error(format!(
                    "unknown command `{}`: use env, token, json or exec",
                    shown(other)
                )));
            }
        });
    }
    let mode = mode.ok_or_else(|| usage_error("no command given: use env, token, json or exec"))?;
    if mode == Mode::Exec(Vec::new()) {
        return Err(usage_error("exec needs `-- CMD [ARGS...]`"));
    }
    let Options { mut request, shell, socket, proxy } = options;
    if proxy {
        if matches!(mode, Mode::Token | Mode::Json) {
            return Err(usage_error(
                "--proxy goes with env or exec: the proxy's clients hold a local key, not a token",
            ));
        }
        if request.ttl.is_some() {
            return Err(usage_error(
                "--ttl does not go with --proxy: the proxy keeps its tokens fresh itself",
            ));
        }
    }
    // The shell's own choices, as the AWS SDKs would read them; the daemon applies the flags
    // to them by the SDKs' rules.
    request.environment = Some(AwsEnv::from_process());
    Ok(Invocation::Run(Box::new(Args { mode, proxy, request, shell, socket })))
}

/// The options given so far.
#[derive(Debug, Default)]
struct Options {
    request: TokenRequest,
    shell: Option<Shell>,
    socket: Option<PathBuf>,
    proxy: bool,
}

impl Options {
    const NAMES: [&str; 5] = ["--profile", "--region", "--ttl", "--shell", "--socket"];

    /// Sets option `name` (one of [`Options::NAMES`]), once.
    fn set(&mut self, name: &str, value: String) -> Result<(), Failure> {
        let given = match name {
            "--profile" => self.request.profile.replace(value).is_some(),
            "--region" => self.request.region.replace(value).is_some(),
            "--ttl" => self.request.ttl.replace(value).is_some(),
            "--shell" => self.shell.replace(Shell::parse(&value).map_err(usage_error)?).is_some(),
            _ => self.socket.replace(PathBuf::from(value)).is_some(),
        };
        if given { Err(usage_error(format!("{name} is given twice"))) } else { Ok(()) }
    }
}

/// An option's value: after `=`, else the next argument, which must not look like an option
/// (a forgotten value would swallow the next flag).
fn option_value(
    name: &str,
    inline: Option<&str>,
    rest: &mut impl Iterator<Item = OsString>,
) -> Result<String, Failure> {
    let value = match inline {
        Some(value) => value.to_owned(),
        None => match rest.next().map(OsString::into_string) {
            Some(Ok(value)) if !value.starts_with('-') => value,
            Some(Ok(value)) => {
                return Err(usage_error(format!(
                    "{name} needs a value, not `{}` (write {name}=VALUE for a value that starts with -)",
                    shown(&value)
                )));
            }
            Some(Err(_)) => return Err(usage_error("arguments must be valid UTF-8")),
            None => return Err(usage_error(format!("{name} needs a value"))),
        },
    };
    if value.is_empty() {
        return Err(usage_error(format!("{name} needs a value, not an empty one")));
    }
    Ok(value)
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
    if args.proxy {
        return run_proxy(&client, args);
    }
    // The token as JSON: signed for this shell's AWS environment, which the request carries.
    let fetch = |c: &Client| c.call(endpoint::PostToken, &args.request);
    match args.mode {
        Mode::Token => {
            let token =
                with_autostart(&client, |c| c.call_plain(endpoint::PostToken, &args.request))?;
            print_all(&format!("{}\n", token.expose()))
        }
        Mode::Json => {
            let body: TokenBody = with_autostart(&client, fetch)?;
            let mut text = serde_json::to_string(&body).expect("TokenBody serializes");
            text.push('\n');
            print_all(&text)
        }
        Mode::Env => {
            let body = with_autostart(&client, fetch)?;
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
            let body = with_autostart(&client, fetch)?;
            exec(&command, &token_vars(body.token.expose(), &body.region))
        }
    }
}

/// `env --proxy` and `exec --proxy`: the local proxy's variables for the profile and region
/// this shell selects.
fn run_proxy(client: &Client, args: Args) -> Result<(), Failure> {
    let TokenRequest { profile, region, environment, .. } = args.request;
    let request = ProxyRequest { profile, region, environment };
    let body = with_autostart_args(client, &["--proxy"], |c| c.call(endpoint::Proxy, &request))?;
    let vars = proxy_vars(&body);
    if let Mode::Exec(command) = args.mode {
        return exec(&command, &vars);
    }
    let shell = args.shell.unwrap_or_else(Shell::from_env);
    let lines = shell::export_lines(shell, &vars).map_err(|e| Failure {
        message: e.to_string(),
        hint: String::new(),
        code: exit::USAGE,
    })?;
    print_all(&lines)
}

/// Replaces this process with `command`, `vars` set; returns only if that fails.
fn exec(command: &[OsString], vars: &[(&str, &str)]) -> Result<(), Failure> {
    let error = Command::new(&command[0]).args(&command[1..]).envs(vars.iter().copied()).exec();
    let code = if error.kind() == std::io::ErrorKind::NotFound { 127 } else { 126 };
    Err(Failure {
        message: format!("cannot run {}: {error}", command[0].to_string_lossy()),
        hint: "check the command name and your PATH".into(),
        code,
    })
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
    with_autostart_args(client, &[], call)
}

/// [`with_autostart`], starting the daemon with `daemon_args` after `daemon start`.
fn with_autostart_args<T>(
    client: &Client,
    daemon_args: &[&str],
    call: impl Fn(&Client) -> Result<T, ClientError>,
) -> Result<T, Failure> {
    match call(client) {
        Err(ClientError::Unreachable { .. }) if !autostart_disabled() => {
            start_daemon(client, daemon_args)?;
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
fn start_daemon(client: &Client, daemon_args: &[&str]) -> Result<(), Failure> {
    let program = bedprov_program();
    let mut command = Command::new(&program);
    for name in aws_env::NOT_INHERITED {
        command.env_remove(name);
    }
    let mut child = command
        .arg("--socket")
        .arg(client.socket())
        .args(["daemon", "start"])
        .args(daemon_args)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn run_args(list: &[&str]) -> Args {
        match parse(args(list)) {
            Ok(Invocation::Run(args)) => *args,
            other => panic!("{list:?}: {other:?}"),
        }
    }

    fn refused(list: &[&str]) -> String {
        match parse(args(list)) {
            Err(failure) => {
                assert_eq!(failure.code, exit::USAGE, "{list:?}");
                failure.message
            }
            Ok(other) => panic!("{list:?} was accepted: {other:?}"),
        }
    }

    #[test]
    fn help_and_version_only_alone() {
        for flag in ["--help", "-h", "help"] {
            assert_eq!(parse(args(&[flag])).unwrap(), Invocation::Help);
        }
        for flag in ["--version", "-V"] {
            assert_eq!(parse(args(&[flag])).unwrap(), Invocation::Version);
        }
        assert!(refused(&["env", "--help"]).contains("goes alone"));
        assert!(refused(&["--version", "env"]).contains("goes alone"));
        assert!(refused(&["token", "-V"]).contains("goes alone"));
    }

    #[test]
    fn everything_after_the_double_dash_is_the_command() {
        let parsed = run_args(&["exec", "--", "python3", "-V"]);
        assert_eq!(parsed.mode, Mode::Exec(args(&["python3", "-V"])));
        let parsed =
            run_args(&["exec", "--region", "eu-west-1", "--", "sh", "--help", "--", "env"]);
        assert_eq!(parsed.mode, Mode::Exec(args(&["sh", "--help", "--", "env"])));
        assert_eq!(parsed.request.region.as_deref(), Some("eu-west-1"));
        // Options before the command too, as documented.
        let parsed = run_args(&["--profile", "dev", "exec", "--", "--version"]);
        assert_eq!(parsed.mode, Mode::Exec(args(&["--version"])));
        assert_eq!(parsed.request.profile.as_deref(), Some("dev"));
        // Not UTF-8 after `--` is the command's business.
        let raw = vec![
            OsString::from("exec"),
            OsString::from("--"),
            std::os::unix::ffi::OsStringExt::from_vec(vec![b'x', 0xff]),
        ];
        assert!(matches!(parse(raw), Ok(Invocation::Run(_))));
    }

    #[test]
    fn a_flag_takes_the_next_argument_whatever_it_says() {
        let parsed = run_args(&["env", "--profile", "help"]);
        assert_eq!((parsed.mode, parsed.request.profile.as_deref()), (Mode::Env, Some("help")));
        let parsed = run_args(&["token", "--profile", "env", "--ttl=2h", "--socket", "/s"]);
        assert_eq!(parsed.mode, Mode::Token);
        assert_eq!(parsed.request.profile.as_deref(), Some("env"));
        assert_eq!(parsed.request.ttl.as_deref(), Some("2h"));
        assert_eq!(parsed.socket, Some(PathBuf::from("/s")));
        let parsed = run_args(&["json", "--profile=-odd"]);
        assert_eq!(parsed.request.profile.as_deref(), Some("-odd"));
        assert!(parsed.request.environment.is_some());
    }

    #[test]
    fn proxy_goes_with_env_and_exec_and_takes_no_value_or_ttl() {
        let parsed = run_args(&["env", "--proxy", "--profile", "work"]);
        assert!(parsed.proxy);
        assert_eq!((parsed.mode, parsed.request.profile.as_deref()), (Mode::Env, Some("work")));
        let parsed = run_args(&["--proxy", "exec", "--", "python3", "--proxy"]);
        assert!(parsed.proxy);
        assert_eq!(parsed.mode, Mode::Exec(args(&["python3", "--proxy"])));
        assert!(!run_args(&["env"]).proxy);
        for (list, says) in [
            (&["token", "--proxy"][..], "goes with env or exec"),
            (&["json", "--proxy"], "goes with env or exec"),
            (&["env", "--proxy", "--ttl", "1h"], "--ttl does not go with --proxy"),
            (&["env", "--proxy", "--proxy"], "--proxy is given twice"),
            (&["env", "--proxy=yes"], "--proxy takes no value"),
        ] {
            let message = refused(list);
            assert!(message.contains(says), "{list:?}: {message}");
        }
    }

    #[test]
    fn strict_refusals() {
        for (list, says) in [
            (&[][..], "no command"),
            (&["bogus"], "unknown command `bogus`"),
            (&["env", "token"], "unexpected argument `token`"),
            (&["exec", "python3"], "unexpected argument `python3`"),
            (&["exec"], "exec needs"),
            (&["exec", "--"], "needs a command"),
            (&["env", "--", "x"], "goes only with exec"),
            (&["--", "env"], "goes only with exec"),
            (&["env", "--profile"], "--profile needs a value"),
            (&["env", "--profile", "--region", "x"], "not `--region`"),
            (&["env", "--region="], "not an empty one"),
            (&["env", "--ttl", "1h", "--ttl", "2h"], "--ttl is given twice"),
            (&["env", "--shell", "cmd"], "unknown shell"),
            (&["env", "--verbose"], "unknown option `--verbose`"),
            (&["env", "-x"], "unknown option `-x`"),
        ] {
            let message = refused(list);
            assert!(message.contains(says), "{list:?}: {message}");
        }
        let long = "y".repeat(100);
        assert!(refused(&[&long]).contains(&format!("`{}…`", "y".repeat(40))));
    }
}
