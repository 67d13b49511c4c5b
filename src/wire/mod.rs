//! The wire: everything the daemon, the CLI and `bedprov-helper` must agree on.
//!
//! This module (and everything below it) depends only on `std`, `serde` and `serde_json`,
//! because `bedprov-helper` links it and the helper's start-up time is the product. Nothing
//! here may pull in tokio, hyper, clap or the AWS crates.
//!
//! - [`api`]: the socket's endpoints, request parameters, response and error bodies, and the
//!   API version: the one place the protocol is written down.
//! - [`aws_env`]: what an AWS SDK in a shell reads (profile, region, config files, its own
//!   credentials): the variable names and the snapshot a token request carries.
//! - [`socket_path`]: where the socket lives and how an override is chosen.
//! - [`client`]: a minimal blocking HTTP/1.1 client over the Unix socket, with bounded timeouts.
//! - [`shell`]: safe `export` lines for POSIX shells, fish and PowerShell.
//! - [`exit`]: the documented exit codes shared by `bedprov` and `bedprov-helper`.
//! - [`Secret`]: a string whose `Debug` is redacted and whose bytes are wiped on drop.

pub mod api;
pub mod aws_env;
pub mod client;
pub mod exit;
pub mod shell;
pub mod socket_path;

mod secret;

pub use secret::Secret;
