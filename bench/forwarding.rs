//! The local Bedrock proxy measured as its users meet it: one client and one upstream (the
//! benchmark upstream, `upstream.rs`, on loopback), reached three ways in the same run —
//! directly (the baseline every added cost is measured against), through bedprov's proxy
//! (`bedprov daemon run --proxy … --proxy-upstream …`), and through LiteLLM's Bedrock
//! pass-through (`bench/litellm.sh`), the proxy users would otherwise pick.
//!
//! Per way: Converse latency from one keep-alive client (p50, p99; what a forwarder adds is
//! the difference to going direct), Converse requests/s from 16 keep-alive clients, the
//! delay from an event-stream frame leaving the upstream to the client decoding it, and the
//! forwarder's private memory per open stream (its growth while many streams are held
//! open, divided by their number).

use super::upstream::{self, Upstream};
use super::{Memory, request_loop};
use std::fmt::Write as _;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// The model id every request names (percent-encoded, as SDKs send it).
pub(crate) const MODEL: &str = "us.anthropic.claude-sonnet-4-5-20250929-v1%3A0";
const CONVERSE_BODY: &str = r#"{"messages":[{"role":"user","content":[{"text":"hello"}]}]}"#;
/// Latency and throughput are measured in rounds that take the routes in turn, so that
/// whatever else the machine runs meanwhile weighs on each alike; each round is recorded
/// for [`ROUND`] after [`WARM_UP`] on fresh keep-alive connections.
const ROUNDS: u32 = 5;
const ROUND: Duration = Duration::from_millis(600);
const WARM_UP: Duration = Duration::from_millis(100);
/// Frame-delay streams per route (taken in turn too), their text deltas and spacing.
const FRAME_ROUNDS: u32 = 3;
const FRAMES: u32 = 200;
const FRAME_GAP: Duration = Duration::from_millis(1);
/// Streams held open at once for the memory figure.
const OPEN_STREAMS: usize = 200;

/// One way for a client to reach the upstream.
pub(crate) struct Route {
    pub(crate) addr: SocketAddr,
    /// What comes before `/model/…` (a forwarder's own path prefix).
    prefix: String,
    /// Header lines the forwarder wants besides `Host` (its credential), each ending CRLF.
    extra: String,
    /// The forwarding process, whose memory is measured.
    pid: Option<u32>,
}

impl Route {
    pub(crate) fn direct(upstream: &Upstream) -> Self {
        Self { addr: upstream.addr, prefix: String::new(), extra: String::new(), pid: None }
    }

    /// A request for `operation` on [`MODEL`] with a JSON `body`.
    pub(crate) fn request(&self, operation: &str, body: &str, close: bool) -> Vec<u8> {
        format!(
            "POST {}/model/{MODEL}/{operation} HTTP/1.1\r\nHost: {}\r\n{}Content-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
            self.prefix,
            self.addr,
            self.extra,
            body.len(),
            if close { "Connection: close\r\n" } else { "" },
        )
        .into_bytes()
    }

    /// One Converse request, answered with the upstream's text (also a warm-up).
    fn check(&self) -> Result<(), String> {
        let runtime = current_thread();
        runtime.block_on(async {
            let mut stream = connect(self.addr).await?;
            stream.write_all(&self.request("converse", CONVERSE_BODY, true)).await.map_err(text)?;
            let mut answer = Vec::new();
            tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
                .await
                .map_err(|_| "no answer within 60 s".to_owned())?
                .map_err(text)?;
            let answer = String::from_utf8_lossy(&answer);
            if answer.starts_with("HTTP/1.1 200") && answer.contains("benchmark upstream") {
                Ok(())
            } else {
                Err(format!("unexpected answer: {}", answer.lines().next().unwrap_or("")))
            }
        })
    }
}

/// Latencies of closed-loop requests, pooled over rounds.
#[derive(Default)]
struct Load {
    /// Sorted once all rounds are in.
    latencies: Vec<u32>,
    seconds: f64,
    failed_clients: usize,
}

impl Load {
    /// One round: `clients` keep-alive connections each sending `request` as soon as the
    /// answer to the previous one has arrived.
    fn round(&mut self, addr: SocketAddr, request: &[u8], clients: usize) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let request = std::sync::Arc::new(request.to_vec());
        let record_after = Instant::now() + WARM_UP;
        let until = record_after + ROUND;
        let tasks: Vec<_> = (0..clients)
            .map(|_| {
                let request = request.clone();
                runtime.spawn(async move {
                    let stream = connect(addr).await.map_err(std::io::Error::other)?;
                    request_loop(stream, &request, until, record_after).await
                })
            })
            .collect();
        for task in tasks {
            match runtime.block_on(task).unwrap() {
                Ok(latencies) => self.latencies.extend(latencies),
                Err(_) => self.failed_clients += 1,
            }
        }
        self.seconds += ROUND.as_secs_f64();
    }

    fn quantile(&self, q: f64) -> f64 {
        let at = ((self.latencies.len().max(1) - 1) as f64 * q) as usize;
        self.latencies.get(at).map_or(f64::NAN, |&us| f64::from(us))
    }

    fn per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.seconds
    }
}

/// A response read off the wire: its head checked, its body de-chunked, event-stream
/// frames split off as they complete.
#[derive(Default)]
struct StreamReader {
    raw: Vec<u8>,
    head_done: bool,
    chunked: bool,
    body: Vec<u8>,
}

impl StreamReader {
    /// Takes in `bytes`; returns the payloads of the frames now complete.
    fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
        self.raw.extend_from_slice(bytes);
        if !self.head_done {
            let Some(end) = self.raw.windows(4).position(|w| w == b"\r\n\r\n") else {
                return Ok(Vec::new());
            };
            let head = String::from_utf8_lossy(&self.raw[..end]).to_ascii_lowercase();
            if !head.starts_with("http/1.1 200") {
                return Err(head.lines().next().unwrap_or("").to_owned());
            }
            self.chunked = head.contains("transfer-encoding: chunked");
            self.raw.drain(..end + 4);
            self.head_done = true;
        }
        if self.chunked {
            while let Some(line) = self.raw.windows(2).position(|w| w == b"\r\n") {
                let size = std::str::from_utf8(&self.raw[..line])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                    .ok_or("bad chunk size")?;
                if self.raw.len() < line + 2 + size + 2 {
                    break;
                }
                self.body.extend_from_slice(&self.raw[line + 2..line + 2 + size]);
                self.raw.drain(..line + 2 + size + 2);
            }
        } else {
            self.body.append(&mut self.raw);
        }
        upstream::take_frames(&mut self.body)
    }
}

/// Streams [`FRAMES`] text deltas [`FRAME_GAP`] apart through `route` and returns, per
/// delta, how long after leaving the upstream it was decoded here (µs).
fn frame_delays(route: &Route) -> Result<Vec<u64>, String> {
    let body = format!(
        r#"{{"messages":[{{"role":"user","content":[{{"text":"hello"}}]}}],"standinFrames":{FRAMES},"standinFrameDelayUs":{}}}"#,
        FRAME_GAP.as_micros()
    );
    let runtime = current_thread();
    runtime.block_on(async {
        let mut stream = connect(route.addr).await?;
        stream.write_all(&route.request("converse-stream", &body, true)).await.map_err(text)?;
        let mut reader = StreamReader::default();
        let mut delays = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let n = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
                .await
                .map_err(|_| format!("{} of {FRAMES} deltas within 30 s", delays.len()))?
                .map_err(text)?;
            let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos();
            if n == 0 {
                break;
            }
            for payload in reader.feed(&buffer[..n])? {
                if let Some(sent) = upstream::sent_at(&payload) {
                    delays.push(u64::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u64::MAX));
                }
            }
            if delays.len() == FRAMES as usize {
                break;
            }
        }
        if delays.len() != FRAMES as usize {
            return Err(format!("{} of {FRAMES} deltas arrived", delays.len()));
        }
        Ok(delays)
    })
}

/// The growth of `pid`'s private memory (with its child processes') while
/// [`OPEN_STREAMS`] streams through `route` are open, each having delivered its first
/// delta, divided by their number (KiB per stream).
fn memory_per_stream(route: &Route, pid: u32) -> Result<f64, String> {
    // One delta at once, the next a minute later: the stream stays open meanwhile.
    let body = r#"{"messages":[{"role":"user","content":[{"text":"hello"}]}],"standinFrames":2,"standinFrameDelayUs":60000000}"#;
    let request = route.request("converse-stream", body, true);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let before = private_kib(pid);
        let tasks: Vec<_> = (0..OPEN_STREAMS)
            .map(|_| {
                let request = request.clone();
                let addr = route.addr;
                tokio::spawn(async move {
                    let mut stream = connect(addr).await?;
                    stream.write_all(&request).await.map_err(text)?;
                    let mut reader = StreamReader::default();
                    let mut buffer = vec![0u8; 16 * 1024];
                    loop {
                        let n = stream.read(&mut buffer).await.map_err(text)?;
                        if n == 0 {
                            return Err("the stream ended before its first delta".to_owned());
                        }
                        let payloads = reader.feed(&buffer[..n])?;
                        if payloads.iter().any(|p| upstream::sent_at(p).is_some()) {
                            return Ok(stream); // held open until dropped
                        }
                    }
                })
            })
            .collect();
        let mut open = Vec::with_capacity(OPEN_STREAMS);
        for task in tasks {
            let opened = tokio::time::timeout(Duration::from_secs(60), task)
                .await
                .map_err(|_| "a stream did not open within 60 s".to_owned())?
                .map_err(text)?;
            open.push(opened?);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let during = private_kib(pid);
        drop(open);
        Ok(during.saturating_sub(before) as f64 / OPEN_STREAMS as f64)
    })
}

/// Private resident memory of `pid` and its descendants (KiB).
fn private_kib(pid: u32) -> u64 {
    let children = std::fs::read_dir(format!("/proc/{pid}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<u32>>()
        })
        .collect::<Vec<_>>();
    Memory::of(pid).anon + children.into_iter().map(private_kib).sum::<u64>()
}

/// What was measured for one route.
#[derive(Default)]
struct Figures {
    single: Load,
    sixteen: Load,
    /// Sorted.
    frames: Vec<u64>,
    frames_failed: Option<String>,
    memory: Option<Result<f64, String>>,
}

/// The routes still measured, each with its figures.
fn live<'a>(
    routes: &[Result<&'a Route, &String>],
    results: &'a mut [Result<Figures, String>],
) -> Vec<(&'a Route, &'a mut Figures)> {
    routes
        .iter()
        .zip(results.iter_mut())
        .filter_map(|(route, figures)| Some((*route.as_ref().ok()?, figures.as_mut().ok()?)))
        .collect()
}

/// Measures every route that answers, taking them in turn round by round.
fn measure(routes: &[Result<&Route, &String>]) -> Vec<Result<Figures, String>> {
    let mut results: Vec<Result<Figures, String>> = routes
        .iter()
        .map(|route| {
            let route = route.map_err(Clone::clone)?;
            route.check()?;
            Ok(Figures::default())
        })
        .collect();
    for _ in 0..ROUNDS {
        for (route, figures) in live(routes, &mut results) {
            figures.single.round(route.addr, &route.request("converse", CONVERSE_BODY, false), 1);
        }
        for (route, figures) in live(routes, &mut results) {
            figures.sixteen.round(route.addr, &route.request("converse", CONVERSE_BODY, false), 16);
        }
    }
    for _ in 0..FRAME_ROUNDS {
        for (route, figures) in live(routes, &mut results) {
            match frame_delays(route) {
                Ok(delays) => figures.frames.extend(delays),
                Err(e) => figures.frames_failed = Some(e),
            }
        }
    }
    for (route, figures) in live(routes, &mut results) {
        figures.single.latencies.sort_unstable();
        figures.sixteen.latencies.sort_unstable();
        figures.frames.sort_unstable();
        figures.memory = route.pid.map(|pid| memory_per_stream(route, pid));
    }
    for figures in &mut results {
        if let Ok(f) = figures {
            let failed = f.single.failed_clients + f.sixteen.failed_clients;
            if failed > 0 {
                *figures = Err(format!("{failed} keep-alive clients failed"));
            }
        }
    }
    results
}

/// A daemon running bedprov's proxy in front of `upstream` (stopped when dropped), and the
/// way to it.
fn start_bedprov_proxy(upstream: &Upstream) -> Result<(super::BenchEnv, Route), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(text)?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let env = super::BenchEnv::start(&["--proxy", &listen, "--proxy-upstream", &upstream.url()])
        .map_err(|e| format!("the daemon did not start with its proxy: {e}"))?;
    // What a client reads: the base URL and the local key, from the helper.
    let output = env
        .command(env!("CARGO_BIN_EXE_bedprov-helper"))
        .args(["exec", "--proxy", "--", "sh", "-c"])
        .arg(r#"printf '%s\n%s\n' "$ANTHROPIC_BEDROCK_BASE_URL" "$AWS_BEARER_TOKEN_BEDROCK""#)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(text)?;
    if !output.status.success() {
        return Err(format!(
            "bedprov-helper exec --proxy failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut lines = stdout.lines();
    let (base, key) = (lines.next().unwrap_or(""), lines.next().unwrap_or(""));
    let prefix = base
        .strip_prefix(&format!("http://{listen}"))
        .ok_or_else(|| format!("unexpected base URL {base:?}"))?;
    let route = Route {
        addr: listen.parse().map_err(text)?,
        prefix: prefix.trim_end_matches('/').to_owned(),
        extra: format!("Authorization: Bearer {key}\r\n"),
        pid: Some(env.daemon.id()),
    };
    Ok((env, route))
}

/// LiteLLM's proxy in front of `upstream` (`bench/litellm.sh`), stopped on drop.
pub(crate) struct LiteLlm {
    child: Child,
}

impl LiteLlm {
    pub(crate) fn start(upstream: &Upstream) -> Result<(Self, Route), String> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let log = root.join("target/bench-env/litellm.log");
        let _ = std::fs::create_dir_all(root.join("target/bench-env"));
        let mut child = Command::new(root.join("bench/litellm.sh"))
            .arg(upstream.url())
            .env_remove("AWS_BEARER_TOKEN_BEDROCK")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).map_err(text)?)
            .spawn()
            .map_err(|e| format!("cannot run bench/litellm.sh: {e}"))?;
        let mut line = String::new();
        let _ = std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line);
        let fields: Vec<&str> = line.split_whitespace().collect();
        let started = Self { child };
        let [url, key, pid] = fields[..] else {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(5).collect();
            return Err(format!(
                "bench/litellm.sh did not start LiteLLM: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            ));
        };
        let route = Route {
            addr: url.trim_start_matches("http://").parse().map_err(text)?,
            prefix: "/bedrock".into(),
            extra: format!("Authorization: Bearer {key}\r\n"),
            pid: pid.parse().ok(),
        };
        Ok((started, route))
    }

    fn version() -> String {
        let requirements = include_str!("litellm-requirements.txt");
        requirements
            .lines()
            .find_map(|l| l.strip_prefix("litellm[proxy]=="))
            .unwrap_or("?")
            .to_owned()
    }
}

impl Drop for LiteLlm {
    fn drop(&mut self) {
        drop(self.child.stdin.take()); // bench/litellm.sh stops LiteLLM when stdin closes
        let _ = self.child.wait();
    }
}

/// boto3 against the upstream (SigV4 over plain HTTP: the upstream checks no token):
/// whether `Converse`, `ConverseStream` and `InvokeModelWithResponseStream` parse.
fn boto3_check(url: &str) -> String {
    let Some(python) = super::python() else { return "not run: run scripts/test-deps".into() };
    let script = r#"
import boto3, json, sys
c = boto3.client("bedrock-runtime", endpoint_url=sys.argv[1], region_name="us-east-1",
                 aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="example")
m = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
msgs = [{"role": "user", "content": [{"text": "hi"}]}]
text = c.converse(modelId=m, messages=msgs)["output"]["message"]["content"][0]["text"]
n = sum("contentBlockDelta" in e for e in c.converse_stream(modelId=m, messages=msgs)["stream"])
body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]})
k = sum(json.loads(e["chunk"]["bytes"])["type"] == "content_block_delta"
        for e in c.invoke_model_with_response_stream(modelId=m, body=body)["body"])
print(f"Converse {text!r}, ConverseStream {n} deltas, InvokeModelWithResponseStream {k} deltas")
"#;
    match Command::new(python)
        .args(["-c", script, url])
        .env_remove("AWS_BEARER_TOKEN_BEDROCK")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
    {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => format!("FAILED: {}", String::from_utf8_lossy(&o.stderr).trim()),
        Err(e) => format!("FAILED: {e}"),
    }
}

/// The section: every route measured, then compared.
pub(crate) fn section() -> String {
    let upstream = Upstream::start(1);
    let direct = Route::direct(&upstream);
    let mut out = format!(
        "## The local Bedrock proxy: added cost over going direct, beside LiteLLM\n\n\
         One client (the load generator, one thread) and one Bedrock upstream (`bench/upstream.rs`,\n\
         one thread), both in the benchmark's process on loopback; the upstream reached directly,\n\
         through bedprov's proxy (`bedprov daemon run --proxy … --proxy-upstream …`, authenticated\n\
         with the key `bedprov-helper exec --proxy` gives), and through LiteLLM {}'s Bedrock\n\
         pass-through (`bench/litellm.sh`: `litellm --config …` with its defaults, one worker\n\
         process). All three run side by side, and each figure is measured in rounds that take\n\
         them in turn, so that the machine's other work weighs on each alike. Latency: Converse\n\
         from one keep-alive client, closed loop, {ROUNDS} rounds of {} s; throughput: the same\n\
         with 16 keep-alive clients; frames: {FRAME_ROUNDS} ConverseStreams of {FRAMES} deltas {} ms\n\
         apart, each stamped as it leaves the upstream; memory: the forwarder's private RSS growth\n\
         (its child processes' included) with {OPEN_STREAMS} streams open at once, per stream.\n\n",
        LiteLlm::version(),
        ROUND.as_secs_f64(),
        FRAME_GAP.as_millis()
    );
    let _ = writeln!(
        out,
        "The upstream speaks Bedrock as botocore parses it: {}.\n",
        boto3_check(&upstream.url())
    );
    let load_before = load_average();
    let bedprov = start_bedprov_proxy(&upstream);
    let litellm = LiteLlm::start(&upstream);
    let mut measured = measure(&[
        Ok(&direct),
        bedprov.as_ref().map(|(_, route)| route),
        litellm.as_ref().map(|(_, route)| route),
    ])
    .into_iter();
    drop((bedprov, litellm));
    let (base, ours, theirs) =
        (measured.next().unwrap(), measured.next().unwrap(), measured.next().unwrap());
    let _ = writeln!(
        out,
        "The machine's load average (1 min) was {load_before} before and {} after (the benchmark\nitself keeps about two threads busy).\n",
        load_average()
    );
    match &base {
        Ok(base) => out.push_str(&table(base, ours.as_ref(), theirs.as_ref())),
        Err(e) => {
            let _ = writeln!(out, "Direct requests failed: {e}\n");
        }
    }
    out
}

/// A bound the proxy is held to.
#[derive(Clone, Copy)]
enum Target {
    AtMost(f64),
    AtLeast(f64),
}

type Pick = Box<dyn Fn(&Figures) -> Option<f64>>;

/// One line of the table: how to read a figure off a route's measurements.
struct Row {
    name: &'static str,
    pick: Pick,
    unit: &'static str,
    /// Shown as the difference to going direct.
    added: bool,
    target: Option<Target>,
}

impl Row {
    fn new(
        name: &'static str,
        unit: &'static str,
        pick: impl Fn(&Figures) -> Option<f64> + 'static,
    ) -> Self {
        Self { name, pick: Box::new(pick), unit, added: false, target: None }
    }

    fn added(mut self) -> Self {
        self.added = true;
        self
    }

    fn target(mut self, target: Target) -> Self {
        self.target = Some(target);
        self
    }
}

fn frame_quantile(q: f64) -> impl Fn(&Figures) -> Option<f64> {
    move |f: &Figures| {
        let at = (f.frames.len().checked_sub(1)? as f64 * q) as usize;
        Some(f.frames[at] as f64)
    }
}

fn table(
    base: &Figures,
    bedprov: Result<&Figures, &String>,
    litellm: Result<&Figures, &String>,
) -> String {
    let rows = [
        Row::new("Converse, 1 client, p50", "µs", |f| Some(f.single.quantile(0.5))),
        Row::new("… added over direct", "µs", |f| Some(f.single.quantile(0.5)))
            .added()
            .target(Target::AtMost(100.0)),
        Row::new("Converse, 1 client, p99", "µs", |f| Some(f.single.quantile(0.99))),
        Row::new("… added over direct", "µs", |f| Some(f.single.quantile(0.99)))
            .added()
            .target(Target::AtMost(1000.0)),
        Row::new("Converse, 16 keep-alive clients, requests/s", "/s", |f| {
            Some(f.sixteen.per_second())
        })
        .target(Target::AtLeast(10_000.0)),
        Row::new("Converse, 16 clients, p99", "µs", |f| Some(f.sixteen.quantile(0.99))),
        Row::new("stream frame, upstream → client, p50", "µs", frame_quantile(0.5)),
        Row::new("… added over direct", "µs", frame_quantile(0.5))
            .added()
            .target(Target::AtMost(1000.0)),
        Row::new("stream frame, upstream → client, p99", "µs", frame_quantile(0.99)),
        Row::new("… added over direct", "µs", frame_quantile(0.99)).added(),
        Row::new("private memory per open stream", "KiB", |f| {
            f.memory.as_ref()?.as_ref().ok().copied()
        })
        .target(Target::AtMost(64.0)),
    ];
    let mut out = String::from(
        "| figure | direct (baseline) | bedprov proxy | LiteLLM | LiteLLM ÷ bedprov | target for bedprov |\n|---|---|---|---|---|---|\n",
    );
    for row in rows {
        let direct = (row.pick)(base);
        let value = |figures: Result<&Figures, &String>| {
            let v = (row.pick)(figures.ok()?)?;
            if row.added { Some(v - direct?) } else { Some(v) }
        };
        let (ours, theirs) = (value(bedprov), value(litellm));
        let shown = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.0} {}", row.unit));
        let ratio = match (ours, theirs, row.target) {
            (Some(o), Some(t), Some(Target::AtLeast(_))) if t > 0.0 => {
                format!("{} (bedprov ÷ LiteLLM: {})", times(t / o), times(o / t))
            }
            (Some(o), Some(t), _) if o > 0.0 && t >= 0.0 => times(t / o),
            _ => "–".into(),
        };
        let target = match (row.target, ours) {
            (None, _) => String::new(),
            (Some(target), ours) => {
                let (words, met) = match target {
                    Target::AtMost(bound) => {
                        (format!("≤ {bound} {}", row.unit), ours.map(|o| o <= bound))
                    }
                    Target::AtLeast(bound) => {
                        (format!("≥ {bound} {}", row.unit), ours.map(|o| o >= bound))
                    }
                };
                match met {
                    Some(true) => format!("{words}: met"),
                    Some(false) => format!("{words}: **not met**"),
                    None => words,
                }
            }
        };
        let base_cell =
            if row.added || row.unit == "KiB" { "–".to_owned() } else { shown(direct) };
        let _ = writeln!(
            out,
            "| {} | {base_cell} | {} | {} | {ratio} | {target} |",
            row.name,
            shown(ours),
            shown(theirs)
        );
    }
    for (name, figures) in [("bedprov proxy", bedprov), ("LiteLLM", litellm)] {
        match figures {
            Err(e) => {
                let _ = writeln!(out, "\n{name}: not measured: {e}");
            }
            Ok(f) => {
                if let Some(e) = &f.frames_failed {
                    let _ = writeln!(out, "\n{name}, stream frames: FAILED: {e}");
                }
                if let Some(Err(e)) = &f.memory {
                    let _ = writeln!(out, "\n{name}, memory per stream: FAILED: {e}");
                }
            }
        }
    }
    out.push('\n');
    out
}

/// A ratio, with as many digits as it needs.
fn times(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}×")
    } else if ratio >= 1.0 {
        format!("{ratio:.1}×")
    } else if ratio > 0.0 {
        // Two significant digits: 0.0028×.
        let digits = (1.0 - ratio.log10().floor()) as usize;
        format!("{ratio:.digits$}×")
    } else {
        format!("{ratio:.1}×")
    }
}

/// The kernel's one-minute load average, as it reads.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

async fn connect(addr: SocketAddr) -> Result<tokio::net::TcpStream, String> {
    let stream = tokio::net::TcpStream::connect(addr).await.map_err(text)?;
    stream.set_nodelay(true).map_err(text)?;
    Ok(stream)
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}
