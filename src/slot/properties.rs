//! The lifetime policy's promises, checked over 10 000 random histories: a slot driven by the
//! fake credential source and a manual clock through random TTLs, credential lifetimes, start
//! times, clock jumps (forward and back), slow refreshes and failure patterns.
//!
//! After every served token:
//! - it has at least the safety margin left, and is not expired;
//! - it outlives neither its credentials nor its signed `X-Amz-Expires` (≤ 12 h), read back
//!   from the token's own bytes;
//! - it has at least `min_remaining` left, unless the last refresh failed (degraded).
//!
//! When the background loop finds the slot not due, its next attempt (what the loop sleeps
//! until and `status` shows) lies ahead.
//!
//! And the other way round, so a slot that refuses everything cannot pass: with a healthy
//! source, no backoff pending and credentials that outlive the refresh, a request is served a
//! fresh token; a request that finds a fresh token does not call the source.

use super::tests::FakeSource;
use super::*;
use crate::clock::{Clock as _, ManualClock};
use crate::creds::CredsError;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::time::{Duration, UNIX_EPOCH};

/// Random histories run: 10 000, enough that rare interleavings of suspend, failure and
/// refresh come up on every run.
const CASES: u32 = 10_000;
const TWELVE_HOURS: Duration = Duration::from_secs(12 * 3600);
use policy::FUTURE_TOLERANCE;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ok,
    /// A transient failure: exponential backoff.
    Failed,
    /// An expired SSO session: slow retries.
    NeedsLogin,
}

#[derive(Debug, Clone)]
enum Step {
    /// A client asks for a token.
    Get,
    /// The wall clock moves forward: time passing, or a suspend.
    Advance(Duration),
    /// The wall clock moves back (an NTP correction).
    Rewind(Duration),
    /// The clock jumps to the current token's refresh point, ± milliseconds.
    ToRefreshPoint(i64),
    /// The clock jumps to where the current token reaches the margin, ± milliseconds.
    ToMarginEdge(i64),
    /// A background loop pass: refresh if due.
    Tick,
    /// `POST /v1/refresh`: refresh now, ignoring the backoff.
    ForceRefresh,
    /// A change under `~/.aws`: backoff cleared, refresh due.
    FilesChanged,
    /// The credential source recovers or starts failing.
    Source(Health),
    /// The source's credentials now live this long (`None`: long-term keys).
    CredentialLifetime(Option<Duration>),
    /// Resolving now takes this much wall-clock time.
    ResolveTakes(Duration),
}

#[derive(Debug, Clone)]
struct History {
    ttl: Ttl,
    start: SystemTime,
    lifetime: Option<Duration>,
    steps: Vec<Step>,
}

// Histories are generated as flat (selector, number) pairs and decoded into steps: in a
// debug build that is twenty times faster than nested strategies, and shrinking still works
// (fewer steps, smaller numbers, selector 0 = the plainest step).

/// A forward jump: mostly seconds to minutes, sometimes a suspend of up to 36 h.
fn jump(n: u32) -> Duration {
    let n = u64::from(n);
    match n % 9 {
        0..=3 => Duration::from_millis(n / 9 % 120_001),
        4..=6 => Duration::from_secs(n / 9 % 3601),
        _ => Duration::from_secs(n / 9 % (36 * 3600 + 1)),
    }
}

/// Long-term keys, or credentials living from a millisecond to 36 h.
fn credential_lifetime(n: u32) -> Option<Duration> {
    let n = u64::from(n);
    match n % 8 {
        0 | 1 => None,
        2 | 3 => Some(Duration::from_millis(1 + n / 8 % 600_000)),
        4..=6 => Some(Duration::from_secs(600 + n / 8 % (4 * 3600))),
        _ => Some(Duration::from_secs(4 * 3600 + n / 8 % (32 * 3600))),
    }
}

/// Milliseconds in -3000..=3000.
fn around(n: u32) -> i64 {
    i64::from(n % 6001) - 3000
}

/// The step for a selector in 0..100 (its weight is its share of the range).
fn step(selector: u16, n: u32) -> Step {
    match selector {
        0..=29 => Step::Get,
        30..=44 => Step::Advance(jump(n)),
        45..=48 => Step::Rewind(Duration::from_secs(u64::from(n % (3 * 3600 + 1)))),
        49..=55 => Step::ToRefreshPoint(around(n)),
        56..=62 => Step::ToMarginEdge(around(n)),
        63..=70 => Step::Tick,
        71..=74 => Step::ForceRefresh,
        75..=78 => Step::FilesChanged,
        79..=89 => Step::Source(match n % 3 {
            0 => Health::Ok,
            1 => Health::Failed,
            _ => Health::NeedsLogin,
        }),
        90..=94 => Step::CredentialLifetime(credential_lifetime(n)),
        _ => Step::ResolveTakes(Duration::from_millis(u64::from(n % 30_001))),
    }
}

fn history() -> impl Strategy<Value = History> {
    (
        900u64..=43_200,
        1_500_000_000_000u64..=2_100_000_000_000,
        any::<u32>(),
        prop::collection::vec((0u16..100, any::<u32>()), 1..40),
    )
        .prop_map(|(ttl, millis, lifetime, steps)| History {
            ttl: Ttl::new(Duration::from_secs(ttl)).expect("in range"),
            start: UNIX_EPOCH + Duration::from_millis(millis),
            lifetime: credential_lifetime(lifetime),
            steps: steps.into_iter().map(|(selector, n)| step(selector, n)).collect(),
        })
}

/// What the run exercised, so a generator that never reaches a path fails the test.
#[derive(Debug, Default)]
struct Tally {
    fresh: u64,
    degraded: u64,
    refused: u64,
    refreshes: u64,
    capped_by_credentials: u64,
    rewinds_past_issue: u64,
}

fn failure(health: Health) -> Option<CredsError> {
    match health {
        Health::Ok => None,
        Health::Failed => {
            Some(CredsError::Failed { profile: "test".into(), detail: "sts unreachable".into() })
        }
        Health::NeedsLogin => Some(CredsError::NeedsLogin {
            profile: "test".into(),
            login: crate::creds::Login::Sso { profile: "test".into() },
        }),
    }
}

fn offset(base: SystemTime, millis: i64) -> SystemTime {
    let delta = Duration::from_millis(millis.unsigned_abs());
    if millis < 0 { base - delta } else { base + delta }
}

/// Runs one history, checking every answer.
async fn run(history: &History, tally: &mut Tally) -> Result<(), TestCaseError> {
    let clock = ManualClock::new(history.start);
    let source = FakeSource::with_delay(&clock, history.lifetime, Duration::ZERO);
    let key = SlotKey { profile: Some("test".into()), ttl: history.ttl, ..SlotKey::default() };
    let slot = Slot::new(key, source.clone(), Arc::new(clock.clone()));
    let mut health = Health::Ok;
    let current = |slot: &Slot| slot.state().current.clone();

    for step in &history.steps {
        match *step {
            Step::Get => get(&slot, &source, &clock, health, history.ttl, tally).await?,
            Step::Advance(by) => clock.advance(by),
            Step::Rewind(by) => {
                clock.set(clock.now() - by);
                if current(&slot).is_some_and(|c| c.lifetime.issued_at > clock.now()) {
                    tally.rewinds_past_issue += 1;
                }
            }
            Step::ToRefreshPoint(millis) => {
                if let Some(c) = current(&slot) {
                    clock.set(offset(c.lifetime.refresh_at(), millis));
                }
            }
            Step::ToMarginEdge(millis) => {
                if let Some(c) = current(&slot) {
                    clock.set(offset(c.lifetime.expires_at - c.lifetime.margin(), millis));
                }
            }
            Step::Tick => {
                let now = clock.now();
                if slot.due(now) {
                    slot.refresh(false).await;
                } else {
                    // What the loop sleeps until, and what `status` shows, is a real attempt
                    // to come.
                    let next = slot.next_wake();
                    prop_assert!(
                        next.is_some_and(|at| at > now),
                        "not due, yet the next attempt is {:?} (now {:?})",
                        next,
                        now
                    );
                    let shown = slot.status().refresh_at;
                    prop_assert_eq!(shown, next.map(crate::timefmt::rfc3339));
                }
            }
            Step::ForceRefresh => {
                slot.refresh(true).await;
            }
            Step::FilesChanged => {
                slot.credentials_changed();
            }
            Step::Source(next) => {
                health = next;
                source.fail_with(failure(next));
            }
            Step::CredentialLifetime(lifetime) => *source.lifetime.lock().unwrap() = lifetime,
            Step::ResolveTakes(took) => *source.wall_time.lock().unwrap() = took,
        }
    }
    tally.refreshes += slot.state().refreshes;
    Ok(())
}

/// One request, and every promise about its answer.
async fn get(
    slot: &Slot,
    source: &FakeSource,
    clock: &ManualClock,
    health: Health,
    ttl: Ttl,
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let before = clock.now();
    let was_fresh = slot
        .state()
        .current
        .as_ref()
        .is_some_and(|c| c.lifetime.assess(before) == Freshness::Fresh);
    let backing_off = slot.state().retry_at.is_some_and(|at| before < at);
    let lifetime = *source.lifetime.lock().unwrap();
    let wall_time = *source.wall_time.lock().unwrap();
    let calls = source.calls();

    let answer = slot.get().await;
    let now = clock.now();

    if was_fresh {
        prop_assert_eq!(source.calls(), calls, "a fresh token was refreshed anyway");
    }
    // Credentials that outlive the refresh by 2 s give a token of L ≥ 2 s: fresh when minted,
    // whatever the sub-second part of the clock.
    let serviceable = lifetime.is_none_or(|l| l >= wall_time + Duration::from_secs(2));
    if health == Health::Ok && !backing_off && serviceable {
        prop_assert!(answer.is_ok(), "healthy source, no backoff, yet refused: {:?}", answer);
    }
    let served = match answer {
        Ok(served) => served,
        Err(ServeError(body)) => {
            prop_assert!(
                matches!(
                    body.code,
                    ErrorCode::TokenUnavailable
                        | ErrorCode::NeedsLogin
                        | ErrorCode::CredentialsFailed
                ),
                "unexpected error code {:?}",
                body.code
            );
            tally.refused += 1;
            return Ok(());
        }
    };

    let life = served.lifetime;
    let remaining = life.remaining(now);
    prop_assert!(!remaining.is_zero(), "served an expired token");
    prop_assert!(
        remaining >= life.margin(),
        "served with {:?} left, below the margin {:?}",
        remaining,
        life.margin()
    );
    // The window the slot believes in is the token's own.
    let token = &served.token;
    prop_assert_eq!(life.expires_at, token.expires_at());
    prop_assert!(life.issued_at >= token.issued_at());
    prop_assert!(life.issued_at < token.issued_at() + Duration::from_secs(1));
    if let Some(credentials) = token.credential_expires_at() {
        prop_assert!(life.expires_at <= credentials, "outlives its credentials");
        if life.expires_at < life.issued_at + ttl.as_duration() {
            tally.capped_by_credentials += 1;
        }
    }
    // What AWS will check: the signed date and X-Amz-Expires, read back from the bytes.
    let signed = crate::token::decode(token.expose_secret())
        .map_err(|e| TestCaseError::fail(format!("served token does not decode: {e}")))?;
    prop_assert_eq!(signed.issued_at, token.issued_at());
    prop_assert_eq!(signed.ttl, ttl.as_duration());
    prop_assert!(signed.ttl <= TWELVE_HOURS);
    prop_assert!(life.expires_at <= signed.expires_at, "outlives its signature");
    prop_assert!(
        remaining <= TWELVE_HOURS + FUTURE_TOLERANCE,
        "served with {:?} left: more than 12 h",
        remaining
    );
    prop_assert!(
        life.issued_at <= now + FUTURE_TOLERANCE,
        "served a token signed {:?} in the future, which AWS refuses",
        life.issued_at.duration_since(now).unwrap_or_default()
    );

    if remaining >= life.min_remaining() {
        tally.fresh += 1;
    } else {
        prop_assert!(
            slot.state().last_error.is_some(),
            "served with {:?} left, below min_remaining {:?}, though the last refresh did not fail",
            remaining,
            life.min_remaining()
        );
        tally.degraded += 1;
    }
    Ok(())
}

#[test]
fn served_tokens_keep_the_lifetime_promises_over_random_histories() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        // Failures print their minimal history; nothing is written next to the sources.
        failure_persistence: None,
        ..Config::default()
    });
    let tally = std::cell::RefCell::new(Tally::default());
    let started = std::time::Instant::now();
    let result =
        runner.run(&history(), |history| runtime.block_on(run(&history, &mut tally.borrow_mut())));
    if let Err(error) = result {
        panic!("{error}");
    }
    let tally = tally.into_inner();
    eprintln!("{CASES} histories in {:?}: {tally:?}", started.elapsed());
    // Each promise was actually put to the test.
    assert!(tally.fresh > 10_000, "{tally:?}");
    assert!(tally.degraded > 100, "{tally:?}");
    assert!(tally.refused > 1000, "{tally:?}");
    assert!(tally.capped_by_credentials > 1000, "{tally:?}");
    assert!(tally.rewinds_past_issue > 100, "{tally:?}");
}
