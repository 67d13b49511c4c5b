//! The daemon's shared state: its slots (created on first request, bounded, dropped after a
//! day idle unless declared in the config), the background refresh loop, and the answers
//! the routes need. No HTTP here.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::creds::chain::Plan;
use crate::creds::mfa::RoleSession;
use crate::creds::profiles::Profiles;
use crate::region::Region;
use crate::render::time::rfc3339;
use crate::slot::{CredentialSource, Served, Slot, SlotKey};
use crate::ttl::Ttl;
use crate::wire::api::{ErrorBody, ErrorCode, RefreshBody, StatusBody, TokenQuery};
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
            wake: tokio::sync::Notify::new(),
        }
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        let slots = self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut list: Vec<Arc<Slot>> = slots.values().cloned().collect();
        list.sort_by(|a, b| a.key().cmp(b.key()));
        list
    }

    /// Parses a token query into a slot key (400 on bad input).
    pub fn key_for(query: &TokenQuery) -> Result<SlotKey, ErrorBody> {
        let bad = |e: crate::Error| e.to_body();
        Ok(SlotKey {
            profile: query.profile.clone(),
            region: query
                .region
                .as_deref()
                .map(Region::parse)
                .transpose()
                .map_err(|e| bad(e.into()))?,
            ttl: query
                .ttl
                .as_deref()
                .map(Ttl::parse)
                .transpose()
                .map_err(|e| bad(e.into()))?
                .unwrap_or_default(),
        })
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

    /// `GET /v1/token`.
    pub async fn token(&self, query: &TokenQuery) -> Result<Arc<Served>, ErrorBody> {
        let slot = self.slot(Self::key_for(query)?)?;
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
            Some(query) => vec![self.slot(Self::key_for(query)?)?],
            None => self.slots(),
        };
        Ok(Self::refresh_now(&targets).await)
    }

    async fn refresh_now(targets: &[Arc<Slot>]) -> RefreshBody {
        let results = futures_util::future::join_all(targets.iter().map(|s| s.refresh(true))).await;
        let refreshed = results.iter().filter(|ok| **ok).count();
        RefreshBody {
            refreshed,
            failed: results.len() - refreshed,
            slots: targets.iter().map(|s| s.status()).collect(),
        }
    }

    /// Takes the role session `bedprov login --profile P` obtained with an MFA code (for the
    /// profile of P's chain that names the `mfa_serial`) and refreshes at once the slots whose
    /// chain passes through that profile. Their tokens are then signed from it until it
    /// expires; after that they report `needs_login`, naming `bedprov login --profile P`.
    /// The socket request that carries a session from `bedprov login` calls this.
    pub async fn accept_role_session(
        &self,
        session: RoleSession,
    ) -> Result<RefreshBody, ErrorBody> {
        let profiles = Profiles::load().await.ok();
        self.take_role_session(session, profiles.as_ref()).await
    }

    /// [`Self::accept_role_session`] with the profile files given (`None`: unreadable, so
    /// every slot is refreshed rather than one missed).
    async fn take_role_session(
        &self,
        session: RoleSession,
        profiles: Option<&Profiles>,
    ) -> Result<RefreshBody, ErrorBody> {
        let profile = session.profile.clone();
        if session.expires_at().is_some_and(|at| at <= self.clock.now()) {
            return Err(ErrorBody {
                code: ErrorCode::BadRequest,
                message: format!("the role session for profile `{profile}` has already expired"),
                hint: format!("run `bedprov login --profile {profile}` again"),
            });
        }
        if !self.source.accept_role_session(session) {
            return Err(ErrorBody {
                code: ErrorCode::Internal,
                message: "this daemon's credential source takes no role sessions".into(),
                hint: "restart the daemon (`bedprov daemon stop`, then `bedprov daemon start`)"
                    .into(),
            });
        }
        tracing::info!(profile, "took a role session from bedprov login");
        let targets: Vec<Arc<Slot>> = self
            .slots()
            .into_iter()
            .filter(|slot| {
                profiles.is_none_or(|profiles| {
                    Plan::for_profile(profiles, &slot.key().selection().name)
                        .ok()
                        .flatten()
                        .is_some_and(|plan| plan.passes_through(&profile))
                })
            })
            .collect();
        Ok(Self::refresh_now(&targets).await)
    }

    /// Reads the config file and pins (and warms) the slots it declares. Slots no longer
    /// declared are unpinned and age out normally.
    pub fn reload_config(&self) -> crate::Result<usize> {
        let keys = Config::load(&self.config_path)?.slot_keys()?;
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
    use crate::wire::api::SlotState;

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
        daemon.token(&TokenQuery::default()).await.unwrap();
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
            let query =
                TokenQuery { ttl: Some(format!("{}m", 15 + minutes)), ..TokenQuery::default() };
            daemon.token(&query).await.unwrap();
        }
        let one_more = TokenQuery { ttl: Some("3h".into()), ..TokenQuery::default() };
        assert_eq!(daemon.token(&one_more).await.unwrap_err().code, ErrorCode::TooManySlots);
        clock.advance(IDLE_LIMIT + Duration::from_secs(1));
        daemon.tick().await;
        assert!(daemon.status().slots.is_empty());
        assert!(daemon.token(&one_more).await.is_ok());
    }

    /// Resolves every profile from the MFA session of profile `admin`, as the real source
    /// does for a chain through it.
    #[derive(Debug)]
    struct SessionSource {
        clock: crate::clock::ManualClock,
        sessions: crate::creds::mfa::RoleSessions,
    }

    const ADMIN_ROLE: &str = "arn:aws:iam::123456789012:role/admin";
    const SERIAL: &str = "arn:aws:iam::123456789012:mfa/me";

    impl CredentialSource for SessionSource {
        fn resolve<'a>(
            &'a self,
            key: &'a SlotKey,
        ) -> crate::slot::BoxFuture<'a, crate::Result<crate::creds::Resolved>> {
            Box::pin(async move {
                let asked = key.selection();
                let credentials = self.sessions.credentials(
                    "admin",
                    ADMIN_ROLE,
                    SERIAL,
                    &asked.name,
                    self.clock.now(),
                )?;
                Ok(crate::creds::Resolved {
                    credentials,
                    profile: asked,
                    region: Region::parse("us-east-1").unwrap(),
                    region_source: crate::region::RegionSource::Flag,
                })
            })
        }

        fn accept_role_session(&self, session: RoleSession) -> bool {
            self.sessions.insert(session);
            true
        }
    }

    #[tokio::test]
    async fn an_mfa_session_is_served_until_it_expires_then_login_is_named_again() {
        let clock = start();
        let source = Arc::new(SessionSource {
            clock: clock.clone(),
            sessions: crate::creds::mfa::RoleSessions::default(),
        });
        let daemon = Daemon::new(
            source,
            Arc::new(clock.clone()),
            PathBuf::from("/nonexistent/config.toml"),
            PathBuf::from("/tmp/x.sock"),
        );
        let profiles = Profiles::parse(
            &format!(
                "[profile work]\nrole_arn = arn:aws:iam::123456789012:role/work\nsource_profile = admin\n\
                 [profile admin]\nrole_arn = {ADMIN_ROLE}\nsource_profile = keys\nmfa_serial = {SERIAL}\n\
                 [profile keys]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n\
                 [profile other]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n"
            ),
            "",
        )
        .await;
        let work = TokenQuery { profile: Some("work".into()), ..TokenQuery::default() };
        let other = TokenQuery { profile: Some("other".into()), ..TokenQuery::default() };
        let err = daemon.token(&work).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::NeedsLogin);
        assert!(err.hint.contains("`bedprov login --profile work`"), "{}", err.hint);
        assert!(daemon.token(&other).await.is_err());
        assert_eq!(daemon.status().slots[1].state, SlotState::NeedsLogin);

        let session = |lifetime: u64| RoleSession {
            profile: "admin".into(),
            role_arn: ADMIN_ROLE.into(),
            mfa_serial: SERIAL.into(),
            credentials: aws_credential_types::Credentials::new(
                "ASIAEXAMPLE",
                "secret",
                Some("token".into()),
                Some(clock.now() + Duration::from_secs(lifetime)),
                "test",
            ),
        };
        let taken = daemon.take_role_session(session(12 * 3600), Some(&profiles)).await.unwrap();
        assert_eq!((taken.refreshed, taken.failed), (1, 0), "only the slot that uses it");
        assert_eq!(taken.slots[0].profile, "work");
        let served = daemon.token(&work).await.unwrap();
        assert_eq!(served.lifetime.full(), Duration::from_secs(12 * 3600));

        clock.advance(Duration::from_secs(12 * 3600 + 1));
        daemon.tick().await;
        let status = daemon.status();
        let slot = status.slots.iter().find(|s| s.profile == "work").unwrap();
        assert_eq!(slot.state, SlotState::NeedsLogin);
        let error = slot.last_error.as_ref().unwrap();
        assert!(error.message.contains("expired at"), "{}", error.message);
        assert!(error.hint.contains("`bedprov login --profile work`"), "{}", error.hint);

        let stale = session(0);
        assert_eq!(
            daemon.take_role_session(stale, Some(&profiles)).await.unwrap_err().code,
            ErrorCode::BadRequest
        );
    }

    #[tokio::test]
    async fn bad_queries_are_refused_with_a_hint() {
        let clock = start();
        let daemon = daemon(&FakeSource::new(&clock, None));
        let err = daemon
            .token(&TokenQuery { ttl: Some("2d".into()), ..TokenQuery::default() })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
        assert!(err.hint.contains("90min"));
        let err = daemon
            .token(&TokenQuery { region: Some("moon".into()), ..TokenQuery::default() })
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::BadRequest);
    }
}
