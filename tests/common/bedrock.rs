//! A local Amazon Bedrock for tests: the stand-in (`tests/support/bedrock_standin.py`), which
//! checks every bearer token as AWS does and records what reached it, and the real clients
//! that talk to it (`tests/support/bedrock_client.py`: boto3 and the Anthropic SDK, configured
//! by environment variables only, as a user's app is).

use super::{Moto, Sandbox, python, support_file};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

/// The model id clients use unless told otherwise (an inference profile, as Claude Code uses).
pub const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1:0";

/// A running stand-in, stopped when dropped (or when the test process dies).
pub struct BedrockStandin {
    _peer: Moto,
    pub port: u16,
    /// The trust file (access key id → signing secret and session facts).
    pub trust: PathBuf,
    /// JSON lines, one per request that reached the stand-in (and one per finished stream).
    pub record: PathBuf,
    /// The CA of its HTTPS certificate, for `AWS_CA_BUNDLE`.
    pub ca: PathBuf,
}

impl BedrockStandin {
    /// Starts a stand-in trusting `trust` (see the stand-in's header for its shape), with
    /// extra command-line flags (`--region`, `--frames`, `--frame-delay-ms`, ...). Its files
    /// live in `dir` under `name`.
    pub fn start(dir: &Path, name: &str, trust: &Value, args: &[&str]) -> Self {
        Self::start_with_env(dir, name, trust, args, &[])
    }

    /// Like [`BedrockStandin::start`], with extra environment (e.g. a faked clock).
    pub fn start_with_env(
        dir: &Path,
        name: &str,
        trust: &Value,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Self {
        let trust_path = dir.join(format!("{name}-trust.json"));
        let record = dir.join(format!("{name}-record.jsonl"));
        let ca = dir.join(format!("{name}-ca.pem"));
        write_atomically(&trust_path, &trust.to_string());
        let mut all = vec![
            "--trust".to_owned(),
            trust_path.display().to_string(),
            "--record".to_owned(),
            record.display().to_string(),
            "--tls-ca".to_owned(),
            ca.display().to_string(),
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let peer = Moto::start_script_with("bedrock_standin.py", &all, envs);
        let port = peer.endpoint.rsplit(':').next().unwrap().parse().unwrap();
        Self { _peer: peer, port, trust: trust_path, record, ca }
    }

    /// Plain HTTP (what a proxy in front of it would use, and the Anthropic SDK accepts).
    pub fn http_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// HTTPS on the same port (botocore sends bearer tokens only to https:// endpoints).
    pub fn https_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// Replaces the trust file (atomically, so the stand-in never reads half of it).
    pub fn set_trust(&self, trust: &Value) {
        write_atomically(&self.trust, &trust.to_string());
    }

    /// Every record so far.
    pub fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(&self.record)
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// The requests that reached the stand-in, in order.
    pub fn requests(&self) -> Vec<Value> {
        self.records().into_iter().filter(|r| r["event"] == "request").collect()
    }

    /// Waits (up to 10 s) for the end of the stream that answered request `id`.
    pub fn stream_end(&self, id: &Value) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            if let Some(end) =
                self.records().into_iter().find(|r| r["event"] == "stream_end" && &r["id"] == id)
            {
                return end;
            }
            assert!(std::time::Instant::now() < deadline, "stream {id} did not end within 10 s");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// What a client needs to talk to the stand-in directly with `token`: the variables
    /// `bedprov-helper env` prints, pointed here (boto3 over HTTPS, the Anthropic SDK over HTTP).
    pub fn direct_env(&self, token: &str, region: &str) -> Vec<(String, String)> {
        [
            ("AWS_BEARER_TOKEN_BEDROCK", token.to_owned()),
            ("AWS_REGION", region.to_owned()),
            ("AWS_DEFAULT_REGION", region.to_owned()),
            ("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", self.https_url()),
            ("AWS_ENDPOINT_URL_BEDROCK", self.https_url()),
            ("AWS_CA_BUNDLE", self.ca.display().to_string()),
            ("ANTHROPIC_BEDROCK_BASE_URL", self.http_url()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    /// Sends one raw HTTP/1.1 request, byte for byte as given (`Host` unless given,
    /// `Content-Length` and `Connection: close` are added), and reads the whole answer.
    pub fn raw(&self, request_line: &str, headers: &[(&str, &str)], body: &[u8]) -> RawResponse {
        use std::fmt::Write as _;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
        let mut request = format!("{request_line}\r\n");
        if !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("host")) {
            let _ = write!(request, "Host: 127.0.0.1:{}\r\n", self.port);
        }
        for (name, value) in headers {
            let _ = write!(request, "{name}: {value}\r\n");
        }
        let _ = write!(request, "Content-Length: {}\r\nConnection: close\r\n\r\n", body.len());
        stream.write_all(request.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).unwrap();
        RawResponse::parse(&answer)
    }
}

/// A parsed HTTP/1.1 answer (chunked bodies joined).
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn parse(bytes: &[u8]) -> Self {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP head");
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let mut rest = &bytes[end + 4..];
        let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v == "chunked");
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
                let size =
                    usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap(), 16)
                        .unwrap();
                rest = &rest[line_end + 2..];
                if size == 0 {
                    break body;
                }
                body.extend_from_slice(&rest[..size]);
                rest = &rest[size + 2..];
            }
        } else {
            rest.to_vec()
        };
        Self { status, headers, body }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// One message of an `application/vnd.amazon.eventstream` body, checked as AWS SDKs check
/// it (total length, both CRC32s).
#[derive(Debug)]
pub struct EventFrame {
    pub headers: Vec<(String, String)>,
    pub payload: Vec<u8>,
}

impl EventFrame {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// Splits an event stream into frames, panicking on any malformed one.
pub fn event_frames(mut bytes: &[u8]) -> Vec<EventFrame> {
    let be32 = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        let total = be32(&bytes[0..4]) as usize;
        let headers_len = be32(&bytes[4..8]) as usize;
        assert_eq!(be32(&bytes[8..12]), crc32(&bytes[..8]), "prelude CRC");
        assert_eq!(be32(&bytes[total - 4..total]), crc32(&bytes[..total - 4]), "message CRC");
        let mut headers = Vec::new();
        let mut h = &bytes[12..12 + headers_len];
        while !h.is_empty() {
            let name_len = h[0] as usize;
            let name = String::from_utf8(h[1..=name_len].to_vec()).unwrap();
            assert_eq!(h[1 + name_len], 7, "string header");
            let value_len = u16::from_be_bytes([h[2 + name_len], h[3 + name_len]]) as usize;
            let value =
                String::from_utf8(h[4 + name_len..4 + name_len + value_len].to_vec()).unwrap();
            headers.push((name, value));
            h = &h[4 + name_len + value_len..];
        }
        frames.push(EventFrame { headers, payload: bytes[12 + headers_len..total - 4].to_vec() });
        bytes = &bytes[total..];
    }
    frames
}

/// CRC-32 (IEEE), as the event stream format uses.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Every operation the client script knows, once each, in the order the SDK tests check
/// their answers (directly against the stand-in, and through the proxy).
pub const EVERY_OPERATION: &[&str] = &[
    r#"{"op": "converse", "prompt": "what is 2 + 2?"}"#,
    "converse-stream",
    "invoke",
    "invoke-stream",
    "count-tokens",
    "list-models",
    "list-profiles",
    r#"{"op": "anthropic-create", "prompt": "hi from the Anthropic SDK"}"#,
    "anthropic-stream",
];

/// Runs the client script once with these operations (names or JSON objects) and exactly
/// `env` on top of the sandbox's clean environment; one answer per operation.
pub fn run_clients(sandbox: &Sandbox, env: &[(String, String)], ops: &[&str]) -> Vec<Value> {
    let output = sandbox
        .command(python())
        .arg(support_file("bedrock_client.py"))
        .args(ops)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "bedrock_client.py failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

/// A long-running app: its clients are created once, when it starts, and then asked to do
/// one operation at a time. Stopped when dropped.
pub struct BedrockApp {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl BedrockApp {
    pub fn start(sandbox: &Sandbox, env: &[(String, String)]) -> Self {
        let mut child = sandbox
            .command(python())
            .arg(support_file("bedrock_client.py"))
            .arg("--stdin")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        Self { child, stdin, stdout }
    }

    /// Runs one operation (a name or a JSON object) and returns its answer.
    pub fn call(&mut self, op: &str) -> Value {
        writeln!(self.stdin, "{op}").unwrap();
        self.stdin.flush().unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("client answered {line:?}: {e}"))
    }
}

impl Drop for BedrockApp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}
