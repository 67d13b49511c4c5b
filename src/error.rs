//! The crate's error type: what went wrong (the message), what to do next (the hint), its
//! kind, and the typed error it came from.
//!
//! The kind is the wire's [`ErrorCode`]: one table there gives each kind its documented exit
//! code and the HTTP status the daemon answers with, so a failure means the same whether a
//! command ends with it or the daemon answers with it. The typed errors of the layers below
//! (credentials, TTL, region, tokens, shell output, the daemon client, I/O) become an
//! `Error` through `From`, which picks the kind and keeps the typed error as the source.
//!
//! `Display` is the message alone. Messages and hints never contain secrets, and a source is
//! only ever one of those typed errors, whose own text is the message: nothing a credential
//! tool printed (see [`crate::creds::error_chain`]) hides behind `source()` or `Debug`.

use crate::creds::CredsError;
use crate::region::RegionError;
use crate::token::{DecodeError, MintError};
use crate::ttl::TtlError;
use crate::wire::api::{ErrorBody, ErrorCode};
use crate::wire::client::ClientError;
use crate::wire::shell::UnsafeValue;
use std::fmt;

/// Anything that can go wrong in bedprov.
#[derive(Debug)]
pub struct Error {
    kind: ErrorCode,
    message: String,
    hint: String,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl Error {
    /// A failure of `kind`: what went wrong, and what to do next.
    #[must_use]
    pub fn new(kind: ErrorCode, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hint: hint.into(), source: None }
    }

    /// Bad input ([`ErrorCode::BadRequest`], exit 2).
    #[must_use]
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, message, hint)
    }

    /// An I/O failure while doing `context` (its message says both), an internal error.
    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let context = context.into();
        move |source| {
            Self::new(
                ErrorCode::Internal,
                format!("{context}: {source}"),
                "check the path and its permissions",
            )
            .with_source(source)
        }
    }

    /// The same error, caused by `source` (kept for `std::error::Error::source`). Only for
    /// errors whose text is safe to show: never one that may quote a process's output.
    #[must_use]
    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// What kind of failure this is.
    #[must_use]
    pub fn kind(&self) -> ErrorCode {
        self.kind
    }

    /// What went wrong (also what `Display` shows).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// What to do next.
    #[must_use]
    pub fn hint(&self) -> &str {
        &self.hint
    }

    /// The documented exit code (see `wire::exit` and the README): the kind's.
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }

    /// The wire form: code, message, hint. Message and hint are sentences for people, with
    /// whatever came from outside in them (a profile name from a query, a config value)
    /// quoted, so every client that shows them shows inert text.
    #[must_use]
    pub fn to_body(&self) -> ErrorBody {
        ErrorBody {
            code: self.kind,
            message: crate::quote::shown_long(&self.message),
            hint: crate::quote::shown_long(&self.hint),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|source| source as _)
    }
}

/// An error the daemon (or a daemon starting up) answered with: shown as it said it.
impl From<ErrorBody> for Error {
    fn from(body: ErrorBody) -> Self {
        Self::new(body.code, body.message, body.hint)
    }
}

impl From<CredsError> for Error {
    fn from(error: CredsError) -> Self {
        let kind = match &error {
            CredsError::NeedsLogin { .. } => ErrorCode::NeedsLogin,
            CredsError::NotFound { .. } | CredsError::EnvironmentPartial { .. } => {
                ErrorCode::NoCredentials
            }
            CredsError::UnknownProfile { .. } => ErrorCode::UnknownProfile,
            _ => ErrorCode::CredentialsFailed,
        };
        Self::new(kind, error.to_string(), error.hint()).with_source(error)
    }
}

impl From<TtlError> for Error {
    fn from(error: TtlError) -> Self {
        let hint = format!("pass --ttl as {}", crate::ttl::FORMS);
        Self::usage(error.to_string(), hint).with_source(error)
    }
}

impl From<RegionError> for Error {
    fn from(error: RegionError) -> Self {
        let hint = "pass --region with a region where Bedrock runs, e.g. us-east-1, us-west-2, eu-central-1";
        Self::usage(error.to_string(), hint).with_source(error)
    }
}

impl From<DecodeError> for Error {
    fn from(error: DecodeError) -> Self {
        let hint =
            "pass the whole token (it starts with bedrock-api-key-), or `-` to read it from stdin";
        Self::usage(error.to_string(), hint).with_source(error)
    }
}

impl From<MintError> for Error {
    fn from(error: MintError) -> Self {
        let (kind, hint) = match error {
            MintError::CredentialsExpired(_) => (
                ErrorCode::CredentialsFailed,
                "refresh the credentials (for SSO: `aws sso login`) and try again",
            ),
            MintError::Signing(_) => (
                ErrorCode::Internal,
                "this is a bug in bedprov: please report it with the command you ran",
            ),
        };
        Self::new(kind, format!("cannot mint a token: {error}"), hint).with_source(error)
    }
}

impl From<UnsafeValue> for Error {
    fn from(error: UnsafeValue) -> Self {
        let hint = "values with line breaks or NUL cannot be exported safely; fix the value (e.g. the profile or region name)";
        Self::usage(error.to_string(), hint).with_source(error)
    }
}

impl From<ClientError> for Error {
    fn from(error: ClientError) -> Self {
        Self::new(error.kind(), error.to_string(), error.hint()).with_source(error)
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::exit;

    /// Each typed error keeps the exit code and wire code it always had, and its own words.
    #[test]
    fn typed_errors_pick_their_kind_and_keep_their_words() {
        let cases: Vec<(Error, ErrorCode, i32)> = vec![
            (
                CredsError::NotFound { profile: "p".into(), explicit: false }.into(),
                ErrorCode::NoCredentials,
                exit::NO_CREDENTIALS,
            ),
            (
                CredsError::UnknownProfile { profile: "p".into(), known: Vec::new() }.into(),
                ErrorCode::UnknownProfile,
                exit::NO_CREDENTIALS,
            ),
            (
                CredsError::Expired { profile: "p".into() }.into(),
                ErrorCode::CredentialsFailed,
                exit::NO_CREDENTIALS,
            ),
            (
                CredsError::NeedsLogin {
                    profile: "p".into(),
                    login: crate::creds::Login::Sso { profile: "p".into() },
                }
                .into(),
                ErrorCode::NeedsLogin,
                exit::NEEDS_LOGIN,
            ),
            (
                TtlError::OutOfRange(std::time::Duration::from_secs(60)).into(),
                ErrorCode::BadRequest,
                exit::USAGE,
            ),
            (
                MintError::CredentialsExpired(std::time::SystemTime::UNIX_EPOCH).into(),
                ErrorCode::CredentialsFailed,
                exit::NO_CREDENTIALS,
            ),
            (
                ClientError::Timeout { socket: "/s".into() }.into(),
                ErrorCode::DaemonUnreachable,
                exit::DAEMON_UNREACHABLE,
            ),
            (ClientError::Protocol("x".into()).into(), ErrorCode::Internal, exit::INTERNAL),
            (
                Error::io("reading x")(std::io::ErrorKind::NotFound.into()),
                ErrorCode::Internal,
                exit::INTERNAL,
            ),
        ];
        for (error, kind, code) in cases {
            assert_eq!((error.kind(), error.exit_code()), (kind, code), "{error}");
            assert!(!error.hint().is_empty(), "{error}");
            let source = std::error::Error::source(&error).expect("the typed error is kept");
            assert!(error.to_string().contains(&source.to_string()), "{error}");
            assert_eq!(error.to_body().code, kind);
        }
        let creds = CredsError::UnknownProfile { profile: "x".into(), known: vec!["a".into()] };
        let error = Error::from(creds.clone());
        assert_eq!((error.to_string(), error.hint()), (creds.to_string(), creds.hint().as_str()));
    }

    /// An error that crossed the socket (or the readiness pipe) keeps its kind, so its exit
    /// code, and its words.
    #[test]
    fn an_error_body_becomes_the_same_error() {
        let sent = Error::new(ErrorCode::AlreadyRunning, "a daemon\nruns", "use it");
        let received = Error::from(sent.to_body());
        assert_eq!(received.exit_code(), exit::ALREADY_RUNNING);
        assert_eq!(received.message(), "a daemon\\u{a}runs");
        assert_eq!(received.hint(), "use it");
    }
}
