//! The socket API, version 1: endpoints, query parameters, bodies and error codes.
//!
//! This is the one place the protocol is written down. The daemon serves it, the helper and
//! the CLI call it, and `tests/golden/` (in this crate) pins its JSON. Clients ignore fields
//! they do not know, so the daemon may add fields without a version bump; removing or
//! renaming one needs a new [`API_VERSION`].
//!
//! Each endpoint is declared once, in the list under [`Route`]: its method, path, what a call
//! sends and what it answers. The daemon's router matches on [`Route`] (every variant, so a
//! new endpoint does not compile until it is served) and builds its 404 and 405 answers from
//! [`Route::ALL`]; the client calls through the typed markers in [`endpoint`], so an answer's
//! type is never chosen at a call site.
//!
//! | method | path           | sends             | answer                                        |
//! |--------|----------------|-------------------|-----------------------------------------------|
//! | GET    | `/v1/token`    | [`TokenQuery`]    | [`TokenBody`], or with `Accept: text/plain` the bare token |
//! | POST   | `/v1/token`    | [`TokenRequest`]  | the same, for the shell the body describes    |
//! | GET    | `/v1/status`   |                   | [`StatusBody`]                                |
//! | GET    | `/v1/health`   |                   | [`HealthBody`]                                |
//! | POST   | `/v1/refresh`  | [`TokenQuery`]    | [`RefreshBody`]: one slot, or all without a query |
//! | POST   | `/v1/login`    | [`RoleSessionBody`] | [`RefreshBody`] for the slots that use it   |
//! | POST   | `/v1/shutdown` |                   | [`HealthBody`], then the daemon exits cleanly |
//! | POST   | `/v1/proxy`    | [`ProxyRequest`]  | [`ProxyBody`]: where the local Bedrock proxy serves a profile and region |
//!
//! (The table is pinned against the declarations by a test.) Errors are
//! `{"error":{"code","message","hint"}}` ([`ErrorEnvelope`]) with a fitting status.
//!
//! `GET /v1/token?profile=&region=&ttl=` (for curl) is answered with the daemon's own
//! environment. `POST /v1/token` carries the client's: `bedprov-helper` sends what an AWS SDK
//! in its shell would read ([`AwsEnv`]), credentials included, so the token is signed with
//! what that shell would sign with. Credentials travel only in a request body, never in a
//! URL.

use crate::Secret;
use crate::aws_env::AwsEnv;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The API version. Sent as the `Bedprov-Api-Version` header on every answer and in
/// [`HealthBody`] / [`StatusBody`]. Bump only for an incompatible change.
pub const API_VERSION: u32 = 1;
/// Name of the header carrying [`API_VERSION`].
pub const API_VERSION_HEADER: &str = "bedprov-api-version";

/// The variable SDKs read a Bedrock bearer token from (once, at start).
pub const TOKEN_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";
/// The variables SDKs read the region from: a token works only in its region. Most SDKs
/// (and Claude Code) read `AWS_REGION`; boto3 reads only `AWS_DEFAULT_REGION`.
pub const REGION_VAR: &str = crate::aws_env::AWS_REGION;
pub const DEFAULT_REGION_VAR: &str = crate::aws_env::AWS_DEFAULT_REGION;

/// What a shell needs to use a token: the token, and its region under both region names.
#[must_use]
pub fn token_vars<'a>(token: &'a str, region: &'a str) -> [(&'static str, &'a str); 3] {
    [(TOKEN_VAR, token), (REGION_VAR, region), (DEFAULT_REGION_VAR, region)]
}

/// The largest request body the daemon accepts (`POST /v1/token`, `POST /v1/login`): a
/// session token is a few KB at most.
pub const MAX_TOKEN_REQUEST_BYTES: usize = 16 * 1024;

/// The HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Get,
    Post,
}

impl Method {
    /// The method as HTTP spells it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
        }
    }
}

/// What a call sends besides its method and path: nothing (`()`), a query string
/// ([`TokenQuery`]) or a JSON body ([`TokenRequest`], [`RoleSessionBody`]).
pub trait Request {
    /// Whether the request travels as a JSON body (then at most
    /// [`MAX_TOKEN_REQUEST_BYTES`]); the daemon refuses bodies on every other endpoint.
    const HAS_BODY: bool = false;

    /// The query string, `?` included; empty for none.
    fn query(&self) -> String {
        String::new()
    }

    /// The JSON body, for a request that has one. It may hold credentials: the client
    /// wipes it once sent.
    fn body(&self) -> Option<Vec<u8>> {
        None
    }
}

impl Request for () {}

impl Request for TokenQuery {
    fn query(&self) -> String {
        self.to_query_string()
    }
}

impl Request for TokenRequest {
    const HAS_BODY: bool = true;

    fn body(&self) -> Option<Vec<u8>> {
        Some(serde_json::to_vec(self).expect("TokenRequest serializes"))
    }
}

impl Request for ProxyRequest {
    const HAS_BODY: bool = true;

    fn body(&self) -> Option<Vec<u8>> {
        Some(serde_json::to_vec(self).expect("ProxyRequest serializes"))
    }
}

impl Request for RoleSessionBody {
    const HAS_BODY: bool = true;

    fn body(&self) -> Option<Vec<u8>> {
        Some(serde_json::to_vec(self).expect("RoleSessionBody serializes"))
    }
}

/// An endpoint as a type: its [`Route`], what a call sends and what it answers. The
/// implementations are the markers in [`endpoint`], made by the declaration under [`Route`].
pub trait Endpoint: Copy {
    const ROUTE: Route;
    type Request: Request;
    type Answer: Serialize + DeserializeOwned;
}

/// Declares every endpoint once: its name, method, path, what a call sends and what it
/// answers. Makes [`Route`] (with [`Route::ALL`], method, path and whether it takes a body)
/// and, in [`endpoint`], one [`Endpoint`] marker per route.
macro_rules! endpoints {
    ($($(#[doc = $doc:literal])* $name:ident = $method:ident $path:literal, $request:ty => $answer:ty;)+) => {
        /// Every endpoint of the API. The daemon's router matches on it; the client calls the
        /// typed markers of the same names in [`endpoint`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Route {
            $($(#[doc = $doc])* $name,)+
        }

        impl Route {
            /// Every endpoint, in the order the API lists them.
            pub const ALL: &'static [Route] = &[$(Route::$name),+];

            #[must_use]
            pub const fn method(self) -> Method {
                match self {
                    $(Route::$name => Method::$method,)+
                }
            }

            #[must_use]
            pub const fn path(self) -> &'static str {
                match self {
                    $(Route::$name => $path,)+
                }
            }

            /// Whether a request carries a JSON body (see [`Request::HAS_BODY`]).
            #[must_use]
            pub const fn has_body(self) -> bool {
                match self {
                    $(Route::$name => <$request as Request>::HAS_BODY,)+
                }
            }
        }

        /// The endpoints as types, for [`Client::call`](crate::client::Client::call): each
        /// ties its [`Route`] to what a call sends and what it answers.
        pub mod endpoint {
            #[allow(clippy::wildcard_imports)]
            use super::*;
            $(
                $(#[doc = $doc])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq)]
                pub struct $name;

                impl Endpoint for $name {
                    const ROUTE: Route = Route::$name;
                    type Request = $request;
                    type Answer = $answer;
                }
            )+
        }
    };
}

endpoints! {
    /// A token for the daemon's own environment (for curl): `?profile=&region=&ttl=`. With
    /// `Accept: text/plain`, the bare token.
    GetToken = Get "/v1/token", TokenQuery => TokenBody;
    /// A token for the shell the [`TokenRequest`] describes, signed with what an AWS SDK in
    /// that shell would use. With `Accept: text/plain`, the bare token.
    PostToken = Post "/v1/token", TokenRequest => TokenBody;
    /// The daemon and every slot it keeps.
    Status = Get "/v1/status", () => StatusBody;
    /// Whether a daemon answers, and which.
    Health = Get "/v1/health", () => HealthBody;
    /// Refreshes the slot the query names, or every slot without a query.
    Refresh = Post "/v1/refresh", TokenQuery => RefreshBody;
    /// Hands the daemon a role session `bedprov login` obtained with an MFA code.
    Login = Post "/v1/login", RoleSessionBody => RefreshBody;
    /// Answers, then the daemon exits cleanly.
    Shutdown = Post "/v1/shutdown", () => HealthBody;
    /// Where the local Bedrock proxy serves the profile and region the request names (or
    /// its shell's), with the local key clients send: what `bedprov-helper env --proxy`
    /// prints.
    Proxy = Post "/v1/proxy", ProxyRequest => ProxyBody;
}

/// Why no endpoint takes a request: what the router answers instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unrouted {
    /// No endpoint has this path (404).
    NoSuchPath,
    /// The path exists, with other methods (405): `allow` as the `Allow` header lists them.
    WrongMethod { allow: String },
}

impl Route {
    /// The endpoint for `method` (as HTTP spells it) and `path`.
    pub fn find(method: &str, path: &str) -> Result<Self, Unrouted> {
        let mut on_path = Self::ALL.iter().filter(|route| route.path() == path).peekable();
        if on_path.peek().is_none() {
            return Err(Unrouted::NoSuchPath);
        }
        let mut allow = Vec::new();
        for route in on_path {
            if route.method().as_str() == method {
                return Ok(*route);
            }
            allow.push(route.method().as_str());
        }
        Err(Unrouted::WrongMethod { allow: allow.join(", ") })
    }

    /// Every endpoint in a sentence, for a 404's hint: "GET and POST /v1/token, GET
    /// /v1/status, …, POST /v1/login and POST /v1/shutdown".
    #[must_use]
    pub fn summary() -> String {
        let mut paths: Vec<(&str, Vec<&str>)> = Vec::new();
        for route in Self::ALL {
            match paths.iter_mut().find(|(path, _)| *path == route.path()) {
                Some((_, methods)) => methods.push(route.method().as_str()),
                None => paths.push((route.path(), vec![route.method().as_str()])),
            }
        }
        let items: Vec<String> =
            paths.iter().map(|(path, methods)| format!("{} {path}", and_list(methods))).collect();
        and_list(&items)
    }
}

/// "a", "a and b", "a, b and c".
fn and_list<T: AsRef<str>>(items: &[T]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_owned(),
        [rest @ .., last] => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", rest.join(", "), last.as_ref())
        }
    }
}

/// Which token a client wants. Every field is optional: the daemon fills in its defaults
/// (its own profile selection, the profile's region or `us-east-1`, a 12 h TTL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct TokenQuery {
    pub profile: Option<String>,
    pub region: Option<String>,
    /// A TTL in any form `bedprov token --ttl` accepts (`6h`, `90min`, `3600`).
    pub ttl: Option<String>,
}

impl TokenQuery {
    /// Renders `?profile=..&region=..&ttl=..` (empty when nothing is set), percent-encoded.
    #[must_use]
    pub fn to_query_string(&self) -> String {
        let mut out = String::new();
        for (key, value) in self.pairs() {
            out.push(if out.is_empty() { '?' } else { '&' });
            out.push_str(key);
            out.push('=');
            out.push_str(&percent_encode(value));
        }
        out
    }

    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [("profile", &self.profile), ("region", &self.region), ("ttl", &self.ttl)]
            .into_iter()
            .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
    }

    /// Parses a raw query string (without the `?`). Unknown or repeated parameters are
    /// refused, so a typo such as `regoin=` never silently falls back to a default.
    pub fn parse(query: &str) -> Result<Self, String> {
        let mut parsed = Self::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(raw).ok_or_else(|| {
                format!("query parameter `{key}` is not valid percent-encoded UTF-8")
            })?;
            let slot = match key {
                "profile" => &mut parsed.profile,
                "region" => &mut parsed.region,
                "ttl" => &mut parsed.ttl,
                other => {
                    return Err(format!(
                        "unknown query parameter `{}`: expected profile, region or ttl",
                        other.chars().take(40).collect::<String>()
                    ));
                }
            };
            if slot.is_some() {
                return Err(format!("query parameter `{key}` given twice"));
            }
            // An empty value means "not given", as in `?profile=&region=`.
            if !value.is_empty() {
                *slot = Some(value);
            }
        }
        Ok(parsed)
    }
}

/// `POST /v1/token`: which token, for which shell. The fields a flag sets (`--profile`,
/// `--region`, `--ttl`) win over the environment, as on the AWS CLI: an explicit profile
/// also sets aside the shell's own credentials.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
    /// What an AWS SDK in the client's shell would read. Absent: the daemon's own
    /// environment, as for `GET`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<AwsEnv>,
}

impl From<TokenQuery> for TokenRequest {
    fn from(query: TokenQuery) -> Self {
        Self { profile: query.profile, region: query.region, ttl: query.ttl, environment: None }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (uppercase hex, as
/// botocore and SigV4 do).
#[must_use]
pub fn percent_encode(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len() + value.len() / 2);
    percent_encode_into(&mut out, value.as_bytes());
    String::from_utf8(out).expect("percent-encoding yields ASCII")
}

/// [`percent_encode`] appending bytes to `out`. On the minting hot path (session tokens
/// are ~1 KB): unreserved runs are copied whole, and a table decides each byte.
pub fn percent_encode_into(out: &mut Vec<u8>, value: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const UNRESERVED: [bool; 256] = {
        let mut table = [false; 256];
        let mut i = 0;
        while i < 256 {
            let b = i as u8;
            table[i] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~');
            i += 1;
        }
        table
    };
    let mut start = 0;
    for (i, &byte) in value.iter().enumerate() {
        if !UNRESERVED[usize::from(byte)] {
            out.extend_from_slice(&value[start..i]);
            out.extend_from_slice(&[
                b'%',
                HEX[usize::from(byte >> 4)],
                HEX[usize::from(byte & 0xF)],
            ]);
            start = i + 1;
        }
    }
    out.extend_from_slice(&value[start..]);
}

/// Decodes `%XX` escapes and `+` (as a space). `None` for a bad escape or invalid UTF-8.
#[must_use]
pub fn percent_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// A token and what a client needs to use it. Also the output of `bedprov token --format json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenBody {
    /// The bearer token, `bedrock-api-key-…`.
    pub token: Secret,
    pub region: String,
    pub profile: String,
    /// RFC 3339 UTC, e.g. `2026-11-26T09:43:31Z`.
    pub issued_at: String,
    /// When the token stops working: `min(issued_at` + ttl, `credential_expires_at`).
    pub expires_at: String,
    /// When the signing credentials expire; `null` for long-term keys.
    pub credential_expires_at: Option<String>,
    /// The TTL the token was signed with (`X-Amz-Expires`).
    pub ttl_seconds: u64,
    /// Where the signing credentials came from (`null` from a daemon that predates it).
    #[serde(default)]
    pub credential_source: Option<CredentialSource>,
    /// The access key id that signed (not a secret; `bedprov decode` shows it too).
    #[serde(default)]
    pub access_key_id: Option<String>,
}

/// Where signing credentials came from. Unknown values from a newer daemon decode as
/// `Other`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum CredentialSource {
    /// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (/ `AWS_SESSION_TOKEN`) in the shell.
    Environment,
    /// Access keys stored in a profile (`aws_access_key_id` in the config files).
    StaticKeys,
    /// A profile's `credential_process`.
    CredentialProcess,
    /// IAM Identity Center (SSO), `aws sso login`.
    Sso,
    /// A role assumed by a profile (`role_arn`), whatever its source.
    AssumeRole,
    /// A web identity token (`AWS_WEB_IDENTITY_TOKEN_FILE`, `web_identity_token_file`).
    WebIdentity,
    /// A container credentials endpoint (ECS, EKS Pod Identity).
    Container,
    /// The EC2 instance metadata service (the instance's role).
    InstanceMetadata,
    #[serde(other)]
    Other,
}

impl CredentialSource {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::StaticKeys => "static_keys",
            Self::CredentialProcess => "credential_process",
            Self::Sso => "sso",
            Self::AssumeRole => "assume_role",
            Self::WebIdentity => "web_identity",
            Self::Container => "container",
            Self::InstanceMetadata => "instance_metadata",
            Self::Other => "other",
        }
    }
}

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct HealthBody {
    /// Always `"ok"` when the daemon answers at all.
    pub status: String,
    pub api_version: u32,
    pub version: String,
    pub pid: u32,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct StatusBody {
    pub api_version: u32,
    pub version: String,
    pub pid: u32,
    pub socket: String,
    pub started_at: String,
    pub slots: Vec<SlotStatus>,
    /// The local Bedrock proxy; absent when the daemon runs without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<ProxyStatus>,
}

/// A slot's state, as shown by `bedprov status`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SlotState {
    /// No token yet (created, first refresh not finished).
    Empty,
    /// A token with at least `min_remaining` left.
    Fresh,
    /// The last refresh failed, but the current token is still served.
    Degraded,
    /// The credentials need a login (expired SSO); retried slowly and on `~/.aws` changes.
    NeedsLogin,
    /// The last refresh failed and no token can be served.
    Failed,
}

impl SlotState {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::Fresh => "fresh",
            Self::Degraded => "degraded",
            Self::NeedsLogin => "needs_login",
            Self::Failed => "failed",
        }
    }
}

/// One slot: one (profile, region, TTL) the daemon keeps a token for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SlotStatus {
    pub profile: String,
    /// The region asked for; `null` when the slot follows the profile's region.
    pub requested_region: Option<String>,
    /// The region of the current token (`null` before the first token).
    pub region: Option<String>,
    pub ttl_seconds: u64,
    pub state: SlotState,
    pub issued_at: Option<String>,
    pub expires_at: Option<String>,
    pub credential_expires_at: Option<String>,
    /// When the next refresh attempt is planned: the token's half-life, or the end of the
    /// backoff after a failure (never in the past; `null` when nothing is planned).
    pub refresh_at: Option<String>,
    pub last_error: Option<ErrorBody>,
    pub refreshes: u64,
    pub served: u64,
    /// Declared in the config file: kept warm, never dropped or evicted.
    #[serde(default)]
    pub pinned: bool,
    /// A refresh is under way now (e.g. a slow `credential_process`).
    #[serde(default)]
    pub refreshing: bool,
    /// Where the current token's credentials came from (`environment` for a slot holding
    /// a shell's own credentials, before its first token too).
    #[serde(default)]
    pub credential_source: Option<CredentialSource>,
    /// The access key id that signs (never a secret).
    #[serde(default)]
    pub access_key_id: Option<String>,
}

/// `POST /v1/refresh`. The daemon waits a bounded time for the refreshes it starts; those
/// still running then are counted in `pending` and go on in the background.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefreshBody {
    pub refreshed: usize,
    pub failed: usize,
    #[serde(default)]
    pub pending: usize,
    pub slots: Vec<SlotStatus>,
}

/// `POST /v1/login`: a role session `bedprov login` obtained with an MFA code, handed to the
/// daemon (which cannot ask for a code) to sign that profile's tokens from until it expires.
/// The answer is a [`RefreshBody`] for the slots that use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleSessionBody {
    /// The profile holding `role_arn` and `mfa_serial`.
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: String,
    pub access_key_id: String,
    pub secret_access_key: Secret,
    pub session_token: Secret,
    /// RFC 3339 UTC; STS always states it.
    pub expiration: String,
}

/// `{"error": {...}}`: every non-2xx answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorEnvelope {
    pub error: ErrorBody,
}

/// What went wrong, and what to do next.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub hint: String,
}

/// What kind of failure an error is: its wire code, and — in [`ErrorCode::exit_code`] and
/// [`ErrorCode::http_status`], one table — the exit code a command ends with and the HTTP
/// status the daemon answers with. Every bedprov error, whether the daemon answers with it
/// or a command fails with it, has exactly one of these kinds.
///
/// The daemon answers with the kinds up to [`ErrorCode::Internal`]; the others are failures
/// of the commands around it (an AWS call, a prompt, a start-up), named here so that one
/// table maps every kind, and so a detached daemon's start-up failure can travel to the
/// `bedprov daemon start` that waits for it as the same [`ErrorEnvelope`] the socket uses.
/// Unknown codes from a newer daemon decode as `Other`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Invalid arguments or input: a bad TTL, region, token, query or request text.
    BadRequest,
    /// No endpoint has this path.
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    /// No credentials found for the profile (or only half of them in the environment).
    NoCredentials,
    /// A named profile that the AWS config files do not define.
    UnknownProfile,
    /// Only a person can fix it: log in (`aws sso login`, `bedprov login`).
    NeedsLogin,
    /// The credential source failed (a `credential_process`, a role, expired credentials).
    CredentialsFailed,
    /// No token with enough life left to serve.
    TokenUnavailable,
    TooManySlots,
    ShuttingDown,
    /// The daemon runs without the local Bedrock proxy.
    ProxyDisabled,
    Internal,
    /// AWS refused or failed a call (access denied, throttled, unreachable).
    Aws,
    /// No daemon answered on the socket, or the socket is not our own user's.
    DaemonUnreachable,
    /// A daemon already runs on that socket; it was left undisturbed.
    AlreadyRunning,
    /// The thing asked for does not exist (a business unit's IAM user, a key, a stored
    /// secret).
    Missing,
    /// Declined at a confirmation, or a confirmation was needed and nobody could give it.
    Declined,
    /// A limit stops the action (two keys exist already).
    Limit,
    /// Stopped by SIGINT, after undoing what the run had started.
    Interrupted,
    /// Stopped by SIGTERM, after undoing what the run had started.
    Terminated,
    #[serde(other)]
    Other,
}

impl ErrorCode {
    /// The one table: the exit code a client ends with, and the HTTP status the daemon
    /// answers with. The kinds the daemon never answers with have the status that would
    /// fit, so the table is total.
    const fn table(self) -> (i32, u16) {
        use crate::exit;
        match self {
            Self::BadRequest => (exit::USAGE, 400),
            Self::NotFound => (exit::USAGE, 404),
            Self::MethodNotAllowed => (exit::USAGE, 405),
            Self::PayloadTooLarge => (exit::USAGE, 413),
            Self::NoCredentials | Self::CredentialsFailed => (exit::NO_CREDENTIALS, 503),
            Self::UnknownProfile => (exit::NO_CREDENTIALS, 400),
            Self::NeedsLogin => (exit::NEEDS_LOGIN, 503),
            Self::TokenUnavailable | Self::ShuttingDown => (exit::TOKEN_UNAVAILABLE, 503),
            Self::TooManySlots => (exit::TOKEN_UNAVAILABLE, 429),
            Self::Internal | Self::Other => (exit::INTERNAL, 500),
            Self::Aws => (exit::AWS, 502),
            Self::DaemonUnreachable => (exit::DAEMON_UNREACHABLE, 503),
            Self::AlreadyRunning => (exit::ALREADY_RUNNING, 409),
            Self::Missing | Self::ProxyDisabled => (exit::NOT_FOUND, 404),
            Self::Declined => (exit::DECLINED, 409),
            Self::Limit => (exit::LIMIT, 409),
            Self::Interrupted => (exit::INTERRUPTED, 503),
            Self::Terminated => (exit::TERMINATED, 503),
        }
    }

    /// The exit code a command ends with for this kind of failure (see [`crate::exit`]).
    #[must_use]
    pub const fn exit_code(self) -> i32 {
        self.table().0
    }

    /// The HTTP status the daemon answers with.
    #[must_use]
    pub const fn http_status(self) -> u16 {
        self.table().1
    }
}

/// `POST /v1/proxy`: which profile and region a client of the local proxy wants. The
/// fields a flag sets win over the environment, as for [`TokenRequest`]; no TTL (the proxy
/// keeps its tokens fresh itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProxyRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The client's shell, for the profile and region it selects. Absent: the daemon's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<AwsEnv>,
}

/// Where the local Bedrock proxy serves one profile and region, and the local key that
/// authenticates to it: everything a client needs, and nothing that expires.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProxyBody {
    /// The local key (`bedprov-local-…`): clients send it as their bearer token.
    pub key: Secret,
    /// The profile the base URLs name; `null`: the daemon's default.
    pub profile: Option<String>,
    pub region: String,
    /// The HTTPS base URL for AWS SDKs (`AWS_ENDPOINT_URL_BEDROCK_RUNTIME`,
    /// `AWS_ENDPOINT_URL_BEDROCK`): botocore sends a bearer token only over HTTPS.
    pub endpoint_url: String,
    /// The plain HTTP base URL for the Anthropic SDKs and Claude Code
    /// (`ANTHROPIC_BEDROCK_BASE_URL`).
    pub base_url: String,
    /// The certificate bundle that verifies `endpoint_url` (`AWS_CA_BUNDLE`): the proxy's
    /// own certificate authority and the platform's roots, so the client's other AWS calls
    /// verify as before.
    pub ca_bundle: String,
    /// The address the proxy listens on.
    pub listen: String,
}

/// The variable the AWS SDKs for Python and Go read a CA bundle from.
pub const CA_BUNDLE_VAR: &str = "AWS_CA_BUNDLE";
/// The AWS SDKs' per-service endpoints.
pub const RUNTIME_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_BEDROCK_RUNTIME";
pub const CONTROL_ENDPOINT_VAR: &str = "AWS_ENDPOINT_URL_BEDROCK";
/// The Anthropic SDKs' (and Claude Code's) Bedrock base URL.
pub const ANTHROPIC_BASE_URL_VAR: &str = "ANTHROPIC_BEDROCK_BASE_URL";

/// What a shell needs to use the local proxy: the local key as the bearer token, the
/// region under both names, the endpoints, and the bundle that verifies the HTTPS one.
#[must_use]
pub fn proxy_vars(body: &ProxyBody) -> [(&'static str, &str); 7] {
    [
        (TOKEN_VAR, body.key.expose()),
        (REGION_VAR, &body.region),
        (DEFAULT_REGION_VAR, &body.region),
        (RUNTIME_ENDPOINT_VAR, &body.endpoint_url),
        (CONTROL_ENDPOINT_VAR, &body.endpoint_url),
        (CA_BUNDLE_VAR, &body.ca_bundle),
        (ANTHROPIC_BASE_URL_VAR, &body.base_url),
    ]
}

/// The local proxy in `GET /v1/status`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProxyStatus {
    pub listen: String,
    /// Where requests go: `AWS` (the regional endpoints) or the configured URL.
    pub upstream: String,
    /// Requests received (answered by the upstream or refused).
    pub requests: u64,
    /// Request bytes forwarded, and answer bytes returned (bodies).
    pub bytes_from_clients: u64,
    pub bytes_to_clients: u64,
    /// Answers whose body is still being relayed.
    pub open_streams: u64,
    pub open_connections: u64,
    /// Refusals and failures by kind (e.g. `unauthorized`, `no_token`, `upstream_unreachable`).
    #[serde(default)]
    pub errors: std::collections::BTreeMap<String, u64>,
    /// What the proxy adds to a request's time: its own work before sending upstream and
    /// after the answer's head came back, in microseconds (`null` before the first request).
    #[serde(default)]
    pub added_latency_us: Option<LatencySummary>,
}

/// Percentiles of a duration, in microseconds (each within a fifth of the true value).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct LatencySummary {
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
    pub count: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_is_pinned() {
        // Changing this breaks every installed helper: bump only with a new /v2 route set.
        assert_eq!(API_VERSION, 1);
        assert_eq!(Route::PostToken.path(), "/v1/token");
    }

    /// The endpoint table, pinned: the module docs' table says the same, and installed
    /// helpers call these.
    #[test]
    fn endpoints_are_pinned_and_match_the_docs_table() {
        let table: Vec<String> = Route::ALL
            .iter()
            .map(|r| format!("{} {} {}", r.method().as_str(), r.path(), r.has_body()))
            .collect();
        assert_eq!(
            table,
            [
                "GET /v1/token false",
                "POST /v1/token true",
                "GET /v1/status false",
                "GET /v1/health false",
                "POST /v1/refresh false",
                "POST /v1/login true",
                "POST /v1/shutdown false",
                "POST /v1/proxy true",
            ]
        );
        let docs = include_str!("api.rs");
        for route in Route::ALL {
            let row = format!("| {:<6} | `{}`", route.method().as_str(), route.path());
            assert!(docs.contains(&row), "the docs table lacks {row}");
        }
    }

    #[test]
    fn routes_are_found_and_misses_say_why() {
        assert_eq!(Route::find("GET", "/v1/token"), Ok(Route::GetToken));
        assert_eq!(Route::find("POST", "/v1/token"), Ok(Route::PostToken));
        assert_eq!(Route::find("POST", "/v1/shutdown"), Ok(Route::Shutdown));
        assert_eq!(
            Route::find("DELETE", "/v1/token"),
            Err(Unrouted::WrongMethod { allow: "GET, POST".into() })
        );
        assert_eq!(
            Route::find("GET", "/v1/refresh"),
            Err(Unrouted::WrongMethod { allow: "POST".into() })
        );
        assert_eq!(Route::find("GET", "/v1/tokens"), Err(Unrouted::NoSuchPath));
        assert_eq!(Route::find("GET", "/v1/token/"), Err(Unrouted::NoSuchPath));
        assert_eq!(
            Route::summary(),
            "GET and POST /v1/token, GET /v1/status, GET /v1/health, POST /v1/refresh, POST /v1/login, POST /v1/shutdown and POST /v1/proxy"
        );
    }

    /// What each endpoint's call sends: a query, a body, or nothing.
    #[test]
    fn requests_render_their_query_or_body() {
        let query = TokenQuery { profile: Some("dev".into()), ..TokenQuery::default() };
        assert_eq!(Request::query(&query), "?profile=dev");
        assert_eq!(Request::body(&query), None);
        assert_eq!(Request::query(&()), "");
        let request = TokenRequest { ttl: Some("1h".into()), ..TokenRequest::default() };
        assert_eq!(
            (request.query(), request.body()),
            (String::new(), Some(br#"{"ttl":"1h"}"#.to_vec()))
        );
    }

    #[test]
    fn query_round_trips_hostile_values() {
        let query = TokenQuery {
            profile: Some("a b&c=d/$(x)'\"`%".into()),
            region: Some("eu-west-1".into()),
            ttl: Some("1h 30m".into()),
        };
        let rendered = query.to_query_string();
        assert!(rendered.starts_with("?profile=a%20b%26c%3Dd%2F%24%28x%29%27%22%60%25&"));
        assert_eq!(TokenQuery::parse(&rendered[1..]).unwrap(), query);
    }

    #[test]
    fn percent_encoding_matches_rfc3986_unreserved() {
        assert_eq!(percent_encode("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(percent_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd%20e");
        assert_eq!(percent_encode("é€"), "%C3%A9%E2%82%AC");
        assert_eq!(percent_encode(""), "");
        assert_eq!(percent_decode(&percent_encode("x+/=é€ y")).unwrap(), "x+/=é€ y");
    }

    #[test]
    fn query_parse_refuses_unknown_repeated_and_bad_escapes() {
        assert!(TokenQuery::parse("regoin=us-east-1").unwrap_err().contains("unknown"));
        assert!(TokenQuery::parse("ttl=1h&ttl=2h").unwrap_err().contains("twice"));
        assert!(TokenQuery::parse("profile=%zz").is_err());
        assert!(TokenQuery::parse("profile=%ff").is_err());
        assert_eq!(TokenQuery::parse("").unwrap(), TokenQuery::default());
        assert_eq!(TokenQuery::parse("profile=&region=").unwrap(), TokenQuery::default());
    }

    /// The request and answer JSON, pinned: a field renamed here breaks installed helpers.
    #[test]
    fn token_request_and_body_json_are_pinned() {
        use crate::aws_env::AwsEnv;
        let secret = |s: &str| Some(Secret::new(s.into()));
        let request = TokenRequest {
            profile: Some("dev".into()),
            region: Some("eu-west-1".into()),
            ttl: Some("6h".into()),
            environment: Some(AwsEnv {
                profile: Some("work".into()),
                default_profile: Some("old".into()),
                region: Some("us-west-2".into()),
                default_region: Some("us-east-2".into()),
                config_file: Some("/home/me/.aws/other-config".into()),
                credentials_file: Some("/home/me/.aws/other-credentials".into()),
                access_key_id: Some("ASIAIOSFODNN7EXAMPLE".into()),
                secret_access_key: secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                session_token: secret("EXAMPLE+session/token="),
                security_token: secret("EXAMPLE+security/token="),
                credential_expiration: Some("2026-11-26T10:41:31Z".into()),
            }),
        };
        let golden = include_str!("../tests/golden/token_request.json").trim_end();
        assert_eq!(serde_json::to_string(&request).unwrap(), golden);
        assert_eq!(serde_json::from_str::<TokenRequest>(golden).unwrap(), request);
        // A client that sends nothing but a TTL, and one from before `environment`.
        let bare: TokenRequest = serde_json::from_str(r#"{"ttl":"1h","future":1}"#).unwrap();
        assert_eq!(bare, TokenRequest { ttl: Some("1h".into()), ..TokenRequest::default() });

        let body = TokenBody {
            token: Secret::new("bedrock-api-key-EXAMPLE".into()),
            region: "eu-west-1".into(),
            profile: "default".into(),
            issued_at: "2026-11-26T09:43:31Z".into(),
            expires_at: "2026-11-26T10:41:31Z".into(),
            credential_expires_at: Some("2026-11-26T10:41:31Z".into()),
            ttl_seconds: 43200,
            credential_source: Some(CredentialSource::Environment),
            access_key_id: Some("ASIAIOSFODNN7EXAMPLE".into()),
        };
        let golden = include_str!("../tests/golden/token_body.json").trim_end();
        assert_eq!(serde_json::to_string(&body).unwrap(), golden);
        // From a daemon that predates the two new fields, or knows more sources.
        let older: TokenBody = serde_json::from_str(
            r#"{"token":"t","region":"r","profile":"p","issued_at":"","expires_at":"","credential_expires_at":null,"ttl_seconds":1}"#,
        )
        .unwrap();
        assert_eq!((older.credential_source, older.access_key_id), (None, None));
        let newer: TokenBody =
            serde_json::from_str(&golden.replace("\"environment\"", "\"quantum\"")).unwrap();
        assert_eq!(newer.credential_source, Some(CredentialSource::Other));
    }

    /// Exit codes are what scripts branch on, and statuses what clients of the socket see:
    /// both pinned for every kind.
    #[test]
    fn every_kind_has_its_exit_code_and_status() {
        use crate::exit;
        let table = [
            (ErrorCode::BadRequest, "bad_request", exit::USAGE, 400),
            (ErrorCode::NotFound, "not_found", exit::USAGE, 404),
            (ErrorCode::MethodNotAllowed, "method_not_allowed", exit::USAGE, 405),
            (ErrorCode::PayloadTooLarge, "payload_too_large", exit::USAGE, 413),
            (ErrorCode::NoCredentials, "no_credentials", exit::NO_CREDENTIALS, 503),
            (ErrorCode::UnknownProfile, "unknown_profile", exit::NO_CREDENTIALS, 400),
            (ErrorCode::NeedsLogin, "needs_login", exit::NEEDS_LOGIN, 503),
            (ErrorCode::CredentialsFailed, "credentials_failed", exit::NO_CREDENTIALS, 503),
            (ErrorCode::TokenUnavailable, "token_unavailable", exit::TOKEN_UNAVAILABLE, 503),
            (ErrorCode::TooManySlots, "too_many_slots", exit::TOKEN_UNAVAILABLE, 429),
            (ErrorCode::ShuttingDown, "shutting_down", exit::TOKEN_UNAVAILABLE, 503),
            (ErrorCode::Internal, "internal", exit::INTERNAL, 500),
            (ErrorCode::Aws, "aws", exit::AWS, 502),
            (ErrorCode::DaemonUnreachable, "daemon_unreachable", exit::DAEMON_UNREACHABLE, 503),
            (ErrorCode::AlreadyRunning, "already_running", exit::ALREADY_RUNNING, 409),
            (ErrorCode::Missing, "missing", exit::NOT_FOUND, 404),
            (ErrorCode::Declined, "declined", exit::DECLINED, 409),
            (ErrorCode::Limit, "limit", exit::LIMIT, 409),
            (ErrorCode::Interrupted, "interrupted", exit::INTERRUPTED, 503),
            (ErrorCode::Terminated, "terminated", exit::TERMINATED, 503),
        ];
        for (kind, name, exit_code, status) in table {
            assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{name}\""));
            assert_eq!(serde_json::from_str::<ErrorCode>(&format!("\"{name}\"")).unwrap(), kind);
            assert_eq!((kind.exit_code(), kind.http_status()), (exit_code, status), "{name}");
        }
        assert_eq!((ErrorCode::Other.exit_code(), ErrorCode::Other.http_status()), (1, 500));
    }

    #[test]
    fn unknown_error_codes_decode_as_other() {
        let body: ErrorEnvelope = serde_json::from_str(
            r#"{"error":{"code":"brand_new","message":"m","hint":"h","extra":1}}"#,
        )
        .unwrap();
        assert_eq!(body.error.code, ErrorCode::Other);
    }
}
