//! A fast stand-in for the Bedrock runtime on loopback, for benchmarks of whatever forwards
//! Bedrock requests (a local proxy, LiteLLM): HTTP/1.1 keep-alive, a fixed answer per
//! operation, and event streams whose text deltas carry the moment they were sent, so the
//! delay a forwarder adds to each frame can be measured. It checks no token (the test
//! stand-in, `tests/support/bedrock_standin.py`, does): it only has to be faster than what
//! it measures.
//!
//! Routes (any path prefix before `/model/` is ignored, e.g. a region segment):
//! - `POST …/model/{id}/converse`: a fixed Converse answer;
//! - `POST …/model/{id}/invoke`: a fixed Anthropic Messages answer;
//! - `POST …/model/{id}/converse-stream` and `…/invoke-with-response-stream`: an
//!   `application/vnd.amazon.eventstream` of `standinFrames` text deltas (default 10),
//!   `standinFrameDelayUs` apart (default 0), each delta's text the sending time in
//!   nanoseconds since the Unix epoch (20 digits; see [`sent_at`]). Both are top-level
//!   fields of the JSON request body, not headers: forwarders pass the body on, but not
//!   always the client's headers (LiteLLM drops them);
//! - `GET /inference-profiles`: one profile.
//!
//! Everything else is a 404.

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub(crate) const CONVERSE_ANSWER: &str = r#"{"output":{"message":{"role":"assistant","content":[{"text":"Hello from the benchmark upstream."}]}},"stopReason":"end_turn","usage":{"inputTokens":8,"outputTokens":7,"totalTokens":15},"metrics":{"latencyMs":1}}"#;
const INVOKE_ANSWER: &str = r#"{"id":"msg_bdrk_0123456789abcdef","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[{"type":"text","text":"Hello from the benchmark upstream."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":7}}"#;
const PROFILES_ANSWER: &str = r#"{"inferenceProfileSummaries":[{"inferenceProfileName":"US Claude Sonnet 4.5","inferenceProfileId":"us.anthropic.claude-sonnet-4-5-20250929-v1:0","inferenceProfileArn":"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0","models":[{"modelArn":"arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-5-20250929-v1:0"}],"status":"ACTIVE","type":"SYSTEM_DEFINED"}]}"#;
const DEFAULT_FRAMES: u32 = 10;

type ResponseBody = Either<Full<Bytes>, FrameStream>;

/// A running upstream; dropping it stops it.
pub(crate) struct Upstream {
    pub(crate) addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Upstream {
    /// Serves on 127.0.0.1 (a port the kernel picks) with `threads` runtime threads of its own.
    pub(crate) fn start(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("bench-upstream")
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service_fn(answer))
                        .await;
                });
            }
        });
        Self { addr, runtime: Some(runtime) }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn answer(request: Request<Incoming>) -> Result<Response<ResponseBody>, Infallible> {
    let path = request.uri().path().to_owned();
    let operation = path
        .find("/model/")
        .and_then(|at| path[at + "/model/".len()..].split_once('/'))
        .map(|(_, operation)| operation.to_owned());
    let get = request.method() == hyper::Method::GET;
    // Read the whole request body, as a real service does, before answering.
    let body = request
        .into_body()
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    let (frames, delay) = stream_shape(&body);
    let fixed = |status: StatusCode, body: &'static str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000")
            .body(Either::Left(Full::new(Bytes::from_static(body.as_bytes()))))
            .unwrap()
    };
    let stream = |kind: StreamKind| {
        let mut builder = Response::builder()
            .header("content-type", "application/vnd.amazon.eventstream")
            .header("x-amzn-requestid", "00000000-0000-0000-0000-000000000000");
        if kind == StreamKind::Invoke {
            builder = builder.header("x-amzn-bedrock-content-type", "application/json");
        }
        builder.body(Either::Right(FrameStream::new(kind, frames, delay))).unwrap()
    };
    Ok(match (get, operation.as_deref()) {
        (false, Some("converse")) => fixed(StatusCode::OK, CONVERSE_ANSWER),
        (false, Some("invoke")) => fixed(StatusCode::OK, INVOKE_ANSWER),
        (false, Some("converse-stream")) => stream(StreamKind::Converse),
        (false, Some("invoke-with-response-stream")) => stream(StreamKind::Invoke),
        (true, _) if path.ends_with("/inference-profiles") => {
            fixed(StatusCode::OK, PROFILES_ANSWER)
        }
        _ => fixed(StatusCode::NOT_FOUND, r#"{"message":"Unknown operation"}"#),
    })
}

/// How many text deltas to stream, and how far apart, from the request body's
/// `standinFrames` and `standinFrameDelayUs` (parsed only when the body names them).
fn stream_shape(body: &[u8]) -> (u32, Duration) {
    let value = if body.windows(7).any(|w| w == b"standin") {
        serde_json::from_slice(body).unwrap_or_default()
    } else {
        serde_json::Value::Null
    };
    let field = |name: &str| value.get(name).and_then(serde_json::Value::as_u64);
    let frames = field("standinFrames").map_or(DEFAULT_FRAMES, |n| u32::try_from(n).unwrap_or(0));
    (frames, Duration::from_micros(field("standinFrameDelayUs").unwrap_or(0)))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum StreamKind {
    Converse,
    Invoke,
}

enum Item {
    Fixed(Bytes),
    Delta,
}

/// An event stream sent frame by frame, text deltas stamped as they leave.
pub(crate) struct FrameStream {
    kind: StreamKind,
    items: VecDeque<Item>,
    delay: Duration,
    deltas_sent: u32,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl FrameStream {
    fn new(kind: StreamKind, deltas: u32, delay: Duration) -> Self {
        let fixed = |event: &str, payload: &str| Item::Fixed(event_frame(kind, event, payload));
        let mut items = VecDeque::new();
        match kind {
            StreamKind::Converse => {
                items.push_back(fixed("messageStart", r#"{"role":"assistant"}"#));
                items.extend((0..deltas).map(|_| Item::Delta));
                items.push_back(fixed("contentBlockStop", r#"{"contentBlockIndex":0}"#));
                items.push_back(fixed("messageStop", r#"{"stopReason":"end_turn"}"#));
                items.push_back(fixed(
                    "metadata",
                    r#"{"usage":{"inputTokens":8,"outputTokens":7,"totalTokens":15},"metrics":{"latencyMs":1}}"#,
                ));
            }
            StreamKind::Invoke => {
                items.push_back(fixed(
                    "chunk",
                    r#"{"type":"message_start","message":{"id":"msg_bdrk_0123456789abcdef","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":8,"output_tokens":1}}}"#,
                ));
                items.push_back(fixed(
                    "chunk",
                    r#"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#,
                ));
                items.extend((0..deltas).map(|_| Item::Delta));
                items.push_back(fixed("chunk", r#"{"type":"content_block_stop","index":0}"#));
                items.push_back(fixed(
                    "chunk",
                    r#"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":7}}"#,
                ));
                items.push_back(fixed("chunk", r#"{"type":"message_stop"}"#));
            }
        }
        Self { kind, items, delay, deltas_sent: 0, sleep: None }
    }

    fn delta(&self) -> Bytes {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
        match self.kind {
            StreamKind::Converse => event_frame(
                self.kind,
                "contentBlockDelta",
                &format!(r#"{{"contentBlockIndex":0,"delta":{{"text":"{nanos:020}"}}}}"#),
            ),
            StreamKind::Invoke => event_frame(
                self.kind,
                "chunk",
                &format!(
                    r#"{{"type":"content_block_delta","index":0,"delta":{{"type":"text_delta","text":"{nanos:020}"}}}}"#
                ),
            ),
        }
    }
}

impl Body for FrameStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = &mut *self;
        match this.items.front() {
            None => Poll::Ready(None),
            Some(Item::Fixed(_)) => {
                let Some(Item::Fixed(bytes)) = this.items.pop_front() else { unreachable!() };
                Poll::Ready(Some(Ok(Frame::data(bytes))))
            }
            Some(Item::Delta) => {
                if this.deltas_sent > 0 && !this.delay.is_zero() {
                    let sleep =
                        this.sleep.get_or_insert_with(|| Box::pin(tokio::time::sleep(this.delay)));
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    this.sleep = None;
                }
                this.items.pop_front();
                this.deltas_sent += 1;
                Poll::Ready(Some(Ok(Frame::data(this.delta()))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.items.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// One event-stream message: prelude (total and headers length, CRC32 of both), the
/// `:event-type`, `:content-type` and `:message-type` headers, the payload (for
/// `InvokeModelWithResponseStream` wrapped as `{"bytes": base64}`), and a CRC32 of it all.
fn event_frame(kind: StreamKind, event: &str, json: &str) -> Bytes {
    let payload = match kind {
        StreamKind::Converse => json.as_bytes().to_vec(),
        StreamKind::Invoke => {
            format!(r#"{{"bytes":"{}"}}"#, base64::engine::general_purpose::STANDARD.encode(json))
                .into_bytes()
        }
    };
    let mut headers = Vec::with_capacity(80);
    for (name, value) in
        [(":event-type", event), (":content-type", "application/json"), (":message-type", "event")]
    {
        headers.push(name.len() as u8);
        headers.extend_from_slice(name.as_bytes());
        headers.push(7); // string
        headers.extend_from_slice(&(value.len() as u16).to_be_bytes());
        headers.extend_from_slice(value.as_bytes());
    }
    let total = 12 + headers.len() + payload.len() + 4;
    let mut message = Vec::with_capacity(total);
    message.extend_from_slice(&(total as u32).to_be_bytes());
    message.extend_from_slice(&(headers.len() as u32).to_be_bytes());
    let prelude_crc = crc32(&message);
    message.extend_from_slice(&prelude_crc.to_be_bytes());
    message.extend_from_slice(&headers);
    message.extend_from_slice(&payload);
    let crc = crc32(&message);
    message.extend_from_slice(&crc.to_be_bytes());
    Bytes::from(message)
}

/// Splits complete event-stream messages off the front of `buffer`, checking their CRCs;
/// returns their payloads and leaves a partial message in place.
pub(crate) fn take_frames(buffer: &mut Vec<u8>) -> Result<Vec<Vec<u8>>, String> {
    let mut payloads = Vec::new();
    let mut at = 0;
    while buffer.len() - at >= 12 {
        let be32 = |i: usize| u32::from_be_bytes(buffer[i..i + 4].try_into().unwrap());
        let total = be32(at) as usize;
        let headers = be32(at + 4) as usize;
        if total < 16 + headers {
            return Err(format!("bad frame length {total}"));
        }
        if buffer.len() - at < total {
            break;
        }
        if be32(at + 8) != crc32(&buffer[at..at + 8])
            || be32(at + total - 4) != crc32(&buffer[at..at + total - 4])
        {
            return Err("bad frame CRC".into());
        }
        payloads.push(buffer[at + 12 + headers..at + total - 4].to_vec());
        at += total;
    }
    buffer.drain(..at);
    Ok(payloads)
}

/// When a text delta left the upstream (nanoseconds since the epoch), if `payload` is one.
pub(crate) fn sent_at(payload: &[u8]) -> Option<u128> {
    let text = std::str::from_utf8(payload).ok()?;
    let decoded;
    let json = match text.strip_prefix(r#"{"bytes":""#) {
        Some(rest) => {
            let data = base64::engine::general_purpose::STANDARD
                .decode(rest.strip_suffix(r#""}"#)?)
                .ok()?;
            decoded = String::from_utf8(data).ok()?;
            decoded.as_str()
        }
        None => text,
    };
    let at = json.find(r#""text":""#)? + r#""text":""#.len();
    json.get(at..at + 20)?.parse().ok()
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE), as the event stream format uses.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes
        .iter()
        .fold(!0u32, |crc, &b| CRC_TABLE[((crc ^ u32::from(b)) & 0xff) as usize] ^ (crc >> 8))
}
