//! The lifetime policy, as pure arithmetic on wall-clock times.
//!
//! Let L be a token's full lifetime when minted: min(TTL, credential expiry − issue time).
//! - **margin** m = min(10 min, L/4): a token with less than m left is never served.
//! - **`min_remaining`** = L/2: the goal for every served token, so a shell that evals it keeps
//!   a useful token. A request that finds less than L/2 left refreshes first.
//! - **`refresh_at`** = issue time + L/2: when the background loop refreshes, so requests rarely
//!   wait.
//! - A token signed more than [`FUTURE_TOLERANCE`] after now (the clock was set back since) is
//!   never served: AWS refuses signatures from the future.

use std::time::{Duration, SystemTime};

/// The hard floor never exceeds this, however long the token lives.
pub const MAX_MARGIN: Duration = Duration::from_secs(10 * 60);

/// How far a token's signing time (`X-Amz-Date`) may lie ahead of the wall clock. After the
/// clock is set back (an NTP correction, a wrong clock fixed by hand) earlier tokens carry a
/// date in the future, and AWS refuses them ("Signature not yet current", 5 minutes of
/// tolerance on some endpoints). Small corrections are ignored; larger ones mean a new token.
pub const FUTURE_TOLERANCE: Duration = Duration::from_secs(60);

/// A token's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetime {
    /// When the token was minted (its `X-Amz-Date` is this, truncated to the second).
    pub issued_at: SystemTime,
    pub expires_at: SystemTime,
}

/// How a token stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// At least `min_remaining` left: serve it.
    Fresh,
    /// Below `min_remaining` but above the margin: refresh first; serve it only if that fails.
    Stale,
    /// Below the margin (or expired): never serve it.
    Unusable,
}

impl Lifetime {
    /// L: the whole window (zero if the token was born expired).
    #[must_use]
    pub fn full(&self) -> Duration {
        self.expires_at.duration_since(self.issued_at).unwrap_or_default()
    }

    /// m = min(10 min, L/4).
    #[must_use]
    pub fn margin(&self) -> Duration {
        MAX_MARGIN.min(self.full() / 4)
    }

    /// L/2.
    #[must_use]
    pub fn min_remaining(&self) -> Duration {
        self.full() / 2
    }

    /// issue time + L/2.
    #[must_use]
    pub fn refresh_at(&self) -> SystemTime {
        self.issued_at + self.min_remaining()
    }

    /// Time left at `now` (zero once expired).
    #[must_use]
    pub fn remaining(&self, now: SystemTime) -> Duration {
        self.expires_at.duration_since(now).unwrap_or_default()
    }

    /// True when the token was signed more than [`FUTURE_TOLERANCE`] after `now`.
    #[must_use]
    pub fn signed_in_future(&self, now: SystemTime) -> bool {
        self.issued_at > now + FUTURE_TOLERANCE
    }

    #[must_use]
    pub fn assess(&self, now: SystemTime) -> Freshness {
        let remaining = self.remaining(now);
        if remaining.is_zero() || remaining < self.margin() || self.signed_in_future(now) {
            Freshness::Unusable
        } else if remaining < self.min_remaining() {
            Freshness::Stale
        } else {
            Freshness::Fresh
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    fn window(secs: u64) -> Lifetime {
        let issued_at = UNIX_EPOCH + Duration::from_secs(1_000_000);
        Lifetime { issued_at, expires_at: issued_at + Duration::from_secs(secs) }
    }

    #[test]
    fn twelve_hour_token() {
        let l = window(43200);
        assert_eq!(l.margin(), Duration::from_secs(600));
        assert_eq!(l.min_remaining(), Duration::from_secs(21600));
        assert_eq!(l.assess(l.issued_at), Freshness::Fresh);
        assert_eq!(l.assess(l.refresh_at()), Freshness::Fresh);
        assert_eq!(l.assess(l.refresh_at() + Duration::from_secs(1)), Freshness::Stale);
        assert_eq!(l.assess(l.expires_at - Duration::from_secs(600)), Freshness::Stale);
        assert_eq!(l.assess(l.expires_at - Duration::from_secs(599)), Freshness::Unusable);
        assert_eq!(l.assess(l.expires_at + Duration::from_secs(5)), Freshness::Unusable);
    }

    #[test]
    fn short_credentials_scale_the_margin() {
        let l = window(120);
        assert_eq!(l.margin(), Duration::from_secs(30));
        assert_eq!(l.refresh_at(), l.issued_at + Duration::from_secs(60));
        assert_eq!(l.assess(l.issued_at + Duration::from_secs(91)), Freshness::Unusable);
    }

    #[test]
    fn a_clock_set_back_past_the_signing_time_makes_the_token_unusable() {
        let l = window(43200);
        assert_eq!(l.assess(l.issued_at - FUTURE_TOLERANCE), Freshness::Fresh);
        let earlier = l.issued_at - FUTURE_TOLERANCE - Duration::from_secs(1);
        assert!(l.remaining(earlier) > l.full(), "more than the whole window seems left");
        assert_eq!(l.assess(earlier), Freshness::Unusable);
    }

    #[test]
    fn born_expired_is_unusable() {
        let l = window(0);
        assert_eq!(l.assess(l.issued_at), Freshness::Unusable);
    }
}
