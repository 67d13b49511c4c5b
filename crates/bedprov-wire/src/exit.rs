//! Exit codes shared by `bedprov` and `bedprov-helper`, documented in the README.
//!
//! Scripts branch on these, so they never change meaning once released.

/// Success.
pub const OK: i32 = 0;
/// An unexpected internal failure (a bug, or an I/O error with no better class).
pub const INTERNAL: i32 = 1;
/// Invalid arguments or input: a bad TTL, region, token, profile name or request text.
pub const USAGE: i32 = 2;
/// No usable AWS credentials: none found, unknown profile, or the credential source failed.
pub const NO_CREDENTIALS: i32 = 3;
/// The credentials need a fresh login (an expired SSO session): run the command shown.
pub const NEEDS_LOGIN: i32 = 4;
/// AWS refused or failed a call (access denied, throttled, unreachable endpoint).
pub const AWS: i32 = 5;
/// No daemon answered on the socket (and none could be started).
pub const DAEMON_UNREACHABLE: i32 = 6;
/// The daemon is up but cannot serve a token with enough life left (503).
pub const TOKEN_UNAVAILABLE: i32 = 7;
/// A daemon is already running on that socket; it was left undisturbed.
pub const ALREADY_RUNNING: i32 = 8;
/// The requested thing does not exist (e.g. no bedprov-made user for that business unit).
pub const NOT_FOUND: i32 = 9;
/// The action was declined at a confirmation prompt, or needs `--yes` without a terminal.
pub const DECLINED: i32 = 10;
/// A limit stops the action (e.g. two keys already exist): rotate or delete first.
pub const LIMIT: i32 = 11;
/// Stopped by SIGINT (128 + 2), after undoing what the run had started.
pub const INTERRUPTED: i32 = 130;
/// Stopped by SIGTERM (128 + 15), after undoing what the run had started.
pub const TERMINATED: i32 = 143;
