//! Where bedprov keeps and finds files: the user's home directory (the one place `HOME` is
//! read), the config file, the state directory (daemon log, the local proxy's
//! key and certificate authority) and the AWS files. The socket
//! path lives in `wire::socket_path`, because the helper needs it too.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The user's home directory: `$HOME` as this process started with it, read once. `None`
/// when it is unset or not an absolute path (a relative one would follow the working
/// directory, and a detached daemon works from `/`).
#[must_use]
pub fn home() -> Option<&'static Path> {
    static HOME: OnceLock<Option<PathBuf>> = OnceLock::new();
    HOME.get_or_init(|| usable_home(std::env::var_os("HOME"))).as_deref()
}

/// The rule for `$HOME`: an absolute path, or none at all.
fn usable_home(value: Option<std::ffi::OsString>) -> Option<PathBuf> {
    value.map(PathBuf::from).filter(|home| home.is_absolute())
}

/// Where files under the home directory are looked for: [`home`], or `/` without one (the
/// one fallback: nothing of the user's is found there, so each file reads as absent).
fn home_or_root() -> &'static Path {
    home().unwrap_or(Path::new("/"))
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home_or_root().join(fallback))
}

/// `$XDG_CONFIG_HOME` (default `~/.config`).
#[must_use]
pub fn config_home() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config")
}

/// `$XDG_CONFIG_HOME/bedprov/config.toml` (default `~/.config/bedprov/config.toml`).
#[must_use]
pub fn config_file() -> PathBuf {
    config_home().join("bedprov").join("config.toml")
}

/// `$XDG_STATE_HOME/bedprov` (default `~/.local/state/bedprov`): the detached daemon's log.
#[must_use]
pub fn state_dir() -> PathBuf {
    xdg("XDG_STATE_HOME", ".local/state").join("bedprov")
}

/// The detached daemon's log file.
#[must_use]
pub fn daemon_log() -> PathBuf {
    state_dir().join("daemon.log")
}

/// `$XDG_STATE_HOME/bedprov/proxy`: the local Bedrock proxy's key and certificate authority
/// (a private directory: the key authenticates to the proxy, the CA key can sign for it).
#[must_use]
pub fn proxy_dir() -> PathBuf {
    state_dir().join("proxy")
}

/// The proxy's local key (`bedprov-local-…`), which its clients send as their bearer token.
#[must_use]
pub fn proxy_key() -> PathBuf {
    proxy_dir().join("key")
}

/// The certificate authority of the proxy's HTTPS listener: its certificate, and its key.
#[must_use]
pub fn proxy_ca() -> PathBuf {
    proxy_dir().join("ca.pem")
}

#[must_use]
pub fn proxy_ca_key() -> PathBuf {
    proxy_dir().join("ca-key.pem")
}

/// What `AWS_CA_BUNDLE` points at for the proxy's clients: its CA and the platform's roots.
#[must_use]
pub fn proxy_ca_bundle() -> PathBuf {
    proxy_dir().join("ca-bundle.pem")
}

/// Where the bedprov package installs its systemd user units: `/usr/lib/systemd/user`, or
/// `$BEDPROV_PACKAGED_UNIT_DIR` when set to an absolute path (tests use their own directory).
#[must_use]
pub fn packaged_unit_dir() -> PathBuf {
    std::env::var_os("BEDPROV_PACKAGED_UNIT_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| PathBuf::from("/usr/lib/systemd/user"))
}

/// What `bedprov setup claude-code` added to Claude Code's settings, so `--undo` removes
/// exactly that (private: it may hold values it replaced).
#[must_use]
pub fn claude_code_record() -> PathBuf {
    proxy_dir().join("claude-code.json")
}

/// Claude Code's user settings: `$CLAUDE_CONFIG_DIR/settings.json` (default
/// `~/.claude/settings.json`).
#[must_use]
pub fn claude_settings() -> PathBuf {
    std::env::var_os("CLAUDE_CONFIG_DIR")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .unwrap_or_else(|| home_or_root().join(".claude"))
        .join("settings.json")
}

/// `~/.aws`: where the AWS config files live unless the environment says otherwise.
#[must_use]
pub fn aws_dir() -> PathBuf {
    home_or_root().join(".aws")
}

/// The AWS config and credentials files (honouring `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`), and the SSO token cache.
#[must_use]
pub fn aws_files() -> AwsFiles {
    let aws_dir = aws_dir();
    let from_env = |var: &str, default: PathBuf| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(default)
    };
    AwsFiles {
        config: from_env("AWS_CONFIG_FILE", aws_dir.join("config")),
        credentials: from_env("AWS_SHARED_CREDENTIALS_FILE", aws_dir.join("credentials")),
        sso_cache: aws_dir.join("sso").join("cache"),
        aws_dir,
    }
}

/// The files whose changes mean "credentials may have changed".
#[derive(Debug, Clone)]
pub struct AwsFiles {
    pub aws_dir: PathBuf,
    pub config: PathBuf,
    pub credentials: PathBuf,
    pub sso_cache: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A home that is unset, empty or relative is no home: bedprov's files are then looked for
    /// under `/` (and `service install` refuses), never under whatever directory it runs in.
    #[test]
    fn only_an_absolute_home_counts() {
        assert_eq!(usable_home(Some("/home/me".into())), Some(PathBuf::from("/home/me")));
        for unusable in [None, Some(""), Some("home/me"), Some("~"), Some("./me")] {
            assert_eq!(usable_home(unusable.map(Into::into)), None, "{unusable:?}");
        }
        let home = home().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        assert_eq!(aws_dir(), home.join(".aws"));
    }
}
