//! The socket API's routes: request in, response out. Every answer carries the API version
//! and `Cache-Control: no-store`; every error is `{"error":{code,message,hint}}`. Which
//! endpoints exist, and their methods and paths, is `wire::api::Route`'s to say.

use super::state::Daemon;
use crate::wire::api::{
    self, ErrorBody, ErrorCode, ErrorEnvelope, HealthBody, Route, TokenQuery, TokenRequest,
    Unrouted,
};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::header::{self, HeaderValue};
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Requests that carry a body larger than this are refused, except `POST /v1/token`, whose
/// body may hold a shell's credentials ([`api::MAX_TOKEN_REQUEST_BYTES`]).
pub const MAX_REQUEST_BODY: u64 = 1024;

pub type Body = Full<Bytes>;

/// What a request body's errors must convert into (hyper's own error does).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the connection layer must do after answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    Continue,
    Shutdown,
}

/// Routes one request.
pub async fn handle<B>(daemon: &Arc<Daemon>, request: Request<B>) -> (Response<Body>, After)
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    let found = Route::find(request.method().as_str(), request.uri().path());
    // Only endpoints that take a body (a shell's credentials, a role session) may send one.
    let takes_body = found.as_ref().is_ok_and(|route| route.has_body());
    let limit = if takes_body { api::MAX_TOKEN_REQUEST_BYTES as u64 } else { MAX_REQUEST_BODY };
    let declared_body = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    if declared_body > limit || request.headers().contains_key(header::TRANSFER_ENCODING) {
        let error = if takes_body {
            error(
                ErrorCode::PayloadTooLarge,
                &format!("requests are limited to {limit} bytes, sent with Content-Length"),
                "send the request with a Content-Length, and no more than the shell's AWS variables",
            )
        } else {
            error(
                ErrorCode::PayloadTooLarge,
                "request bodies are not accepted",
                "send requests without a body",
            )
        };
        return (error, After::Continue);
    }
    let route = match found {
        Ok(route) => route,
        Err(Unrouted::WrongMethod { allow }) => {
            return (method_not_allowed(&allow), After::Continue);
        }
        Err(Unrouted::NoSuchPath) => {
            let hint = format!("the API has {}", Route::summary());
            return (error(ErrorCode::NotFound, "no such endpoint", &hint), After::Continue);
        }
    };
    let query = request.uri().query().unwrap_or("");
    let response = match route {
        Route::GetToken => token(daemon, query, wants_plain(&request)).await,
        Route::PostToken => {
            let plain = wants_plain(&request);
            token_for(daemon, request.into_body(), limit, plain).await
        }
        Route::Status => json(StatusCode::OK, &daemon.status()),
        Route::Health => json(StatusCode::OK, &health()),
        Route::Refresh => refresh(daemon, query).await,
        Route::Login => login(daemon, request.into_body(), limit).await,
        Route::Proxy => proxy(daemon, request.into_body(), limit).await,
        Route::Shutdown => {
            tracing::info!("shutdown requested over the socket");
            return (json(StatusCode::OK, &health()), After::Shutdown);
        }
    };
    (response, After::Continue)
}

fn wants_plain<B>(request: &Request<B>) -> bool {
    request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.trim_start().starts_with("text/plain"))
}

async fn token(daemon: &Arc<Daemon>, query: &str, plain: bool) -> Response<Body> {
    let query = match TokenQuery::parse(query) {
        Ok(query) => query,
        Err(message) => {
            return error(
                ErrorCode::BadRequest,
                &message,
                "use ?profile=NAME&region=REGION&ttl=DURATION",
            );
        }
    };
    serve_token(daemon, &TokenRequest::from(query), plain).await
}

/// `POST /v1/token`: the request (and the shell environment it may carry) is the body.
async fn token_for<B>(daemon: &Arc<Daemon>, body: B, limit: u64, plain: bool) -> Response<Body>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    let bad = |message: &str| {
        error(
            ErrorCode::BadRequest,
            message,
            "send a JSON object such as {\"profile\":\"dev\",\"ttl\":\"6h\",\"environment\":{\"AWS_REGION\":\"eu-west-1\"}}",
        )
    };
    let request: TokenRequest = match read_json(body, limit, "token request").await {
        Ok(request) => request,
        Err(message) => return bad(&message),
    };
    serve_token(daemon, &request, plain).await
}

/// `POST /v1/login`: the body is a role session `bedprov login` obtained with an MFA code.
async fn login<B>(daemon: &Arc<Daemon>, body: B, limit: u64) -> Response<Body>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    let session: api::RoleSessionBody = match read_json(body, limit, "role session").await {
        Ok(session) => session,
        Err(message) => {
            return error(
                ErrorCode::BadRequest,
                &message,
                "send the role session as `bedprov login --profile NAME` does",
            );
        }
    };
    let session = match crate::creds::mfa::RoleSession::from_body(session) {
        Ok(session) => session,
        Err(message) => {
            return error(ErrorCode::BadRequest, &message, "run `bedprov login` again");
        }
    };
    match daemon.accept_role_session(session).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(body) => error_body(body),
    }
}

/// `POST /v1/proxy`: where the local proxy serves the profile and region the body asks for.
async fn proxy<B>(daemon: &Arc<Daemon>, body: B, limit: u64) -> Response<Body>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
{
    let request: api::ProxyRequest = match read_json(body, limit, "proxy request").await {
        Ok(request) => request,
        Err(message) => {
            return error(
                ErrorCode::BadRequest,
                &message,
                "send a JSON object such as {\"profile\":\"dev\",\"region\":\"us-west-2\"}",
            );
        }
    };
    match crate::proxy::endpoint::describe(daemon, &request).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(body) => error_body(body),
    }
}

/// Reads a JSON body of at most `limit` bytes. It may hold credentials: our copy of the
/// bytes is wiped once parsed, and a parse error never quotes them (serde's message can).
async fn read_json<B, T>(body: B, limit: u64, what: &str) -> Result<T, String>
where
    B: hyper::body::Body,
    B::Error: Into<BoxError>,
    T: serde::de::DeserializeOwned,
{
    let Ok(collected) =
        Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX)).collect().await
    else {
        return Err("the request body could not be read in full (or is over the size limit)".into());
    };
    let bytes = Zeroizing::new(collected.to_bytes().to_vec());
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "the {what} is not a JSON object of this API's fields (error at line {}, column {})",
            e.line(),
            e.column()
        )
    })
}

async fn serve_token(daemon: &Arc<Daemon>, request: &TokenRequest, plain: bool) -> Response<Body> {
    match daemon.token_for(request).await {
        Ok(served) if plain => {
            respond(StatusCode::OK, "text/plain; charset=utf-8", served.plain.clone())
        }
        Ok(served) => respond(StatusCode::OK, "application/json", served.json.clone()),
        Err(body) => error_body(body),
    }
}

async fn refresh(daemon: &Arc<Daemon>, query: &str) -> Response<Body> {
    let target = if query.is_empty() {
        None
    } else {
        match TokenQuery::parse(query) {
            Ok(query) => Some(query),
            Err(message) => {
                return error(
                    ErrorCode::BadRequest,
                    &message,
                    "use ?profile=NAME&region=REGION&ttl=DURATION, or no query to refresh every slot",
                );
            }
        }
    };
    match daemon.refresh(target.as_ref()).await {
        Ok(body) => json(StatusCode::OK, &body),
        Err(body) => error_body(body),
    }
}

fn health() -> HealthBody {
    HealthBody {
        status: "ok".into(),
        api_version: api::API_VERSION,
        version: env!("CARGO_PKG_VERSION").into(),
        pid: std::process::id(),
    }
}

fn respond(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(api::API_VERSION_HEADER, HeaderValue::from(api::API_VERSION));
    response
}

fn json<T: serde::Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    let bytes = serde_json::to_vec(body).expect("API bodies serialize");
    respond(status, "application/json", Bytes::from(bytes))
}

/// `allow` as the `Allow` header lists methods: "GET" or "GET, POST".
fn method_not_allowed(allow: &str) -> Response<Body> {
    let methods = allow.replace(", ", " or ");
    let mut response = error(
        ErrorCode::MethodNotAllowed,
        &format!("this endpoint takes {methods}"),
        &format!("send {methods}"),
    );
    if let Ok(value) = HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

fn error(code: ErrorCode, message: &str, hint: &str) -> Response<Body> {
    error_body(ErrorBody { code, message: message.into(), hint: hint.into() })
}

/// An error answer with the status its code calls for. Message and hint are quoted
/// (`quote::shown_long`): they may carry a profile name from a query, and clients such as
/// the helper print them as they are.
#[must_use]
pub fn error_body(mut body: ErrorBody) -> Response<Body> {
    let status =
        StatusCode::from_u16(body.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    body.message = crate::quote::shown_long(&body.message);
    body.hint = crate::quote::shown_long(&body.hint);
    json(status, &ErrorEnvelope { error: body })
}
