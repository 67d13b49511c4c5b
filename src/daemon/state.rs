//! The daemon's shared state: its slots (created on first request for a profile the AWS
//! files define, bounded, the failing ones making room first, dropped after a day idle
//! unless declared in the config, and at once when the shell credentials they hold expire),
//! which profiles exist, the background refresh loop, and the answers the routes need. No
//! HTTP here.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::creds::chain::Plan;
use crate::creds::mfa::RoleSession;
use crate::creds::profiles::Profiles;
use crate::creds::{CredsError, ProfileFiles, Target};
use crate::slot::{CredentialSource, Served, Slot, SlotKey};
use crate::timefmt::rfc3339;
use crate::ttl::Ttl;
use crate::wire::api::{ErrorBody, ErrorCode, RefreshBody, StatusBody, TokenQuery, TokenRequest};
use crate::wire::aws_env::AwsEnv;
use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

/// The most slots one daemon keeps (each is one profile/region/TTL).
pub const MAX_SLOTS: usize = 32;
/// Slots unused this long are dropped (config slots never are).
pub const IDLE_LIMIT: Duration = Duration::from_secs(24 * 3600);
/// The background loop wakes at least this often: timers stop during suspend, so the loop
/// must look at the wall clock again soon after the machine wakes.
pub const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long `POST /v1/refresh` waits for the refreshes it starts. Slower ones (a hung or
/// prompting `credential_process`) go on in the background; the answer says which.
pub const REFRESH_WAIT: Duration = Duration::from_secs(10);

/// Which profiles the daemon's own AWS files define, as last read.
#[derive(Debug, Clone)]
enum Catalog {
    Unread,
    /// The credential source does not go by the files: every name is tried.
    Open,
    Names(Arc<BTreeSet<String>>),
    /// The files do not parse: a new slot would only fail with this.
    Unreadable(ErrorBody),
}

/// What the catalog says about a slot's profile.
enum Verdict {
    Defined,
    Refused(ErrorBody),
    Unread,
}

#[derive(Debug)]
pub struct Daemon {
    slots: RwLock<HashMap<SlotKey, Arc<Slot>>>,
    source: Arc<dyn CredentialSource>,
    clock: SharedClock,
    config_path: PathBuf,
    pub socket: PathBuf,
    started_at: SystemTime,
    catalog: RwLock<Catalog>,
    /// One catalog reload (and its effect on the slots) at a time.
    reloading: tokio::sync::Mutex<()>,
    /// Background refresh tasks, so tests can wait for them.
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// [`REFRESH_WAIT`], shorter in tests.
    refresh_wait: Duration,
    /// The daemon's own AWS environment: what a request that sends none (curl) gets.
    environment: AwsEnv,
    /// Wakes the background loop early (new slot, files changed, config reloaded).
    pub wake: tokio::sync::Notify,
    /// The local Bedrock proxy, when it runs.
    proxy: std::sync::OnceLock<Arc<crate::proxy::info::ProxyInfo>>,
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
            catalog: RwLock::new(Catalog::Unread),
            reloading: tokio::sync::Mutex::new(()),
            tasks: Mutex::new(Vec::new()),
            refresh_wait: REFRESH_WAIT,
            environment: AwsEnv::default(),
            wake: tokio::sync::Notify::new(),
            proxy: std::sync::OnceLock::new(),
        }
    }

    /// Tells the daemon its proxy runs (at start, once).
    pub fn attach_proxy(&self, proxy: Arc<crate::proxy::info::ProxyInfo>) {
        let _ = self.proxy.set(proxy);
    }

    /// The local Bedrock proxy, when it runs.
    #[must_use]
    pub fn proxy(&self) -> Option<&Arc<crate::proxy::info::ProxyInfo>> {
        self.proxy.get()
    }

    /// The daemon's own AWS environment (what a request that sends none gets).
    #[must_use]
    pub fn environment(&self) -> &AwsEnv {
        &self.environment
    }

    /// Uses `environment` for requests that send none (by default: a shell with no AWS
    /// variables).
    #[must_use]
    pub fn with_environment(mut self, environment: AwsEnv) -> Self {
        self.environment = environment;
        self
    }

    /// The AWS files the daemon's own environment names (the catalog's).
    fn own_files(&self) -> ProfileFiles {
        ProfileFiles::from_env(&self.environment)
    }

    #[cfg(test)]
    fn with_refresh_wait(mut self, wait: Duration) -> Self {
        self.refresh_wait = wait;
        self
    }

    fn slots(&self) -> Vec<Arc<Slot>> {
        let slots = self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut list: Vec<Arc<Slot>> = slots.values().cloned().collect();
        list.sort_by(|a, b| a.key().cmp(b.key()));
        list
    }

    fn existing(&self, key: &SlotKey) -> Option<Arc<Slot>> {
        self.slots.read().unwrap_or_else(std::sync::PoisonError::into_inner).get(key).cloned()
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

    /// The slot for `key`, created if new. When the table is full, a failing slot makes room
    /// first, else the longest-idle one; declared slots never do. 429 only when every slot
    /// is declared in the config.
    pub fn slot(&self, key: SlotKey) -> Result<Arc<Slot>, ErrorBody> {
        if let Some(slot) = self.existing(&key) {
            return Ok(slot);
        }
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(slot) = slots.get(&key) {
            return Ok(Arc::clone(slot));
        }
        if slots.len() >= MAX_SLOTS && !self.make_room(&mut slots) {
            return Err(ErrorBody {
                code: ErrorCode::TooManySlots,
                message: format!("the daemon already keeps {MAX_SLOTS} tokens, all declared in its config file"),
                hint: "declare fewer `[[slot]]`s in the config file and send SIGHUP (or restart the daemon)".into(),
            });
        }
        tracing::info!(slot = %key, "new slot");
        let slot =
            Arc::new(Slot::new(key.clone(), Arc::clone(&self.source), Arc::clone(&self.clock)));
        slots.insert(key, Arc::clone(&slot));
        Ok(slot)
    }

    /// Drops one slot that is not declared in the config: a failing one if any, the
    /// longest idle first. False when every slot is declared.
    fn make_room(&self, slots: &mut HashMap<SlotKey, Arc<Slot>>) -> bool {
        let now = self.clock.now();
        let victim = slots
            .values()
            .filter(|slot| !slot.pinned())
            .min_by_key(|slot| (!slot.failing(now), slot.last_used()))
            .map(|slot| slot.key().clone());
        let Some(key) = victim else { return false };
        tracing::info!(slot = %key, "dropping a slot to make room for a new one");
        slots.remove(&key);
        true
    }

    fn verdict(&self, key: &SlotKey) -> Verdict {
        let selection = key.selection();
        // The default profile needs no entry: the chain also looks elsewhere. A shell that
        // reads other files is checked when its slot resolves (and retired if need be).
        if selection.source == crate::creds::ProfileSource::Default || key.files != self.own_files()
        {
            return Verdict::Defined;
        }
        match &*self.catalog.read().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Catalog::Unread => Verdict::Unread,
            Catalog::Open => Verdict::Defined,
            Catalog::Names(names) if names.contains(&selection.name) => Verdict::Defined,
            Catalog::Names(names) => Verdict::Refused(
                crate::Error::from(CredsError::UnknownProfile {
                    profile: selection.name,
                    known: names.iter().cloned().collect(),
                })
                .to_body(),
            ),
            Catalog::Unreadable(error) => Verdict::Refused(error.clone()),
        }
    }

    /// Reads which profiles the AWS files define (never on the serving path: at start, when
    /// the watch sees them change, at refresh, and when a request names a profile the last
    /// reading did not have). Slots whose profile is gone are retired (their token dropped);
    /// retired slots whose profile is back are refreshed.
    pub async fn reload_profiles(&self) {
        let _one = self.reloading.lock().await;
        let catalog = match self.source.profiles(&self.own_files()).await {
            Ok(Some(names)) => Catalog::Names(Arc::new(names.into_iter().collect())),
            Ok(None) => Catalog::Open,
            Err(error) => {
                tracing::warn!(%error, "cannot read the AWS config files");
                Catalog::Unreadable(error.to_body())
            }
        };
        *self.catalog.write().unwrap_or_else(std::sync::PoisonError::into_inner) = catalog;
        for slot in self.slots() {
            match self.verdict(slot.key()) {
                Verdict::Refused(error)
                    if error.code == ErrorCode::UnknownProfile && !slot.retired() =>
                {
                    tracing::info!(slot = %slot.key(), "the profile is no longer defined; its token is dropped");
                    slot.retire(error);
                }
                Verdict::Defined if slot.retired() => {
                    tracing::info!(slot = %slot.key(), "the profile is defined again");
                    slot.reinstate();
                    self.wake.notify_one();
                }
                _ => {}
            }
        }
    }

    /// Before a slot is made (or a retired one used) for `key`: its profile must exist. A
    /// name the last reading did not have is checked against the files as they are now.
    async fn admit(&self, key: &SlotKey) -> Result<(), ErrorBody> {
        if matches!(self.verdict(key), Verdict::Defined) {
            return Ok(());
        }
        self.reload_profiles().await;
        match self.verdict(key) {
            Verdict::Defined | Verdict::Unread => Ok(()),
            Verdict::Refused(error) => Err(error),
        }
    }

    /// `GET /v1/token`: a query, answered with the daemon's own environment.
    pub async fn token(&self, query: &TokenQuery) -> Result<Arc<Served>, ErrorBody> {
        self.token_for(&TokenRequest::from(query.clone())).await
    }

    /// `POST /v1/token`: a request with the client's environment (or none, as `GET`).
    pub async fn token_for(&self, request: &TokenRequest) -> Result<Arc<Served>, ErrorBody> {
        let key = self.key_for(request)?;
        let (slot, new) = match self.existing(&key) {
            Some(slot) if !slot.retired() => (slot, false),
            _ => {
                self.admit(&key).await?;
                (self.slot(key)?, true)
            }
        };
        let served = slot.get().await.map_err(|e| e.0);
        if served.is_err() && slot.retired() && !slot.pinned() {
            // The profile turned out not to exist (the files changed since last read).
            self.forget(&slot);
        }
        if new {
            // The loop plans around the new token.
            self.wake.notify_one();
        }
        served
    }

    /// The region a request's slot signs for: the one it names, else its profile's (else
    /// `us-east-1`), read from the AWS config files now.
    pub fn region_for(&self, request: &TokenRequest) -> Result<String, ErrorBody> {
        if let Some(region) = &request.region {
            return Ok(region.clone());
        }
        let key = self.key_for(request)?;
        let target = key.target();
        let profiles =
            Profiles::load(&target.files).map_err(|e| crate::Error::from(e).to_body())?;
        let (region, _) = crate::creds::choose_region(&target, &profiles)
            .map_err(|e| crate::Error::from(e).to_body())?;
        Ok(region.to_string())
    }

    /// Makes the slot for `request` (its profile must exist) and has the background loop
    /// mint its first token, without waiting for it.
    pub async fn warm(&self, request: &TokenRequest) -> Result<(), ErrorBody> {
        let key = self.key_for(request)?;
        if self.existing(&key).is_some_and(|slot| !slot.retired()) {
            return Ok(());
        }
        self.admit(&key).await?;
        self.slot(key)?;
        self.wake.notify_one();
        Ok(())
    }

    /// After the upstream refused `used` (expired, invalid): a token to send the request
    /// with again, if there can be a better one. One another request got since, else a
    /// forced refresh of the slot (shared with concurrent ones); `None` when `used` is
    /// still the newest after that, or was minted less than a minute ago (then a refresh
    /// would not help: the clocks or the credentials disagree with the upstream).
    pub async fn token_after_rejection(
        &self,
        request: &TokenRequest,
        used: &Arc<Served>,
    ) -> Option<Arc<Served>> {
        let key = self.key_for(request).ok()?;
        let slot = self.existing(&key)?;
        if let Ok(current) = slot.get().await
            && !Arc::ptr_eq(&current, used)
        {
            return Some(current);
        }
        let age = self.clock.now().duration_since(used.lifetime.issued_at).unwrap_or_default();
        if age < Duration::from_secs(60) {
            return None;
        }
        tracing::info!(slot = %key, "the upstream refused this slot's token; refreshing it");
        slot.refresh(true).await;
        slot.get().await.ok().filter(|fresh| !Arc::ptr_eq(fresh, used))
    }

    fn forget(&self, slot: &Arc<Slot>) {
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if slots.get(slot.key()).is_some_and(|held| Arc::ptr_eq(held, slot)) {
            slots.remove(slot.key());
        }
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
            proxy: self.proxy().map(|proxy| proxy.status()),
        }
    }

    /// `POST /v1/refresh`: one slot (by query) or all, ignoring backoff. Each refresh runs in
    /// its own task, so a hung source holds up only its own slot; the answer comes within
    /// [`REFRESH_WAIT`] and counts the slots still refreshing then as `pending`.
    pub async fn refresh(&self, query: Option<&TokenQuery>) -> Result<RefreshBody, ErrorBody> {
        self.reload_profiles().await;
        let targets = match query {
            Some(query) => {
                let key = self.key_for(&TokenRequest::from(query.clone()))?;
                if let Verdict::Refused(error) = self.verdict(&key) {
                    return Err(error);
                }
                vec![self.slot(key)?]
            }
            None => self.slots().into_iter().filter(|s| !s.retired()).collect(),
        };
        Ok(self.refresh_now(&targets).await)
    }

    /// Refreshes `targets` at once, each in its own task, so a hung source holds up only its
    /// own slot; answers within [`REFRESH_WAIT`], counting the slots still refreshing as
    /// `pending`.
    async fn refresh_now(&self, targets: &[Arc<Slot>]) -> RefreshBody {
        let deadline = tokio::time::Instant::now() + self.refresh_wait;
        let tasks: Vec<_> = targets
            .iter()
            .map(|slot| {
                let slot = Arc::clone(slot);
                tokio::spawn(async move { slot.refresh(true).await })
            })
            .collect();
        let (mut refreshed, mut failed, mut pending) = (0, 0, 0);
        for task in tasks {
            match tokio::time::timeout_at(deadline, task).await {
                Ok(Ok(true)) => refreshed += 1,
                Ok(_) => failed += 1,
                Err(_) => pending += 1,
            }
        }
        self.wake.notify_one();
        RefreshBody {
            refreshed,
            failed,
            pending,
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
        let profiles = Profiles::load(&self.own_files()).ok();
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
        Ok(self.refresh_now(&targets).await)
    }

    /// Reads the config file and pins (and warms) the slots it declares; slots no longer
    /// declared are unpinned and age out normally. Everything is checked before any pin
    /// changes: on error the previous configuration stays in force, untouched.
    pub fn reload_config(&self) -> crate::Result<usize> {
        let declared: BTreeSet<SlotKey> =
            Config::load(&self.config_path)?.slot_keys(&self.environment)?.into_iter().collect();
        if declared.len() > MAX_SLOTS {
            return Err(crate::Error::usage(
                format!(
                    "the config file {} declares {} slots; the daemon keeps at most {MAX_SLOTS}",
                    self.config_path.display(),
                    declared.len()
                ),
                "remove some `[[slot]]` entries, then send SIGHUP or restart the daemon",
            ));
        }
        let mut slots = self.slots.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for slot in slots.values() {
            slot.set_pinned(declared.contains(slot.key()));
        }
        for key in &declared {
            if slots.contains_key(key) {
                continue;
            }
            // Never fails: fewer slots than MAX_SLOTS are declared, so one is not.
            if slots.len() >= MAX_SLOTS {
                self.make_room(&mut slots);
            }
            tracing::info!(slot = %key, "new slot (declared in the config file)");
            let slot =
                Arc::new(Slot::new(key.clone(), Arc::clone(&self.source), Arc::clone(&self.clock)));
            slot.set_pinned(true);
            slots.insert(key.clone(), slot);
        }
        drop(slots);
        self.wake.notify_one();
        Ok(declared.len())
    }

    /// The files bedprov reads changed (a file under `~/.aws`, e.g. after `aws sso login`):
    /// re-read which profiles exist, then re-resolve every slot on the next pass. A slot
    /// still refreshing from before is left to finish: re-running it for what may be its own
    /// source's writes would start a loop.
    pub async fn files_changed(&self) {
        self.reload_profiles().await;
        for slot in self.slots() {
            if !slot.retired() && !slot.refreshing() {
                slot.credentials_changed();
            }
        }
        self.wake.notify_one();
    }

    /// One pass of the background loop: starts a refresh task for each due slot that has
    /// none (so a hung source holds up only its own slot, never the loop or other slots),
    /// drops what is idle, and returns how long to sleep before the next pass.
    pub fn tick(self: &Arc<Self>) -> Duration {
        let now = self.clock.now();
        self.drop_idle(now);
        let slots = self.slots();
        let mut started = false;
        for slot in &slots {
            if !slot.due(now) {
                continue;
            }
            let Some(turn) = slot.background_turn() else { continue };
            started = true;
            let daemon = Arc::clone(self);
            self.track(tokio::spawn(async move {
                turn.slot().refresh(false).await;
                drop(turn);
                daemon.wake.notify_one();
            }));
        }
        if started || slots.iter().any(|s| s.retired()) {
            let daemon = Arc::clone(self);
            self.track(tokio::spawn(async move {
                if daemon.reloading.try_lock().is_ok() {
                    daemon.reload_profiles().await;
                }
            }));
        }
        let now = self.clock.now();
        slots
            .iter()
            .filter(|s| !s.in_background())
            .filter_map(|s| s.next_wake())
            .map(|at| at.duration_since(now).unwrap_or_default())
            .min()
            .map_or(MAX_SLEEP, |d| d.min(MAX_SLEEP))
            .max(Duration::from_millis(100))
    }

    fn track(&self, task: tokio::task::JoinHandle<()>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tasks.retain(|t| !t.is_finished());
        tasks.push(task);
    }

    /// Waits for the background tasks started so far (tests).
    #[cfg(test)]
    pub async fn settle(&self) {
        loop {
            let tasks: Vec<_> = std::mem::take(
                &mut *self.tasks.lock().unwrap_or_else(std::sync::PoisonError::into_inner),
            );
            if tasks.is_empty() {
                return;
            }
            for task in tasks {
                task.await.unwrap();
            }
        }
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
            let sleep = self.tick();
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

    fn daemon(source: &Arc<FakeSource>) -> Arc<Daemon> {
        daemon_with_config(source, PathBuf::from("/nonexistent/config.toml"))
    }

    fn daemon_with_config(source: &Arc<FakeSource>, config: PathBuf) -> Arc<Daemon> {
        Arc::new(
            Daemon::new(
                source.clone(),
                Arc::new(source.clock.clone()),
                config,
                PathBuf::from("/tmp/x.sock"),
            )
            .with_refresh_wait(Duration::from_millis(500)),
        )
    }

    fn for_profile(profile: &str) -> TokenQuery {
        TokenQuery { profile: Some(profile.into()), ..TokenQuery::default() }
    }

    /// A config declaring `count` slots (TTLs from 15 minutes up).
    fn declared_ttls(count: usize) -> String {
        use std::fmt::Write as _;
        (0..count).fold(String::new(), |mut text, m| {
            let _ = write!(text, "[[slot]]\nttl = \"{}m\"\n", 15 + m);
            text
        })
    }

    fn with_ttl(minutes: usize) -> TokenQuery {
        TokenQuery { ttl: Some(format!("{minutes}m")), ..TokenQuery::default() }
    }

    #[tokio::test]
    async fn background_pass_refreshes_after_a_suspend_without_requests() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let daemon = daemon(&source);
        daemon.token(&TokenQuery::default()).await.unwrap();
        assert_eq!(daemon.tick(), MAX_SLEEP, "a 12 h token wants nothing for 6 h: sleep the cap");
        clock.advance(Duration::from_secs(8 * 3600));
        daemon.tick();
        daemon.settle().await;
        assert_eq!(source.calls(), 2, "one pass after waking refreshes the token");
        let status = daemon.status();
        assert_eq!(status.slots[0].issued_at.as_deref(), Some(rfc3339(clock.now()).as_str()));
    }

    #[tokio::test]
    async fn slots_are_bounded_the_longest_idle_making_room_and_idle_ones_dropped() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let daemon = daemon(&source);
        for minutes in 0..MAX_SLOTS {
            daemon.token(&with_ttl(15 + minutes)).await.unwrap();
            clock.advance(Duration::from_secs(1));
        }
        // The first slot is used again: the second is now the longest idle.
        daemon.token(&with_ttl(15)).await.unwrap();
        let one_more = TokenQuery { ttl: Some("3h".into()), ..TokenQuery::default() };
        daemon.token(&one_more).await.unwrap();
        let ttls: Vec<u64> = daemon.status().slots.iter().map(|s| s.ttl_seconds).collect();
        assert_eq!(ttls.len(), MAX_SLOTS);
        assert!(ttls.contains(&(15 * 60)) && ttls.contains(&(3 * 3600)));
        assert!(!ttls.contains(&(16 * 60)), "the longest idle made room");
        clock.advance(IDLE_LIMIT + Duration::from_secs(1));
        daemon.tick();
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
                    credential_source: crate::wire::api::CredentialSource::AssumeRole,
                    profile: asked,
                    region: crate::region::Region::parse("us-east-1").unwrap(),
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
        let daemon = Arc::new(Daemon::new(
            source,
            Arc::new(clock.clone()),
            PathBuf::from("/nonexistent/config.toml"),
            PathBuf::from("/tmp/x.sock"),
        ));
        let profiles = Profiles::parse(
            &format!(
                "[profile work]\nrole_arn = arn:aws:iam::123456789012:role/work\nsource_profile = admin\n\
                 [profile admin]\nrole_arn = {ADMIN_ROLE}\nsource_profile = keys\nmfa_serial = {SERIAL}\n\
                 [profile keys]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n\
                 [profile other]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n"
            ),
            "",
        );
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
        daemon.tick();
        daemon.settle().await;
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
    async fn failing_slots_make_room_before_healthy_ones_and_declared_ones_never() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "[[slot]]\nregion = \"eu-west-1\"\n").unwrap();
        let daemon = daemon_with_config(&source, config.clone());
        assert_eq!(daemon.reload_config().unwrap(), 1);
        daemon.tick();
        daemon.settle().await;
        // Healthy slots, then (newer, so less idle) failing ones fill the table.
        for minutes in 0..MAX_SLOTS / 2 {
            daemon.token(&with_ttl(15 + minutes)).await.unwrap();
        }
        clock.advance(Duration::from_secs(60));
        source.fail_with(Some(crate::creds::CredsError::Failed {
            profile: "test".into(),
            detail: "offline".into(),
        }));
        let mut minutes = 100;
        while daemon.status().slots.len() < MAX_SLOTS {
            assert!(daemon.token(&with_ttl(minutes)).await.is_err());
            minutes += 1;
        }
        let failing =
            |d: &Daemon| d.status().slots.iter().filter(|s| s.state == SlotState::Failed).count();
        let before = failing(&daemon);
        source.fail_with(None);
        clock.advance(Duration::from_secs(60));
        for extra in 0..before {
            daemon.token(&with_ttl(400 + extra)).await.unwrap();
            assert_eq!(failing(&daemon), before - extra - 1, "a failing slot made room");
        }
        // Only healthy ones left: the longest idle goes; never the declared one.
        for extra in 0..MAX_SLOTS {
            daemon.token(&with_ttl(500 + extra)).await.unwrap();
            clock.advance(Duration::from_secs(1));
        }
        let status = daemon.status();
        assert_eq!(status.slots.len(), MAX_SLOTS);
        assert!(
            status
                .slots
                .iter()
                .any(|s| s.pinned && s.requested_region.as_deref() == Some("eu-west-1"))
        );

        // With every slot declared, nothing can make room: 429.
        let all: String = declared_ttls(MAX_SLOTS);
        std::fs::write(&config, all).unwrap();
        assert_eq!(daemon.reload_config().unwrap(), MAX_SLOTS);
        assert!(daemon.status().slots.iter().all(|s| s.pinned));
        let err = daemon.token(&with_ttl(700)).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::TooManySlots);
        assert!(err.hint.contains("[[slot]]"), "{}", err.hint);
    }

    #[tokio::test]
    async fn a_reload_that_fails_changes_no_pin() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.toml");
        std::fs::write(&config, "[[slot]]\nregion = \"eu-west-1\"\n").unwrap();
        let daemon = daemon_with_config(&source, config.clone());
        daemon.reload_config().unwrap();
        let pinned = |d: &Daemon| -> Vec<Option<String>> {
            d.status()
                .slots
                .iter()
                .filter(|s| s.pinned)
                .map(|s| s.requested_region.clone())
                .collect()
        };
        assert_eq!(pinned(&daemon), [Some("eu-west-1".to_owned())]);
        let too_many: String = declared_ttls(MAX_SLOTS + 1);
        for bad in ["[[slot]]\nregion = \"moon\"\n", "[[slot]]\nprofle = \"x\"\n", &too_many] {
            std::fs::write(&config, bad).unwrap();
            assert!(daemon.reload_config().is_err(), "{bad}");
            assert_eq!(pinned(&daemon), [Some("eu-west-1".to_owned())], "{bad}");
            assert_eq!(daemon.status().slots.len(), 1);
        }
    }

    #[tokio::test]
    async fn unknown_profiles_make_no_slot_and_their_error_names_the_known_ones() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        source.define_profiles(&["test", "work"]);
        let daemon = daemon(&source);
        for i in 0..40 {
            let err = daemon.token(&for_profile(&format!("missing-{i}"))).await.unwrap_err();
            assert_eq!(err.code, ErrorCode::UnknownProfile);
            assert_eq!(
                err.message,
                format!(
                    "AWS profile `missing-{i}` is not defined in your AWS config or credentials file"
                )
            );
            assert_eq!(
                err.hint,
                "profiles found: test, work; pass one with --profile or set AWS_PROFILE"
            );
        }
        assert!(daemon.status().slots.is_empty());
        assert_eq!(source.calls(), 0);
        assert!(daemon.token(&for_profile("work")).await.is_ok());
        // A profile added since the last reading is found at once (the watch may lag).
        source.define_profiles(&["test", "work", "new"]);
        assert!(daemon.token(&for_profile("new")).await.is_ok());
        // `POST /v1/refresh` for an unknown profile makes no slot either.
        let err = daemon.refresh(Some(&for_profile("nope"))).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownProfile);
        assert_eq!(daemon.status().slots.len(), 2);
    }

    #[tokio::test]
    async fn a_deleted_profile_is_retired_at_once_and_served_again_when_back() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        source.define_profiles(&["test", "work"]);
        let daemon = daemon(&source);
        daemon.token(&for_profile("work")).await.unwrap();
        daemon.token(&for_profile("test")).await.unwrap();
        source.define_profiles(&["test"]);
        daemon.files_changed().await;
        let err = daemon.token(&for_profile("work")).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::UnknownProfile);
        assert_eq!(err.hint, "profiles found: test; pass one with --profile or set AWS_PROFILE");
        let work = daemon.status().slots.into_iter().find(|s| s.profile == "work").unwrap();
        assert_eq!(work.state, SlotState::Failed);
        assert!(work.expires_at.is_none() && work.refresh_at.is_none(), "{work:?}");
        // The other slot is re-resolved once for the change; the retired one not at all.
        let calls = source.calls();
        daemon.tick();
        daemon.settle().await;
        assert_eq!(source.calls(), calls + 1);
        source.define_profiles(&["test", "work"]);
        daemon.files_changed().await;
        daemon.tick();
        daemon.settle().await;
        let work = daemon.status().slots.into_iter().find(|s| s.profile == "work").unwrap();
        assert_eq!(work.state, SlotState::Fresh);
        assert!(daemon.token(&for_profile("work")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_source_holds_up_only_its_own_slot() {
        let clock = start();
        let source = FakeSource::new(&clock, None);
        *source.hangs.lock().unwrap() = Some("stuck".into());
        let daemon = daemon(&source);
        daemon.token(&for_profile("ok")).await.unwrap();
        let stuck = tokio::spawn({
            let daemon = Arc::clone(&daemon);
            async move { daemon.token(&for_profile("stuck")).await.map(|_| ()) }
        });
        // The stuck slot exists and its resolve has begun (and been counted).
        while daemon.status().slots.len() < 2 || source.calls() < 2 {
            tokio::task::yield_now().await;
        }
        // Hours later, the loop's pass returns at once and the other slot is refreshed.
        clock.advance(Duration::from_secs(8 * 3600));
        let calls = source.calls();
        daemon.tick();
        let ok = || daemon.status().slots.into_iter().find(|s| s.profile == "ok").unwrap();
        while ok().refreshes < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            source.calls(),
            calls + 1,
            "one pass, one refresh: the stuck one is still running"
        );
        assert!(daemon.token(&for_profile("ok")).await.is_ok());
        // A refresh of everything answers, counting the stuck slot as still refreshing.
        let body = daemon.refresh(None).await.unwrap();
        assert_eq!((body.refreshed, body.failed, body.pending), (1, 0, 1));
        let stuck_status = body.slots.iter().find(|s| s.profile == "stuck").unwrap();
        assert!(stuck_status.refreshing);
        stuck.abort();
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
        daemon.token_for(&shell).await.unwrap();
        daemon.token_for(&TokenRequest::default()).await.unwrap();
        let status = daemon.status();
        assert_eq!(status.slots.len(), 2);
        assert!(
            status.slots.iter().any(|s| s.access_key_id.as_deref() == Some("ASIAIOSFODNN7EXAMPLE"))
        );
        clock.advance(Duration::from_secs(1800));
        daemon.tick();
        assert_eq!(daemon.status().slots.len(), 1, "dropped once its credentials expired");
        let refused = daemon.token_for(&shell).await.unwrap_err();
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
        daemon.token_for(&TokenRequest::default()).await.unwrap();
        daemon.token_for(&named(AwsEnv::default())).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 1);
        let dev = AwsEnv { profile: Some("dev".into()), ..AwsEnv::default() };
        daemon.token_for(&named(dev)).await.unwrap();
        let flag = TokenRequest { profile: Some("dev".into()), ..TokenRequest::default() };
        daemon.token_for(&flag).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 2);
        // The shell's own credentials: a slot of their own.
        daemon.token_for(&shell_with_credentials(None)).await.unwrap();
        assert_eq!(daemon.status().slots.len(), 3);
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
