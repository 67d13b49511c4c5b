//! The socket's file-system side: a private directory we own, one daemon per socket (an
//! exclusive lock), stale sockets removed only after a failed connect, binding with mode
//! 0600, and knowing whether the path is still ours (so we never unlink a successor's).

use crate::Error;
use crate::wire::api::ErrorCode;
use crate::wire::api::Route;
use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::{GenericFilePath, ListenerOptions, ToFsName as _};
use interprocess::os::unix::local_socket::ListenerOptionsExt as _;
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::io;
use std::os::unix::fs::{
    DirBuilderExt as _, FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A bound socket with its lock and the identity of the file we created.
#[derive(Debug)]
pub struct BoundSocket {
    pub path: PathBuf,
    /// (device, inode) of our socket file; `None` when systemd created it (activation).
    identity: Option<(u64, u64)>,
    _lock: Option<Flock<File>>,
}

impl BoundSocket {
    /// Records `path` as ours, by its current inode.
    pub fn ours(path: PathBuf, lock: Option<Flock<File>>) -> io::Result<Self> {
        let meta = std::fs::symlink_metadata(&path)?;
        Ok(Self { path, identity: Some((meta.dev(), meta.ino())), _lock: lock })
    }

    /// A socket someone else (systemd) created and will clean up.
    #[must_use]
    pub fn borrowed(path: PathBuf) -> Self {
        Self { path, identity: None, _lock: None }
    }

    /// True while the path still names the socket we created (not deleted, not replaced).
    #[must_use]
    pub fn still_ours(&self) -> bool {
        let Some(identity) = self.identity else { return true };
        std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == identity)
    }

    /// Removes the socket file if, and only if, it is still ours.
    pub fn unlink_if_ours(&self) {
        if self.identity.is_some() && self.still_ours() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Creates the socket's directory (0700) if needed, then refuses it unless it is a real
/// directory, owned by us, with no group or other permissions.
pub fn prepare_dir(socket: &Path) -> Result<(), Error> {
    let dir = socket.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(Error::io(format!("cannot create the socket directory {}", dir.display())))?;
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(Error::io(format!("cannot inspect the socket directory {}", dir.display())))?;
    let uid = nix::unistd::getuid().as_raw();
    let refuse = |why: String| {
        Error::new(
            ErrorCode::BadRequest,
            format!("refusing to put the socket in {}: {why}", dir.display()),
            format!(
                "use a private directory (chmod 700 {0}, owned by you) or pass --socket with a path in one",
                dir.display()
            ),
        )
    };
    if !meta.is_dir() {
        return Err(refuse("it is not a directory (or is a symlink)".into()));
    }
    if meta.uid() != uid {
        return Err(refuse(format!("it is owned by uid {}, not by you (uid {uid})", meta.uid())));
    }
    if meta.mode() & 0o077 != 0 {
        return Err(refuse(format!(
            "its mode is {:o}: group or others can reach it",
            meta.mode() & 0o777
        )));
    }
    Ok(())
}

/// Takes the per-socket lock (`<socket>.lock`), or says a daemon already runs.
///
/// A held lock refuses the start only while a daemon answers on the socket. Otherwise its
/// holder is on its way out, and the start waits for it (at most [`HOLDER_WAIT`]):
/// - a daemon whose socket was deleted under it exits within
///   [`SOCKET_CHECK`](super::SOCKET_CHECK), so a start right after the deletion (a
///   helper's autostart) succeeds;
/// - a daemon killed while starting a `credential_process` leaves a copy of its
///   descriptors, lock included, in the child until that child's `exec` closes them: a
///   moment, but one a restart can land in.
pub fn lock(socket: &Path) -> Result<Flock<File>, Error> {
    let mut lock_path = socket.as_os_str().to_owned();
    lock_path.push(".lock");
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&lock_path)
        .map_err(Error::io(format!(
            "cannot open the lock file {}",
            PathBuf::from(&lock_path).display()
        )))?;
    let deadline = Instant::now() + HOLDER_WAIT;
    loop {
        match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
            Ok(lock) => return Ok(lock),
            Err((back, _)) => {
                if peer(socket) == Peer::Serving || Instant::now() >= deadline {
                    return Err(already_running(socket));
                }
                file = back;
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// How long a start waits for a lock, or a socket, held by a daemon that is not serving.
pub const HOLDER_WAIT: Duration = Duration::from_secs(3);
const RETRY: Duration = Duration::from_millis(50);
/// How long a daemon has to answer `GET /v1/health` to count as serving.
const PROBE_TIMEOUT: Duration = Duration::from_millis(250);

/// What answers on a socket path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peer {
    /// No socket file, or nothing listening (connect refused).
    Nothing,
    /// A daemon answered a health request.
    Serving,
    /// Something accepts connections but has not answered (yet), or the probe failed.
    Silent,
}

fn peer(socket: &Path) -> Peer {
    use crate::wire::client::{Client, ClientError};
    let health = Route::Health;
    let client = Client::new(socket, PROBE_TIMEOUT);
    match client.request(health.method().as_str(), health.path(), "application/json") {
        // Any HTTP answer, whatever its body, is a daemon at work.
        Ok(_) => Peer::Serving,
        Err(ClientError::Unreachable { source, .. })
            if matches!(
                source.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused
            ) =>
        {
            Peer::Nothing
        }
        Err(_) => Peer::Silent,
    }
}

#[must_use]
pub fn already_running(socket: &Path) -> Error {
    Error::new(
        ErrorCode::AlreadyRunning,
        format!("a bedprov daemon is already running on {}", socket.display()),
        "use it as it is (`bedprov status`), or stop it first with `bedprov daemon stop`",
    )
}

/// Removes a leftover socket file, but only after a connect to it failed: a live daemon
/// (even one that does not hold our lock) is never displaced. A socket that accepts but
/// does not answer is watched for a moment (a killed daemon's listener lives on in a child
/// until its `exec`); if it never goes quiet, the start is refused.
pub fn clear_stale(socket: &Path) -> Result<(), Error> {
    let Ok(meta) = std::fs::symlink_metadata(socket) else { return Ok(()) };
    if !meta.file_type().is_socket() {
        return Err(Error::new(
            ErrorCode::BadRequest,
            format!("{} exists and is not a socket", socket.display()),
            "remove it or choose another --socket path",
        ));
    }
    let deadline = Instant::now() + HOLDER_WAIT;
    loop {
        match std::os::unix::net::UnixStream::connect(socket) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                tracing::info!(socket = %socket.display(), "removing a stale socket");
                return std::fs::remove_file(socket).map_err(Error::io(format!(
                    "cannot remove the stale socket {}",
                    socket.display()
                )));
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(Error::io(format!(
                    "cannot probe the existing socket {}",
                    socket.display()
                ))(e));
            }
            Ok(probe) => {
                drop(probe);
                if peer(socket) == Peer::Serving || Instant::now() >= deadline {
                    return Err(already_running(socket));
                }
                std::thread::sleep(RETRY);
            }
        }
    }
}

/// Binds a listening socket at `socket` with mode 0600. Name reclamation is off: we unlink
/// the file ourselves, and only while it is still ours.
pub fn bind(socket: &Path) -> Result<Listener, Error> {
    let name = socket
        .to_fs_name::<GenericFilePath>()
        .map_err(Error::io(format!("invalid socket path {}", socket.display())))?;
    ListenerOptions::new()
        .name(name)
        .reclaim_name(false)
        .mode(0o600)
        .create_tokio()
        .map_err(Error::io(format!("cannot listen on {}", socket.display())))
}

/// The whole start-up sequence for a socket we create: directory, lock, stale check, bind.
pub fn claim(socket: &Path) -> Result<(Listener, BoundSocket), Error> {
    prepare_dir(socket)?;
    let lock = lock(socket)?;
    clear_stale(socket)?;
    let listener = bind(socket)?;
    let bound = BoundSocket::ours(socket.to_path_buf(), Some(lock))
        .map_err(Error::io(format!("cannot inspect {}", socket.display())))?;
    Ok((listener, bound))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A socket that answers like a daemon, for `connections` connections.
    fn serving(socket: &Path, connections: usize) -> std::thread::JoinHandle<()> {
        use std::io::{Read as _, Write as _};
        let listener = std::os::unix::net::UnixListener::bind(socket).unwrap();
        std::thread::spawn(move || {
            for mut stream in listener.incoming().take(connections).flatten() {
                let mut request = [0u8; 256];
                let _ = stream.read(&mut request);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
            }
        })
    }

    #[test]
    fn a_held_lock_is_waited_for_unless_a_daemon_answers() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s.sock");
        let held = lock(&socket).unwrap();
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(held);
        });
        let started = Instant::now();
        let taken = lock(&socket).expect("the holder let go");
        assert!(started.elapsed() >= Duration::from_millis(250));
        releaser.join().unwrap();

        // A daemon answers on the socket: refused at once.
        let answering = serving(&socket, 1);
        let started = Instant::now();
        let err = lock(&socket).unwrap_err();
        assert!(err.to_string().contains("already running"), "{err}");
        assert!(started.elapsed() < Duration::from_millis(200));
        answering.join().unwrap();
        drop(taken);
    }

    #[test]
    fn a_stale_socket_is_removed_a_silent_one_waited_out_a_live_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("s.sock");
        // Nothing listens: removed.
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        clear_stale(&socket).unwrap();
        assert!(!socket.exists());
        // A listener that never answers, gone after 300 ms: waited out, then removed.
        let silent = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(silent);
        });
        let started = Instant::now();
        clear_stale(&socket).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250) && !socket.exists());
        closer.join().unwrap();
        // A daemon that answers: never displaced.
        let answering = serving(&socket, 2);
        assert!(clear_stale(&socket).unwrap_err().to_string().contains("already running"));
        assert!(socket.exists());
        answering.join().unwrap();
    }
}
