//! The proxy's own answers, in Bedrock's error shape so every SDK shows them as it shows
//! AWS's: a JSON `{"message": …}` and the error's name in `x-amzn-ErrorType`. Statuses are
//! ones SDKs do not retry (4xx), except for an upstream that could not be reached (502),
//! where a retry may help. Every message starts with "bedprov proxy:" and says what to do.

use super::Body;
use super::hygiene::Refusal;
use super::route::Unrouted;
use super::stats::Failure;
use crate::wire::api::{ErrorBody, ErrorCode};
use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};

/// One of the proxy's own error answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyError {
    pub status: StatusCode,
    /// The AWS error name clients read from `x-amzn-ErrorType`.
    pub kind: &'static str,
    pub message: String,
    /// What the stats count it as.
    pub failure: Failure,
}

const ACCESS_DENIED: &str = "AccessDeniedException";
const VALIDATION: &str = "ValidationException";

impl ProxyError {
    fn new(
        status: StatusCode,
        kind: &'static str,
        failure: Failure,
        message: impl Into<String>,
    ) -> Self {
        Self { status, kind, message: format!("bedprov proxy: {}", message.into()), failure }
    }

    /// Another user's connection.
    #[must_use]
    pub fn foreign_user(uid: Option<u32>) -> Self {
        let who = uid.map_or_else(|| "an unknown user".to_owned(), |uid| format!("uid {uid}"));
        Self::new(
            StatusCode::FORBIDDEN,
            ACCESS_DENIED,
            Failure::ForeignUser,
            format!(
                "this proxy serves only the user who runs it (uid {}), not {who}. Run your own: `bedprov daemon start --proxy`, then `eval \"$(bedprov-helper env --proxy)\"`",
                nix::unistd::geteuid().as_raw()
            ),
        )
    }

    #[must_use]
    pub fn refused(refusal: Refusal) -> Self {
        let again =
            "run `eval \"$(bedprov-helper env --proxy)\"` and start the app from that shell";
        match refusal {
            Refusal::Connect => Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                VALIDATION,
                Failure::Refused,
                "CONNECT is not served: this is not a forward proxy. Point the SDK's endpoint at this proxy instead (`bedprov-helper env --proxy` prints it)",
            ),
            Refusal::NotOriginForm => Self::new(
                StatusCode::BAD_REQUEST,
                VALIDATION,
                Failure::Refused,
                "only requests for a path (origin-form) are served, not for a full URL: set this proxy as the SDK's endpoint, not as an HTTP proxy",
            ),
            Refusal::WrongHost => Self::new(
                StatusCode::FORBIDDEN,
                ACCESS_DENIED,
                Failure::Refused,
                format!("the Host header must name this proxy's own address; {again}"),
            ),
            Refusal::FromBrowser => Self::new(
                StatusCode::FORBIDDEN,
                ACCESS_DENIED,
                Failure::Refused,
                "requests from web browsers (with Origin or Sec-Fetch-Site) are refused: no web page may use your AWS credentials",
            ),
            Refusal::NoKey => Self::new(
                StatusCode::FORBIDDEN,
                ACCESS_DENIED,
                Failure::Unauthorized,
                format!(
                    "the request carries no bearer token; the proxy needs its local key (bedprov-local-…) in AWS_BEARER_TOKEN_BEDROCK: {again}"
                ),
            ),
            Refusal::WrongKey => Self::new(
                StatusCode::FORBIDDEN,
                ACCESS_DENIED,
                Failure::Unauthorized,
                format!(
                    "the bearer token is not this proxy's local key (it accepts only its own bedprov-local-… key, never a Bedrock API key; `bedprov proxy new-key` replaces the key and refuses the old one): {again}"
                ),
            ),
        }
    }

    #[must_use]
    pub fn unrouted(unrouted: &Unrouted) -> Self {
        match unrouted {
            Unrouted::UnknownOperation => Self::new(
                StatusCode::NOT_FOUND,
                "UnknownOperationException",
                Failure::NotForwarded,
                "not a Bedrock operation this proxy forwards (the runtime's invoke, invoke-with-response-stream, converse, converse-stream and count-tokens; the model and inference-profile listings)",
            ),
            Unrouted::WrongMethod(method) => Self::new(
                StatusCode::METHOD_NOT_ALLOWED,
                VALIDATION,
                Failure::NotForwarded,
                format!("this operation takes {method}"),
            ),
            Unrouted::Malformed(why) => {
                Self::new(StatusCode::BAD_REQUEST, VALIDATION, Failure::BadPrefix, *why)
            }
        }
    }

    /// No token for the request's slot: the daemon's reason and its fix, e.g. `aws sso
    /// login --profile work`.
    #[must_use]
    pub fn no_token(error: &ErrorBody) -> Self {
        let (status, kind, failure) = match error.code {
            ErrorCode::BadRequest | ErrorCode::UnknownProfile => {
                (StatusCode::BAD_REQUEST, VALIDATION, Failure::BadPrefix)
            }
            ErrorCode::NeedsLogin => {
                (StatusCode::FORBIDDEN, "ExpiredTokenException", Failure::NoToken)
            }
            _ => (StatusCode::FORBIDDEN, ACCESS_DENIED, Failure::NoToken),
        };
        let hint =
            if error.hint.is_empty() { String::new() } else { format!(". To fix: {}", error.hint) };
        Self::new(status, kind, failure, format!("no Bedrock token: {}{hint}", error.message))
    }

    /// The key file cannot be used (not private, not a key): nothing is served until fixed.
    #[must_use]
    pub fn key_unusable(error: &crate::Error) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ACCESS_DENIED,
            Failure::Unauthorized,
            format!("its local key cannot be read: {error}. To fix: {}", error.hint()),
        )
    }

    /// The upstream could not be reached (or broke off before answering).
    #[must_use]
    pub fn unreachable(upstream: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            "ServiceUnavailableException",
            Failure::UpstreamUnreachable,
            format!(
                "cannot reach {upstream}: {}. Check the network (and, behind TLS inspection, that the daemon trusts its root: the platform's store or AWS_CA_BUNDLE)",
                crate::creds::error_chain(error)
            ),
        )
    }

    /// The answer.
    #[must_use]
    pub fn response(&self) -> Response<Body> {
        let body = serde_json::to_vec(
            &serde_json::json!({ "message": crate::quote::shown_long(&self.message) }),
        )
        .expect("a JSON object serializes");
        let mut response = Response::new(
            http_body_util::Full::new(Bytes::from(body))
                .map_err(|never| match never {})
                .boxed_unsync(),
        );
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.kind));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_named_in_a_status_sdks_do_not_retry() {
        let error = ProxyError::no_token(&ErrorBody {
            code: ErrorCode::NeedsLogin,
            message: "the SSO session for profile `work` has expired".into(),
            hint: "run `aws sso login --profile work`".into(),
        });
        assert_eq!((error.status, error.kind), (StatusCode::FORBIDDEN, "ExpiredTokenException"));
        assert_eq!(
            error.message,
            "bedprov proxy: no Bedrock token: the SSO session for profile `work` has expired. To fix: run `aws sso login --profile work`"
        );
        let response = error.response();
        assert_eq!(response.headers()["x-amzn-errortype"], "ExpiredTokenException");
        assert_eq!(response.headers()["content-type"], "application/json");
    }

    #[test]
    fn every_refusal_is_a_client_error_that_says_what_to_do() {
        for refusal in [
            Refusal::Connect,
            Refusal::NotOriginForm,
            Refusal::WrongHost,
            Refusal::FromBrowser,
            Refusal::NoKey,
            Refusal::WrongKey,
        ] {
            let error = ProxyError::refused(refusal);
            assert!(error.status.is_client_error(), "{refusal:?}");
            assert!(error.message.starts_with("bedprov proxy: "));
        }
        assert!(ProxyError::foreign_user(Some(65534)).message.contains("not uid 65534"));
    }
}
