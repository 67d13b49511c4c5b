//! `bedprov-daemon`, the daemon's own executable, installed beside `bedprov`.
//!
//! It links only what serving tokens needs (no IAM, Secrets Manager, keyring, request
//! parser, service installer or argument parser), so the long-running process maps and
//! touches a fraction of `bedprov`'s code. `bedprov daemon run` replaces itself with it
//! (`exec`: the same process, so systemd, launchd and socket activation see no difference);
//! `bedprov daemon start` forks first and the child replaces itself with it, handing on the
//! readiness pipe. Its arguments are private to the two: [`Invocation`] writes and reads them.

use super::Options;
use crate::Error;
use crate::wire::api::ErrorCode;
use crate::wire::exit;
use std::ffi::OsString;
use std::os::fd::{AsFd, AsRawFd as _, BorrowedFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::process::ExitCode;

/// The executable's file name.
pub const NAME: &str = "bedprov-daemon";

/// What `bedprov` tells the daemon.
#[derive(Debug, PartialEq, Eq)]
pub struct Invocation {
    pub socket: PathBuf,
    pub config_path: PathBuf,
    /// `--proxy [ADDR]` and `--proxy-upstream URL`, as `bedprov daemon run|start` took them.
    pub proxy: crate::proxy::settings::Flags,
    /// `-v` count.
    pub verbosity: u8,
    /// Detached: the write end of the readiness pipe (see [`Options::ready`]).
    pub ready_fd: Option<RawFd>,
}

impl Invocation {
    fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = vec![
            "--socket".into(),
            self.socket.clone().into(),
            "--config".into(),
            self.config_path.clone().into(),
        ];
        if let Some(fd) = self.ready_fd {
            args.extend(["--ready-fd".into(), fd.to_string().into()]);
        }
        // `--proxy` alone and `--proxy ADDR` are told apart by two private flags, so no
        // address is ever read as a flag or the other way round.
        match &self.proxy.listen {
            Some(None) => args.push("--proxy".into()),
            Some(Some(address)) => args.extend(["--proxy-listen".into(), address.into()]),
            None => {}
        }
        if let Some(url) = &self.proxy.upstream {
            args.extend(["--proxy-upstream".into(), url.into()]);
        }
        args.extend((0..self.verbosity).map(|_| "-v".into()));
        args
    }

    fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Self, String> {
        let (mut socket, mut config_path, mut verbosity, mut ready_fd) = (None, None, 0u8, None);
        let mut proxy = crate::proxy::settings::Flags::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let mut value =
                || args.next().ok_or_else(|| format!("{} needs a value", arg.display()));
            match arg.to_str() {
                Some("--socket") => socket = Some(PathBuf::from(value()?)),
                Some("--config") => config_path = Some(PathBuf::from(value()?)),
                Some("--proxy") => proxy.listen = Some(None),
                Some("--proxy-listen") => proxy.listen = Some(Some(utf8(value()?)?)),
                Some("--proxy-upstream") => proxy.upstream = Some(utf8(value()?)?),
                Some("--ready-fd") => {
                    let fd = value()?;
                    ready_fd = Some(
                        fd.to_str()
                            .and_then(|fd| fd.parse::<RawFd>().ok())
                            .filter(|fd| *fd > 2)
                            .ok_or_else(|| {
                                format!(
                                    "--ready-fd {} is not a descriptor",
                                    crate::quote::shown(&fd.to_string_lossy())
                                )
                            })?,
                    );
                }
                Some("-v") => verbosity = verbosity.saturating_add(1),
                _ => {
                    return Err(format!(
                        "unexpected argument {}",
                        crate::quote::shown(&arg.to_string_lossy())
                    ));
                }
            }
        }
        Ok(Self {
            socket: socket.ok_or("--socket is missing")?,
            config_path: config_path.ok_or("--config is missing")?,
            proxy,
            verbosity,
            ready_fd,
        })
    }
}

fn utf8(value: OsString) -> Result<String, String> {
    value.into_string().map_err(|value| {
        format!("{} is not valid UTF-8", crate::quote::shown(&value.to_string_lossy()))
    })
}

/// `bedprov-daemon` beside the running executable (symbolic links resolved): the one
/// installed with it, never another version from PATH.
pub fn path() -> crate::Result<PathBuf> {
    let exe = std::env::current_exe().map_err(Error::io("cannot find the running executable"))?;
    let program = exe.with_file_name(NAME);
    if program.is_file() {
        return Ok(program);
    }
    Err(Error::new(
        ErrorCode::Internal,
        format!("{NAME} is missing: bedprov runs its daemon from {}", program.display()),
        format!(
            "install both together (`cargo install --locked --path .` installs {NAME} beside bedprov)"
        ),
    ))
}

/// Replaces this process with the daemon; returns only if that fails. Call it from a
/// single-threaded process. A readiness pipe is handed on: its descriptor stays open across
/// the `exec`, and only across it.
#[must_use]
pub fn exec(invocation: &Invocation, ready: Option<BorrowedFd<'_>>) -> Error {
    use std::os::unix::process::CommandExt as _;
    let program = match path() {
        Ok(program) => program,
        Err(error) => return error,
    };
    if let Some(fd) = ready
        && let Err(error) = set_cloexec(fd, false)
    {
        return Error::io("cannot hand the readiness pipe to the daemon")(error.into());
    }
    let error = std::process::Command::new(&program).args(invocation.to_args()).exec();
    Error::io(format!("cannot run {}", program.display()))(error)
}

fn set_cloexec(fd: BorrowedFd<'_>, on: bool) -> nix::Result<()> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let flags = if on { FdFlag::FD_CLOEXEC } else { FdFlag::empty() };
    fcntl(fd, FcntlArg::F_SETFD(flags)).map(drop)
}

/// A pipe whose ends close on `exec` (the write end is let through by [`exec`] alone), so no
/// credential process ever holds the daemon's readiness open.
pub fn ready_pipe() -> crate::Result<(OwnedFd, OwnedFd)> {
    let (read, write) =
        nix::unistd::pipe().map_err(|e| Error::io("cannot create a pipe")(e.into()))?;
    for end in [&read, &write] {
        set_cloexec(end.as_fd(), true).map_err(|e| Error::io("cannot create a pipe")(e.into()))?;
    }
    Ok((read, write))
}

/// The entry point of `bedprov-daemon`.
#[must_use]
pub fn main() -> ExitCode {
    let invocation = match Invocation::parse(std::env::args_os().skip(1)) {
        Ok(invocation) => invocation,
        Err(message) => {
            crate::error::report(&Error::usage(
                message,
                format!("{NAME} is started by `bedprov daemon run` or `bedprov daemon start`"),
            ));
            return ExitCode::from(exit::USAGE as u8);
        }
    };
    // Again: `exec` made the process dumpable.
    crate::harden::harden_process();
    crate::logging::init_stderr(invocation.verbosity, crate::logging::Role::Daemon);
    let detached = invocation.ready_fd.is_some();
    let options = Options {
        socket: invocation.socket,
        config_path: invocation.config_path,
        ready: invocation.ready_fd.and_then(adopt_ready_fd),
        proxy: invocation.proxy,
    };
    match super::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // A detached daemon's stderr is its log; `bedprov daemon start` reported the
            // error already if it came before readiness.
            if detached {
                tracing::error!(%error, "daemon stopped");
            } else {
                crate::error::report(&error);
            }
            ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(1))
        }
    }
}

/// The readiness pipe `bedprov daemon start` handed on, owned, if it is open; it closes on
/// `exec` again (a credential process must not keep it open).
#[allow(unsafe_code)] // The descriptor arrives as a number; see SAFETY below.
fn adopt_ready_fd(fd: RawFd) -> Option<OwnedFd> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: F_GETFD only reads the descriptor table; on a closed descriptor it fails with
    // EBADF and has no other effect.
    if unsafe { nix::libc::fcntl(fd, nix::libc::F_GETFD) } == -1 {
        return None;
    }
    // SAFETY: `bedprov daemon start` opened this descriptor (a pipe's write end), let it
    // through `exec` and named it in our arguments; it is open (checked above) and nothing in
    // this process has used it, so wrapping it here makes it closed exactly once.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = set_cloexec(owned.as_fd(), true);
    debug_assert_eq!(owned.as_raw_fd(), fd);
    Some(owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::settings::Flags;

    #[test]
    fn arguments_round_trip() {
        let proxies = [
            Flags::default(),
            Flags { listen: Some(None), upstream: Some("http://127.0.0.1:9/{region}".into()) },
            Flags { listen: Some(Some("[::1]:8239".into())), upstream: None },
        ];
        for ((verbosity, ready_fd), proxy) in
            [(0, None), (3, Some(7)), (1, None)].into_iter().zip(proxies)
        {
            let invocation = Invocation {
                socket: "/run/user/1000/a dir/bedprov.sock".into(),
                config_path: "/home/u/.config/bedprov/config.toml".into(),
                proxy,
                verbosity,
                ready_fd,
            };
            assert_eq!(Invocation::parse(invocation.to_args()).unwrap(), invocation);
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let parse = |args: &[&str]| Invocation::parse(args.iter().map(OsString::from));
        assert!(parse(&["--config", "c"]).unwrap_err().contains("--socket"));
        assert!(parse(&["--socket", "s"]).unwrap_err().contains("--config"));
        assert!(parse(&["--socket"]).unwrap_err().contains("needs a value"));
        assert!(parse(&["--socket", "s", "--config", "c", "run"]).unwrap_err().contains("run"));
        for fd in ["x", "-1", "1"] {
            assert!(parse(&["--socket", "s", "--config", "c", "--ready-fd", fd]).is_err());
        }
    }
}
