//! The benchmark report: every figure, each against a baseline measured in the same run.
//!
//! `cargo bench --bench report` builds the release binaries, starts a daemon on a private
//! socket with AWS's example keys (no network is involved: minting is local), and measures:
//! - `bedprov-helper env` end to end, against AWS's Python `provide_token()` one-shot and
//!   against `curl --unix-socket` fetching the same token;
//! - minting per token (with a session token), against botocore in-process;
//! - daemon throughput and latency (p50/p99) at 1, 16, 64, 256 and 1000 keep-alive clients;
//! - the daemon's idle and loaded RSS, and the stripped sizes of the helper and the daemon;
//! - the local Bedrock proxy in front of a Bedrock upstream on loopback (`upstream.rs`):
//!   what it adds over going direct, against LiteLLM's Bedrock pass-through (`forwarding.rs`).
//!
//! Sections can be picked: `cargo bench --bench report -- helper mint load memory proxy`.
//! `-- serve-upstream` runs the benchmark upstream alone, printing its URL, until stdin
//! closes (for measuring another forwarder by hand).
//! The load generator shares the machine's cores with the daemon; the report says how many.
//! It prints Markdown and writes it to `target/bench-report.md`.

// Statistics over counts and byte sizes far below 2^52: float conversions are exact enough.
#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)]

use aws_credential_types::Credentials;
use bedprov::region::Region;
use bedprov::token::mint;
use bedprov::ttl::Ttl;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};

mod forwarding;
mod upstream;

const EXAMPLE_KEY_ID: &str = "AKIDEXAMPLE";
const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    if !std::env::args().any(|a| a == "--bench") {
        return; // `cargo test --benches` builds and runs benches without --bench: stay instant.
    }
    let wanted = |section: &str| args.is_empty() || args.iter().any(|a| a == section);
    if args.iter().any(|a| a == "serve-upstream") {
        serve_upstream();
        return;
    }
    let env = BenchEnv::new();
    // Idle memory is read before anything else has touched the daemon.
    let idle = Memory::of(env.daemon.id());
    let mut report = String::new();
    let _ = writeln!(report, "# bedprov benchmark report\n\n{}\n", machine());
    if wanted("helper") {
        report.push_str(&helper_section(&env));
    }
    if wanted("mint") {
        report.push_str(&mint_section());
    }
    if wanted("load") {
        report.push_str(&load_section(&env));
    }
    if wanted("memory") {
        report.push_str(&memory_section(&env, &idle));
    }
    if wanted("proxy") {
        report.push_str(&forwarding::section());
    }
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench-report.md");
    let _ = std::fs::write(&out, &report);
    eprintln!("(written to {})", out.display());
}

/// A private HOME with a static profile and a running release daemon.
struct BenchEnv {
    dir: tempfile::TempDir,
    daemon: std::process::Child,
}

impl BenchEnv {
    fn new() -> Self {
        Self::start(&[]).unwrap()
    }

    /// Runs `bedprov daemon run` with `daemon_args` in a fresh private HOME, once it serves
    /// a token.
    fn start(daemon_args: &[&str]) -> Result<Self, String> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("home/.aws")).unwrap();
        std::fs::write(
            dir.path().join("home/.aws/credentials"),
            format!("[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"),
        )
        .unwrap();
        let run = dir.path().join("run");
        std::fs::create_dir_all(&run).unwrap();
        std::fs::set_permissions(&run, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        let mut env = Self { dir, daemon: Command::new("true").spawn().unwrap() };
        env.daemon = env
            .command(env!("CARGO_BIN_EXE_bedprov"))
            .args(["daemon", "run"])
            .args(daemon_args)
            .stderr(std::fs::File::create(env.dir.path().join("daemon.log")).unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !env.socket().exists() && Instant::now() < deadline {
            if let Ok(Some(_)) = env.daemon.try_wait() {
                let log = std::fs::read_to_string(env.dir.path().join("daemon.log"));
                return Err(log.unwrap_or_default().trim().to_owned());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The first token (a slot) exists before anything is timed.
        let token = env
            .command(env!("CARGO_BIN_EXE_bedprov-helper"))
            .arg("token")
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if !token.success() {
            return Err(format!("bedprov-helper token failed ({token})"));
        }
        Ok(env)
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("run/bedprov/bedprov.sock")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join("home"))
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("BEDPROV_NO_AUTOSTART", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }
}

impl Drop for BenchEnv {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let date = bedprov::timefmt::human_utc(SystemTime::now());
    format!(
        "Measured {date} on {cores} cores ({cpu}), release build. Load generator and daemon share those cores."
    )
}

/// Median and 90th percentile of whole-process runs.
fn time_process(runs: usize, mut make: impl FnMut() -> Command) -> (Duration, Duration) {
    for _ in 0..3.min(runs) {
        let _ = make().status();
    }
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            let status = make().status().unwrap();
            assert!(status.success(), "benchmarked command failed");
            start.elapsed()
        })
        .collect();
    samples.sort();
    (samples[samples.len() / 2], samples[samples.len() * 9 / 10])
}

fn python() -> Option<PathBuf> {
    let path = std::env::var_os("BEDPROV_TEST_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-env/venv/bin/python"),
        PathBuf::from,
    );
    path.exists().then_some(path)
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn helper_section(env: &BenchEnv) -> String {
    let helper = env!("CARGO_BIN_EXE_bedprov-helper");
    let socket = env.socket();
    let (ours, ours_p90) = time_process(500, || {
        let mut c = env.command(helper);
        c.arg("env");
        c
    });
    let (curl, curl_p90) = time_process(300, || {
        let mut c = env.command("curl");
        c.args(["-s", "--unix-socket"])
            .arg(&socket)
            .arg("http://localhost/v1/token?region=us-east-1");
        c
    });
    let mut out = String::from("## Getting a token into a shell, end to end (whole process)\n\n");
    out.push_str("| command | median | p90 | median vs helper |\n|---|---|---|---|\n");
    let _ = writeln!(out, "| `bedprov-helper env` | {} | {} | 1.0× |", ms(ours), ms(ours_p90));
    let _ = writeln!(
        out,
        "| `curl --unix-socket … /v1/token` | {} | {} | {:.1}× slower |",
        ms(curl),
        ms(curl_p90),
        curl.as_secs_f64() / ours.as_secs_f64()
    );
    match python() {
        Some(python) => {
            let (py, py_p90) = time_process(30, || {
                let mut c = env.command(python.to_str().unwrap());
                c.args([
                    "-c",
                    "from aws_bedrock_token_generator import provide_token; print(provide_token())",
                ]);
                c
            });
            let _ = writeln!(
                out,
                "| Python `provide_token()` one-shot (AWS's generator) | {} | {} | {:.0}× slower |",
                ms(py),
                ms(py_p90),
                py.as_secs_f64() / ours.as_secs_f64()
            );
        }
        None => {
            out.push_str(
                "| Python `provide_token()` | not measured: run scripts/test-deps | | |\n",
            );
        }
    }
    out.push('\n');
    out
}

fn mint_section() -> String {
    let creds = Credentials::new(
        "ASIAIOSFODNN7EXAMPLE",
        EXAMPLE_SECRET,
        Some("EXAMPLE+session/token=".repeat(40)),
        None,
        "bench",
    );
    let region = Region::parse("us-east-1").unwrap();
    let now = SystemTime::now();
    let iterations = 20_000u32;
    let mut rounds: Vec<f64> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iterations {
                let at = now + Duration::from_secs(u64::from(i));
                std::hint::black_box(
                    mint(&creds, &region, Ttl::default(), std::hint::black_box(at)).unwrap(),
                );
            }
            start.elapsed().as_secs_f64() * 1e9 / f64::from(iterations)
        })
        .collect();
    rounds.sort_by(f64::total_cmp);
    let ours = rounds[rounds.len() / 2];
    let mut out = String::from(
        "## Minting one token with a session token (in-process)\n\n| implementation | per token | vs bedprov |\n|---|---|---|\n",
    );
    let _ = writeln!(out, "| bedprov `token::mint` (aws-sigv4) | {:.2} µs | 1.0× |", ours / 1e3);
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/python_mint.py");
    let theirs = python()
        .and_then(|p| Command::new(p).arg(script).arg("2000").output().ok())
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse::<f64>().ok());
    match theirs {
        Some(theirs) => {
            let _ = writeln!(
                out,
                "| botocore `SigV4QueryAuth` via aws-bedrock-token-generator | {:.2} µs | {:.1}× slower |",
                theirs / 1e3,
                theirs / ours
            );
        }
        None => out.push_str("| botocore | not measured: run scripts/test-deps | |\n"),
    }
    out.push('\n');
    out
}

/// One keep-alive client: sends GET /v1/token until `until`, recording each latency.
async fn client_loop(
    socket: PathBuf,
    until: Instant,
    record_after: Instant,
) -> std::io::Result<Vec<u32>> {
    let stream = tokio::net::UnixStream::connect(&socket).await?;
    let request = b"GET /v1/token?region=us-east-1 HTTP/1.1\r\nHost: localhost\r\n\r\n";
    request_loop(stream, request, until, record_after).await
}

/// Sends `request` on one keep-alive connection until `until`, recording each latency.
async fn request_loop<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    until: Instant,
    record_after: Instant,
) -> std::io::Result<Vec<u32>> {
    let mut buffer = vec![0u8; 16 * 1024];
    let mut latencies = Vec::with_capacity(64 * 1024);
    while Instant::now() < until {
        let start = Instant::now();
        stream.write_all(request).await?;
        read_response(&mut stream, &mut buffer).await?;
        if start >= record_after {
            latencies.push(u32::try_from(start.elapsed().as_micros()).unwrap_or(u32::MAX));
        }
    }
    Ok(latencies)
}

/// Reads one HTTP/1.1 response with a Content-Length or chunked body (of JSON, which holds
/// no CRLF: a chunked body ends at the first `0\r\n\r\n`); fails on anything but 200.
async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
    buffer: &mut [u8],
) -> std::io::Result<()> {
    let mut filled = 0;
    loop {
        let n = stream.read(&mut buffer[filled..]).await?;
        if n == 0 {
            return Err(std::io::Error::other("connection closed"));
        }
        filled += n;
        let head = &buffer[..filled];
        if let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = std::str::from_utf8(&head[..end]).map_err(std::io::Error::other)?;
            if !text.starts_with("HTTP/1.1 200") {
                return Err(std::io::Error::other(text.lines().next().unwrap_or("").to_owned()));
            }
            let lower = text.to_ascii_lowercase();
            if lower.contains("\r\ntransfer-encoding: chunked") {
                while !buffer[end + 4..filled].ends_with(b"0\r\n\r\n") {
                    let n = stream.read(&mut buffer[filled..]).await?;
                    if n == 0 {
                        return Err(std::io::Error::other("connection closed mid-body"));
                    }
                    filled += n;
                }
                return Ok(());
            }
            let length: usize = lower
                .lines()
                .find_map(|l| {
                    l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            let total = end + 4 + length;
            while filled < total {
                let n = stream.read(&mut buffer[filled..]).await?;
                if n == 0 {
                    return Err(std::io::Error::other("connection closed mid-body"));
                }
                filled += n;
            }
            return Ok(());
        }
    }
}

/// Gathers every client's latencies into one result.
async fn summarize(
    clients: usize,
    seconds: f64,
    tasks: Vec<tokio::task::JoinHandle<std::io::Result<Vec<u32>>>>,
) -> LoadResult {
    let mut all = Vec::new();
    let mut errors = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(latencies) => all.extend(latencies),
            Err(_) => errors += 1,
        }
    }
    all.sort_unstable();
    let pick = |q: f64| all.get(((all.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0);
    LoadResult {
        clients,
        requests_per_second: all.len() as f64 / seconds,
        p50_us: pick(0.5),
        p99_us: pick(0.99),
        errors,
    }
}

struct LoadResult {
    clients: usize,
    requests_per_second: f64,
    p50_us: u32,
    p99_us: u32,
    errors: usize,
}

fn run_load(socket: &Path, clients: usize, seconds: f64) -> LoadResult {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let start = Instant::now();
        let record_after = start + Duration::from_millis(300);
        let until = record_after + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..clients)
            .map(|_| tokio::spawn(client_loop(socket.to_path_buf(), until, record_after)))
            .collect();
        summarize(clients, seconds, tasks).await
    })
}

/// `clients` keep-alive connections that together offer `rate` requests per second (each on
/// its own schedule). Latency is measured from the scheduled send time, so a slow answer
/// also counts against the requests queued behind it (no coordinated omission).
fn run_paced(socket: &Path, clients: usize, rate: f64, seconds: f64) -> LoadResult {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let period = Duration::from_secs_f64(clients as f64 / rate);
        let start = tokio::time::Instant::now() + Duration::from_millis(500);
        let until = start + Duration::from_secs_f64(seconds);
        let tasks: Vec<_> = (0..clients)
            .map(|i| {
                let socket = socket.to_path_buf();
                let first = start + period.mul_f64(i as f64 / clients as f64);
                tokio::spawn(async move {
                    let mut stream = tokio::net::UnixStream::connect(&socket).await?;
                    let mut ticks = tokio::time::interval_at(first, period);
                    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                    let mut buffer = vec![0u8; 16 * 1024];
                    let mut latencies = Vec::new();
                    loop {
                        let scheduled = ticks.tick().await;
                        if scheduled >= until {
                            return Ok::<_, std::io::Error>(latencies);
                        }
                        stream.write_all(b"GET /v1/token?region=us-east-1 HTTP/1.1\r\nHost: localhost\r\n\r\n").await?;
                        read_response(&mut stream, &mut buffer).await?;
                        latencies.push(u32::try_from(scheduled.elapsed().as_micros()).unwrap_or(u32::MAX));
                    }
                })
            })
            .collect();
        summarize(clients, seconds, tasks).await
    })
}

fn load_section(env: &BenchEnv) -> String {
    let mut out = String::from(
        "## Daemon throughput, keep-alive clients on the Unix socket (`GET /v1/token`)\n\n| clients | requests/s | p50 | p99 | failed clients | req/s vs 1 client |\n|---|---|---|---|---|---|\n",
    );
    let mut baseline = None;
    for clients in [1, 16, 64, 256, 1000] {
        let result = run_load(&env.socket(), clients, 3.0);
        let base = *baseline.get_or_insert(result.requests_per_second);
        let _ = writeln!(
            out,
            "| {} | {:.0} | {:.2} ms | {:.2} ms | {} | {:.2}× |",
            result.clients,
            result.requests_per_second,
            f64::from(result.p50_us) / 1e3,
            f64::from(result.p99_us) / 1e3,
            result.errors,
            result.requests_per_second / base
        );
    }
    out.push_str("\nClosed loop: every client sends its next request as soon as the previous answer arrives, so\nthe daemon is saturated and latency is queueing (Little's law: clients ÷ throughput).\n\n");
    out.push_str("| clients, paced (open loop) | offered | served/s | p50 | p99 | failed clients |\n|---|---|---|---|---|---|\n");
    for (clients, rate) in [(1000, 10_000.0), (1000, 50_000.0)] {
        let result = run_paced(&env.socket(), clients, rate, 3.0);
        let _ = writeln!(
            out,
            "| {clients} | {rate:.0}/s | {:.0} | {:.2} ms | {:.2} ms | {} |",
            result.requests_per_second,
            f64::from(result.p50_us) / 1e3,
            f64::from(result.p99_us) / 1e3,
            result.errors
        );
    }
    out.push('\n');
    out
}

/// A process's resident memory, split into private (anonymous) and file-backed pages (the
/// code and read-only data of the executable and of libc, clean and evictable; the kernel
/// maps cached pages around each one touched, so more than what runs).
/// Kibibytes, as `/proc/<pid>/status` reports them.
struct Memory {
    total: u64,
    anon: u64,
    file: u64,
}

impl Memory {
    fn of(pid: u32) -> Self {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
                .unwrap_or(0)
        };
        Self { total: field("VmRSS:"), anon: field("RssAnon:"), file: field("RssFile:") }
    }

    fn describe(&self) -> String {
        format!(
            "{:.1} MB ({:.1} MB private + {:.1} MB code pages)",
            self.total as f64 / 1024.0,
            self.anon as f64 / 1024.0,
            self.file as f64 / 1024.0
        )
    }
}

fn memory_section(env: &BenchEnv, idle: &Memory) -> String {
    let mut out =
        String::from("## Memory and size\n\n| figure | value | baseline |\n|---|---|---|\n");
    let curl_rss = {
        // A one-shot client's peak RSS, for scale.
        let output = env
            .command("/usr/bin/time")
            .args(["-f", "%M", "curl", "-s", "--unix-socket"])
            .arg(env.socket())
            .arg("http://localhost/v1/health")
            .stderr(Stdio::piped())
            .output();
        output.ok().and_then(|o| {
            String::from_utf8(o.stderr).ok()?.trim().lines().last()?.parse::<u64>().ok()
        })
    };
    let baseline = curl_rss
        .map_or("–".into(), |kb| format!("curl one-shot peak RSS {:.1} MB", kb as f64 / 1024.0));
    let _ = writeln!(out, "| daemon RSS, idle (one token) | {} | {baseline} |", idle.describe());
    let _ = run_load(&env.socket(), 256, 2.0);
    let loaded = Memory::of(env.daemon.id());
    let _ = writeln!(
        out,
        "| daemon RSS, after 256 keep-alive clients | {} | idle × {:.2} |",
        loaded.describe(),
        loaded.total as f64 / idle.total.max(1) as f64
    );
    let size = |path: &str| std::fs::metadata(path).map_or(0, |m| m.len());
    let helper = size(env!("CARGO_BIN_EXE_bedprov-helper"));
    let daemon = size(env!("CARGO_BIN_EXE_bedprov-daemon"));
    let cli = size(env!("CARGO_BIN_EXE_bedprov"));
    for (name, bytes) in [("bedprov-helper", helper), ("bedprov-daemon", daemon)] {
        let _ = writeln!(
            out,
            "| `{name}` binary (release, stripped) | {} KB | `bedprov` binary: {} KB ({:.1}× larger) |",
            bytes / 1024,
            cli / 1024,
            cli as f64 / bytes.max(1) as f64
        );
    }
    out.push('\n');
    out
}

/// Runs the benchmark upstream until stdin closes, printing its URL first.
fn serve_upstream() {
    let upstream = upstream::Upstream::start(1);
    println!("{}", upstream.url());
    let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut Vec::new());
}
