//! The crate's error type: every failure a user can meet, with the next step to take and
//! a documented exit code. Messages and hints never contain secrets.

use crate::creds::CredsError;
use crate::region::RegionError;
use crate::token::{DecodeError, MintError};
use crate::ttl::TtlError;
use crate::wire::api::{ErrorBody, ErrorCode};
use crate::wire::client::ClientError;
use crate::wire::exit;
use crate::wire::shell::UnsafeValue;

/// Anything that can go wrong in bedprov.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Creds(#[from] CredsError),
    #[error(transparent)]
    Ttl(#[from] TtlError),
    #[error(transparent)]
    Region(#[from] RegionError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error("cannot mint a token: {0}")]
    Mint(#[from] MintError),
    #[error(transparent)]
    Shell(#[from] UnsafeValue),
    #[error(transparent)]
    Daemon(#[from] ClientError),
    /// Bad input that has no richer type.
    #[error("{message}")]
    Usage { message: String, hint: String },
    /// A typed failure with its own exit code (daemon lifecycle, provisioning, AWS calls).
    #[error("{message}")]
    Other { message: String, hint: String, exit_code: i32 },
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
}

impl Error {
    #[must_use]
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Usage { message: message.into(), hint: hint.into() }
    }

    #[must_use]
    pub fn other(exit_code: i32, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::Other { message: message.into(), hint: hint.into(), exit_code }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| Self::Io { context, source }
    }

    /// What to do next.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Self::Creds(e) => e.hint(),
            Self::Ttl(_) => format!("pass --ttl as {}", crate::ttl::FORMS),
            Self::Region(_) => "pass --region with a region where Bedrock runs, e.g. us-east-1, us-west-2, eu-central-1".into(),
            Self::Decode(_) => "pass the whole token (it starts with bedrock-api-key-), or `-` to read it from stdin".into(),
            Self::Mint(MintError::CredentialsExpired(_)) => "refresh the credentials (for SSO: `aws sso login`) and try again".into(),
            Self::Mint(_) => "this is a bug in bedprov: please report it with the command you ran".into(),
            Self::Shell(_) => "values with line breaks or NUL cannot be exported safely; fix the value (e.g. the profile or region name)".into(),
            Self::Daemon(e) => e.hint(),
            Self::Usage { hint, .. } | Self::Other { hint, .. } => hint.clone(),
            Self::Io { .. } => "check the path and its permissions".into(),
        }
    }

    /// The documented exit code (see `wire::exit` and the README).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        match self {
            Self::Creds(CredsError::NeedsLogin { .. }) => exit::NEEDS_LOGIN,
            Self::Creds(_) | Self::Mint(MintError::CredentialsExpired(_)) => exit::NO_CREDENTIALS,
            Self::Ttl(_)
            | Self::Region(_)
            | Self::Decode(_)
            | Self::Shell(_)
            | Self::Usage { .. } => exit::USAGE,
            Self::Daemon(e) => e.exit_code(),
            Self::Other { exit_code, .. } => *exit_code,
            Self::Mint(_) | Self::Io { .. } => exit::INTERNAL,
        }
    }

    /// The wire error code, for answers from the daemon.
    #[must_use]
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Creds(CredsError::NeedsLogin { .. }) => ErrorCode::NeedsLogin,
            Self::Creds(CredsError::NotFound { .. } | CredsError::EnvironmentPartial { .. }) => {
                ErrorCode::NoCredentials
            }
            Self::Creds(CredsError::UnknownProfile { .. }) => ErrorCode::UnknownProfile,
            Self::Creds(_) | Self::Mint(MintError::CredentialsExpired(_)) => {
                ErrorCode::CredentialsFailed
            }
            Self::Ttl(_)
            | Self::Region(_)
            | Self::Decode(_)
            | Self::Shell(_)
            | Self::Usage { .. } => ErrorCode::BadRequest,
            Self::Daemon(_) | Self::Mint(_) | Self::Io { .. } | Self::Other { .. } => {
                ErrorCode::Internal
            }
        }
    }

    /// The wire form: code, message, hint. Message and hint are sentences for people, with
    /// whatever came from outside in them (a profile name from a query, a config value)
    /// quoted, so every client that shows them shows inert text.
    #[must_use]
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.code(),
            message: crate::quote::shown_long(&self.to_string()),
            hint: crate::quote::shown_long(&self.hint()),
        }
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Prints an error and its hint to stderr, quoted: they may carry text from outside (an AWS
/// error message, a profile name, a config value).
pub fn report(error: &Error) {
    eprintln!("error: {}", crate::quote::shown_long(&error.to_string()));
    let hint = error.hint();
    if !hint.is_empty() {
        eprintln!("  hint: {}", crate::quote::shown_long(&hint));
    }
}
