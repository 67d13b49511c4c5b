//! Thundering herd, through the daemon's routes: 1000 requests arrive together as the token
//! reaches its refresh point, with the background loop's pass racing them. Exactly one
//! refresh; every request gets a valid token or a 503, within 5 s; and with the source failing
//! at that moment, the old token (degraded) after one attempt, or 503s below the margin.

use super::routes;
use super::state::Daemon;
use crate::clock::{Clock as _, ManualClock};
use crate::creds::CredsError;
use crate::slot::tests::{FakeSource, start};
use crate::wire::api::{ErrorEnvelope, TokenBody};
use http_body_util::BodyExt as _;
use hyper::{Request, StatusCode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

const CLIENTS: usize = 1000;
/// Every client must have its answer within this.
const DEADLINE: Duration = Duration::from_secs(5);
/// How long the (fake) credential source takes: long enough for the whole herd to pile up.
const RESOLVE: Duration = Duration::from_millis(300);

struct Answer {
    status: StatusCode,
    body: bytes::Bytes,
    took: Duration,
}

fn daemon(source: &Arc<FakeSource>) -> Arc<Daemon> {
    Arc::new(Daemon::new(
        source.clone(),
        Arc::new(source.clock.clone()),
        PathBuf::from("/nonexistent/config.toml"),
        PathBuf::from("/nonexistent/bedprov.sock"),
    ))
}

/// The daemon with a 1 h token (L = 1 h: refresh point at +30 min, margin 10 min).
async fn warmed(clock: &ManualClock) -> (Arc<FakeSource>, Arc<Daemon>, TokenBody) {
    let source = FakeSource::with_delay(clock, None, RESOLVE);
    let daemon = daemon(&source);
    let (status, body) = get(&daemon).await;
    assert_eq!(status, StatusCode::OK);
    let first: TokenBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(source.calls(), 1);
    (source, daemon, first)
}

fn request() -> Request<http_body_util::Empty<bytes::Bytes>> {
    Request::get("/v1/token?ttl=1h").body(http_body_util::Empty::new()).unwrap()
}

async fn get(daemon: &Arc<Daemon>) -> (StatusCode, bytes::Bytes) {
    let (response, _) = routes::handle(daemon, request()).await;
    let status = response.status();
    (status, response.into_body().collect().await.unwrap().to_bytes())
}

/// Releases `CLIENTS` requests at once, and the background loop's pass with them.
async fn herd(daemon: &Arc<Daemon>) -> Vec<Answer> {
    let gate = Arc::new(tokio::sync::Barrier::new(CLIENTS + 1));
    let tasks: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let daemon = Arc::clone(daemon);
            let gate = Arc::clone(&gate);
            tokio::spawn(async move {
                gate.wait().await;
                let started = Instant::now();
                let (status, body) = get(&daemon).await;
                Answer { status, body, took: started.elapsed() }
            })
        })
        .collect();
    gate.wait().await;
    daemon.tick();
    let mut answers = Vec::with_capacity(CLIENTS);
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    daemon.settle().await;
    answers
}

/// A served token is what it claims and has at least `min_left` left at `now`.
fn assert_valid(body: &[u8], now: SystemTime, min_left: Duration) -> TokenBody {
    let token: TokenBody = serde_json::from_slice(body).unwrap();
    let decoded = crate::token::decode(token.token.expose()).unwrap();
    assert!(decoded.expires_at.duration_since(now).unwrap() >= min_left);
    assert!(decoded.issued_at <= now);
    token
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_at_the_refresh_point_the_herd_is_served_from_memory() {
    let clock = start();
    let (source, daemon, first) = warmed(&clock).await;
    clock.advance(Duration::from_secs(30 * 60));
    for answer in herd(&daemon).await {
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.took < DEADLINE, "{:?}", answer.took);
        let token = assert_valid(&answer.body, clock.now(), Duration::from_secs(30 * 60));
        assert_eq!(token.token, first.token, "a fresh token is served, not refreshed");
    }
    // The background pass is due at the refresh point: it (and only it) refreshes.
    assert_eq!(source.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn just_past_the_refresh_point_the_herd_shares_one_refresh() {
    let clock = start();
    let (source, daemon, first) = warmed(&clock).await;
    clock.advance(Duration::from_secs(30 * 60 + 1));
    let answers = herd(&daemon).await;
    assert_eq!(source.calls(), 2, "exactly one refresh for {CLIENTS} requests and the loop");
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.took < DEADLINE, "{:?}", answer.took);
        let token = assert_valid(&answer.body, clock.now(), Duration::from_secs(30 * 60));
        assert_ne!(token.token, first.token, "past the refresh point, only the new token");
    }
    let slowest = answers.iter().map(|a| a.took).max().unwrap();
    assert!(slowest >= RESOLVE / 2, "the herd waited for the refresh: {slowest:?}");
    assert_eq!(daemon.status().slots[0].refreshes, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_failing_at_the_refresh_point_gets_one_attempt_and_the_old_token() {
    let clock = start();
    let (source, daemon, first) = warmed(&clock).await;
    source
        .fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "sts down".into() }));
    clock.advance(Duration::from_secs(30 * 60 + 1));
    for answer in herd(&daemon).await {
        assert_eq!(answer.status, StatusCode::OK);
        assert!(answer.took < DEADLINE, "{:?}", answer.took);
        // Degraded: the old token, which still clears the 10 min margin.
        let token = assert_valid(&answer.body, clock.now(), Duration::from_secs(10 * 60));
        assert_eq!(token.token, first.token);
    }
    assert_eq!(source.calls(), 2, "one attempt; the rest wait for the backoff");
    assert_eq!(daemon.status().slots[0].state, crate::wire::api::SlotState::Degraded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_source_failing_below_the_margin_gets_one_attempt_and_503s() {
    let clock = start();
    let (source, daemon, _) = warmed(&clock).await;
    source
        .fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "sts down".into() }));
    // 9 min left of 1 h: below the 10 min margin.
    clock.advance(Duration::from_secs(51 * 60));
    for answer in herd(&daemon).await {
        assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(answer.took < DEADLINE, "{:?}", answer.took);
        let error: ErrorEnvelope = serde_json::from_slice(&answer.body).unwrap();
        assert!(error.error.message.contains("sts down"), "{}", error.error.message);
        assert!(!error.error.hint.is_empty());
    }
    assert_eq!(source.calls(), 2, "one attempt; the rest wait for the backoff");
}
