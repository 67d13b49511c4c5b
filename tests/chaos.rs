//! The daemon under faults and attack, as real processes: a wall clock that jumps 8 h while
//! the monotonic clock does not (a laptop suspend), slow and hostile clients, clients that
//! pipeline requests and never read the answers (also under `ulimit -n 200`), SIGKILL at
//! random moments, its socket deleted or taken over, memory hardening as seen by another
//! process of the same user, misbehaving `credential_process` programs, and `~/.aws`
//! replaced over and over. Every test is bounded in time and prints the figures it measured.
//!
//! The load-sensitive tests (the attack, the pipelining floods, the kill cycles) hold
//! [`HEAVY`] exclusively; the others share it. The suspend test, which mostly waits for the
//! daemon's 60 s tick, takes no lock and runs alongside the rest.

mod common;

use common::{EXAMPLE_KEY_ID, EXAMPLE_SECRET, FakeClock, Sandbox, epoch, json, run};
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::{ErrorKind, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::thread;
use std::time::{Duration, Instant};

/// The daemon's limits, as the tests rely on them.
const HEADER_TIMEOUT: Duration = bedprov::daemon::http::HEADER_TIMEOUT;
const MAX_CONNECTIONS: usize = bedprov::daemon::http::MAX_CONNECTIONS;
const SOCKET_CHECK: Duration = bedprov::daemon::SOCKET_CHECK;
const WRITE_TIMEOUT: Duration = bedprov::daemon::http::WRITE_TIMEOUT;
const CLOSE_TIMEOUT: Duration = bedprov::daemon::http::CLOSE_TIMEOUT;
/// Slack for noticing an event on a loaded 2-core machine (polling, scheduling).
const SLACK: Duration = Duration::from_secs(2);

static HEAVY: RwLock<()> = RwLock::new(());

fn exclusive() -> RwLockWriteGuard<'static, ()> {
    HEAVY.write().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn shared() -> RwLockReadGuard<'static, ()> {
    HEAVY.read().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The seed for the randomised tests: `BEDPROV_CHAOS_SEED`, else a fixed one (printed, so a
/// failure can be replayed).
fn seed() -> u64 {
    let seed = std::env::var("BEDPROV_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00be_d970_c4a0_5eed);
    eprintln!("BEDPROV_CHAOS_SEED={seed}");
    seed
}

// ---------------------------------------------------------------------------------------
// /proc readers

/// A field of `/proc/<pid>/status`, in kB.
fn status_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap().count()
}

/// One process from `/proc/<pid>/stat`.
#[derive(Debug, Clone)]
struct Proc {
    pid: u32,
    state: char,
    ppid: u32,
    pgrp: u32,
    cmdline: String,
}

fn processes() -> Vec<Proc> {
    let mut list = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else { continue };
        // "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
        let Some((_, rest)) = stat.rsplit_once(") ") else { continue };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
            .unwrap_or_default();
        list.push(Proc {
            pid,
            state: fields[0].chars().next().unwrap_or('?'),
            ppid: fields[1].parse().unwrap_or(0),
            pgrp: fields[2].parse().unwrap_or(0),
            cmdline,
        });
    }
    list
}

/// Waits until no process matches, returning what still matches at the deadline.
fn wait_until_gone(deadline: Instant, matches: impl Fn(&Proc) -> bool) -> Vec<Proc> {
    loop {
        let left: Vec<Proc> = processes().into_iter().filter(|p| matches(p)).collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------------------------------
// Raw HTTP over the socket

const TOKEN_REQUEST: &[u8] =
    b"GET /v1/token HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\nConnection: close\r\n\r\n";

/// One token over a fresh connection, as the helper fetches it: the time it took.
fn timed_token(socket: &Path) -> Result<Duration, String> {
    let started = Instant::now();
    let mut stream = UnixStream::connect(socket).map_err(|e| format!("connect: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    stream.write_all(TOKEN_REQUEST).map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::with_capacity(2048);
    stream.read_to_end(&mut answer).map_err(|e| format!("read: {e}"))?;
    let elapsed = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    if text.starts_with("HTTP/1.1 200") && text.contains("\r\n\r\nbedrock-api-key-") {
        Ok(elapsed)
    } else {
        Err(format!("unexpected answer: {:?}", text.lines().next().unwrap_or("")))
    }
}

/// What a connection that sent hostile bytes got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A response with this status, after this long.
    Status(u16, Duration),
    /// Closed without a response, after this long.
    Closed(Duration),
    /// Still open, nothing said, at the deadline.
    Open,
}

/// Sends `bytes` on a fresh connection (ignoring a write the daemon cut short) and waits up
/// to `limit` for a response head or the close.
fn exchange(socket: &Path, bytes: &[u8], limit: Duration) -> Answer {
    let started = Instant::now();
    let mut stream = UnixStream::connect(socket).expect("connect");
    stream.set_write_timeout(Some(limit)).unwrap();
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(started.elapsed());
        if left.is_zero() {
            return Answer::Open;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut chunk) {
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if answer.is_empty() {
                    return Answer::Open;
                }
                break;
            }
            Ok(0) | Err(_) if answer.is_empty() => return Answer::Closed(started.elapsed()),
            Ok(0) | Err(_) => break,
            Ok(n) => {
                answer.extend_from_slice(&chunk[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    let text = String::from_utf8_lossy(&answer);
    let status = text.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    Answer::Status(status, started.elapsed())
}

fn percentile(sorted: &[Duration], percent: usize) -> Duration {
    let rank = (percent * sorted.len()).div_ceil(100);
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// Lifts this process's open-file limit to at least `wanted` (the attack holds thousands
/// of connections); daemons started afterwards inherit it.
fn raise_nofile(wanted: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    if soft >= wanted {
        return;
    }
    let hard = if hard < wanted && nix::unistd::getuid().is_root() { wanted } else { hard };
    setrlimit(Resource::RLIMIT_NOFILE, wanted.min(hard), hard).unwrap();
    let (soft, _) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    assert!(soft >= wanted, "cannot raise the open-file limit to {wanted} (soft {soft})");
}

// =======================================================================================
// 3. A suspended laptop: the wall clock jumps, the monotonic clock does not.

#[test]
fn clock_jumps_8h_a_request_gets_a_fresh_token_and_without_requests_one_tick_refreshes() {
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let clock = FakeClock::new(&sandbox);
    let daemon = sandbox.daemon_with(|command| clock.apply(command));
    let token = || {
        let (code, stdout, stderr) = run(&mut sandbox.helper(&["json"]));
        assert_eq!(code, 0, "{stderr}");
        json(&stdout)
    };
    let slot =
        || daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap()["slots"][0].clone();
    let first = token();
    let lifetime =
        epoch(first["expires_at"].as_str().unwrap()) - epoch(first["issued_at"].as_str().unwrap());
    assert_eq!(lifetime, 43_200);

    // The first request after the jump: the old token has 4 h of 12 h left (< L/2).
    let eight_hours = 8 * 3600;
    clock.set_offset(eight_hours);
    let after = token();
    let now = common::now_epoch() + eight_hours;
    let issued = epoch(after["issued_at"].as_str().unwrap());
    let left = epoch(after["expires_at"].as_str().unwrap()) - now;
    assert!((now - issued).abs() <= 2, "issued at {issued}, daemon's now {now}: {after}");
    assert!(left >= lifetime / 2, "served with {left} s left");
    assert_ne!(after["token"], first["token"]);
    assert_eq!(slot()["refreshes"], 2);

    // No requests at all: another jump, and only the background loop can notice.
    clock.set_offset(2 * eight_hours);
    let jumped = Instant::now();
    let deadline = jumped + Duration::from_secs(60) + SLACK;
    loop {
        let status = slot();
        if status["refreshes"] == 3 {
            let issued = epoch(status["issued_at"].as_str().unwrap());
            let now = common::now_epoch() + 2 * eight_hours;
            assert!((now - issued).abs() <= 2, "{status}");
            break;
        }
        assert!(Instant::now() < deadline, "no refresh within one 60 s tick: {status}");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(slot()["served"], 2, "the refresh came from the loop, not from a request");
    eprintln!(
        "suspend: request after +8 h served a fresh token; without requests refreshed {:.1} s after the jump (tick cap 60 s)",
        jumped.elapsed().as_secs_f64()
    );
}

// =======================================================================================
// 4. Slow and hostile clients.

/// Hostile requests, each on its own connection: each must be answered 4xx or closed
/// within the header timeout.
fn hostile_requests(seed: u64) -> Vec<(&'static str, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let garbage: Vec<u8> = (0..4096).map(|_| rng.u8(..)).collect();
    let mut tls = vec![0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03];
    tls.extend((0..64).map(|_| rng.u8(..)));
    let headers = (0..100).fold(String::new(), |mut headers, i| {
        let _ = write!(headers, "X-{i}: y\r\n");
        headers
    });
    vec![
        ("request line of 20 KB", format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(20_000)).into_bytes()),
        ("one 16 KB header", format!("GET /v1/token HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n", "b".repeat(16_000)).into_bytes()),
        ("100 headers", format!("GET /v1/token HTTP/1.1\r\n{headers}\r\n").into_bytes()),
        ("declared 1 GB body", [&b"POST /v1/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n"[..], &[b'z'; 4096]].concat()),
        ("chunked body", [&b"POST /v1/refresh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"[..], &[b'z'; 4096]].concat()),
        ("5 KB body", [&b"POST /v1/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"[..], &[b'z'; 5000]].concat()),
        ("Content-Length and Transfer-Encoding", b"POST /v1/refresh HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n".to_vec()),
        ("absurd Content-Length", b"GET /v1/token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n".to_vec()),
        ("4 KB of random bytes", garbage),
        ("a TLS ClientHello", tls),
        ("an SSH banner", b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n".to_vec()),
        ("the HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec()),
        ("NUL in the request line", b"GET /v1/\0token HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("control byte in the method", b"G\x01T /v1/token HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("header without a colon", b"GET /v1/token HTTP/1.1\r\nHost x\r\n\r\n".to_vec()),
        ("10 KB of empty lines", b"\r\n".repeat(5000)),
        ("half a request line, then silence", b"GET /v1/tok".to_vec()),
        ("a head without its blank line, then silence", b"GET /v1/token HTTP/1.1\r\nHost: x\r\n".to_vec()),
    ]
}

/// 500 connections that send a partial request head and then one byte every ~0.5 s.
/// Returns, for each, how long after connecting the daemon closed it (`None`: never).
fn slowloris(
    socket: &Path,
    count: usize,
    limit: Duration,
) -> thread::JoinHandle<Vec<Option<Duration>>> {
    let mut conns: Vec<(UnixStream, Instant)> = (0..count)
        .map(|i| {
            let mut stream = UnixStream::connect(socket).expect("connect");
            let at = Instant::now();
            stream
                .write_all(
                    format!("GET /v1/token?slow={i} HTTP/1.1\r\nHost: localhost\r\n").as_bytes(),
                )
                .unwrap();
            stream.set_nonblocking(true).unwrap();
            (stream, at)
        })
        .collect();
    thread::spawn(move || {
        let trickle = b"X-Trickle: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        let mut closed: Vec<Option<Duration>> = vec![None; conns.len()];
        let mut sent = vec![0usize; conns.len()];
        let started = Instant::now();
        while closed.iter().any(Option::is_none) && started.elapsed() < limit {
            for (i, (stream, at)) in conns.iter_mut().enumerate() {
                if closed[i].is_some() {
                    continue;
                }
                // An answer, the end of the stream or an error: the daemon is done with it.
                let mut answer = [0u8; 256];
                let gone = !matches!(stream.read(&mut answer), Err(e) if e.kind() == ErrorKind::WouldBlock);
                let gone = gone || {
                    let next = trickle[sent[i] % trickle.len()];
                    match stream.write(&[next]) {
                        Ok(written) => {
                            sent[i] += written;
                            false
                        }
                        Err(e) => e.kind() != ErrorKind::WouldBlock,
                    }
                };
                if gone {
                    closed[i] = Some(at.elapsed());
                }
            }
            thread::sleep(Duration::from_millis(500));
        }
        closed
    })
}

/// Holds `count` connections that say nothing; returns them with when each was opened.
fn connect_storm(socket: &Path, count: usize) -> Vec<(UnixStream, Instant)> {
    (0..count)
        .map(|_| {
            let stream = UnixStream::connect(socket).expect("connect");
            stream.set_nonblocking(true).unwrap();
            (stream, Instant::now())
        })
        .collect()
}

/// Waits until the daemon has closed every stream (EOF or reset); returns how long after
/// its connect each was closed (`None`: still open at the deadline).
fn closed_times(streams: &mut [(UnixStream, Instant)], deadline: Instant) -> Vec<Option<Duration>> {
    let mut closed: Vec<Option<Duration>> = vec![None; streams.len()];
    loop {
        for (i, (stream, at)) in streams.iter_mut().enumerate() {
            if closed[i].is_none() {
                let mut byte = [0u8; 64];
                match stream.read(&mut byte) {
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    _ => closed[i] = Some(at.elapsed()),
                }
            }
        }
        if closed.iter().all(Option::is_some) || Instant::now() >= deadline {
            return closed;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Samples the daemon's RSS and descriptor count until told to stop; returns the peaks.
fn monitor(pid: u32, stop: Arc<AtomicBool>) -> thread::JoinHandle<(u64, usize)> {
    thread::spawn(move || {
        let (mut rss, mut fds) = (0, 0);
        while !stop.load(Ordering::Relaxed) {
            rss = rss.max(status_kb(pid, "VmRSS"));
            fds = fds.max(fd_count(pid));
            thread::sleep(Duration::from_millis(10));
        }
        (rss.max(status_kb(pid, "VmHWM")), fds)
    })
}

/// A well-behaved client: one token per connection, back to back with a 1 ms pause.
fn good_client(
    socket: PathBuf,
    stop: Arc<AtomicBool>,
) -> thread::JoinHandle<(Vec<Duration>, Vec<String>)> {
    thread::spawn(move || {
        let (mut latencies, mut failures) = (Vec::new(), Vec::new());
        while !stop.load(Ordering::Relaxed) {
            match timed_token(&socket) {
                Ok(latency) => latencies.push(latency),
                Err(failure) => failures.push(failure),
            }
            thread::sleep(Duration::from_millis(1));
        }
        (latencies, failures)
    })
}

#[test]
fn hostile_clients_are_cut_off_in_time_while_a_good_client_keeps_its_latency() {
    let _heavy = exclusive();
    raise_nofile(8192);
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let daemon = sandbox.daemon();
    let (pid, socket) = (daemon.pid(), sandbox.socket());

    // Warm up (the slot, code paths, allocator), including a taste of each attack.
    for _ in 0..300 {
        timed_token(&socket).unwrap();
    }
    let taste = connect_storm(&socket, 50);
    for (_, bytes) in hostile_requests(1).iter().take(15) {
        exchange(&socket, bytes, Duration::from_secs(1));
    }
    drop(taste);
    thread::sleep(Duration::from_millis(300));
    let (base_rss, base_fds) = (status_kb(pid, "VmRSS"), fd_count(pid));

    let stop = Arc::new(AtomicBool::new(false));
    let peaks = monitor(pid, Arc::clone(&stop));
    let good = good_client(socket.clone(), Arc::clone(&stop));
    thread::sleep(Duration::from_millis(200));

    // 5000 connections opened as fast as possible and held, saying nothing.
    let storm_started = Instant::now();
    let mut storm = connect_storm(&socket, 5000);
    let storm_took = storm_started.elapsed();
    // 500 slowloris: a partial head, then a byte at a time.
    let slow = slowloris(&socket, 500, HEADER_TIMEOUT + SLACK + Duration::from_secs(2));
    // Hostile requests, all at once.
    let hostile: Vec<_> = hostile_requests(seed())
        .into_iter()
        .map(|(name, bytes)| {
            let socket = socket.clone();
            thread::spawn(move || (name, exchange(&socket, &bytes, HEADER_TIMEOUT + SLACK)))
        })
        .collect();

    let storm_closed =
        closed_times(&mut storm, storm_started + storm_took + HEADER_TIMEOUT + SLACK);
    let slow_closed = slow.join().unwrap();
    let hostile: Vec<(&str, Answer)> = hostile.into_iter().map(|h| h.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let (latencies, failures) = good.join().unwrap();
    let (peak_rss, peak_fds) = peaks.join().unwrap();
    drop(storm);

    // Back to baseline once the attack is over.
    let settle = Instant::now() + Duration::from_secs(3);
    while fd_count(pid) > base_fds + 2 && Instant::now() < settle {
        thread::sleep(Duration::from_millis(50));
    }
    let (end_fds, end_rss) = (fd_count(pid), status_kb(pid, "VmRSS"));

    report_attack(&AttackFigures {
        latencies,
        failures,
        storm_took,
        storm_closed,
        slow_closed,
        hostile,
        rss: (base_rss, peak_rss, end_rss),
        fds: (base_fds, peak_fds, end_fds),
    });
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    let warnings = log.matches("connection limit reached").count();
    assert!((1..=5).contains(&warnings), "{warnings} pressure warnings: the log must not flood");
}

struct AttackFigures {
    latencies: Vec<Duration>,
    failures: Vec<String>,
    storm_took: Duration,
    storm_closed: Vec<Option<Duration>>,
    slow_closed: Vec<Option<Duration>>,
    hostile: Vec<(&'static str, Answer)>,
    /// Baseline, peak and end, in kB.
    rss: (u64, u64, u64),
    /// Baseline, peak and end.
    fds: (usize, usize, usize),
}

fn report_attack(figures: &AttackFigures) {
    let limit = HEADER_TIMEOUT + SLACK;
    let mut sorted = figures.latencies.clone();
    sorted.sort();
    assert!(figures.failures.is_empty(), "the good client failed: {:?}", figures.failures);
    assert!(sorted.len() >= 500, "only {} good requests", sorted.len());
    let (p50, p99, max) =
        (percentile(&sorted, 50), percentile(&sorted, 99), sorted[sorted.len() - 1]);
    eprintln!(
        "attack: good client {} requests, 0 failed, p50 {}, p99 {}, max {}",
        sorted.len(),
        ms(p50),
        ms(p99),
        ms(max)
    );
    for (name, closed) in [("storm", &figures.storm_closed), ("slowloris", &figures.slow_closed)] {
        let open = closed.iter().filter(|c| c.is_none()).count();
        assert_eq!(open, 0, "{open} {name} connections still open after {limit:?}");
        let times: Vec<Duration> = closed.iter().flatten().copied().collect();
        let latest = times.iter().max().copied().unwrap_or_default();
        let early = HEADER_TIMEOUT.saturating_sub(Duration::from_secs(1));
        let early = times.iter().filter(|t| **t < early).count();
        assert!(latest <= limit, "a {name} connection was closed only after {latest:?}");
        eprintln!(
            "attack: {} {name} connections all closed; {early} early (evicted or refused at the cap of {MAX_CONNECTIONS}), the rest at the {:?} timeout; latest {:.2} s",
            times.len(),
            HEADER_TIMEOUT,
            latest.as_secs_f64()
        );
    }
    eprintln!("attack: 5000 connects took {}", ms(figures.storm_took));
    for (name, answer) in &figures.hostile {
        match answer {
            Answer::Status(status, after) if (400..500).contains(status) => {
                eprintln!("attack: {name}: {status} after {}", ms(*after));
            }
            Answer::Closed(after) if *after <= limit => {
                eprintln!("attack: {name}: closed after {}", ms(*after));
            }
            other => panic!("{name}: {other:?} (want 4xx, or closed within {limit:?})"),
        }
    }
    let (base, peak, end) = figures.rss;
    let growth = peak.saturating_sub(base);
    eprintln!("attack: RSS {base} kB before, peak {peak} kB (+{growth} kB), {end} kB after");
    assert!(growth < 5 * 1024, "RSS grew by {growth} kB");
    let (base, peak, end) = figures.fds;
    eprintln!("attack: fds {base} before, peak {peak}, {end} after");
    assert!(peak <= base + MAX_CONNECTIONS + MAX_CONNECTIONS / 8 + 16, "{peak} descriptors");
    assert!(end <= base + 2, "{end} descriptors after the attack, {base} before");
    // A bound for a machine shared with other builds (it measures 1–3 ms alone; a starved
    // client would wait for the 10 s header timeout): the figure itself is printed above.
    assert!(p99 < Duration::from_millis(50), "p99 {} under attack", ms(p99));
}

// ---------------------------------------------------------------------------------------
// Clients that pipeline requests and never read their answers.

/// Token requests each flooding connection sends back to back, on one keep-alive connection.
const PIPELINED: usize = 200;
const KEEP_ALIVE_TOKEN_REQUEST: &[u8] =
    b"GET /v1/token HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n";

/// Opens `count` connections, each sending [`PIPELINED`] token requests (as much of them as
/// the socket takes) and never reading an answer. They go in waves of `count / 20`, 100 ms
/// apart, so the daemon's answers have filled the earlier ones' sockets by the time the
/// table is full. They stay open until dropped.
fn pipelining_flood(socket: &Path, count: usize) -> Vec<UnixStream> {
    let burst = KEEP_ALIVE_TOKEN_REQUEST.repeat(PIPELINED);
    let mut flood = Vec::with_capacity(count);
    for wave in (0..count).collect::<Vec<_>>().chunks(count.div_ceil(20)) {
        for _ in wave {
            let mut stream = UnixStream::connect(socket).expect("connect");
            stream.set_nonblocking(true).unwrap();
            let _ = stream.write(&burst);
            flood.push(stream);
        }
        thread::sleep(Duration::from_millis(100));
    }
    flood
}

/// One attempt of a well-behaved client: when it started and ended, and whether it got a token.
struct Attempt {
    started: Instant,
    ended: Instant,
    served: bool,
}

/// A well-behaved client trying for a token every 10 ms until told to stop.
fn persistent_client(socket: PathBuf, stop: Arc<AtomicBool>) -> thread::JoinHandle<Vec<Attempt>> {
    thread::spawn(move || {
        let mut attempts = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            let started = Instant::now();
            let served = timed_token(&socket).is_ok();
            attempts.push(Attempt { started, ended: Instant::now(), served });
            thread::sleep(Duration::from_millis(10));
        }
        attempts
    })
}

/// What a pipelining flood did to the daemon and to a good client.
struct FloodFigures {
    connections: usize,
    /// The daemon's connection table.
    cap: usize,
    /// How long opening the flood's connections (and sending their requests) took.
    flood_took: Duration,
    /// The longest stretch, from the flood's start to the end, without a served request.
    longest_unserved: Duration,
    /// From the end of the flood to the good client's first token.
    served_after: Duration,
    attempts: usize,
    refused: usize,
    /// From the end of the flood until the daemon's descriptors were back to baseline,
    /// while the flooding client still held every connection open.
    fds_back_after: Duration,
    /// Baseline, peak and end, in kB.
    rss: (u64, u64, u64),
    /// Baseline, peak and end.
    fds: (usize, usize, usize),
}

/// Runs a pipelining flood of `count` connections against the daemon at `socket` (whose
/// connection table holds `cap`), with a good client trying all along; the flood's
/// connections stay open throughout.
fn pipelining_attack(pid: u32, socket: &Path, count: usize, cap: usize) -> FloodFigures {
    for _ in 0..100 {
        timed_token(socket).unwrap();
    }
    thread::sleep(Duration::from_millis(200));
    let (base_rss, base_fds) = (status_kb(pid, "VmRSS"), fd_count(pid));
    let stop = Arc::new(AtomicBool::new(false));
    let peaks = monitor(pid, Arc::clone(&stop));
    let good = persistent_client(socket.to_path_buf(), Arc::clone(&stop));
    thread::sleep(Duration::from_millis(200));

    let started = Instant::now();
    let flood = pipelining_flood(socket, count);
    let flooded = Instant::now();
    // The daemon must let go of the flood by itself: its writes stall, and stalled writes
    // end the connection.
    let deadline = flooded + WRITE_TIMEOUT + CLOSE_TIMEOUT + SLACK * 2;
    while fd_count(pid) > base_fds + 2 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let fds_back_after = flooded.elapsed();
    let end_fds = fd_count(pid);
    // The good client keeps trying past the header timeout, when the table has closed
    // every connection that went quiet.
    thread::sleep((flooded + HEADER_TIMEOUT + SLACK).saturating_duration_since(Instant::now()));
    stop.store(true, Ordering::Relaxed);
    let attempts = good.join().unwrap();
    let (peak_rss, peak_fds) = peaks.join().unwrap();
    let end_rss = status_kb(pid, "VmRSS");
    let ended = Instant::now();
    drop(flood);

    let served: Vec<Instant> =
        attempts.iter().filter(|a| a.served && a.started >= started).map(|a| a.ended).collect();
    let longest_unserved = std::iter::once(started)
        .chain(served.iter().copied())
        .zip(served.iter().copied().chain(std::iter::once(ended)))
        .map(|(from, to)| to.saturating_duration_since(from))
        .max()
        .unwrap_or_default();
    let served_after = attempts
        .iter()
        .find(|a| a.served && a.started >= flooded)
        .map_or(Duration::MAX, |a| a.ended - flooded);
    FloodFigures {
        connections: count,
        cap,
        flood_took: flooded - started,
        longest_unserved,
        served_after,
        attempts: attempts.iter().filter(|a| a.started >= started).count(),
        refused: attempts.iter().filter(|a| !a.served && a.started >= started).count(),
        fds_back_after,
        rss: (base_rss, peak_rss, end_rss),
        fds: (base_fds, peak_fds, end_fds),
    }
}

/// Prints the figures of a pipelining flood and asserts what it must not break.
fn report_flood(label: &str, figures: &FloodFigures) {
    let (base_rss, peak_rss, end_rss) = figures.rss;
    let (base_fds, peak_fds, end_fds) = figures.fds;
    eprintln!(
        "pipelining ({label}): {} connections x {PIPELINED} requests, never read, opened in {:.2} s; good client: {} attempts, {} not served, longest stretch unserved {:.2} s, served {:.2} s after the flood",
        figures.connections,
        figures.flood_took.as_secs_f64(),
        figures.attempts,
        figures.refused,
        figures.longest_unserved.as_secs_f64(),
        figures.served_after.as_secs_f64(),
    );
    eprintln!(
        "pipelining ({label}): fds {base_fds} before, peak {peak_fds}, {end_fds} {:.2} s after the flood (its connections still open); RSS {base_rss} kB before, peak {peak_rss} kB (+{} kB), {end_rss} kB after",
        figures.fds_back_after.as_secs_f64(),
        peak_rss.saturating_sub(base_rss),
    );
    let reached = base_fds + figures.connections.min(figures.cap) / 2;
    assert!(peak_fds >= reached, "the flood never reached the daemon: {peak_fds} descriptors");
    let within = Duration::from_secs(5);
    assert!(
        figures.served_after <= within && figures.longest_unserved <= within,
        "the good client went {:.2} s unserved ({:.2} s after the flood)",
        figures.longest_unserved.as_secs_f64(),
        figures.served_after.as_secs_f64()
    );
    assert!(
        end_fds <= base_fds + 2,
        "{end_fds} descriptors {:.2} s after the flood, {base_fds} before",
        figures.fds_back_after.as_secs_f64()
    );
    assert!(peak_rss.saturating_sub(base_rss) < 64 * 1024, "RSS grew to {peak_rss} kB");
}

#[test]
fn pipelining_clients_that_never_read_cannot_lock_out_a_good_client() {
    let _heavy = exclusive();
    raise_nofile(8192);
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let daemon = sandbox.daemon();
    // More connections than the table holds: it must close connections stuck writing.
    let figures = pipelining_attack(
        daemon.pid(),
        &sandbox.socket(),
        MAX_CONNECTIONS + MAX_CONNECTIONS / 2,
        MAX_CONNECTIONS,
    );
    report_flood("2048-connection table", &figures);
}

#[test]
fn pipelining_clients_that_never_read_cannot_lock_out_a_good_client_under_ulimit_n_200() {
    let _heavy = exclusive();
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(sandbox.log_path()).unwrap();
    let child = sandbox
        .command("sh")
        .args(["-c", "ulimit -n 200 && exec \"$0\" daemon run -v", common::bedprov_bin()])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start the daemon");
    let daemon = common::Daemon { child: Some(child), socket: sandbox.socket() };
    daemon.wait_ready();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", daemon.pid())).unwrap();
    let open_files = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    assert_eq!(open_files.split_whitespace().nth(3), Some("200"), "{open_files}");
    // The table shrinks to fit: 200 less the descriptors kept for everything else.
    let figures = pipelining_attack(daemon.pid(), &sandbox.socket(), 400, 136);
    report_flood("ulimit -n 200", &figures);
}

// =======================================================================================
// 5. SIGKILL at random moments, 200 times.

/// A request the test client makes while a daemon may be killed under it.
#[derive(Debug, Clone)]
enum Call {
    Token { profile: Option<&'static str>, ttl: Option<String> },
    Refresh { profile: &'static str },
}

impl Call {
    fn run(&self, socket: &Path) -> Result<(), String> {
        let client = bedprov::wire::client::Client::new(socket, Duration::from_secs(10));
        match self {
            Self::Token { profile, ttl } => {
                let query = bedprov::wire::api::TokenQuery {
                    profile: profile.map(str::to_owned),
                    ttl: ttl.clone(),
                    ..Default::default()
                };
                let body = client.token(&query).map_err(|e| e.to_string())?;
                let decoded =
                    bedprov::token::decode(body.token.expose()).map_err(|e| e.to_string())?;
                if decoded.expires_at <= std::time::SystemTime::now() {
                    return Err("an expired token".into());
                }
                Ok(())
            }
            Self::Refresh { profile } => {
                let answer = client
                    .request("POST", &format!("/v1/refresh?profile={profile}"), "application/json")
                    .map_err(|e| e.to_string())?;
                if answer.status == 200 { Ok(()) } else { Err(format!("status {}", answer.status)) }
            }
        }
    }
}

fn spawn_daemon(sandbox: &Sandbox) -> Child {
    let log =
        std::fs::OpenOptions::new().create(true).append(true).open(sandbox.log_path()).unwrap();
    sandbox
        .bedprov(&["daemon", "run"])
        .stdout(Stdio::null())
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start the daemon")
}

/// Every file and directory under `root`, relative to it.
fn tree(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            found.insert(path.strip_prefix(root).unwrap().display().to_string());
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            }
        }
    }
    found
}

/// The calls in flight when the daemon is killed: none, tokens, a refresh that runs a slow
/// `credential_process`, or a crowd sharing one such refresh.
fn calls_for(action: u8, cycle: usize) -> Vec<Call> {
    match action {
        0 => vec![],
        1 => (0..3)
            .map(|i| Call::Token {
                profile: None,
                ttl: Some(format!("{}m", 15 + (cycle + i) % 60)),
            })
            .collect(),
        2 => vec![Call::Refresh { profile: "slow" }],
        _ => (0..10)
            .map(|_| Call::Token {
                profile: Some("slow"),
                ttl: Some(format!("{}m", 15 + cycle % 60)),
            })
            .collect(),
    }
}

/// What a start-up that did not serve in time left behind: the daemon's exit, the end of
/// its log, and every process holding one of the sandbox's files or sockets.
fn not_serving_report(child: &mut Child, sandbox: &Sandbox) -> String {
    let exited = child.try_wait().unwrap();
    let _ = child.kill();
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(8).collect();
    let sandbox_dir = sandbox.dir.path().display().to_string();
    let holders: Vec<String> = processes()
        .into_iter()
        .filter_map(|p| {
            let fds: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", p.pid))
                .ok()?
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|l| l.display().to_string())
                .filter(|l| l.starts_with(&sandbox_dir))
                .collect();
            (!fds.is_empty() || p.cmdline.contains(&sandbox_dir)).then(|| format!("{p:?} {fds:?}"))
        })
        .collect();
    format!("daemon exited: {exited:?}; log ends: {tail:#?}; processes: {holders:#?}")
}

/// Starts a daemon and waits until it serves a token; how long that took (at most 1 s).
fn start_serving(sandbox: &Sandbox, cycle: usize) -> (Child, Duration) {
    let spawned = Instant::now();
    let mut child = spawn_daemon(sandbox);
    let first = Call::Token { profile: None, ttl: None };
    while let Err(error) = first.run(&sandbox.socket()) {
        let alive = child.try_wait().unwrap().is_none();
        assert!(
            alive && spawned.elapsed() < Duration::from_secs(1),
            "cycle {cycle}: not serving after 1 s: {error}; {}",
            not_serving_report(&mut child, sandbox)
        );
        thread::sleep(Duration::from_millis(2));
    }
    (child, spawned.elapsed())
}

/// The client's side of the kill cycles: calls made while a daemon may die under them,
/// each failed one retried once against the next daemon.
#[derive(Default)]
struct RetryingClient {
    calls: usize,
    first_failures: usize,
    to_retry: Vec<Call>,
    retry_failures: Vec<String>,
}

impl RetryingClient {
    fn retry(&mut self, socket: &Path, when: &str) {
        for call in std::mem::take(&mut self.to_retry) {
            if let Err(error) = call.run(socket) {
                self.retry_failures.push(format!("{when}: {call:?}: {error}"));
            }
        }
    }

    fn start(
        calls: Vec<Call>,
        socket: &Path,
    ) -> Vec<thread::JoinHandle<(Call, Result<(), String>)>> {
        calls
            .into_iter()
            .map(|call| {
                let socket = socket.to_path_buf();
                thread::spawn(move || {
                    let result = call.run(&socket);
                    (call, result)
                })
            })
            .collect()
    }

    fn finish(&mut self, in_flight: Vec<thread::JoinHandle<(Call, Result<(), String>)>>) {
        for handle in in_flight {
            let (call, result) = handle.join().unwrap();
            self.calls += 1;
            if result.is_err() {
                self.first_failures += 1;
                self.to_retry.push(call);
            }
        }
    }
}

#[test]
fn sigkill_at_random_moments_200_times() {
    let _heavy = exclusive();
    let mut rng = fastrand::Rng::with_seed(seed());
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    // A credential_process that takes 50 ms: refreshes long enough to be killed mid-way.
    let slow = sandbox.script(
        "slow-creds.sh",
        &format!(r#"sleep 0.05; printf '{{"Version":1,"AccessKeyId":"{EXAMPLE_KEY_ID}","SecretAccessKey":"{EXAMPLE_SECRET}"}}'"#),
    );
    sandbox.write_config(&format!(
        "[profile slow]\ncredential_process = {}\nregion = us-west-2\n",
        slow.display()
    ));
    let socket = sandbox.socket();
    // Besides what is there now: the log, and the socket and lock the next start reuses.
    let leftovers = [
        "daemon-stderr.log",
        "run/bedprov",
        "run/bedprov/bedprov.sock",
        "run/bedprov/bedprov.sock.lock",
    ];
    let allowed: BTreeSet<String> =
        tree(sandbox.dir.path()).into_iter().chain(leftovers.map(String::from)).collect();
    let check_files = |when: &str| {
        let extra: Vec<String> = tree(sandbox.dir.path()).difference(&allowed).cloned().collect();
        assert!(extra.is_empty(), "{when}: files left behind: {extra:?}");
    };

    let (mut ready_times, mut early_kills, mut client) = (Vec::new(), 0, RetryingClient::default());
    for cycle in 0..200 {
        // Now and then the kill lands during start-up, before the socket may even exist.
        if rng.u8(..4) == 0 {
            let mut child = spawn_daemon(&sandbox);
            thread::sleep(Duration::from_micros(rng.u64(0..15_000)));
            child.kill().unwrap();
            child.wait().unwrap();
            early_kills += 1;
            check_files("after a kill during start-up");
        }
        let (mut child, ready) = start_serving(&sandbox, cycle);
        ready_times.push(ready);
        client.retry(&socket, &format!("cycle {cycle}"));
        let in_flight = RetryingClient::start(calls_for(rng.u8(..4), cycle), &socket);
        thread::sleep(Duration::from_micros(rng.u64(0..60_000)));
        child.kill().unwrap();
        child.wait().unwrap();
        client.finish(in_flight);
        check_files(&format!("cycle {cycle}"));
    }
    let mut last = common::Daemon { child: Some(spawn_daemon(&sandbox)), socket: socket.clone() };
    last.wait_ready();
    client.retry(&socket, "after the last cycle");
    last.signal("TERM");
    assert_eq!(last.wait(), Some(0));
    assert!(!socket.exists(), "a clean stop removes the socket");
    check_files("after the last stop");
    let orphans = wait_until_gone(Instant::now() + SLACK, |p| p.cmdline.contains("slow-creds.sh"));
    assert!(orphans.is_empty(), "credential processes left running: {orphans:?}");

    ready_times.sort();
    eprintln!(
        "sigkill: 200 cycles (+{early_kills} kills during start-up): restart to first token min {}, median {}, p99 {}, max {}",
        ms(ready_times[0]),
        ms(percentile(&ready_times, 50)),
        ms(percentile(&ready_times, 99)),
        ms(ready_times[ready_times.len() - 1])
    );
    eprintln!(
        "sigkill: {} calls in flight at kills, {} failed first, {} failed their one retry",
        client.calls,
        client.first_failures,
        client.retry_failures.len()
    );
    assert!(client.retry_failures.is_empty(), "{:#?}", client.retry_failures);
}

// =======================================================================================
// 6. The socket deleted or taken over under a running daemon.

/// Waits for the daemon process to exit; its exit code and how long it took.
fn wait_exit(daemon: &mut common::Daemon, limit: Duration) -> (i32, Duration) {
    let started = Instant::now();
    loop {
        if let Some(status) = daemon.child.as_mut().unwrap().try_wait().unwrap() {
            daemon.child = None;
            return (status.code().unwrap_or(-1), started.elapsed());
        }
        assert!(started.elapsed() < limit, "the daemon did not exit within {limit:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn socket_deleted_under_a_running_daemon_it_exits_and_a_successor_serves() {
    let _shared = shared();
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let mut first = sandbox.daemon();
    std::fs::remove_file(sandbox.socket()).unwrap();
    let deleted = Instant::now();
    // A successor started at once (the helper's autostart would do this) waits for the
    // first to let go of the lock, then serves.
    let second = sandbox.daemon();
    let serving = deleted.elapsed();
    let (code, _) = wait_exit(&mut first, SOCKET_CHECK + SLACK);
    let first_gone = deleted.elapsed();
    assert_eq!(code, 0);
    let health = second.client().get_json::<serde_json::Value>("/v1/health").unwrap();
    assert_eq!(health["pid"], second.pid());
    assert_eq!(run(&mut sandbox.helper(&["token"])).0, 0);
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(
        log.contains("the socket file was removed or replaced; exiting without touching it"),
        "{log}"
    );
    eprintln!(
        "socket deleted: the first daemon exited within {:.2} s; a successor started at once served {:.2} s after the deletion",
        first_gone.as_secs_f64(),
        serving.as_secs_f64()
    );
}

#[test]
fn runtime_dir_wiped_and_a_second_daemon_started_the_first_leaves_it_alone() {
    let _shared = shared();
    let sandbox = Sandbox::new();
    sandbox.static_default_profile();
    let inode =
        |path: &Path| std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap());
    // The first daemon checks its socket every 2 s; if it happens to check in the few
    // milliseconds before the second binds, there is nothing to prove: try again.
    for attempt in 1..=3 {
        let mut first = sandbox.daemon();
        // What logind does at logout: the whole runtime directory goes, lock file included.
        std::fs::remove_dir_all(sandbox.socket().parent().unwrap()).unwrap();
        let second = sandbox.daemon();
        let theirs = inode(&sandbox.socket());
        if first.child.as_mut().unwrap().try_wait().unwrap().is_some() {
            eprintln!("attempt {attempt}: the first daemon left before the second bound; again");
            continue;
        }
        let (code, exited) = wait_exit(&mut first, SOCKET_CHECK + SLACK);
        assert_eq!(code, 0);
        assert!(sandbox.socket().exists(), "the first daemon unlinked the new owner's socket");
        assert_eq!(inode(&sandbox.socket()), theirs);
        for _ in 0..3 {
            let health = second.client().get_json::<serde_json::Value>("/v1/health").unwrap();
            assert_eq!(health["pid"], second.pid());
            assert_eq!(run(&mut sandbox.helper(&["token"])).0, 0);
            thread::sleep(Duration::from_millis(100));
        }
        eprintln!(
            "socket taken over: the first daemon exited {:.2} s after the second bound; the second keeps serving",
            exited.as_secs_f64()
        );
        return;
    }
    panic!("the first daemon always left before the second bound");
}

// =======================================================================================
// 8. Memory hardening, seen from another process of the same (unprivileged) user.

/// Run as uid 65534: starts the daemon and a plain `sleep` as its children, waits for the
/// socket, then tries to read each one's environment and memory and to ptrace it.
const PROBE: &str = r#"
import ctypes, json, os, socket, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
PTRACE_ATTACH, PTRACE_DETACH = 16, 17
def probe(pid):
    seen = {}
    try:
        open(f"/proc/{pid}/environ", "rb").read()
        seen["environ"] = "read"
    except OSError as e:
        seen["environ"] = e.strerror
    try:
        with open(f"/proc/{pid}/mem", "rb"):
            seen["mem"] = "opened"
    except OSError as e:
        seen["mem"] = e.strerror
    if libc.ptrace(PTRACE_ATTACH, pid, None, None) == 0:
        os.waitpid(pid, 0)
        libc.ptrace(PTRACE_DETACH, pid, None, None)
        seen["ptrace"] = "attached"
    else:
        seen["ptrace"] = os.strerror(ctypes.get_errno())
    return seen
sock_path, cmd = sys.argv[1], sys.argv[2:]
daemon = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
control = subprocess.Popen(["sleep", "30"])
deadline = time.time() + 10
while True:
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock_path); s.close(); break
    except OSError:
        if time.time() > deadline: raise
        time.sleep(0.01)
print(json.dumps({"uid": os.getuid(), "daemon_pid": daemon.pid, "daemon": probe(daemon.pid), "control": probe(control.pid)}), flush=True)
sys.stdin.read()
daemon.terminate(); control.kill(); daemon.wait(); control.wait()
"#;

#[test]
fn hardening_no_core_dumps_and_a_same_uid_process_cannot_read_or_trace_the_daemon() {
    let _shared = shared();
    if !nix::unistd::getuid().is_root() {
        eprintln!(
            "SKIPPED: running the daemon as another, unprivileged uid needs root (CI runs as root)"
        );
        return;
    }
    let python = Path::new("/usr/bin/python3");
    assert!(python.exists(), "/usr/bin/python3 missing (Debian's python3 package)");
    let sandbox = Sandbox::new();
    // A home and runtime dir of its own for uid 65534, reachable through the sandbox.
    std::fs::set_permissions(sandbox.dir.path(), std::fs::Permissions::from_mode(0o711)).unwrap();
    let root = sandbox.dir.path().join("nobody");
    let (home, runtime) = (root.join("home"), root.join("run"));
    std::fs::create_dir_all(home.join(".aws")).unwrap();
    std::fs::create_dir_all(&runtime).unwrap();
    std::fs::write(
        home.join(".aws/credentials"),
        format!("[default]\naws_access_key_id = {EXAMPLE_KEY_ID}\naws_secret_access_key = {EXAMPLE_SECRET}\n"),
    )
    .unwrap();
    for path in tree(&root).iter().map(|p| root.join(p)).chain([root.clone()]) {
        std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    }
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
    let socket = runtime.join("bedprov/bedprov.sock");

    let mut command = sandbox.command("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(python)
        .args(["-c", PROBE])
        .arg(&socket)
        .args([common::bedprov_bin(), "daemon", "run"])
        .env("HOME", &home)
        .env("XDG_RUNTIME_DIR", &runtime)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    let mut probe = command.spawn().unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(probe.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let seen = json(&line);
    let daemon_pid = seen["daemon_pid"].as_u64().unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{daemon_pid}/limits")).unwrap();
    drop(probe.stdin.take());
    assert!(probe.wait().unwrap().success());

    eprintln!(
        "hardening: as uid {}: daemon {} / control (sleep) {}",
        seen["uid"], seen["daemon"], seen["control"]
    );
    let core = limits.lines().find(|l| l.starts_with("Max core file size")).unwrap();
    eprintln!("hardening: {core}");
    assert_eq!(core.split_whitespace().skip(4).take(2).collect::<Vec<_>>(), ["0", "0"], "{core}");
    assert_eq!(seen["uid"], 65534);
    // The control shows the same user can read and trace an ordinary process...
    assert_eq!(seen["control"]["environ"], "read", "{seen}");
    assert_eq!(seen["control"]["mem"], "opened", "{seen}");
    let ptrace_allowed = seen["control"]["ptrace"] == "attached";
    // ...but not the daemon.
    assert_ne!(seen["daemon"]["environ"], "read", "{seen}");
    assert_ne!(seen["daemon"]["mem"], "opened", "{seen}");
    if ptrace_allowed {
        assert_ne!(seen["daemon"]["ptrace"], "attached", "{seen}");
    } else {
        eprintln!(
            "hardening: ptrace is closed to this user altogether (Yama); environ and mem show it"
        );
    }
}

// =======================================================================================
// 9. credential_process programs that misbehave, run by the daemon.

/// Secrets the misbehaving programs print where they should not; none may surface.
const STDERR_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSTDERRSECRET";
const STDOUT_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSTDOUTSECRET";

/// The `credential_process` of each test profile.
fn misbehaving_profiles(sandbox: &Sandbox) -> String {
    let valid = format!(
        r#"{{"Version":1,"AccessKeyId":"{EXAMPLE_KEY_ID}","SecretAccessKey":"{EXAMPLE_SECRET}"}}"#
    );
    let programs = [
        // Hangs, with two children that hang too (all in the process group the daemon kills).
        ("hang", "sleep 3600 & sleep 3600 & wait".to_owned()),
        ("hang-impatient", "sleep 3600 & sleep 3600 & wait".to_owned()),
        ("garbage", format!("echo 'this is not JSON {STDOUT_SECRET}'")),
        (
            "version2",
            format!(
                r#"printf '{{"Version":2,"AccessKeyId":"{EXAMPLE_KEY_ID}","SecretAccessKey":"{STDOUT_SECRET}"}}'"#
            ),
        ),
        ("no-expiration", format!("printf '{valid}'")),
        ("stderr-fails", format!("echo 'token={STDERR_SECRET}' >&2; exit 3")),
        ("stderr-works", format!("echo 'debug: secret={STDERR_SECRET}' >&2; printf '{valid}'")),
    ];
    let mut config = String::new();
    for (profile, body) in programs {
        let script = sandbox.script(&format!("creds-{profile}.sh"), &body);
        let _ = write!(
            config,
            "[profile {profile}]\ncredential_process = {}\nregion = us-east-1\n",
            script.display()
        );
    }
    config
}

/// The process group of the daemon's running `credential_process` for `profile`, once it
/// has started (and every member seen).
fn credential_group(daemon_pid: u32, profile: &str) -> (u32, Vec<u32>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let all = processes();
        if let Some(leader) = all
            .iter()
            .find(|p| p.ppid == daemon_pid && p.cmdline.contains(&format!("creds-{profile}.sh")))
        {
            let members: Vec<u32> =
                all.iter().filter(|p| p.pgrp == leader.pid).map(|p| p.pid).collect();
            if members.len() >= 3 {
                return (leader.pid, members);
            }
        }
        assert!(Instant::now() < deadline, "the {profile} credential_process never started");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Asserts that within `limit` no process of the killed group is still running (a dead
/// orphan waits for init to reap it, as any orphan does) and the daemon has no zombie
/// child. Returns how many dead orphans were left for init.
fn assert_group_dead(daemon_pid: u32, group: u32, members: &[u32], limit: Duration) -> usize {
    let in_group = |p: &Proc| p.pgrp == group || members.contains(&p.pid);
    let running = wait_until_gone(Instant::now() + limit, |p| in_group(p) && p.state != 'Z');
    assert!(running.is_empty(), "still running (orphans): {running:?}");
    let all = processes();
    let zombies: Vec<&Proc> =
        all.iter().filter(|p| p.ppid == daemon_pid && p.state == 'Z').collect();
    assert!(zombies.is_empty(), "zombies under the daemon: {zombies:?}");
    all.iter().filter(|p| in_group(p)).count()
}

/// `bedprov-helper json --profile P`: exit code, stdout, stderr and how long it took.
fn helper_json(sandbox: &Sandbox, profile: &str) -> (i32, String, String, Duration) {
    let started = Instant::now();
    let (code, stdout, stderr) = run(&mut sandbox.helper(&["json", "--profile", profile]));
    (code, stdout, stderr, started.elapsed())
}

/// A daemon for the misbehaving profiles: a 2 s `credential_process` timeout, logging at
/// trace (the most a user can ask for).
fn misbehaving_daemon(sandbox: &Sandbox) -> common::Daemon {
    sandbox.write_config(&misbehaving_profiles(sandbox));
    sandbox.daemon_with(|command| {
        command.env("BEDPROV_CREDENTIAL_PROCESS_TIMEOUT", "2").env("RUST_LOG", "trace");
    })
}

fn slot_status(daemon: &common::Daemon, profile: &str) -> serde_json::Value {
    let status = daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap();
    let slots = status["slots"].as_array().unwrap();
    slots.iter().find(|s| s["profile"] == profile).cloned().unwrap()
}

#[test]
fn credential_process_that_hangs_is_killed_with_its_children_at_the_timeout() {
    let _shared = shared();
    let sandbox = Sandbox::new();
    let daemon = misbehaving_daemon(&sandbox);
    let (timeout, pid) = (Duration::from_secs(2), daemon.pid());

    // A helper asks; the daemon gives up at the timeout and kills the whole group.
    let (code, stdout, stderr, took, group, members) = thread::scope(|scope| {
        let asking = scope.spawn(|| helper_json(&sandbox, "hang"));
        let (group, members) = credential_group(pid, "hang");
        let (code, stdout, stderr, took) = asking.join().unwrap();
        (code, stdout, stderr, took, group, members)
    });
    assert_eq!(code, 7, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("did not finish within 2 s and was stopped") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert!(took >= timeout && took < timeout + SLACK, "answered after {took:?}");
    let for_init = assert_group_dead(pid, group, &members, Duration::from_secs(1));
    let hung = slot_status(&daemon, "hang");
    assert_eq!(hung["state"], "failed");
    assert_eq!(hung["last_error"]["code"], "credentials_failed");
    assert!(hung["last_error"]["hint"].as_str().unwrap().contains("credential_process"), "{hung}");
    eprintln!(
        "credential_process hung: error after {:.2} s (timeout 2 s); its group of {} processes killed, none running, no zombie under the daemon ({for_init} dead orphans were init's to reap)",
        took.as_secs_f64(),
        members.len()
    );

    // The client whose request started the refresh gives up after half a second: the
    // abandoned run still takes its children with it.
    let mut impatient = Command::new("curl")
        .args(["-sS", "--max-time", "0.5", "--unix-socket"])
        .arg(sandbox.socket())
        .arg("http://localhost/v1/token?profile=hang-impatient")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (group, members) = credential_group(pid, "hang-impatient");
    impatient.wait().unwrap();
    assert_group_dead(pid, group, &members, timeout + SLACK);
}

#[test]
fn credential_process_garbage_version2_no_expiration_and_stderr_secrets() {
    let _shared = shared();
    let sandbox = Sandbox::new();
    let daemon = misbehaving_daemon(&sandbox);
    for (profile, expected) in [
        ("garbage", "printed something that is not credential JSON"),
        ("version2", "printed Version 2; only Version 1 is defined"),
        ("stderr-fails", "exited with exit status: 3 (its stderr, "),
    ] {
        let (code, stdout, stderr, _) = helper_json(&sandbox, profile);
        assert_eq!(code, 7, "{profile}: {stderr}");
        assert!(stdout.is_empty());
        assert!(stderr.contains(expected) && stderr.contains("hint:"), "{profile}: {stderr}");
        let status = slot_status(&daemon, profile);
        assert_eq!(status["state"], "failed", "{status}");
        assert_eq!(status["last_error"]["code"], "credentials_failed", "{status}");
        assert!(status["last_error"]["message"].as_str().unwrap().contains(expected), "{status}");
        assert!(!status["last_error"]["hint"].as_str().unwrap().is_empty());
    }

    // No Expiration: long-term credentials, a normal 12 h token (stderr chatter or not).
    for profile in ["no-expiration", "stderr-works"] {
        let (code, stdout, stderr, _) = helper_json(&sandbox, profile);
        assert_eq!(code, 0, "{profile}: {stderr}");
        let body = json(&stdout);
        assert_eq!(body["ttl_seconds"], 43_200);
        let lifetime = epoch(body["expires_at"].as_str().unwrap())
            - epoch(body["issued_at"].as_str().unwrap());
        assert_eq!(lifetime, 43_200);
        assert!(body["credential_expires_at"].is_null(), "{body}");
    }

    // The secrets appear nowhere: not in the log (at trace), status, or error bodies.
    let (_, error_body, _) = run(Command::new("curl")
        .args(["-sS", "--unix-socket"])
        .arg(sandbox.socket())
        .arg("http://localhost/v1/token?profile=garbage"));
    assert!(
        error_body.contains("token_unavailable") && error_body.contains("not credential JSON"),
        "{error_body}"
    );
    let status = daemon.client().request("GET", "/v1/status", "application/json").unwrap();
    let log = std::fs::read_to_string(sandbox.log_path()).unwrap();
    assert!(log.contains("TRACE") || log.contains("DEBUG"), "the daemon logged at trace");
    for (name, text) in [
        ("log", log.as_str()),
        ("status", &String::from_utf8_lossy(&status.body)),
        ("error body", error_body.as_str()),
    ] {
        for secret in [STDERR_SECRET, STDOUT_SECRET, EXAMPLE_SECRET] {
            assert!(!text.contains(secret), "{secret} in the {name}");
        }
    }
}

// =======================================================================================
// 10. ~/.aws/config replaced by rename 100 times; ~/.aws deleted and recreated.

#[test]
fn config_replaced_100_times_and_aws_dir_recreated_each_picked_up_within_2s() {
    let _shared = shared();
    let sandbox = Sandbox::new();
    let creds = sandbox.script(
        "watch-creds.sh",
        &format!(r#"printf '{{"Version":1,"AccessKeyId":"{EXAMPLE_KEY_ID}","SecretAccessKey":"{EXAMPLE_SECRET}"}}'"#),
    );
    let aws = sandbox.home().join(".aws");
    let config = |region: &str| {
        format!("[profile w]\ncredential_process = {}\nregion = {region}\n", creds.display())
    };
    sandbox.write_config(&config("us-east-1"));
    let daemon = sandbox.daemon();
    assert_eq!(run(&mut sandbox.helper(&["json", "--profile", "w"])).0, 0);
    let region = || {
        daemon.client().get_json::<serde_json::Value>("/v1/status").unwrap()["slots"][0]["region"]
            .clone()
    };
    let picked_up = |want: &str| {
        let changed = Instant::now();
        while region() != want {
            assert!(changed.elapsed() < Duration::from_secs(2), "{want} not picked up within 2 s");
            thread::sleep(Duration::from_millis(10));
        }
        changed.elapsed()
    };
    // An editor's save: a temporary file renamed over the config.
    let save = |region: &str| {
        let temp = aws.join(".config.swp");
        std::fs::write(&temp, config(region)).unwrap();
        std::fs::rename(&temp, aws.join("config")).unwrap();
    };
    let regions = ["us-west-2", "eu-west-1", "ap-southeast-2", "us-east-1"];
    let mut times = Vec::new();
    for i in 0..100 {
        save(regions[i % regions.len()]);
        times.push(picked_up(regions[i % regions.len()]));
    }
    // ~/.aws deleted and recreated at once, then deleted, left alone, and recreated.
    let mut recreated = Vec::new();
    for (pause, region) in [(Duration::ZERO, "eu-central-1"), (Duration::from_secs(3), "sa-east-1")]
    {
        std::fs::remove_dir_all(&aws).unwrap();
        thread::sleep(pause);
        std::fs::create_dir(&aws).unwrap();
        std::fs::write(aws.join("config"), config(region)).unwrap();
        recreated.push(picked_up(region));
    }
    // The watch survived: the recreated directory is watched too.
    save("ca-central-1");
    recreated.push(picked_up("ca-central-1"));
    times.sort();
    eprintln!(
        "watch: 100 renames picked up in median {}, p99 {}, max {}; ~/.aws recreated at once {}, after a pause {}, then a rename {}",
        ms(percentile(&times, 50)),
        ms(percentile(&times, 99)),
        ms(times[times.len() - 1]),
        ms(recreated[0]),
        ms(recreated[1]),
        ms(recreated[2])
    );
}
