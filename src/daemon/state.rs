//! The daemon's shared state: its slots (created on first request, bounded, dropped after a
//! day idle unless declared in the config, and at once when the shell credentials they hold
//! expire), the background refresh loop, and the answers the routes need. No HTTP here.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::creds::Target;
use crate::render::time::rfc3339;
use crate::slot::{CredentialSource, Served, Slot, SlotKey};
use crate::ttl::Ttl;
use crate::wire::api::{ErrorBody, ErrorCode, RefreshBody, StatusBody, TokenQuery, TokenRequest};
use crate::wire::aws_env::AwsEnv;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

/// The most slots one daemon keeps (each is one profile/region/TTL).
pub const MAX_SLOTS: usize = 32;
/// Slots unused this long are dropped (config slots never are).
pub const IDLE_LIMIT: Duration = Duration::from_secs(24 * 3600);
/// The background loop wakes at least this often: timers stop during suspend, so the loop
/// must look at the wall clock again soon after the machine wakes.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);

#[derive(Debug)]
pub struct Daemon {
    slots: RwLock<HashMap<SlotKey, Arc<Slot>>>,
    source: Arc<dyn CredentialSource>,
    clock: SharedClock,
    config_path: PathBuf,
    pub socket: PathBuf,
    started_at: SystemTime,
    /// The daemon's own AWS environment: what a request that sends none (curl) gets.
    environment: AwsEnv,
    /// Wakes the background loop early (new slot, files changed, config reloaded).
    pub wake: tokio::sync::Notify,
}

impl Daemon {
    #[must_use]
    pub fn new(
        source: Arc<dyn CredentialSource>,
        clock: SharedClock,
        config_path: PathBuf,
        socket: PathBuf,
    ) -> Self {
        let started_at = clock.now();
        Self {
            slots: RwLock::new(HashMap::new()),
            source,
            clock,
            config_path,
            socket,
            started_at,
            environment: AwsEnv::default(),
            wake: tokio::sync::Notify::new(),
        }
    }

    /// Uses `environment` for requests that send none (by default: a shell with no AWS
    /// variables).
    #[must_use]
    pub fn with_environment(mut self, environment: AwsEnv) -> Self {
        self.environment = environment;
        self
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        let slots = self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut list: Vec<Arc<Slot>> = slots.values().cloned().collect();
        list.sort_by(|a, b| a.key().cmp(b.key()));
        list
    }

    /// The slot key for a request: its fields applied to its environment, or to the
    /// daemon's own when it sends none. Bad input is a 400; credentials that cannot sign
    /// (partial, or past their stated expiry) are refused before any slot is made for them.
    pub fn key_for(&self, request: &TokenRequest) -> Result<SlotKey, ErrorBody> {
        let environment = request.environment.as_ref().unwrap_or(&self.environment);
        let target =
            Target::new(request.profile.as_deref(), request.region.as_deref(), environment)
                .map_err(|e| e.to_body())?;
        let ttl = request
            .ttl
            .as_deref()
            .map(Ttl::parse)
            .transpose()
            .map_err(|e| crate::Error::from(e).to_body())?
            .unwrap_or_default();
        if let Some(credentials) = target.credentials.signing() {
            credentials
                .check_expiry(self.clock.now())
                .map_err(|e| crate::Error::from(e).to_body())?;
        }
        Ok(SlotKey::new(target, ttl))
    }

    /// The slot for `key`, created if new (up to [`MAX_SLOTS`]).
    pub fn slot(&self, key: SlotKey) -> Result<Arc<Slot>, ErrorBody> {
        if let Some(slot) =
            self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(&key)
        {
            return Ok(Arc::clone(slot));
        }
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(&key) {
            return Ok(Arc::clone(slot));
        }
        if slots.len() >= MAX_SLOTS {
            return Err(ErrorBody {
                code: ErrorCode::TooManySlots,
                message: format!("the daemon already keeps {MAX_SLOTS} tokens (profile/region/TTL combinations)"),
                hint: "reuse an existing combination (see `bedprov status`), or restart the daemon to clear unused ones".into(),
            });
        }
        tracing::info!(slot = %key, "new slot");
        let slot =
            Arc::new(Slot::new(key.clone(), Arc::clone(&self.source), Arc::clone(&self.clock)));
        slots.insert(key, Arc::clone(&slot));
        Ok(slot)
    }

    /// `GET /v1/token` (a query, answered with the daemon's own environment) and
    /// `POST /v1/token` (a request with the client's).
    pub async fn token(&self, request: &TokenRequest) -> Result<Arc<Served>, ErrorBody> {
        let slot = self.slot(self.key_for(request)?)?;
        slot.get().await.map_err(|e| e.0)
    }

    /// `GET /v1/status`.
    #[must_use]
    pub fn status(&self) -> StatusBody {
        StatusBody {
            api_version: crate::wire::api::API_VERSION,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: std::process::id(),
            socket: self.socket.display().to_string(),
            started_at: rfc3339(self.started_at),
            slots: self.slots().iter().map(|s| s.status()).collect(),
        }
    }

    /// `POST /v1/refresh`: one slot (by query) or all, ignoring backoff.
    pub async fn refresh(&self, query: Option<&TokenQuery>) -> Result<RefreshBody, ErrorBody> {
        let targets = match query {
            Some(query) => vec![self.slot(self.key_for(&TokenRequest::from(query.clone()))?)?],
            None => self.slots(),
        };
        let results = futures_util::future::join_all(targets.iter().map(|s| s.refresh(true))).await;
        let refreshed = results.iter().filter(|ok| **ok).count();
        Ok(RefreshBody {
            refreshed,
            failed: results.len() - refreshed,
            slots: targets.iter().map(|s| s.status()).collect(),
        })
    }

    /// Reads the config file and pins (and warms) the slots it declares. Slots no longer
    /// declared are unpinned and age out normally.
    pub fn reload_config(&self) -> crate::Result<usize> {
        let keys = Config::load(&self.config_path)?.slot_keys(&self.environment)?;
        for slot in self.slots() {
            slot.set_pinned(false);
        }
        for key in &keys {
            self.slot(key.clone())
                .map_err(|e| crate::Error::usage(e.message, e.hint))?
                .set_pinned(true);
        }
        self.wake.notify_one();
        Ok(keys.len())
    }

    /// Credentials may have changed (a file under `~/.aws`): retry failing slots at once and
    /// re-resolve the others on the next pass.
    pub fn files_changed(&self) {
        for slot in self.slots() {
            slot.credentials_changed();
        }
        self.wake.notify_one();
    }

    /// One pass of the background loop: refresh what is due, drop what is idle. Returns how
    /// long to sleep before the next pass.
    pub async fn tick(&self) -> Duration {
        let now = self.clock.now();
        let due: Vec<Arc<Slot>> = self.slots().into_iter().filter(|s| s.due(now)).collect();
        futures_util::future::join_all(due.iter().map(|s| s.refresh(false))).await;
        self.drop_idle(self.clock.now());
        let now = self.clock.now();
        self.slots()
            .iter()
            .filter_map(|s| s.next_wake())
            .map(|at| at.duration_since(now).unwrap_or_default())
            .min()
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP))
            .max(Duration::from_millis(100))
    }

    fn drop_idle(&self, now: SystemTime) {
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.retain(|key, slot| {
            if key.expired(now) {
                tracing::info!(slot = %key, "dropping a slot whose environment credentials expired");
                return false;
            }
            let idle = now.duration_since(slot.last_used()).unwrap_or_default();
            let keep = slot.pinned() || idle < IDLE_LIMIT;
            if !keep {
                tracing::info!(slot = %key, "dropping a slot unused for a day");
            }
            keep
        });
    }

    /// The background loop: runs until the task is dropped.
    pub async fn refresh_loop(self: Arc<Self>) {
        loop {
            let sleep = self.tick().await;
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                () = self.wake.notified() => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock as _;
    use crate::slot::tests::{FakeSource, start};

    fn daemon(source: &Arc<FakeSource>) -> Daemon {
        Daemon::new(
            source.clone(),
            Arc::new(source.clock.clone()),
            PathBuf::from("/nonexistent/config.toml"),
            PathBuf::from("/tmp/x.sock"),
        )
    }

    #[tokio::test]
    async fn background_pass_refreshes_after_a_suspend_without_requests() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let daemon = daemon(&source);
        daemon.token(&TokenRequest::default()).await.unwrap();
        assert_eq!(
            daemon.tick().await,
            MAX_SLEEP,
            "a 12 h token wants nothing for 6 h: sleep the cap"
        );
        clock.advance(Duration::from_secs(8 * 3600));
        daemon.tick().await;
        assert_eq!(source.calls(), 2, "one pass after waking refreshes the token");
        let status = daemon.status();
        assert_eq!(status.slots[0].issued_at.as_deref(), Some(rfc3339(clock.now()).as_str()));
    }

    #[tokio::test]
    async fn slots_are_bounded_and_idle_ones_dropped() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let daemon = daemon(&source);
        for minutes in 0..MAX_SLOTS {
            let request =
                TokenRequest { ttl: Some(format!("{}m", 15 + minutes)), ..TokenRequest::default() };
            daemon.token(&request).await.unwrap();
        }
        let one_more = TokenRequest { ttl: Some("3h".into()), ..TokenRequest::default() };
        assert_eq!(daemon.token(&one_more).await.unwrap_err().code, ErrorCode::TooManySlots);
        clock.advance(IDLE_LIMIT + Duration::from_secs(1));
        daemon.tick().await;
        assert!(daemon.status().slots.is_empty());
        assert!(daemon.token(&one_more).await.is_ok());
    }

    fn shell_with_credentials(expiration: Option<String>) -> TokenRequest {
        TokenRequest {
            environment: Some(AwsEnv {
                access_key_id: Some("ASIAIOSFODNN7EXAMPLE".into()),
                secret_access_key: Some(crate::wire::Secret::new("secret".into())),
                session_token: Some(crate::wire::Secret::new("token".into())),
                credential_expiration: expiration,
                ..AwsEnv::default()
            }),
            ..TokenRequest::default()
        }
    }

    #[tokio::test]
    async fn a_slot_for_shell_credentials_goes_when_they_expire() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let daemon = daemon(&source);
        let expires = rfc3339(clock.now() + Duration::from_secs(1800));
        let shell = shell_with_credentials(Some(expires));
        daemon.token(&shell).await.unwrap();
        daemon.token(&TokenRequest::default()).await.unwrap();
        let status = daemon.status();
        assert_eq!(status.slots.len(), 2);
        assert!(
            status.slots.iter().any(|s| s.access_key_id.as_deref() == Some("ASIAIOSFODNN7EXAMPLE"))
        );
        clock.advance(Duration::from_secs(1800));
        daemon.tick().await;
        assert_eq!(daemon.status().slots.len(), 1, "dropped once its credentials expired");
        let refused = daemon.token(&shell).await.unwrap_err();
        assert_eq!(refused.code, ErrorCode::CredentialsFailed);
        assert!(refused.message.contains("expired at"), "{}", refused.message);
        assert_eq!(daemon.status().slots.len(), 1, "no slot is made for dead credentials");
    }

    #[tokio::test]
    async fn requests_that_mean_the_same_share_a_slot() {
        let clock = start();
        let daemon = daemon(&FakeSource::new(&clock, None));
        let named =
            |env: AwsEnv| TokenRequest { environment: Some(env), ..TokenRequest::default() };
        // A plain shell and curl's GET; AWS_PROFILE=dev and --profile dev.
        daemon.token(&TokenRequest::default()).await.unwrap();
        daemon.token(&named(AwsEnv::default())).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 1);
        let dev = AwsEnv { profile: Some("dev".into()), ..AwsEnv::default() };
        daemon.token(&named(dev)).await.unwrap();
        let flag = TokenRequest { profile: Some("dev".into()), ..TokenRequest::default() };
        daemon.token(&flag).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 2);
        // The shell's own credentials: a slot of their own.
        daemon.token(&shell_with_credentials(None)).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 3);
    }

    #[tokio::test]
    async fn bad_queries_are_refused_with_a_hint() {
        let clock = start();
        let daemon = daemon(&FakeSource::new(&clock, None));
        let err = daemon
            .token(&TokenRequest { ttl: Some("2d".into()), ..TokenRequest::default() })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.hint.contains("90min"));
        let err = daemon
            .token(&TokenRequest { region: Some("moon".into()), ..TokenRequest::default() })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
    }
}
