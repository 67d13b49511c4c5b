//! AWS control-plane clients (IAM, STS, Bedrock, Secrets Manager) for the CLI's
//! provisioning and verification commands, and the one place AWS errors become ours:
//! access denied names the missing IAM action, throttling is retried by the SDK with
//! backoff, unreachable endpoints say so. Never on the token hot path.
//!
//! Endpoints follow the SDK's own rules (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM`, …), which
//! is how the tests point bedprov at moto and at the local fakes.

use crate::creds::{self, ProfileSelection, Target};
use crate::region::{Region, RegionSource};
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_types::region::Region as SdkRegion;
use std::time::Duration;

/// Attempts per call (the first plus retries), with the SDK's exponential backoff: enough to
/// ride out throttling without hanging a terminal.
const MAX_ATTEMPTS: u32 = 5;

/// Clients for one identity and region.
#[derive(Debug, Clone)]
pub(crate) struct Aws {
    pub config: SdkConfig,
    pub profile: ProfileSelection,
    pub region: Region,
    pub region_source: RegionSource,
    /// The signing credentials (for the token self-check).
    pub credentials: Credentials,
    /// Where they came from.
    pub credential_source: crate::wire::api::CredentialSource,
}

impl Aws {
    /// Resolves credentials and region the same way `bedprov token` does.
    pub(crate) async fn connect(profile: Option<&str>, region: Option<&str>) -> Result<Self> {
        let target = Target::from_process(profile, region)?;
        // Boxed: aws-config's futures are large, and every command awaits this one.
        let resolved = Box::pin(creds::resolve(&target)).await?;
        let config = Box::pin(sdk_config(resolved.credentials.clone(), &resolved.region)).await;
        Ok(Self {
            config,
            profile: resolved.profile,
            region: resolved.region,
            region_source: resolved.region_source,
            credentials: resolved.credentials,
            credential_source: resolved.credential_source,
        })
    }

    /// The same region and endpoints, signed with other credentials (a key just created).
    pub(crate) async fn with_credentials(&self, credentials: Credentials) -> SdkConfig {
        Box::pin(sdk_config(credentials, &self.region)).await
    }

    #[must_use]
    pub(crate) fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::new(&self.config)
    }

    #[must_use]
    pub(crate) fn sts(&self) -> aws_sdk_sts::Client {
        aws_sdk_sts::Client::new(&self.config)
    }

    #[must_use]
    pub(crate) fn bedrock(&self) -> aws_sdk_bedrock::Client {
        aws_sdk_bedrock::Client::new(&self.config)
    }

    #[must_use]
    pub(crate) fn secrets(&self) -> aws_sdk_secretsmanager::Client {
        aws_sdk_secretsmanager::Client::new(&self.config)
    }
}

async fn sdk_config(credentials: Credentials, region: &Region) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(credentials)
        .region(SdkRegion::new(region.as_str().to_owned()))
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(MAX_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(200)),
        )
        .load()
        .await
}

/// Maps an SDK error to ours. `action` is the IAM action the call needs (`iam:CreateUser`),
/// named when AWS denies it. Messages carry AWS's error code and message, never secrets
/// (bedprov never sends secrets in requests AWS would echo); an answer with neither says so
/// and what to do, rather than pointing at a message that is not there.
pub(crate) fn error<E>(action: &'static str, err: &SdkError<E, HttpResponse>) -> Error
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (None, None) => no_reason(action, service.raw().status().as_u16()),
                (code, message) => {
                    // AWS's code and message are text from outside: quoted for every display.
                    let code = crate::quote::shown(code.unwrap_or("Unknown"));
                    let message = crate::quote::shown_long(message.unwrap_or_default());
                    classify(action, &code, &message)
                }
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => Error::new(
            ErrorCode::Aws,
            format!("cannot reach AWS for {action}: {}", creds::error_chain(err)),
            "check your network (and AWS_ENDPOINT_URL if you set one), then try again",
        ),
        other => Error::new(
            ErrorCode::Aws,
            format!("the {action} call failed: {}", creds::error_chain(other)),
            "try again; run with -vv for details",
        ),
    }
}

/// Error codes with which an endpoint says it does not implement a call: AWS's own
/// (`InvalidAction`) and those of AWS emulators.
const NOT_IMPLEMENTED: &[&str] = &[
    "InvalidAction",
    "NotImplemented",
    "NotImplementedException",
    "UnknownOperationException",
    "UnsupportedOperation",
    "UnsupportedOperationException",
];

/// True when the endpoint does not implement the call: it says so (a code from
/// [`NOT_IMPLEMENTED`], HTTP 501), or answers with no AWS error at all, as an emulator does
/// for a call it lacks (moto: HTTP 500 without a body AWS would send). Callers that need
/// the call only for one kind of thing (Bedrock API keys) skip that part with a note.
pub(crate) fn not_implemented<E>(err: &SdkError<E, HttpResponse>) -> bool
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    let SdkError::ServiceError(service) = err else { return false };
    let inner = service.err();
    service.raw().status().as_u16() == 501
        || inner.code().is_some_and(|code| NOT_IMPLEMENTED.contains(&code))
        || (inner.code().is_none() && inner.message().is_none())
}

/// The `AWS_ENDPOINT_URL…` variable that sends `action`'s service elsewhere, and its value.
fn endpoint_override(action: &str) -> Option<(String, String)> {
    let service = match action.split(':').next()? {
        "secretsmanager" => "SECRETS_MANAGER".to_owned(),
        other => other.to_ascii_uppercase(),
    };
    [format!("AWS_ENDPOINT_URL_{service}"), "AWS_ENDPOINT_URL".to_owned()].into_iter().find_map(
        |variable| {
            let value = std::env::var(&variable).ok().filter(|v| !v.trim().is_empty())?;
            Some((variable, crate::quote::shown(&value)))
        },
    )
}

/// An answer with no error code and no message: what happened, and what to do.
fn no_reason(action: &'static str, status: u16) -> Error {
    let message = format!(
        "{action} failed: the endpoint answered HTTP {status} with no AWS error code or message"
    );
    let hint = match endpoint_override(action) {
        Some((variable, url)) => format!(
            "{variable} points bedprov at {url}: an AWS emulator may not implement {action}; use an endpoint that has it, or AWS itself"
        ),
        None => "AWS gave no reason: try again in a minute (re-running is safe); if it keeps failing, check the AWS Health Dashboard for the region".into(),
    };
    Error::new(ErrorCode::Aws, message, hint)
}

/// The decision behind [`error`], on an error code and message (testable without the SDK).
/// The message may be empty: then none is quoted or pointed at.
#[must_use]
pub(crate) fn classify(action: &'static str, code: &str, message: &str) -> Error {
    let said = if message.is_empty() { String::new() } else { format!(": {message}") };
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "UnauthorizedException" => Error::new(
            ErrorCode::Aws,
            format!("AWS denied {action}{said}"),
            format!(
                "grant {action} to the identity you are using (check it with `bedprov check`); the README lists every permission bedprov needs"
            ),
        ),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => Error::new(
            ErrorCode::NeedsLogin,
            format!("your AWS credentials expired during {action}"),
            "refresh them (for SSO: `aws sso login --profile X`) and try again",
        ),
        "InvalidClientTokenId" | "UnrecognizedClientException" | "SignatureDoesNotMatch" => {
            Error::new(
                ErrorCode::CredentialsFailed,
                format!("AWS does not accept these credentials ({code}) for {action}"),
                "check the keys (`aws sts get-caller-identity`), or your clock if it is far off",
            )
        }
        "Throttling"
        | "ThrottlingException"
        | "TooManyRequestsException"
        | "RequestLimitExceeded" => Error::new(
            ErrorCode::Aws,
            format!("AWS kept throttling {action} after {MAX_ATTEMPTS} attempts"),
            "wait a minute and run the command again (it is safe to re-run)",
        ),
        code if NOT_IMPLEMENTED.contains(&code) => Error::new(
            ErrorCode::Aws,
            format!("the endpoint does not implement {action} ({code}){said}"),
            match endpoint_override(action) {
                Some((variable, url)) => format!(
                    "{variable} points bedprov at {url}: use an endpoint that implements {action}, or AWS itself"
                ),
                None => {
                    format!("{action} is not available here: check the region and the endpoint")
                }
            },
        ),
        _ if message.is_empty() => Error::new(
            ErrorCode::Aws,
            format!("{action} failed: {code}"),
            format!(
                "AWS sent {code} without a message; re-running is safe, and if it persists, look {code} up in the AWS documentation of {action}"
            ),
        ),
        _ => Error::new(
            ErrorCode::Aws,
            format!("{action} failed: {code}{said}"),
            "see AWS's message above; re-running is safe",
        ),
    }
}

/// The error code of a service error, for callers that branch on it (`NoSuchEntity`).
pub(crate) fn code<E: aws_smithy_types::error::metadata::ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
) -> Option<&str> {
    match err {
        SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::exit;

    #[test]
    fn denied_calls_name_the_action() {
        let err = classify(
            "iam:CreateUser",
            "AccessDenied",
            "User: arn:aws:iam::1:user/x is not authorized",
        );
        assert_eq!(err.exit_code(), exit::AWS);
        assert!(err.to_string().contains("AWS denied iam:CreateUser"));
        assert!(err.hint().contains("grant iam:CreateUser"));
        assert_eq!(
            classify("sts:GetCallerIdentity", "ExpiredToken", "x").exit_code(),
            exit::NEEDS_LOGIN
        );
        assert!(
            classify("iam:ListUsers", "Throttling", "slow down").to_string().contains("throttling")
        );
    }

    #[test]
    fn without_a_message_nothing_points_at_one() {
        for (code, message) in [("Unknown", ""), ("InternalFailure", ""), ("AccessDenied", "")] {
            let err = classify("iam:ListServiceSpecificCredentials", code, message);
            let said = format!("{err} / {}", err.hint());
            assert!(said.contains("iam:ListServiceSpecificCredentials"), "{said}");
            assert!(!said.contains("above") && !said.contains(": no message"), "{said}");
            assert!(!err.to_string().ends_with(": "), "{said}");
        }
        let err = no_reason("bedrock:ListFoundationModels", 500);
        assert_eq!(
            err.to_string(),
            "bedrock:ListFoundationModels failed: the endpoint answered HTTP 500 with no AWS error code or message"
        );
        assert!(!err.hint().contains("above"), "{}", err.hint());
        let err = classify("iam:ListServiceSpecificCredentials", "NotImplemented", "");
        assert!(err.to_string().contains("does not implement"), "{err}");
        // With a message, the hint may point at it.
        let err = classify("iam:CreateUser", "EntityTemporarilyUnmodifiable", "try later");
        assert!(err.to_string().ends_with(": try later"), "{err}");
    }
}
