//! Where the daemon's socket lives.
//!
//! Precedence: an explicit `--socket PATH`, then `BEDPROV_SOCKET`, then
//! `$XDG_RUNTIME_DIR/bedprov/bedprov.sock`, then `<temp dir>/bedprov-<uid>/bedprov.sock`.
//! The daemon verifies the directory is ours and private (see `daemon::socket`); this module
//! only computes the path, so the helper can find the socket without linking anything heavy.

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
    let private_dir = match current_uid() {
        Some(uid) => format!("bedprov-{uid}"),
        None => "bedprov".to_owned(),
    };
    std::env::temp_dir().join(private_dir).join(SOCKET_FILE)
}

/// Our real uid without libc: the `Uid:` line of `/proc/self/status` (Linux; readable even
/// in a non-dumpable process, unlike `/proc/self`'s owner), else the owner of `$HOME`.
fn current_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    let from_proc = std::fs::read_to_string("/proc/self/status").ok().and_then(|status| {
        let line = status.lines().find(|l| l.starts_with("Uid:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    });
    from_proc.or_else(|| Some(std::fs::metadata(std::env::var_os("HOME")?).ok()?.uid()))
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
            fallback
                .parent()
                .unwrap()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("bedprov")
        );
    }

    #[test]
    fn explicit_path_wins() {
        assert_eq!(resolve(Some(Path::new("/a/b"))), PathBuf::from("/a/b"));
    }
}
