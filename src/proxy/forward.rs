//! One request through the proxy: refused unless it passes the hygiene checks and carries
//! the local key, routed to its slot, signed with the slot's current token and sent on with
//! the client's own headers (less its credentials and the hop-by-hop ones); the answer comes
//! back as it arrives. A request the upstream refuses for its token (expired, invalid) is
//! sent once more with a fresh one, when its body was small enough to keep and nothing has
//! reached the client yet.

use super::body::{Relay, Tee};
use super::errors::ProxyError;
use super::route::{self, Routed};
use super::stats::Failure;
use super::{Body, Proxy, hygiene};
use crate::slot::Served;
use crate::wire::api::TokenRequest;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

/// Request headers that are the client's credentials (the proxy signs with its own), or
/// that belong to one hop only.
const STRIPPED_FROM_REQUESTS: [&str; 14] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "host",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// Answer headers that belong to one hop only.
const STRIPPED_FROM_ANSWERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The largest error answer read to see whether the upstream refused the token.
const MAX_REFUSAL_BODY: u64 = 64 * 1024;

/// Who sent a request: our own user, or another one (`Some(uid)`, refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub foreign: Option<Option<u32>>,
}

/// Answers one request (never fails: refusals are answers too).
pub async fn handle(
    proxy: &Arc<Proxy>,
    caller: Caller,
    request: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let stats = &proxy.info.stats;
    stats.request();
    match forward(proxy, caller, request, started).await {
        Ok(response) => response,
        Err(error) => {
            stats.failed(error.failure);
            tracing::debug!(status = %error.status, kind = error.kind, message = %error.message, "proxy refusal");
            error.response()
        }
    }
}

async fn forward(
    proxy: &Arc<Proxy>,
    caller: Caller,
    request: Request<Incoming>,
    started: Instant,
) -> Result<Response<Body>, ProxyError> {
    if let Some(uid) = caller.foreign {
        return Err(ProxyError::foreign_user(uid));
    }
    let (parts, body) = request.into_parts();
    hygiene::check(&parts.method, &parts.uri, &parts.headers, proxy.info.listen)
        .map_err(ProxyError::refused)?;
    let key = proxy.info.key.current().map_err(|e| ProxyError::key_unusable(&e))?;
    hygiene::authenticate(&parts.headers, &key).map_err(ProxyError::refused)?;
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let routed = route::route(&parts.method, target).map_err(|u| ProxyError::unrouted(&u))?;
    let slot = TokenRequest {
        profile: routed.profile.clone(),
        region: routed.region.clone(),
        ttl: None,
        environment: None,
    };
    let served = proxy.daemon.token_for(&slot).await.map_err(|e| ProxyError::no_token(&e))?;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (tee, kept) = Tee::new(body, declared, Arc::clone(&proxy.info.stats));
    let outbound =
        Outbound { proxy, routed: &routed, method: &parts.method, headers: &parts.headers };
    let sent = Instant::now();
    let first = outbound.send(&served, tee.boxed_unsync()).await?;
    let mut answered = Instant::now();
    let answer = if is_refusal_status(first.status()) && small(first.headers()) {
        let (head, body) = first.into_parts();
        let bytes = Limited::new(body, MAX_REFUSAL_BODY as usize)
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes)
            .map_err(|e| outbound.unreachable(&served, &*e))?;
        let refused_token = refuses_token(&head.headers, &bytes);
        let kept = kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).whole();
        let retry = match kept {
            Some(kept) if refused_token => {
                proxy.daemon.token_after_rejection(&slot, &served).await.map(|fresh| (fresh, kept))
            }
            _ => None,
        };
        if let Some((fresh, kept)) = retry {
            tracing::info!(region = %fresh.token.region(), "the upstream refused a token; sending the request again with a fresh one");
            proxy.info.stats.retried();
            let body = Full::new(kept).map_err(|never| match never {}).boxed_unsync();
            let again = outbound.send(&fresh, body).await?;
            answered = Instant::now();
            Answer::Streamed(again)
        } else {
            if refused_token {
                proxy.info.stats.failed(Failure::TokenRejected);
            }
            Answer::Buffered(head, bytes)
        }
    } else {
        Answer::Streamed(first)
    };
    let response = match answer {
        Answer::Buffered(mut head, bytes) => {
            strip(&mut head.headers, &STRIPPED_FROM_ANSWERS);
            proxy.info.stats.bytes_to_client(bytes.len());
            Response::from_parts(
                head,
                Full::new(bytes).map_err(|never| match never {}).boxed_unsync(),
            )
        }
        Answer::Streamed(answer) => {
            let (mut head, body) = answer.into_parts();
            strip(&mut head.headers, &STRIPPED_FROM_ANSWERS);
            Response::from_parts(head, Relay::new(body, &proxy.info.stats).boxed_unsync())
        }
    };
    proxy.info.stats.added((sent - started) + answered.elapsed());
    Ok(response)
}

/// The upstream's answer: streamed on, or read whole (a refusal looked at first).
enum Answer {
    Streamed(Response<Incoming>),
    Buffered(hyper::http::response::Parts, Bytes),
}

/// What the request looks like on its way upstream, whichever token signs it.
struct Outbound<'a> {
    proxy: &'a Arc<Proxy>,
    routed: &'a Routed<'a>,
    method: &'a hyper::Method,
    headers: &'a HeaderMap,
}

impl Outbound<'_> {
    async fn send(&self, served: &Served, body: Body) -> Result<Response<Incoming>, ProxyError> {
        let region = served.token.region().as_str();
        let uri =
            self.proxy.upstream.uri(self.routed.service, region, self.routed.operation).map_err(
                |e| self.unreachable(served, &*Box::<dyn std::error::Error + Send + Sync>::from(e)),
            )?;
        let mut headers = self.headers.clone();
        strip(&mut headers, &STRIPPED_FROM_REQUESTS);
        headers.insert(header::AUTHORIZATION, authorization(served));
        let mut request = Request::new(body);
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        self.proxy
            .upstream
            .client()
            .request(request)
            .await
            .map_err(|e| self.unreachable(served, &e))
    }

    fn unreachable(
        &self,
        served: &Served,
        error: &(dyn std::error::Error + 'static),
    ) -> ProxyError {
        let upstream =
            self.proxy.upstream.describe(self.routed.service, served.token.region().as_str());
        ProxyError::unreachable(&upstream, error)
    }
}

/// `Bearer <token>`, in a buffer wiped when the request is done with it.
fn authorization(served: &Served) -> HeaderValue {
    let token = served.token.expose_secret();
    let mut bytes = Zeroizing::new(Vec::with_capacity(7 + token.len()));
    bytes.extend_from_slice(b"Bearer ");
    bytes.extend_from_slice(token.as_bytes());
    let mut value = HeaderValue::from_maybe_shared(Bytes::from_owner(Wiped(bytes)))
        .expect("a token is a valid header value");
    value.set_sensitive(true);
    value
}

/// Owner for [`Bytes::from_owner`] that wipes its buffer on drop.
struct Wiped(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Removes `names`, and the headers a `Connection` header names.
fn strip(headers: &mut HeaderMap, names: &[&str]) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in names {
        headers.remove(*name);
    }
}

fn is_refusal_status(status: StatusCode) -> bool {
    matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
}

/// An answer with a declared length small enough to read before deciding.
fn small(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n <= MAX_REFUSAL_BODY)
}

/// Whether a 401/403 says the token (not the caller's permissions) is the problem: expired,
/// invalid, unrecognised. An IAM denial ("is not authorized to perform") is passed on as is.
fn refuses_token(headers: &HeaderMap, body: &[u8]) -> bool {
    let kind = headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok()).unwrap_or("");
    let kind = kind.split(':').next().unwrap_or("");
    if matches!(
        kind,
        "ExpiredTokenException" | "UnrecognizedClientException" | "InvalidSignatureException"
    ) {
        return true;
    }
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    [
        "expired",
        "authentication failed",
        "api key",
        "bearer token",
        "security token included in the request is invalid",
    ]
    .iter()
    .any(|phrase| text.contains(phrase))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::hygiene::tests::headers;

    #[test]
    fn credentials_and_hop_by_hop_headers_stay_behind() {
        let mut map = headers(&[
            ("Authorization", "Bearer bedprov-local-x"),
            ("X-Amz-Date", "20260101T000000Z"),
            ("X-Amz-Security-Token", "t"),
            ("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD"),
            ("Host", "127.0.0.1:8239"),
            ("Connection", "keep-alive, X-Private"),
            ("X-Private", "hop"),
            ("Transfer-Encoding", "chunked"),
            ("Expect", "100-continue"),
            ("Content-Type", "application/json"),
            ("X-Amzn-Bedrock-Trace", "ENABLED"),
            ("Amz-Sdk-Invocation-Id", "1"),
            ("Content-Length", "12"),
        ]);
        strip(&mut map, &STRIPPED_FROM_REQUESTS);
        let mut left: Vec<&str> = map.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(
            left,
            ["amz-sdk-invocation-id", "content-length", "content-type", "x-amzn-bedrock-trace"]
        );
    }

    #[test]
    fn token_refusals_are_told_from_permission_denials() {
        let denied =
            headers(&[("x-amzn-ErrorType", "AccessDeniedException:http://internal.amazon.com/")]);
        assert!(refuses_token(&denied, br#"{"Message":"Bearer Token has expired"}"#));
        assert!(refuses_token(
            &denied,
            br#"{"Message":"Authentication failed: Please make sure your API Key is valid."}"#
        ));
        let expired = headers(&[("x-amzn-ErrorType", "ExpiredTokenException")]);
        assert!(refuses_token(&expired, b"{}"));
        assert!(!refuses_token(
            &denied,
            br#"{"message":"User: arn:aws:iam::123456789012:user/x is not authorized to perform: bedrock:InvokeModel"}"#
        ));
        assert!(!refuses_token(&HeaderMap::new(), b"{}"));
    }
}
