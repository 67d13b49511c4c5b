//! Slots: one per (profile, region, TTL). A slot holds the current token, refreshes it by
//! the lifetime policy ([`policy`]), and serves it. Concurrent requests share one refresh
//! (single flight); failures back off ([`backoff`]) while a still-valid token keeps being
//! served (`degraded`) and retried at each backoff step; below the safety margin the answer
//! is an error, never a stale token. A slot whose profile is no longer defined is retired:
//! its token is dropped and nothing is retried until the profile is back.
//!
//! Time is read from the injected wall clock on every serve, so a laptop that slept past a
//! token's expiry never gets it handed out. Slots know nothing about sockets or HTTP.

pub mod backoff;
pub mod policy;

use crate::clock::SharedClock;
use crate::creds::mfa::{Mfa, RoleSession, RoleSessions};
use crate::creds::{
    EnvCredentials, ProfileFiles, ProfileSelection, ProfileSource, Resolved, ShellCredentials,
    Target,
};
use crate::region::Region;
use crate::timefmt::rfc3339;
use crate::token::Token;
use crate::ttl::Ttl;
use crate::wire::api::{self, ErrorBody, ErrorCode, SlotState, SlotStatus};
use bytes::Bytes;
use policy::{Freshness, Lifetime};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// What a slot is for: a token request reduced to what decides the token, so requests that
/// mean the same (a `GET` from curl and the helper in a plain shell, `--profile dev` and
/// `AWS_PROFILE=dev`) share one slot. Built by [`SlotKey::new`] from a [`Target`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotKey {
    /// The profile named (by a flag, `AWS_DEFAULT_PROFILE` or `AWS_PROFILE`); `None`: none
    /// named, so `default`, which may be missing.
    pub profile: Option<String>,
    /// The region asked for; `None` follows the profile.
    pub region: Option<Region>,
    pub ttl: Ttl,
    /// The AWS config files the requesting shell reads.
    pub files: ProfileFiles,
    /// The requesting shell's own credentials. Compared by digest: only a client holding
    /// the same credentials reaches a slot that holds them.
    pub credentials: ShellCredentials,
}

impl SlotKey {
    #[must_use]
    pub fn new(target: Target, ttl: Ttl) -> Self {
        Self {
            profile: target.profile.named().then_some(target.profile.name),
            region: target.region.map(|(region, _)| region),
            ttl,
            files: target.files,
            credentials: target.credentials,
        }
    }

    /// The profile this key selects (a named one as if by `--profile`).
    #[must_use]
    pub fn selection(&self) -> ProfileSelection {
        match &self.profile {
            Some(name) => ProfileSelection { name: name.clone(), source: ProfileSource::Flag },
            None => ProfileSelection { name: "default".into(), source: ProfileSource::Default },
        }
    }

    /// What to resolve for this slot.
    #[must_use]
    pub fn target(&self) -> Target {
        Target {
            profile: self.selection(),
            region: self.region.clone().map(|r| (r, crate::region::RegionSource::Flag)),
            files: self.files.clone(),
            credentials: self.credentials.clone(),
        }
    }

    /// What the slot signs with, for messages: "profile `dev`", or the shell's credentials.
    #[must_use]
    pub fn subject(&self) -> String {
        match self.credentials.signing() {
            Some(credentials) => {
                format!("the environment's credentials ({})", credentials.access_key_id())
            }
            None => format!("profile `{}`", self.selection()),
        }
    }

    /// True once the shell credentials it signs with have expired: it can never serve again.
    #[must_use]
    pub fn expired(&self, now: SystemTime) -> bool {
        self.credentials.signing().is_some_and(|c| c.expired(now))
    }
}

impl fmt::Display for SlotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let region = self.region.as_ref().map_or("(profile's)", Region::as_str);
        write!(f, "profile={} region={region} ttl={}", self.selection(), self.ttl)?;
        if let Some(credentials) = self.credentials.credentials() {
            write!(f, " environment-credentials={}", credentials.access_key_id())?;
        }
        if !self.files.is_default() {
            write!(f, " config={}", self.files.config.display())?;
        }
        Ok(())
    }
}

/// A boxed future, for the object-safe [`CredentialSource`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a slot gets credentials. The daemon uses the profile files' chain ([`AwsChain`]);
/// tests inject sources that expire, fail and count calls.
pub trait CredentialSource: Send + Sync + fmt::Debug {
    fn resolve<'a>(&'a self, key: &'a SlotKey) -> BoxFuture<'a, crate::Result<Resolved>>;

    /// The profile names `files` define, read now, so the daemon can refuse an unknown
    /// profile before it makes a slot for it. `None`: this source does not go by the files
    /// (every name is tried).
    fn profiles<'a>(
        &'a self,
        files: &'a ProfileFiles,
    ) -> BoxFuture<'a, crate::Result<Option<Vec<String>>>> {
        let _ = files;
        Box::pin(async { Ok(None) })
    }

    /// Takes a role session `bedprov login` obtained with an MFA code, to resolve from until
    /// it expires. False from a source that cannot use one.
    fn accept_role_session(&self, session: RoleSession) -> bool {
        drop(session);
        false
    }
}

/// The real source: the profile files' chain, re-run on every call (no cache), so
/// short-lived SSO and role credentials are renewed as they go. It never asks for an MFA
/// code: roles that need one are assumed from the sessions `bedprov login` handed over.
#[derive(Debug, Default)]
pub struct AwsChain {
    /// Told when each resolve starts and ends, so what it writes under `~/.aws` (an SSO
    /// cache refresh, a `credential_process`'s own cache) is not taken for a user's change.
    own_writes: Option<Arc<crate::watch::Baseline>>,
    /// Role sessions `bedprov login` handed over, for roles that need an MFA code.
    sessions: RoleSessions,
}

impl AwsChain {
    /// The chain, reporting its resolves to the watch's `baseline`.
    #[must_use]
    pub fn watched(baseline: Arc<crate::watch::Baseline>) -> Self {
        Self { own_writes: Some(baseline), sessions: RoleSessions::default() }
    }
}

impl CredentialSource for AwsChain {
    fn resolve<'a>(&'a self, key: &'a SlotKey) -> BoxFuture<'a, crate::Result<Resolved>> {
        Box::pin(async move {
            let _own_writes = self.own_writes.as_ref().map(crate::watch::Baseline::own_writes);
            let mfa = Mfa::Sessions(&self.sessions);
            crate::creds::resolve_with(&key.target(), mfa).await
        })
    }

    fn profiles<'a>(
        &'a self,
        files: &'a ProfileFiles,
    ) -> BoxFuture<'a, crate::Result<Option<Vec<String>>>> {
        Box::pin(async move {
            let profiles = crate::creds::profiles::Profiles::load(files)?;
            Ok(Some(profiles.names()))
        })
    }

    fn accept_role_session(&self, session: RoleSession) -> bool {
        self.sessions.insert(session);
        true
    }
}

/// A token ready to serve: the token, and its two answer bodies rendered once at mint time
/// (their buffers are zeroized when the last response using them is dropped).
pub struct Served {
    pub token: Token,
    pub profile: String,
    pub credential_source: api::CredentialSource,
    pub lifetime: Lifetime,
    /// `GET /v1/token` as JSON.
    pub json: Bytes,
    /// `GET /v1/token` as `text/plain`: the token and a newline.
    pub plain: Bytes,
}

// By hand: the derived `Debug` would print both bodies, and so the token, wherever a slot
// or the daemon state is debug-printed.
impl fmt::Debug for Served {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Served")
            .field("token", &self.token)
            .field("profile", &self.profile)
            .field("credential_source", &self.credential_source)
            .field("lifetime", &self.lifetime)
            .field("json", &format_args!("<{} bytes, redacted>", self.json.len()))
            .field("plain", &format_args!("<{} bytes, redacted>", self.plain.len()))
            .finish()
    }
}

/// Owner for [`Bytes::from_owner`] that wipes its buffer on drop.
struct Wiped(Zeroizing<Vec<u8>>);

impl AsRef<[u8]> for Wiped {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Served {
    /// `minted_at` is the clock reading the token was signed at: the policy measures the
    /// window from there, not from `X-Amz-Date` (the same time truncated to the second), so a
    /// token capped by credentials about to expire is not taken for longer-lived than it is.
    fn new(
        token: Token,
        profile: String,
        credential_source: api::CredentialSource,
        minted_at: SystemTime,
    ) -> Self {
        let lifetime = Lifetime {
            issued_at: minted_at.max(token.issued_at()),
            expires_at: token.expires_at(),
        };
        let body = token.body(&profile, credential_source);
        let json = Zeroizing::new(serde_json::to_vec(&body).expect("TokenBody serializes"));
        let mut plain = Zeroizing::new(Vec::with_capacity(token.expose_secret().len() + 1));
        plain.extend_from_slice(token.expose_secret().as_bytes());
        plain.push(b'\n');
        Self {
            token,
            profile,
            credential_source,
            lifetime,
            json: Bytes::from_owner(Wiped(json)),
            plain: Bytes::from_owner(Wiped(plain)),
        }
    }
}

/// Why a slot cannot serve: its last error (or "no token yet"), as the wire expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServeError(pub ErrorBody);

/// The mutable part of a slot.
#[derive(Debug)]
struct State {
    current: Option<Arc<Served>>,
    /// Finished refresh attempts, successful or not: waiters compare it to skip a refresh
    /// someone else just made (single flight).
    attempts: u64,
    /// Refresh attempts begun: a forced refresh that waited for the gate skips its own
    /// attempt when one that began after it was asked for has just run.
    begun: u64,
    refreshes: u64,
    consecutive_failures: u32,
    last_error: Option<ErrorBody>,
    /// The next attempt after a failure (backoff), unless forced. Set only while the last
    /// attempt failed: a degraded or failing slot is retried at this time.
    retry_at: Option<SystemTime>,
    /// Refresh on the next loop pass whatever the token's age (files changed).
    force_due: bool,
    /// The profile is no longer defined: no token, no retries, until it is back.
    retired: bool,
    /// Bumped when the slot is retired or reinstated: an attempt that began before either
    /// read files that no longer hold, and its outcome is not recorded.
    generation: u64,
    last_used: SystemTime,
}

/// One (profile, region, TTL) and its token.
#[derive(Debug)]
pub struct Slot {
    key: SlotKey,
    source: Arc<dyn CredentialSource>,
    clock: SharedClock,
    state: Mutex<State>,
    /// Held for the duration of a refresh: the single-flight gate.
    refresh_gate: tokio::sync::Mutex<()>,
    served: AtomicU64,
    /// Declared in the config file: kept warm, never dropped for idleness nor evicted.
    pinned: AtomicBool,
    /// A background refresh task is queued or running for this slot (at most one).
    background: AtomicBool,
}

impl Slot {
    #[must_use]
    pub fn new(key: SlotKey, source: Arc<dyn CredentialSource>, clock: SharedClock) -> Self {
        let now = clock.now();
        Self {
            key,
            source,
            clock,
            state: Mutex::new(State {
                current: None,
                attempts: 0,
                begun: 0,
                refreshes: 0,
                consecutive_failures: 0,
                last_error: None,
                retry_at: None,
                force_due: false,
                retired: false,
                generation: 0,
                last_used: now,
            }),
            refresh_gate: tokio::sync::Mutex::new(()),
            served: AtomicU64::new(0),
            pinned: AtomicBool::new(false),
            background: AtomicBool::new(false),
        }
    }

    #[must_use]
    pub fn key(&self) -> &SlotKey {
        &self.key
    }

    pub fn set_pinned(&self, pinned: bool) {
        self.pinned.store(pinned, Ordering::Relaxed);
    }

    #[must_use]
    pub fn pinned(&self) -> bool {
        self.pinned.load(Ordering::Relaxed)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A token with at least `min_remaining` left, refreshing first when needed.
    pub async fn get(&self) -> Result<Arc<Served>, ServeError> {
        let now = self.clock.now();
        let seen_attempts = {
            let mut state = self.state();
            state.last_used = now;
            if let Some(current) = &state.current
                && current.lifetime.assess(now) == Freshness::Fresh
            {
                self.served.fetch_add(1, Ordering::Relaxed);
                return Ok(Arc::clone(current));
            }
            state.attempts
        };
        {
            let _gate = self.refresh_gate.lock().await;
            let (someone_else_tried, backing_off) = {
                let state = self.state();
                let now = self.clock.now();
                (state.attempts != seen_attempts, state.retry_at.is_some_and(|at| now < at))
            };
            if !someone_else_tried && !backing_off {
                self.refresh_locked().await;
            }
        }
        self.serve_after_attempt()
    }

    /// After a refresh attempt: the current token if it still clears the margin.
    fn serve_after_attempt(&self) -> Result<Arc<Served>, ServeError> {
        let now = self.clock.now();
        let state = self.state();
        match &state.current {
            Some(current) if current.lifetime.assess(now) != Freshness::Unusable => {
                self.served.fetch_add(1, Ordering::Relaxed);
                Ok(Arc::clone(current))
            }
            _ => Err(ServeError(self.unavailable(&state))),
        }
    }

    fn unavailable(&self, state: &State) -> ErrorBody {
        let subject = self.key.subject();
        match &state.last_error {
            // Not a matter of the token's life: the profile itself is missing.
            Some(error) if error.code == ErrorCode::UnknownProfile => error.clone(),
            // Never had a token: the cause is the whole story, told as `bedprov token` tells it.
            Some(error) if state.current.is_none() => ErrorBody {
                code: match error.code {
                    ErrorCode::NeedsLogin | ErrorCode::NoCredentials => error.code,
                    _ => ErrorCode::TokenUnavailable,
                },
                ..error.clone()
            },
            Some(error) => ErrorBody {
                code: match error.code {
                    ErrorCode::NeedsLogin
                    | ErrorCode::NoCredentials
                    | ErrorCode::UnknownProfile => error.code,
                    _ => ErrorCode::TokenUnavailable,
                },
                message: format!("no token with enough life left for {subject}: {}", error.message),
                hint: error.hint.clone(),
            },
            None => ErrorBody {
                code: ErrorCode::TokenUnavailable,
                message: format!("no token yet for {subject}"),
                hint: "retry in a moment; `bedprov status` shows the slot".into(),
            },
        }
    }

    /// One refresh attempt, waiting for the gate; true when the slot holds a new token.
    /// `force` (`/v1/refresh`) refreshes whatever the token's age and the backoff, unless an
    /// attempt that began after this call ran while it waited (its outcome is the answer).
    /// Otherwise (the background loop) the attempt is made only if the slot is still
    /// [`due`](Self::due) once the gate is ours: requests that found the token stale may have
    /// refreshed it meanwhile.
    pub async fn refresh(&self, force: bool) -> bool {
        let begun = self.state().begun;
        let _gate = self.refresh_gate.lock().await;
        if force {
            let state = self.state();
            if state.begun > begun {
                return state.last_error.is_none() && state.current.is_some();
            }
        } else if !self.due(self.clock.now()) {
            return false;
        }
        self.refresh_locked().await
    }

    /// True when the background loop should refresh now: no token yet, past `refresh_at` (or
    /// signed in the future: the clock was set back), or the last attempt failed and its
    /// backoff is over, a still-served token notwithstanding. Never while retired.
    #[must_use]
    pub fn due(&self, now: SystemTime) -> bool {
        let state = self.state();
        if state.retired || state.retry_at.is_some_and(|at| now < at) {
            return false;
        }
        state.force_due
            || state.last_error.is_some()
            || state
                .current
                .as_ref()
                .is_none_or(|c| now >= c.lifetime.refresh_at() || c.lifetime.signed_in_future(now))
    }

    /// When the next attempt is planned: the backoff's end while the last attempt failed,
    /// else the token's `refresh_at`. `None` when nothing is planned (retired, or no token
    /// and no failure yet: the first attempt is under way or about to be).
    #[must_use]
    pub fn next_wake(&self) -> Option<SystemTime> {
        let state = self.state();
        Self::next_attempt(&state)
    }

    fn next_attempt(state: &State) -> Option<SystemTime> {
        if state.retired {
            return None;
        }
        state.retry_at.or_else(|| state.current.as_ref().map(|c| c.lifetime.refresh_at()))
    }

    /// The credentials may have changed (a file under `~/.aws`, e.g. after `aws sso login`):
    /// drop the backoff and make the next loop pass refresh this slot whatever its age.
    pub fn credentials_changed(&self) {
        let mut state = self.state();
        state.retry_at = None;
        state.force_due = true;
    }

    /// The profile is no longer defined: drop the token at once (a request gets the
    /// unknown-profile `error` instead) and plan nothing until [`reinstate`](Self::reinstate).
    pub fn retire(&self, error: ErrorBody) {
        let mut state = self.state();
        state.current = None;
        state.last_error = Some(error);
        state.retry_at = None;
        state.force_due = false;
        state.consecutive_failures = 0;
        state.retired = true;
        state.generation += 1;
    }

    /// The profile is defined again: refresh on the next loop pass.
    pub fn reinstate(&self) {
        let mut state = self.state();
        if state.retired {
            state.retired = false;
            state.generation += 1;
            state.retry_at = None;
            state.force_due = true;
        }
    }

    #[must_use]
    pub fn retired(&self) -> bool {
        self.state().retired
    }

    /// True when the slot cannot serve and its last attempt failed (or it is retired): the
    /// first to make room when the table is full.
    #[must_use]
    pub fn failing(&self, now: SystemTime) -> bool {
        let state = self.state();
        let usable =
            state.current.as_ref().is_some_and(|c| c.lifetime.assess(now) != Freshness::Unusable);
        state.retired || (!usable && state.last_error.is_some())
    }

    /// True while a refresh holds the gate (an attempt is under way).
    #[must_use]
    pub fn refreshing(&self) -> bool {
        self.refresh_gate.try_lock().is_err()
    }

    /// Claims this slot's one background refresh task; `None` when one is queued or running.
    /// The claim ends when the returned turn is dropped.
    #[must_use]
    pub fn background_turn(self: &Arc<Self>) -> Option<BackgroundTurn> {
        self.background
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .ok()
            .map(|_| BackgroundTurn(Arc::clone(self)))
    }

    /// True while a background refresh task is queued or running.
    #[must_use]
    pub fn in_background(&self) -> bool {
        self.background.load(Ordering::Acquire)
    }

    #[must_use]
    pub fn last_used(&self) -> SystemTime {
        self.state().last_used
    }

    /// Resolves credentials, mints, and records the outcome. Call with the gate held.
    async fn refresh_locked(&self) -> bool {
        let generation = {
            let mut state = self.state();
            state.begun += 1;
            // Cleared now, not at the end: a change noticed during this attempt gets its own.
            state.force_due = false;
            state.generation
        };
        let outcome = async {
            let resolved = self.source.resolve(&self.key).await?;
            let minted_at = self.clock.now();
            let token = crate::token::mint(
                &resolved.credentials,
                &resolved.region,
                self.key.ttl,
                minted_at,
            )?;
            Ok::<_, crate::Error>(Served::new(
                token,
                resolved.profile.name,
                resolved.credential_source,
                minted_at,
            ))
        }
        .await;
        let now = self.clock.now();
        let mut state = self.state();
        state.attempts += 1;
        if state.generation != generation {
            tracing::debug!(slot = %self.key, "the profile came or went during this refresh; its outcome is not kept");
            return false;
        }
        match outcome {
            Ok(served) => {
                tracing::info!(slot = %self.key, token = ?served.token, "token refreshed");
                state.current = Some(Arc::new(served));
                state.retired = false;
                state.refreshes += 1;
                state.consecutive_failures = 0;
                state.last_error = None;
                state.retry_at = None;
                true
            }
            Err(error) if error.kind() == ErrorCode::UnknownProfile => {
                tracing::info!(slot = %self.key, "the profile is no longer defined; its token is dropped");
                drop(state);
                self.retire(error.to_body());
                false
            }
            Err(error) => {
                state.consecutive_failures += 1;
                let needs_login = error.kind() == ErrorCode::NeedsLogin;
                let wait = backoff::delay(state.consecutive_failures, needs_login);
                tracing::warn!(slot = %self.key, error = %error, retry_in_secs = wait.as_secs(), "refresh failed");
                state.last_error = Some(error.to_body());
                state.retry_at = Some(now + wait);
                false
            }
        }
    }

    /// The slot as `bedprov status` shows it.
    #[must_use]
    pub fn status(&self) -> SlotStatus {
        let now = self.clock.now();
        let state = self.state();
        let current = state.current.as_ref();
        let usable = current.filter(|c| c.lifetime.assess(now) != Freshness::Unusable);
        let slot_state = match (usable.is_some(), &state.last_error) {
            (true, None) => SlotState::Fresh,
            (true, Some(_)) => SlotState::Degraded,
            (false, Some(error)) if error.code == ErrorCode::NeedsLogin => SlotState::NeedsLogin,
            (false, Some(_)) => SlotState::Failed,
            (false, None) => SlotState::Empty,
        };
        SlotStatus {
            profile: self.key.selection().name,
            requested_region: self.key.region.as_ref().map(ToString::to_string),
            region: current.map(|c| c.token.region().to_string()),
            ttl_seconds: self.key.ttl.as_secs(),
            state: slot_state,
            issued_at: current.map(|c| rfc3339(c.lifetime.issued_at)),
            expires_at: current.map(|c| rfc3339(c.lifetime.expires_at)),
            credential_expires_at: current
                .and_then(|c| c.token.credential_expires_at())
                .or_else(|| self.key.credentials.signing().and_then(EnvCredentials::expires_at))
                .map(rfc3339),
            // The planned attempt; one the loop is about to start (or is making) is now.
            refresh_at: Self::next_attempt(&state).map(|at| rfc3339(at.max(now))),
            last_error: state.last_error.clone(),
            refreshes: state.refreshes,
            served: self.served.load(Ordering::Relaxed),
            pinned: self.pinned(),
            refreshing: self.refreshing(),
            credential_source: current.map(|c| c.credential_source).or_else(|| {
                self.key.credentials.signing().map(|_| api::CredentialSource::Environment)
            }),
            access_key_id: current
                .map(|c| c.token.access_key_id().to_owned())
                .or_else(|| self.key.credentials.signing().map(|c| c.access_key_id().to_owned())),
        }
    }
}

/// A slot's claim on its one background refresh task (see [`Slot::background_turn`]).
#[derive(Debug)]
pub struct BackgroundTurn(Arc<Slot>);

impl BackgroundTurn {
    #[must_use]
    pub fn slot(&self) -> &Arc<Slot> {
        &self.0
    }
}

impl Drop for BackgroundTurn {
    fn drop(&mut self) {
        self.0.background.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod properties;
#[cfg(test)]
pub(crate) mod tests;
