//! Socket activation: a listening socket handed over by systemd (`bedprov.socket`) through
//! the `sd_listen_fds` protocol (`LISTEN_PID`, `LISTEN_FDS`, descriptors from 3 on).
//!
//! The socket file belongs to the socket unit, so the daemon takes no lock, never unlinks it,
//! and its ownership watchdog does not apply ([`BoundSocket::borrowed`]). The variables are
//! always removed from our environment, so children (`credential_process` tools) never
//! inherit them, and the descriptor is made close-on-exec for the same reason.
//!
//! A `LISTEN_PID` that is not our pid means the variables were meant for another process (a
//! parent that forgot to unset them): they are ignored, exactly as `sd_listen_fds` does, and
//! the daemon binds its own socket as usual. Malformed variables, more than one socket, or a
//! descriptor that is not a listening Unix stream socket are refused with an error.
//!
//! This module does not bind, lock or unlink anything: that is `socket`'s job.

use super::socket::BoundSocket;
use crate::Error;
use crate::wire::api::ErrorCode;
use interprocess::local_socket::tokio::Listener;
use interprocess::os::unix::uds_local_socket::tokio::Listener as UdsListener;
use nix::sys::socket::{
    AddressFamily, SockType, SockaddrLike as _, UnixAddr, getsockname, sockopt,
};
use std::os::fd::{AsRawFd as _, OwnedFd, RawFd};
use std::path::{Path, PathBuf};

/// The first passed descriptor (`SD_LISTEN_FDS_START`).
const LISTEN_FDS_START: RawFd = 3;
/// The variables of the protocol, removed from our environment once read.
const VARIABLES: [&str; 3] = ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"];

/// A listening socket systemd passed to us.
#[derive(Debug)]
pub struct Activated {
    fd: OwnedFd,
    /// The path it is bound to, when the kernel tells us.
    path: Option<PathBuf>,
}

/// What the variables say, before any descriptor is touched.
#[derive(Debug, PartialEq, Eq)]
enum Decision {
    /// No activation: bind our own socket.
    None,
    /// The variables name another process: ignore them.
    NotOurs { listen_pid: u32 },
    /// Ours: take descriptor 3.
    Take,
}

/// Reads the activation variables, removes them from the environment, and adopts the passed
/// socket when they are meant for us.
///
/// Must run while the process has a single thread (before the tokio runtime is built):
/// changing the environment is only sound then.
pub fn take_from_env() -> crate::Result<Option<Activated>> {
    let listen_pid = std::env::var("LISTEN_PID").ok();
    let listen_fds = std::env::var("LISTEN_FDS").ok();
    if listen_pid.is_some() || listen_fds.is_some() {
        clear_variables();
    }
    match decide(listen_pid.as_deref(), listen_fds.as_deref(), std::process::id())? {
        Decision::None => Ok(None),
        Decision::NotOurs { listen_pid } => {
            tracing::info!(
                listen_pid,
                "ignoring LISTEN_PID/LISTEN_FDS meant for another process; binding our own socket"
            );
            Ok(None)
        }
        Decision::Take => adopt().map(Some),
    }
}

fn decide(
    listen_pid: Option<&str>,
    listen_fds: Option<&str>,
    our_pid: u32,
) -> crate::Result<Decision> {
    let Some(listen_pid) = listen_pid else { return Ok(Decision::None) };
    let listen_pid: u32 = listen_pid.trim().parse().map_err(|_| {
        refuse(format!("LISTEN_PID is not a process id: {:?}", truncate(listen_pid)))
    })?;
    if listen_pid != our_pid {
        return Ok(Decision::NotOurs { listen_pid });
    }
    let count: u32 = match listen_fds {
        None => return Ok(Decision::None),
        Some(text) => text
            .trim()
            .parse()
            .map_err(|_| refuse(format!("LISTEN_FDS is not a number: {:?}", truncate(text))))?,
    };
    match count {
        0 => Ok(Decision::None),
        1 => Ok(Decision::Take),
        n => Err(refuse(format!("systemd passed {n} sockets; bedprov listens on exactly one"))),
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(40).collect()
}

fn refuse(message: impl std::fmt::Display) -> Error {
    Error::new(
        ErrorCode::BadRequest,
        format!("cannot use the socket passed by systemd: {message}"),
        "give bedprov.socket exactly one ListenStream= (as shipped: `bedprov service install --socket-activation --force` restores it), or start `bedprov daemon run` without LISTEN_PID/LISTEN_FDS",
    )
}

/// Takes descriptor 3 and checks that it is a listening Unix stream socket.
fn adopt() -> crate::Result<Activated> {
    let fd = adopt_listen_fd().ok_or_else(|| {
        refuse(format!("LISTEN_FDS=1, but descriptor {LISTEN_FDS_START} is not open"))
    })?;
    // Children (credential_process tools) must not inherit the listening socket.
    nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))
        .map_err(|e| refuse(format!("cannot mark it close-on-exec: {e}")))?;
    let kind = nix::sys::socket::getsockopt(&fd, sockopt::SockType)
        .map_err(|e| refuse(format!("descriptor {LISTEN_FDS_START} is not a socket ({e})")))?;
    let listening = nix::sys::socket::getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false);
    let address = getsockname::<UnixAddr>(fd.as_raw_fd()).ok();
    let is_unix = address.as_ref().is_some_and(|a| a.family() == Some(AddressFamily::Unix));
    if kind != SockType::Stream || !listening || !is_unix {
        return Err(refuse(
            "it is not a listening Unix stream socket (use ListenStream= with a path)",
        ));
    }
    let path = address.as_ref().and_then(UnixAddr::path).map(Path::to_path_buf);
    Ok(Activated { fd, path })
}

/// Turns the passed socket into our listener. `expected` is the path clients look for; the
/// socket's real path wins when the kernel reports one. Needs a tokio runtime.
pub fn listen(activated: Activated, expected: &Path) -> crate::Result<(Listener, BoundSocket)> {
    let path = match activated.path {
        Some(path) if path != expected => {
            tracing::warn!(
                passed = %path.display(),
                expected = %expected.display(),
                "systemd passed a socket at another path than clients look for; set BEDPROV_SOCKET for them"
            );
            path
        }
        Some(path) => path,
        None => expected.to_path_buf(),
    };
    let listener = UdsListener::try_from(activated.fd)
        .map_err(Error::io("cannot listen on the socket passed by systemd"))?;
    Ok((Listener::from(listener), BoundSocket::borrowed(path)))
}

/// Descriptor 3, owned, if it is open.
#[allow(unsafe_code)] // The protocol hands us a bare descriptor number; see SAFETY below.
fn adopt_listen_fd() -> Option<OwnedFd> {
    use std::os::fd::FromRawFd as _;
    // SAFETY: F_GETFD only reads the descriptor table; on a closed descriptor it fails with
    // EBADF and has no other effect.
    let open = unsafe { nix::libc::fcntl(LISTEN_FDS_START, nix::libc::F_GETFD) } != -1;
    if !open {
        return None;
    }
    // SAFETY: LISTEN_PID names this very process, so by the sd_listen_fds protocol descriptor 3
    // was opened by whoever started us (systemd) and handed over to us. It is open (checked
    // above), and no code in this process has used it: nothing else owns it, and wrapping it
    // here makes it closed exactly once, when the listener is dropped.
    Some(unsafe { OwnedFd::from_raw_fd(LISTEN_FDS_START) })
}

#[allow(unsafe_code)] // Edition 2024 marks environment changes unsafe; see SAFETY below.
fn clear_variables() {
    for name in VARIABLES {
        // SAFETY: only called from `take_from_env`, which `daemon::run` calls before it builds
        // the runtime: the process has a single thread, so nothing reads the environment
        // concurrently.
        unsafe { std::env::remove_var(name) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::exit;

    #[test]
    fn no_variables_means_no_activation() {
        assert_eq!(decide(None, None, 42).unwrap(), Decision::None);
        assert_eq!(decide(None, Some("1"), 42).unwrap(), Decision::None);
    }

    #[test]
    fn our_pid_and_one_socket_is_taken() {
        assert_eq!(decide(Some("42"), Some("1"), 42).unwrap(), Decision::Take);
        assert_eq!(decide(Some(" 42\n"), Some("1"), 42).unwrap(), Decision::Take);
    }

    #[test]
    fn another_pid_is_ignored_whatever_the_rest_says() {
        assert_eq!(
            decide(Some("41"), Some("1"), 42).unwrap(),
            Decision::NotOurs { listen_pid: 41 }
        );
        assert_eq!(
            decide(Some("41"), Some("junk"), 42).unwrap(),
            Decision::NotOurs { listen_pid: 41 }
        );
    }

    #[test]
    fn zero_or_missing_count_is_no_activation() {
        assert_eq!(decide(Some("42"), Some("0"), 42).unwrap(), Decision::None);
        assert_eq!(decide(Some("42"), None, 42).unwrap(), Decision::None);
    }

    #[test]
    fn malformed_values_and_several_sockets_are_refused_with_a_hint() {
        for (pid, fds) in [("x", "1"), ("42", "one"), ("42", "2"), ("-1", "1")] {
            let error = decide(Some(pid), Some(fds), 42).unwrap_err();
            assert_eq!(error.exit_code(), exit::USAGE, "{pid} {fds}");
            assert!(error.to_string().starts_with("cannot use the socket passed by systemd"));
            assert!(error.hint().contains("ListenStream"));
        }
    }
}
