//! The proxy's local key: the one credential it accepts. `bedprov-local-` and 256 random
//! bits (64 hex digits), made once and kept in a private file in bedprov's state directory,
//! so it outlives daemon restarts; `bedprov proxy new-key` replaces it.
//!
//! The daemon looks at the file on every request (one `stat`) and reads it again when it
//! changed, so a new key takes effect at once: clients holding the old one are refused from
//! their next request. Presented keys are compared in constant time.

use crate::Error;
use crate::wire::api::ErrorCode;
use std::fmt;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

/// What every local key starts with: a reader of a config file or a log can tell it from a
/// Bedrock API key (`bedrock-api-key-…`) at a glance.
pub const PREFIX: &str = "bedprov-local-";
/// Random bytes in a key.
const RANDOM_BYTES: usize = 32;

/// A local key. `Debug` is redacted; the bytes are wiped on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalKey(Zeroizing<String>);

impl LocalKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> crate::Result<Self> {
        let mut bytes = Zeroizing::new([0u8; RANDOM_BYTES]);
        getrandom::fill(bytes.as_mut()).map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot read random bytes for the proxy's key: {e}"),
                "this system has no working random source; report it with your OS version",
            )
        })?;
        let mut text = Zeroizing::new(String::with_capacity(PREFIX.len() + 2 * RANDOM_BYTES));
        text.push_str(PREFIX);
        for byte in bytes.iter() {
            text.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xF)]));
        }
        Ok(Self(text))
    }

    /// A key read back (surrounding whitespace ignored); `None` if it is not one.
    fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let digits = text.strip_prefix(PREFIX)?;
        (digits.len() == 2 * RANDOM_BYTES
            && digits.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Self(Zeroizing::new(text.to_owned())))
    }

    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether `presented` is this key, in time that does not depend on where they differ.
    #[must_use]
    pub fn matches(&self, presented: &[u8]) -> bool {
        self.0.as_bytes().ct_eq(presented).into()
    }
}

impl fmt::Debug for LocalKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("LocalKey(<redacted>)")
    }
}

/// Which version of the file the cached key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime: i64,
    mtime_nsec: i64,
}

impl Stamp {
    fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            dev: metadata.dev(),
            ino: metadata.ino(),
            size: metadata.size(),
            mtime: metadata.mtime(),
            mtime_nsec: metadata.mtime_nsec(),
        }
    }
}

/// The key file, and the key last read from it.
#[derive(Debug)]
pub struct KeyFile {
    path: PathBuf,
    cached: Mutex<Option<(Stamp, Arc<LocalKey>)>>,
}

impl KeyFile {
    #[must_use]
    pub fn new(path: PathBuf) -> Self {
        Self { path, cached: Mutex::new(None) }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The current key: the cached one while the file is unchanged, else read again; made
    /// first if there is none.
    pub fn current(&self) -> crate::Result<Arc<LocalKey>> {
        let metadata = match std::fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                create(&self.path)?;
                std::fs::metadata(&self.path).map_err(self.cannot_read())?
            }
            Err(error) => return Err(self.cannot_read()(error)),
        };
        let stamp = Stamp::of(&metadata);
        let mut cached = self.cached.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((seen, key)) = cached.as_ref()
            && *seen == stamp
        {
            return Ok(Arc::clone(key));
        }
        let key = Arc::new(read(&self.path)?);
        if cached.is_some() {
            tracing::info!(file = %self.path.display(), "the proxy's local key changed; the previous one is refused from now on");
        }
        *cached = Some((stamp, Arc::clone(&key)));
        Ok(key)
    }

    fn cannot_read(&self) -> impl FnOnce(std::io::Error) -> Error {
        Error::io(format!("cannot read the proxy's key file {}", self.path.display()))
    }
}

/// Reads the key file, refusing one others could read or one that is not a key.
fn read(path: &Path) -> crate::Result<LocalKey> {
    let metadata = std::fs::metadata(path)
        .map_err(Error::io(format!("cannot read the proxy's key file {}", path.display())))?;
    let ours = nix::unistd::geteuid().as_raw();
    if metadata.uid() != ours || metadata.mode() & 0o077 != 0 {
        return Err(Error::new(
            ErrorCode::Internal,
            format!(
                "the proxy's key file {} is not private to you (owner uid {}, mode {:o})",
                path.display(),
                metadata.uid(),
                metadata.mode() & 0o777
            ),
            "run `bedprov proxy new-key` to replace it with a private one",
        ));
    }
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(Error::io(format!("cannot read the proxy's key file {}", path.display())))?,
    );
    LocalKey::parse(&text).ok_or_else(|| {
        Error::new(
            ErrorCode::Internal,
            format!("the proxy's key file {} does not hold a key", path.display()),
            "run `bedprov proxy new-key` to make a new one",
        )
    })
}

/// Makes the key file if there is none (a key another process made first is kept): written
/// to a temporary file, then linked into place, so no reader sees half a key.
fn create(path: &Path) -> crate::Result<()> {
    let temporary = write_temporary(path, &LocalKey::generate()?)?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => {
            Err(Error::io(format!("cannot create the proxy's key file {}", path.display()))(error))
        }
    }
}

/// Replaces the key with a new one (`bedprov proxy new-key`); a running daemon refuses the
/// old one from its next request.
pub fn replace(path: &Path) -> crate::Result<()> {
    let temporary = write_temporary(path, &LocalKey::generate()?)?;
    std::fs::rename(&temporary, path).map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(format!("cannot replace the proxy's key file {}", path.display()))(e)
    })
}

/// Writes `key` to a new private file next to `path` (its directory made private if new).
fn write_temporary(path: &Path, key: &LocalKey) -> crate::Result<PathBuf> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    private_dir(dir)?;
    let temporary = dir.join(format!(".key.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(Error::io(format!("cannot write the proxy's key to {}", dir.display())))?;
    file.write_all(format!("{}\n", key.expose()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            Error::io(format!("cannot write the proxy's key to {}", dir.display()))(e)
        })?;
    Ok(temporary)
}

/// Creates `dir` (and its parents) private to us; an existing one must be ours and closed to
/// others, since it holds the key.
pub fn private_dir(dir: &Path) -> crate::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io(format!("cannot create {}", dir.display())))?;
    let metadata =
        std::fs::metadata(dir).map_err(Error::io(format!("cannot read {}", dir.display())))?;
    if metadata.uid() != nix::unistd::geteuid().as_raw() || metadata.mode() & 0o077 != 0 {
        return Err(Error::new(
            ErrorCode::Internal,
            format!(
                "{} holds the proxy's key, but is not private to you (owner uid {}, mode {:o})",
                dir.display(),
                metadata.uid(),
                metadata.mode() & 0o777
            ),
            format!("make it yours and private: chmod 700 {}", dir.display()),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn keys_are_256_random_bits_in_hex_and_never_shown() {
        let a = LocalKey::generate().unwrap();
        let b = LocalKey::generate().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.expose().len(), PREFIX.len() + 64);
        assert!(LocalKey::parse(a.expose()).is_some());
        assert_eq!(format!("{a:?}"), "LocalKey(<redacted>)");
        assert!(a.matches(a.expose().as_bytes()));
        assert!(!a.matches(b.expose().as_bytes()));
        assert!(!a.matches(&a.expose().as_bytes()[..20]));
        assert!(!a.matches(b""));
        for bad in ["", "bedprov-local-", "bedprov-local-xyz", &a.expose().to_uppercase()] {
            assert!(LocalKey::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn made_once_private_kept_and_replaced_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/proxy/key");
        let file = KeyFile::new(path.clone());
        let first = file.current().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777, 0o700);
        assert_eq!(file.current().unwrap(), first, "stable");
        assert_eq!(KeyFile::new(path.clone()).current().unwrap(), first, "across restarts");
        replace(&path).unwrap();
        let second = file.current().unwrap();
        assert_ne!(second, first, "picked up at once");
        // Only the key file is left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        // A file others can read is refused, and says how to fix it.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = KeyFile::new(path.clone()).current().unwrap_err();
        assert!(error.to_string().contains("not private"), "{error}");
        assert!(error.hint().contains("bedprov proxy new-key"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "garbage").unwrap();
        assert!(KeyFile::new(path).current().unwrap_err().to_string().contains("does not hold"));
    }
}
