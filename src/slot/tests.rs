//! Slot behaviour against a fake credential source and a manual clock: single flight,
//! wall-clock jumps, short credentials, failures, backoff, retirement and the status states.

use super::*;
use crate::clock::{Clock as _, ManualClock};
use crate::creds::{CredsError, ProfileSource};
use crate::region::RegionSource;
use aws_credential_types::Credentials;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, UNIX_EPOCH};

/// Hands out credentials that expire `lifetime` after the (manual) clock's now, or fails.
#[derive(Debug)]
pub(crate) struct FakeSource {
    pub clock: ManualClock,
    pub lifetime: Mutex<Option<Duration>>,
    pub failure: Mutex<Option<CredsError>>,
    pub calls: AtomicU64,
    /// Real (tokio) time a resolve takes: lets concurrent requests pile up. Zero: no await.
    pub delay: Duration,
    /// Wall-clock time a resolve takes: the manual clock moves by this after the credentials
    /// are issued (a slow STS call, or a suspend in the middle of a refresh).
    pub wall_time: Mutex<Duration>,
    /// The profiles the fake files define; `None`: the source cannot tell.
    pub profiles: Mutex<Option<Vec<String>>>,
    /// A profile whose resolve never answers (a hung `credential_process`).
    pub hangs: Mutex<Option<String>>,
}

impl FakeSource {
    pub(crate) fn new(clock: &ManualClock, lifetime: Option<Duration>) -> Arc<Self> {
        Self::with_delay(clock, lifetime, Duration::from_millis(20))
    }

    pub(crate) fn with_delay(
        clock: &ManualClock,
        lifetime: Option<Duration>,
        delay: Duration,
    ) -> Arc<Self> {
        Arc::new(Self {
            clock: clock.clone(),
            lifetime: Mutex::new(lifetime),
            failure: Mutex::new(None),
            calls: AtomicU64::new(0),
            delay,
            wall_time: Mutex::new(Duration::ZERO),
            profiles: Mutex::new(None),
            hangs: Mutex::new(None),
        })
    }

    pub(crate) fn define_profiles(&self, names: &[&str]) {
        *self.profiles.lock().unwrap() = Some(names.iter().map(|n| (*n).to_owned()).collect());
    }

    pub(crate) fn fail_with(&self, error: Option<CredsError>) {
        *self.failure.lock().unwrap() = error;
    }

    pub(crate) fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }
}

impl CredentialSource for FakeSource {
    fn resolve<'a>(&'a self, key: &'a SlotKey) -> BoxFuture<'a, crate::Result<Resolved>> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if key.profile.is_some() && *self.hangs.lock().unwrap() == key.profile {
                std::future::pending::<()>().await;
            }
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if let Some(error) = self.failure.lock().unwrap().clone() {
                return Err(error.into());
            }
            let expiry = self.lifetime.lock().unwrap().map(|l| self.clock.now() + l);
            self.clock.advance(*self.wall_time.lock().unwrap());
            Ok(Resolved {
                credentials: Credentials::new(
                    "ASIAIOSFODNN7EXAMPLE",
                    "secret",
                    Some("EXAMPLEtoken".into()),
                    expiry,
                    "fake",
                ),
                credential_source: crate::wire::api::CredentialSource::StaticKeys,
                profile: ProfileSelection { name: "test".into(), source: ProfileSource::Flag },
                region: Region::parse("us-east-1").unwrap(),
                region_source: RegionSource::Flag,
            })
        })
    }

    fn profiles<'a>(
        &'a self,
        _files: &'a crate::creds::ProfileFiles,
    ) -> BoxFuture<'a, crate::Result<Option<Vec<String>>>> {
        Box::pin(async { Ok(self.profiles.lock().unwrap().clone()) })
    }
}

pub(crate) fn start() -> ManualClock {
    ManualClock::new(UNIX_EPOCH + Duration::from_secs(1_795_686_211))
}

pub(crate) fn slot(clock: &ManualClock, source: &Arc<FakeSource>, ttl: &str) -> Arc<Slot> {
    let key = SlotKey {
        profile: Some("test".into()),
        ttl: Ttl::parse(ttl).unwrap(),
        ..SlotKey::default()
    };
    Arc::new(Slot::new(key, source.clone(), Arc::new(clock.clone())))
}

#[tokio::test]
async fn serves_from_memory_until_half_life() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let first = slot.get().await.unwrap();
    assert_eq!(source.calls(), 1);
    clock.advance(Duration::from_secs(6 * 3600));
    let same = slot.get().await.unwrap();
    assert!(Arc::ptr_eq(&first, &same), "exactly at half-life the token is still fresh");
    assert_eq!(source.calls(), 1);
    clock.advance(Duration::from_secs(1));
    let next = slot.get().await.unwrap();
    assert!(!Arc::ptr_eq(&first, &next));
    assert_eq!(source.calls(), 2);
    assert_eq!(slot.status().served, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_requests_share_one_refresh() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let tasks: Vec<_> = (0..1000)
        .map(|_| {
            tokio::spawn({
                let slot = slot.clone();
                async move { slot.get().await.map(|s| s.lifetime) }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(source.calls(), 1);
    assert_eq!(slot.status().refreshes, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_background_pass_does_not_repeat_a_refresh_a_request_just_made() {
    let clock = start();
    let source = FakeSource::with_delay(&clock, None, Duration::from_millis(200));
    let slot = slot(&clock, &source, "1h");
    slot.get().await.unwrap();
    clock.advance(Duration::from_secs(30 * 60 + 1));
    // A request finds the token stale and refreshes it (holding the gate for 200 ms)...
    let request = tokio::spawn({
        let slot = slot.clone();
        async move { slot.get().await.map(|s| s.lifetime) }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // ...while the background loop, which saw the slot due, queues behind it.
    assert!(slot.due(clock.now()));
    assert!(!slot.refresh(false).await, "the request's refresh made this one moot");
    assert_eq!(request.await.unwrap().unwrap().issued_at, clock.now());
    assert_eq!(source.calls(), 2);
    // `/v1/refresh` still forces one.
    assert!(slot.refresh(true).await);
    assert_eq!(source.calls(), 3);
}

#[tokio::test]
async fn a_wall_clock_jump_never_yields_an_expired_token() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let before = slot.get().await.unwrap();
    // Suspend for 8 hours: monotonic timers did not run, the wall clock moved.
    clock.advance(Duration::from_secs(8 * 3600));
    let after = slot.get().await.unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(after.lifetime.issued_at, clock.now());
    // And a jump past expiry with the source down: an error, never the dead token.
    source.fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "offline".into() }));
    clock.advance(Duration::from_secs(13 * 3600));
    let err = slot.get().await.unwrap_err();
    assert_eq!(err.0.code, ErrorCode::TokenUnavailable);
    assert!(err.0.message.contains("offline"));
}

#[tokio::test]
async fn a_clock_set_back_gets_a_token_aws_accepts() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let before = slot.get().await.unwrap();
    // An NTP correction of a few seconds changes nothing.
    clock.set(clock.now() - Duration::from_secs(5));
    assert!(Arc::ptr_eq(&before, &slot.get().await.unwrap()));
    assert!(!slot.due(clock.now()));
    // A clock that was an hour fast is corrected: the token's X-Amz-Date is now an hour in the
    // future, which AWS refuses. The background loop and requests both replace it.
    clock.set(clock.now() - Duration::from_secs(3600));
    assert!(slot.due(clock.now()));
    let after = slot.get().await.unwrap();
    assert!(!Arc::ptr_eq(&before, &after));
    assert_eq!(after.lifetime.issued_at, clock.now());
    // With the source down, the future-dated token is refused, not served.
    source.fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "offline".into() }));
    clock.set(clock.now() - Duration::from_secs(3600));
    assert_eq!(slot.get().await.unwrap_err().0.code, ErrorCode::TokenUnavailable);
}

#[tokio::test]
async fn short_lived_credentials_are_renewed_before_half_life_and_never_outlived() {
    let clock = start();
    let source = FakeSource::new(&clock, Some(Duration::from_secs(120)));
    let slot = slot(&clock, &source, "12h");
    for _ in 0..600 {
        let now = clock.now();
        let served = slot.get().await.unwrap();
        assert!(served.lifetime.remaining(now) >= served.lifetime.min_remaining());
        assert!(served.token.expires_at() <= served.token.credential_expires_at().unwrap());
        clock.advance(Duration::from_secs(7));
    }
    // 600 requests over 70 minutes with 2-minute credentials: a refresh each minute or so.
    assert!((60..=80).contains(&source.calls()), "{} refreshes", source.calls());
}

#[tokio::test]
async fn credentials_about_to_expire_are_not_taken_for_longer_lived() {
    // 79 ms of credentials, minted at .237 s: X-Amz-Date says .000, but the token has 79 ms,
    // not 316 ms, of life. Measured from X-Amz-Date, those 79 ms looked like a quarter of the
    // window (just at the margin, served); measured from the mint, the token is worth 79 ms.
    let clock = ManualClock::new(UNIX_EPOCH + Duration::from_millis(1_500_000_000_237));
    let source = FakeSource::new(&clock, Some(Duration::from_millis(79)));
    let slot = slot(&clock, &source, "15m");
    let served = slot.get().await.unwrap();
    assert_eq!(served.lifetime.issued_at, clock.now());
    assert_eq!(served.lifetime.full(), Duration::from_millis(79));
    assert_eq!(served.token.issued_at(), UNIX_EPOCH + Duration::from_secs(1_500_000_000));
    assert!(served.lifetime.remaining(clock.now()) >= served.lifetime.min_remaining());
}

#[tokio::test]
async fn failures_degrade_then_refuse_below_the_margin() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "1h");
    let token = slot.get().await.unwrap();
    source.fail_with(Some(CredsError::NeedsLogin {
        profile: "test".into(),
        login: crate::creds::Login::Sso { profile: "test".into() },
    }));
    // Past half-life: a refresh is tried, fails, and the old token is still served.
    clock.advance(Duration::from_secs(40 * 60));
    let degraded = slot.get().await.unwrap();
    assert!(Arc::ptr_eq(&token, &degraded));
    let status = slot.status();
    assert_eq!(status.state, SlotState::Degraded);
    assert_eq!(status.last_error.as_ref().unwrap().code, ErrorCode::NeedsLogin);
    // Within the margin (min(10 min, 15 min) = 10 min): refused, with the login hint.
    clock.advance(Duration::from_secs(11 * 60));
    let err = slot.get().await.unwrap_err();
    assert_eq!(err.0.code, ErrorCode::NeedsLogin);
    assert!(err.0.hint.contains("aws sso login --profile test"));
    assert_eq!(slot.status().state, SlotState::NeedsLogin);
}

#[tokio::test]
async fn backoff_stops_a_request_storm_from_hammering_a_failing_source() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    source
        .fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "sts down".into() }));
    let slot = slot(&clock, &source, "12h");
    for _ in 0..50 {
        assert!(slot.get().await.is_err());
    }
    assert_eq!(source.calls(), 1, "retries wait for the backoff");
    assert_eq!(slot.status().state, SlotState::Failed);
    clock.advance(Duration::from_secs(2));
    source.fail_with(None);
    assert!(slot.get().await.is_ok());
    assert_eq!(source.calls(), 2);
    assert_eq!(slot.status().state, SlotState::Fresh);
}

#[tokio::test]
async fn a_credentials_change_lets_a_login_take_effect_at_once() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    source.fail_with(Some(CredsError::NeedsLogin {
        profile: "test".into(),
        login: crate::creds::Login::Sso { profile: "test".into() },
    }));
    let slot = slot(&clock, &source, "12h");
    assert!(slot.get().await.is_err());
    assert!(!slot.due(clock.now()), "needs-login waits 15 minutes");
    source.fail_with(None);
    slot.credentials_changed();
    assert!(slot.due(clock.now()));
    assert!(slot.refresh(false).await);
    assert_eq!(slot.status().state, SlotState::Fresh);
}

#[tokio::test]
async fn debug_output_of_a_slot_never_shows_the_token() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let served = slot.get().await.unwrap();
    let secret = &served.token.expose_secret()["bedrock-api-key-".len()..];
    for shown in [format!("{slot:?}"), format!("{served:#?}")] {
        assert!(!shown.contains(&secret[..32]), "{shown}");
        assert!(shown.contains("redacted"));
    }
}

#[tokio::test]
async fn a_degraded_slot_is_retried_with_backoff_and_status_shows_when() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    let token = slot.get().await.unwrap();
    let half_life = token.lifetime.refresh_at();
    source
        .fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "sts down".into() }));
    // A forced refresh (or a change under ~/.aws) fails while the token is fresh.
    assert!(!slot.refresh(true).await);
    let status = slot.status();
    assert_eq!(status.state, SlotState::Degraded);
    assert!(status.last_error.as_ref().unwrap().message.contains("sts down"));
    let mut retries = 0;
    let mut previous_wait = Duration::ZERO;
    for _ in 0..5 {
        let next = slot.next_wake().unwrap();
        assert!(next < half_life, "retried at the backoff, not at the half-life");
        assert_eq!(
            slot.status().refresh_at,
            Some(rfc3339(next)),
            "status shows the real next attempt"
        );
        let wait = next.duration_since(clock.now()).unwrap();
        assert!(wait > previous_wait, "the backoff grows: {wait:?} after {previous_wait:?}");
        previous_wait = wait;
        assert!(!slot.due(clock.now()));
        clock.set(next);
        assert!(slot.due(clock.now()), "due when its backoff ends");
        assert!(!slot.refresh(false).await);
        retries += 1;
        assert!(Arc::ptr_eq(&token, &slot.get().await.unwrap()), "the old token is still served");
    }
    assert_eq!(source.calls(), 2 + retries);
    // The source recovers: the next retry makes it fresh, and the plan is the half-life again.
    source.fail_with(None);
    clock.set(slot.next_wake().unwrap());
    assert!(slot.refresh(false).await);
    let status = slot.status();
    assert_eq!(status.state, SlotState::Fresh);
    assert!(status.last_error.is_none());
    let fresh = slot.get().await.unwrap();
    assert_eq!(status.refresh_at, Some(rfc3339(fresh.lifetime.refresh_at())));
}

#[tokio::test]
async fn status_never_shows_a_planned_attempt_in_the_past() {
    let clock = start();
    let source = FakeSource::new(&clock, Some(Duration::from_secs(3600)));
    let slot = slot(&clock, &source, "1h");
    slot.get().await.unwrap();
    source
        .fail_with(Some(CredsError::Failed { profile: "test".into(), detail: "sts down".into() }));
    // The loop is late (busy, or the machine slept): the plan shows as now, not as the past.
    clock.advance(Duration::from_secs(40 * 60));
    let shown = slot.status().refresh_at.unwrap();
    assert_eq!(shown, rfc3339(clock.now()));
    assert!(slot.due(clock.now()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forced_refreshes_queued_behind_one_share_the_next() {
    let clock = start();
    let source = FakeSource::with_delay(&clock, None, Duration::from_millis(200));
    let slot = slot(&clock, &source, "12h");
    let running = tokio::spawn({
        let slot = slot.clone();
        async move { slot.refresh(true).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(slot.refreshing());
    assert!(slot.status().refreshing);
    // Five more `bedprov daemon refresh` while it runs: one attempt after it serves them all.
    let queued: Vec<_> = (0..5)
        .map(|_| {
            tokio::spawn({
                let slot = slot.clone();
                async move { slot.refresh(true).await }
            })
        })
        .collect();
    assert!(running.await.unwrap());
    for task in queued {
        assert!(task.await.unwrap());
    }
    assert_eq!(source.calls(), 2);
    assert!(!slot.refreshing());
}

#[tokio::test]
async fn a_retired_slot_drops_its_token_plans_nothing_and_comes_back() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    slot.get().await.unwrap();
    let error = crate::Error::from(CredsError::UnknownProfile {
        profile: "test".into(),
        known: vec!["other".into()],
    })
    .to_body();
    slot.retire(error.clone());
    let status = slot.status();
    assert_eq!(status.state, SlotState::Failed);
    assert!(status.expires_at.is_none() && status.refresh_at.is_none(), "{status:?}");
    assert_eq!(status.last_error, Some(error));
    assert!(slot.retired() && slot.failing(clock.now()));
    assert!(!slot.due(clock.now()) && slot.next_wake().is_none());
    clock.advance(Duration::from_secs(7 * 3600));
    assert!(!slot.due(clock.now()), "nothing to retry until the profile is back");
    slot.reinstate();
    assert!(slot.due(clock.now()));
    assert!(slot.refresh(false).await);
    assert_eq!(slot.status().state, SlotState::Fresh);
    assert!(!slot.retired());
}

#[tokio::test]
async fn a_profile_the_source_no_longer_knows_retires_the_slot_and_says_so_plainly() {
    let clock = start();
    let source = FakeSource::new(&clock, None);
    let slot = slot(&clock, &source, "12h");
    slot.get().await.unwrap();
    source.fail_with(Some(CredsError::UnknownProfile {
        profile: "test".into(),
        known: vec!["a".into(), "b".into()],
    }));
    assert!(!slot.refresh(true).await);
    assert!(slot.retired());
    let err = slot.get().await.unwrap_err().0;
    assert_eq!(err.code, ErrorCode::UnknownProfile);
    assert!(err.message.starts_with("AWS profile `test` is not defined"), "{}", err.message);
    assert_eq!(err.hint, "profiles found: a, b; pass one with --profile or set AWS_PROFILE");
}
