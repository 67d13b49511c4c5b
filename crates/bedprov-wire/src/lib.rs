//! bedprov-wire: everything the bedprov daemon, the `bedprov` CLI and `bedprov-helper` must
//! agree on, and the helper itself.
//!
//! This crate depends only on `std`, `serde`, `serde_json` and `libc` (for two system calls
//! std lacks), because `bedprov-helper` links it alone and the helper's start-up time is the
//! product. Being its own package, it cannot reach tokio, hyper, clap or the AWS crates: the
//! compiler keeps it small. A Rust program that wants tokens from the daemon can depend on
//! it alone (see the README).
//!
//! - [`api`]: the socket's endpoints (each declared once), request parameters, response and
//!   error bodies, and the API version: the one place the protocol is written down.
//! - [`aws_env`]: what an AWS SDK in a shell reads (profile, region, config files, its own
//!   credentials): the variable names and the snapshot a token request carries.
//! - [`socket_path`]: where the socket lives and how an override is chosen.
//! - [`client`]: a minimal blocking HTTP/1.1 client over the Unix socket, with bounded
//!   timeouts, that talks only to a daemon of the same user ([`trust`]).
//! - [`trust`]: whether a socket is the user's own: a private directory, a peer of our uid.
//! - [`shell`]: safe `export` lines for POSIX shells, fish and PowerShell.
//! - [`exit`]: the documented exit codes shared by `bedprov` and `bedprov-helper`.
//! - [`helper`]: `bedprov-helper`, whole: its arguments, its calls, its output.
//! - [`Secret`]: a string whose `Debug` is redacted and whose bytes are wiped on drop.

pub mod api;
pub mod aws_env;
pub mod client;
pub mod exit;
pub mod helper;
pub mod shell;
pub mod socket_path;
pub mod trust;

mod secret;

pub use secret::Secret;

/// The README's example, compiled by `cargo test` so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
