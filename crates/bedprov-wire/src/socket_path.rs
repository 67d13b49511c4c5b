//! Where the daemon's socket lives.
//!
//! Precedence: an explicit `--socket PATH`, then `BEDPROV_SOCKET`, then
//! `$XDG_RUNTIME_DIR/bedprov/bedprov.sock`, then `<temp dir>/bedprov-<uid>/bedprov.sock`.
//! This module only computes the path. The daemon creates the directory private (mode 0700)
//! and refuses any other; every client refuses a socket that is not its own user's
//! ([`crate::trust`]), wherever the path came from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Environment variable that overrides the socket path everywhere.
pub const SOCKET_ENV: &str = "BEDPROV_SOCKET";
/// File name of the socket inside its directory.
pub const SOCKET_FILE: &str = "bedprov.sock";

/// The socket path: `explicit`, else the environment's choice.
#[must_use]
pub fn resolve(explicit: Option<&Path>) -> PathBuf {
    if let Some(path) = explicit {
        return path.to_path_buf();
    }
    from_env(std::env::var_os(SOCKET_ENV), std::env::var_os("XDG_RUNTIME_DIR"))
}

fn from_env(socket_override: Option<OsString>, runtime_dir: Option<OsString>) -> PathBuf {
    if let Some(path) = socket_override.filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    if let Some(dir) = runtime_dir.map(PathBuf::from).filter(|d| d.is_absolute()) {
        return dir.join("bedprov").join(SOCKET_FILE);
    }
    std::env::temp_dir().join(format!("bedprov-{}", crate::trust::current_uid())).join(SOCKET_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn override_wins_then_runtime_dir_then_temp() {
        assert_eq!(
            from_env(Some("/x/s.sock".into()), Some("/run/user/1".into())),
            PathBuf::from("/x/s.sock")
        );
        assert_eq!(
            from_env(None, Some("/run/user/1".into())),
            PathBuf::from("/run/user/1/bedprov/bedprov.sock")
        );
        let fallback = from_env(Some("".into()), Some("relative".into()));
        assert!(fallback.starts_with(std::env::temp_dir()));
        assert!(
            fallback.parent().unwrap().file_name().unwrap().to_str().unwrap()
                == format!("bedprov-{}", crate::trust::current_uid())
        );
    }

    #[test]
    fn explicit_path_wins() {
        assert_eq!(resolve(Some(Path::new("/a/b"))), PathBuf::from("/a/b"));
    }
}
