//! bedprov: Amazon Bedrock API keys made simple and safe.
//!
//! Short-term tokens by default (`SigV4` presigned, byte-identical to AWS's generator), a daemon
//! that keeps them fresh and serves them over a private Unix socket, a millisecond helper for
//! shells and tools, and long-term credentials per business unit for systems.
//!
//! # Layout
//! - [`wire`]: the `bedprov-wire` crate (`crates/bedprov-wire`), re-exported: the socket
//!   protocol, socket path rules, the blocking client and its trust checks, shell quoting,
//!   exit codes and `bedprov-helper`'s logic. std + serde only: the helper links nothing else.
//! - [`token`]: the redacted [`token::Token`], minting (pure) and decoding (offline).
//! - [`ttl`], [`region`]: parsing and validating the two inputs every token needs.
//! - [`creds`]: credentials and region as an AWS SDK in a given shell would choose them:
//!   botocore's rules applied to a snapshot of the shell's AWS variables (its own
//!   credentials first), then a profile's chain in botocore's order (roles with every AWS
//!   CLI setting, MFA, SSO), aws-config for the rest, and the bounded `credential_process`
//!   runner every such process goes through.
//! - [`slot`]: one token per (profile, region, TTL): the lifetime policy, single-flight
//!   refresh, backoff and the served/degraded/needs-login states.
//! - [`daemon`]: the socket server: lifecycle, socket security, HTTP routes, detaching.
//! - [`proxy`]: the local Bedrock proxy in the daemon: a loopback port where long-running
//!   apps send Bedrock requests with a local key, forwarded with the slots' fresh tokens.
//! - [`watch`]: notices changes to what bedprov reads under `~/.aws` (not swap files, not
//!   its own refreshes' writes) so a login takes effect at once.
//! - [`provision`]: long-term credentials per business unit (IAM user, policy, keys,
//!   rotation, keyring / Secrets Manager storage). [`verify`]: `bedprov check`.
//! - [`aws`]: the AWS control-plane clients and AWS-error mapping (names missing actions).
//! - [`progress`]: a spinner on a terminal. [`quote`]: untrusted text, safe inside messages.
//! - [`service`]: the daemon as a user service: systemd units and a launchd agent (embedded
//!   from `systemd/` and `launchd/`), installed, removed and inspected.
//! - [`config`], [`paths`]: the config file and where bedprov keeps its files.
//! - [`prompt`]: yes/no, choice and MFA-code questions, only on a terminal.
//! - [`intent`]: plain-language requests → what was said (with spans) → a validated plan and
//!   the equivalent `bedprov` command line (`bedprov request`). Deterministic: no network.
//! - [`clock`]: the injectable wall clock. [`timefmt`]: times and durations as text, for
//!   every layer.
//! - [`error`]: the crate's error type: a kind (`wire::api::ErrorCode`, which maps it to the exit
//!   code and HTTP status), message, hint and the typed error it came from.
//! - [`render`]: turns results into the formats users share (human, env, JSON, raw).
//! - [`cli`]: the `bedprov` command line; prints what `render` produced (a new long-term
//!   secret at the workflow's delivery step, checked to have arrived). Also the clap
//!   description of `bedprov-helper`'s command line, so shell completions and man pages for
//!   both commands come from clap (`bedprov completions`, `bedprov man`).
//! - [`harden`]: umask, no core dumps, not dumpable. [`logging`]: tracing with secret-safe clamps.

pub(crate) mod aws;
// clap turns the doc comments of the argument types into --help text: plain words there.
#[allow(clippy::doc_markdown)]
pub mod cli;
pub mod clock;
pub mod config;
pub mod creds;
pub mod daemon;
pub mod error;
pub mod harden;
pub mod intent;
pub mod logging;
pub mod paths;
pub(crate) mod progress;
pub(crate) mod prompt;
pub(crate) mod provision;
pub mod proxy;
pub mod quote;
pub mod region;
pub(crate) mod render;
pub mod service;
pub mod slot;
pub mod timefmt;
pub mod token;
pub mod ttl;
pub(crate) mod verify;
pub mod watch;

/// The wire protocol crate under its old module name, so `crate::wire::…` and
/// `bedprov::wire::…` keep naming it: the one place that maps the two.
pub use bedprov_wire as wire;

pub use error::{Error, Result};
