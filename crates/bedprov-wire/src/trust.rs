//! Whether a socket is the user's own. The client talks only to a daemon of its own uid.
//!
//! Where `XDG_RUNTIME_DIR` is unset the socket lives in the shared temp directory, and
//! another local user who creates `bedprov-<uid>/` there first could answer a victim's
//! `eval "$(bedprov-helper env)"` and receive the shell's credentials. So, for every socket
//! path however it was chosen (`--socket`, `BEDPROV_SOCKET`, the defaults):
//!
//! - before connecting, the socket's directory must be a real directory (not a symlink),
//!   owned by us and not writable by group or others: whoever can write it can put their own
//!   socket there. A bedprov daemon only ever listens in such a directory (it creates its
//!   own with mode 0700 and refuses any other; systemd's socket unit does the same), so a
//!   socket anywhere else is not one it made, even on a path the user chose;
//! - after connecting, and before a byte is sent, the process serving the socket must run as
//!   our uid (`SO_PEERCRED`, `getpeereid`): this holds even if the socket file was swapped
//!   after the directory was checked.
//!
//! A directory that cannot be inspected (missing, no permission) is left to the connect,
//! which then fails as "no daemon". Both checks together cost a `stat` and a `getsockopt`.

use std::fmt;
use std::io;
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// Why a socket is not trusted.
#[derive(Debug)]
pub enum Distrust {
    /// The socket's directory is a symlink or not a directory.
    NotADirectory { dir: PathBuf },
    /// The socket's directory belongs to another user.
    ForeignDirectory { dir: PathBuf, owner: u32 },
    /// Group or others may write to the socket's directory.
    OpenDirectory { dir: PathBuf, mode: u32 },
    /// The process serving the socket runs as another user.
    ForeignPeer { owner: u32 },
    /// The system would not say who serves the socket.
    UnknownPeer(io::Error),
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let you = format!("uid {}", current_uid());
        match self {
            Self::NotADirectory { dir } => {
                write!(f, "{} is a symlink or not a directory", dir.display())
            }
            Self::ForeignDirectory { dir, owner } => write!(
                f,
                "its directory {} is owned by {}, not by you ({you})",
                dir.display(),
                describe_uid(*owner)
            ),
            Self::OpenDirectory { dir, mode } => write!(
                f,
                "its directory {} has mode {:o}: group or others can write to it",
                dir.display(),
                mode & 0o7777
            ),
            Self::ForeignPeer { owner } => {
                write!(
                    f,
                    "it is served by a process of {}, not by you ({you})",
                    describe_uid(*owner)
                )
            }
            Self::UnknownPeer(error) => write!(f, "the system did not say who serves it: {error}"),
        }
    }
}

impl std::error::Error for Distrust {}

/// The directory a socket path lives in (`.` for a bare file name).
#[must_use]
pub fn socket_dir(socket: &Path) -> &Path {
    socket.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// Checks, before connecting, that `socket`'s directory is ours and not writable by group or
/// others (see the module docs).
pub fn check_dir(socket: &Path) -> Result<(), Distrust> {
    let dir = socket_dir(socket);
    let Ok(meta) = std::fs::symlink_metadata(dir) else { return Ok(()) };
    if !meta.is_dir() {
        return Err(Distrust::NotADirectory { dir: dir.to_path_buf() });
    }
    if meta.uid() != current_uid() {
        return Err(Distrust::ForeignDirectory { dir: dir.to_path_buf(), owner: meta.uid() });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(Distrust::OpenDirectory { dir: dir.to_path_buf(), mode: meta.mode() });
    }
    Ok(())
}

/// Checks, after connecting and before sending, that the peer runs as our uid.
pub fn check_peer(stream: &UnixStream) -> Result<(), Distrust> {
    let owner = sys::peer_uid(stream).map_err(Distrust::UnknownPeer)?;
    if owner == current_uid() { Ok(()) } else { Err(Distrust::ForeignPeer { owner }) }
}

/// Our real uid.
#[must_use]
pub fn current_uid() -> u32 {
    sys::current_uid()
}

/// "uid 65534 (nobody)", with the name when `/etc/passwd` has it (read only for messages).
#[must_use]
pub fn describe_uid(uid: u32) -> String {
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|passwd| {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
        })
    });
    match name {
        Some(name) => format!("uid {uid} ({name})"),
        None => format!("uid {uid}"),
    }
}

/// The two system calls std has no stable API for: the only unsafe code in this crate.
#[allow(unsafe_code)]
mod sys {
    use std::io;
    use std::os::fd::AsRawFd as _;
    use std::os::unix::net::UnixStream;

    pub(super) fn current_uid() -> u32 {
        // SAFETY: getuid takes no arguments, always succeeds and touches no memory of ours.
        unsafe { libc::getuid() }
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(super) fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
        let mut cred = libc::ucred { pid: 0, uid: 0, gid: 0 };
        let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
        // SAFETY: the descriptor stays open for the call (`stream` is borrowed), and `cred`
        // and `len` are live, writable and of the sizes the call is told.
        let rc = unsafe {
            libc::getsockopt(
                stream.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_PEERCRED,
                (&raw mut cred).cast(),
                &raw mut len,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(cred.uid)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(super) fn peer_uid(stream: &UnixStream) -> io::Result<u32> {
        let mut uid: libc::uid_t = 0;
        let mut gid: libc::gid_t = 0;
        // SAFETY: the descriptor stays open for the call (`stream` is borrowed), and `uid`
        // and `gid` are live and writable.
        let rc = unsafe { libc::getpeereid(stream.as_raw_fd(), &raw mut uid, &raw mut gid) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(uid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn private_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "bedprov-wire-trust-{}-{}",
            std::process::id(),
            unique()
        ));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        dir
    }

    fn unique() -> u128 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
    }

    #[test]
    fn a_private_directory_is_trusted_an_open_or_linked_one_is_not() {
        let dir = private_dir();
        let socket = dir.join("s.sock");
        check_dir(&socket).unwrap();
        // Readable by others is fine: only writing lets someone replace the socket.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_dir(&socket).unwrap();
        for mode in [0o775, 0o757, 0o1777] {
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
            let error = check_dir(&socket).unwrap_err();
            assert!(matches!(error, Distrust::OpenDirectory { .. }), "{mode:o}: {error}");
            assert!(error.to_string().contains(&format!("mode {mode:o}")), "{error}");
            assert!(error.to_string().contains(&dir.display().to_string()), "{error}");
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&dir, &link).unwrap();
        let error = check_dir(&link.join("s.sock")).unwrap_err();
        assert!(matches!(error, Distrust::NotADirectory { .. }), "{error}");
        // A missing directory is the connect's to report ("no daemon").
        check_dir(&dir.join("missing/s.sock")).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_directory_of_another_user_is_not_trusted() {
        let dir = private_dir();
        let theirs = dir.join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        let other = if current_uid() == 0 { 65534 } else { 0 };
        // Only root can give a directory away; as another user, `/` stands in for it.
        let theirs = if std::os::unix::fs::chown(&theirs, Some(other), None).is_ok() {
            theirs
        } else {
            PathBuf::from("/")
        };
        let error = check_dir(&theirs.join("bedprov.sock")).unwrap_err();
        assert!(matches!(error, Distrust::ForeignDirectory { owner, .. } if owner == other));
        let message = error.to_string();
        assert!(message.contains(&format!("owned by uid {other}")), "{message}");
        assert!(message.contains(&format!("not by you (uid {}", current_uid())), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_peer_of_our_own_uid_is_trusted() {
        let (ours, _theirs) = UnixStream::pair().unwrap();
        check_peer(&ours).unwrap();
        assert_eq!(sys::peer_uid(&ours).unwrap(), current_uid());
        let message = Distrust::ForeignPeer { owner: 65534 }.to_string();
        assert!(message.starts_with("it is served by a process of uid 65534"), "{message}");
    }

    #[test]
    fn uids_are_described_with_their_names_when_known() {
        assert_eq!(describe_uid(0), "uid 0 (root)");
        assert_eq!(describe_uid(4_000_000_000), "uid 4000000000");
    }
}
