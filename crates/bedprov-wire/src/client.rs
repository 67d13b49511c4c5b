//! A minimal blocking HTTP/1.1 client for the daemon's Unix socket.
//!
//! Used by `bedprov-helper` (whose start-up must stay in the millisecond range, so no async
//! runtime) and by the CLI's daemon commands. One request per connection (`Connection:
//! close`), bounded read and write timeouts, bounded answer size: a shell prompt that calls
//! the helper must never hang and never buffer without limit. Every connection is to a
//! daemon of our own user, checked before a byte is sent ([`crate::trust`]).
//!
//! Calls are typed by their endpoint ([`Client::call`] with a marker from
//! [`api::endpoint`]): method, path and the answer's type come from the one declaration.

use crate::Secret;
use crate::api::{self, Endpoint, ErrorBody, ErrorCode, ErrorEnvelope, Request as _, TokenBody};
use crate::trust::{self, Distrust};
use std::fmt;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The largest answer the client accepts (a status with many slots is a few KB).
const MAX_RESPONSE_BYTES: u64 = 1 << 20;

/// What a call to the daemon can fail with.
#[derive(Debug)]
pub enum ClientError {
    /// Nothing listens on the socket (missing file, refused connection).
    Unreachable { socket: PathBuf, source: io::Error },
    /// Connected, but the daemon did not answer within the timeout.
    Timeout { socket: PathBuf },
    /// Connected, but the daemon closed the connection without a byte (it refuses other
    /// users, and closes when shutting down or over its connection limit).
    Closed { socket: PathBuf },
    /// The answer was not the HTTP/JSON we speak.
    Protocol(String),
    /// The daemon answered with a typed error.
    Api { status: u16, error: ErrorBody },
    /// The socket is not our own user's (its directory, or the process serving it): nothing
    /// was sent.
    Untrusted { socket: PathBuf, reason: Distrust },
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreachable { socket, source } => {
                write!(f, "no bedprov daemon at {}: {source}", socket.display())
            }
            Self::Timeout { socket } => {
                write!(f, "the bedprov daemon at {} did not answer in time", socket.display())
            }
            Self::Closed { socket } => {
                write!(
                    f,
                    "the daemon at {} closed the connection without answering",
                    socket.display()
                )
            }
            Self::Protocol(detail) => write!(f, "unexpected answer from the daemon: {detail}"),
            Self::Api { error, .. } => f.write_str(&error.message),
            Self::Untrusted { socket, reason } => {
                write!(f, "refusing the socket {}: {reason}", socket.display())
            }
        }
    }
}

impl std::error::Error for ClientError {}

impl ClientError {
    /// What to do next, for the user.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Self::Unreachable { .. } => {
                "start it with `bedprov daemon start` (or install the user service: `bedprov service install --now`)".into()
            }
            Self::Timeout { .. } => {
                "check `bedprov status`; if it stays stuck, run `bedprov daemon stop` and start it again".into()
            }
            Self::Closed { .. } => {
                "the daemon may be shutting down or at its connection limit: check `bedprov status`".into()
            }
            Self::Protocol(_) => {
                "the daemon and this client may be different versions: restart the daemon (`bedprov daemon stop; bedprov daemon start`)".into()
            }
            Self::Api { error, .. } => error.hint.clone(),
            Self::Untrusted { socket, .. } => format!(
                "only a daemon of your own user gets your requests; if someone else made {0}, remove it (as root), or use a directory only you can write: set XDG_RUNTIME_DIR, or pass --socket (or BEDPROV_SOCKET) with a path in one",
                trust::socket_dir(socket).display()
            ),
        }
    }

    /// What kind of failure this is: a daemon's own answer keeps its code.
    #[must_use]
    pub fn kind(&self) -> ErrorCode {
        match self {
            Self::Unreachable { .. }
            | Self::Timeout { .. }
            | Self::Closed { .. }
            | Self::Untrusted { .. } => ErrorCode::DaemonUnreachable,
            Self::Protocol(_) => ErrorCode::Internal,
            Self::Api { error, .. } => error.code,
        }
    }

    /// The documented exit code for this failure (its [`kind`](Self::kind)'s).
    #[must_use]
    pub fn exit_code(&self) -> i32 {
        self.kind().exit_code()
    }
}

/// A raw answer: status and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// A connection target with its timeouts.
#[derive(Debug, Clone)]
pub struct Client {
    socket: PathBuf,
    timeout: Duration,
}

impl Client {
    /// A client for `socket` whose every read and write gives up after `timeout`.
    #[must_use]
    pub fn new(socket: impl Into<PathBuf>, timeout: Duration) -> Self {
        Self { socket: socket.into(), timeout }
    }

    #[must_use]
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Sends one request (without a body) and reads the whole answer.
    pub fn request(
        &self,
        method: &str,
        path_and_query: &str,
        accept: &str,
    ) -> Result<Response, ClientError> {
        self.send(method, path_and_query, accept, None)
    }

    /// Sends one request, with a JSON body if given, and reads the whole answer.
    fn send(
        &self,
        method: &str,
        path_and_query: &str,
        accept: &str,
        json_body: Option<&[u8]>,
    ) -> Result<Response, ClientError> {
        let untrusted = |reason| ClientError::Untrusted { socket: self.socket.clone(), reason };
        trust::check_dir(&self.socket).map_err(untrusted)?;
        let mut stream = UnixStream::connect(&self.socket)
            .map_err(|source| ClientError::Unreachable { socket: self.socket.clone(), source })?;
        trust::check_peer(&stream).map_err(untrusted)?;
        stream.set_read_timeout(Some(self.timeout)).map_err(|e| self.io_error(e))?;
        stream.set_write_timeout(Some(self.timeout)).map_err(|e| self.io_error(e))?;
        let body = json_body.unwrap_or_default();
        let content_type =
            if json_body.is_some() { "Content-Type: application/json\r\n" } else { "" };
        let head = format!(
            "{method} {path_and_query} HTTP/1.1\r\nHost: localhost\r\nAccept: {accept}\r\n{content_type}Content-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        // One write: the request arrives whole. Wiped: the body may hold credentials.
        let mut request = Wiped(Vec::with_capacity(head.len() + body.len()));
        request.0.extend_from_slice(head.as_bytes());
        request.0.extend_from_slice(body);
        let written = stream.write_all(&request.0);
        drop(request);
        let mut raw = Vec::with_capacity(2048);
        let read = stream.take(MAX_RESPONSE_BYTES + 1).read_to_end(&mut raw);
        // A server may answer (and close) before reading all of a request it refuses: its
        // answer counts more than our failed write.
        match (written, read) {
            (Ok(()), Err(error)) => return Err(self.io_error(error)),
            (Err(error), _) if raw.is_empty() => return Err(self.io_error(error)),
            _ => {}
        }
        if raw.len() as u64 > MAX_RESPONSE_BYTES {
            return Err(ClientError::Protocol("answer larger than 1 MiB".into()));
        }
        if raw.is_empty() {
            return Err(ClientError::Closed { socket: self.socket.clone() });
        }
        parse_response(raw)
    }

    fn io_error(&self, error: io::Error) -> ClientError {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => {
                ClientError::Timeout { socket: self.socket.clone() }
            }
            // A daemon that went away mid-request is, to the caller, not there.
            _ => ClientError::Unreachable { socket: self.socket.clone(), source: error },
        }
    }

    /// Calls `endpoint` with `request` and decodes its JSON answer, mapping error bodies to
    /// [`ClientError::Api`]: `client.call(endpoint::Status, &())` is a [`api::StatusBody`].
    pub fn call<E: Endpoint>(
        &self,
        endpoint: E,
        request: &E::Request,
    ) -> Result<E::Answer, ClientError> {
        let response = self.send_to(endpoint, request, "application/json")?;
        decode_json(&response)
    }

    /// Calls a token endpoint with `Accept: text/plain`: the bare token.
    pub fn call_plain<E: Endpoint<Answer = TokenBody>>(
        &self,
        endpoint: E,
        request: &E::Request,
    ) -> Result<Secret, ClientError> {
        plain_token(self.send_to(endpoint, request, "text/plain")?)
    }

    /// `GET /v1/token` as JSON: a token for the daemon's own environment.
    pub fn token(&self, query: &api::TokenQuery) -> Result<TokenBody, ClientError> {
        self.call(api::endpoint::GetToken, query)
    }

    /// `GET` any path and decode the JSON answer as whatever the caller asks for (such as a
    /// `serde_json::Value`): for tools and tests that look at the raw JSON. Typed callers use
    /// [`Client::call`].
    pub fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        path_and_query: &str,
    ) -> Result<T, ClientError> {
        let response = self.request("GET", path_and_query, "application/json")?;
        decode_json(&response)
    }

    fn send_to<E: Endpoint>(
        &self,
        _endpoint: E,
        request: &E::Request,
        accept: &str,
    ) -> Result<Response, ClientError> {
        let route = E::ROUTE;
        // The body may hold the shell's credentials or a role session: wiped once sent.
        let body = request.body().map(Wiped);
        if let Some(body) = &body
            && body.0.len() > api::MAX_TOKEN_REQUEST_BYTES
        {
            return Err(ClientError::Protocol(format!(
                "the request is {} bytes, over the {} the daemon accepts (is a session token in the environment that large?)",
                body.0.len(),
                api::MAX_TOKEN_REQUEST_BYTES
            )));
        }
        let target = format!("{}{}", route.path(), request.query());
        let response =
            self.send(route.method().as_str(), &target, accept, body.as_ref().map(|b| &b.0[..]))?;
        // A daemon that refuses a method this client knows for the path is older than this
        // client (before `POST /v1/token` it could not be told about this shell's
        // environment, and asking it with GET would sign with something else).
        if response.status == 405
            && serde_json::from_slice::<ErrorEnvelope>(&response.body)
                .is_ok_and(|e| e.error.code == ErrorCode::MethodNotAllowed)
        {
            return Err(ClientError::Protocol(format!(
                "the running daemon is older than this client and does not serve {} {}",
                route.method().as_str(),
                route.path()
            )));
        }
        Ok(response)
    }
}

/// A buffer overwritten before it is freed (std only, as [`Secret`] does).
struct Wiped(Vec<u8>);

impl Drop for Wiped {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

fn plain_token(response: Response) -> Result<Secret, ClientError> {
    if response.status != 200 {
        return Err(decode_error(&response));
    }
    let text = String::from_utf8(response.body)
        .map_err(|_| ClientError::Protocol("token is not UTF-8".into()))?;
    Ok(Secret::new(text.trim_end().to_owned()))
}

fn decode_json<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, ClientError> {
    if !(200..300).contains(&response.status) {
        return Err(decode_error(response));
    }
    serde_json::from_slice(&response.body)
        .map_err(|e| ClientError::Protocol(format!("invalid JSON body: {e}")))
}

fn decode_error(response: &Response) -> ClientError {
    match serde_json::from_slice::<ErrorEnvelope>(&response.body) {
        Ok(envelope) => ClientError::Api { status: response.status, error: envelope.error },
        Err(_) => ClientError::Protocol(format!("HTTP {} without an error body", response.status)),
    }
}

/// Splits a raw HTTP/1.1 answer into status and body (honouring `Content-Length`). Public for
/// the fuzz target: whoever owns the socket can send the helper anything.
pub fn parse_response(raw: Vec<u8>) -> Result<Response, ClientError> {
    let protocol = |detail: &str| ClientError::Protocol(detail.to_owned());
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| protocol("no end of headers"))?;
    let head =
        std::str::from_utf8(&raw[..head_end]).map_err(|_| protocol("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    // Three digits, 100 to 999, then a space or nothing (`u16::from_str` alone would take
    // `+12` or `011`).
    let status = status_line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix("HTTP/1.0 "))
        .filter(|rest| {
            rest.get(3..).is_some_and(|after| after.is_empty() || after.starts_with(' '))
        })
        .and_then(|rest| rest.get(..3))
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()) && !code.starts_with('0'))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| protocol("bad status line"))?;
    let mut content_length = None;
    for line in lines {
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                content_length = value.trim().parse::<usize>().ok();
            } else if name.trim().eq_ignore_ascii_case("transfer-encoding") {
                return Err(protocol("chunked answers are not expected"));
            }
        }
    }
    let mut body = raw;
    body.drain(..head_end + 4);
    if let Some(length) = content_length {
        if body.len() < length {
            return Err(protocol("answer shorter than its Content-Length"));
        }
        body.truncate(length);
    }
    Ok(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_status_and_body_by_content_length() {
        let raw = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\n\r\n{}extra".to_vec();
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 503);
        assert_eq!(response.body, b"{}");
    }

    #[test]
    fn rejects_garbage_and_truncation() {
        assert!(parse_response(b"garbage".to_vec()).is_err());
        assert!(
            parse_response(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc".to_vec()).is_err()
        );
        assert!(parse_response(b"HTTP/1.1 2x\r\n\r\n".to_vec()).is_err());
        // Found by the client_response fuzz target: a status must be three digits.
        for status_line in ["HTTP/1.0 011 x", "HTTP/1.1 +12 x", "HTTP/1.1 2000 x", "HTTP/1.1 20"] {
            let raw = format!("{status_line}\r\n\r\n").into_bytes();
            assert!(parse_response(raw).is_err(), "{status_line}");
        }
        assert_eq!(parse_response(b"HTTP/1.1 204\r\n\r\n".to_vec()).unwrap().status, 204);
    }

    #[test]
    fn missing_socket_is_unreachable() {
        let client = Client::new("/nonexistent/bedprov.sock", Duration::from_millis(100));
        let err = client.token(&api::TokenQuery::default()).unwrap_err();
        assert_eq!(err.exit_code(), crate::exit::DAEMON_UNREACHABLE);
        assert!(err.hint().contains("bedprov daemon start"));
    }

    /// A socket in a directory others can write is refused before connecting: the server
    /// never sees a connection.
    #[test]
    fn a_socket_in_an_open_directory_is_refused_before_connecting() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("bedprov-wire-client-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let socket = dir.join("s.sock");
        let _ = std::fs::remove_file(&socket);
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        listener.set_nonblocking(true).unwrap();
        let client = Client::new(&socket, Duration::from_secs(1));
        let err = client.call(api::endpoint::Health, &()).unwrap_err();
        assert!(matches!(err, ClientError::Untrusted { .. }), "{err}");
        assert_eq!(err.exit_code(), crate::exit::DAEMON_UNREACHABLE);
        let message = err.to_string();
        assert!(message.contains(&socket.display().to_string()), "{message}");
        assert!(message.contains("mode 777"), "{message}");
        assert!(err.hint().contains(&dir.display().to_string()), "{}", err.hint());
        assert_eq!(
            listener.accept().unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "no connection was made"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
