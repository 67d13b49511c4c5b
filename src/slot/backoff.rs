//! Retry spacing after a failed refresh: exponential with jitter and a cap, and a slow,
//! fixed pace for failures only a human can fix (an expired SSO session), which a change
//! under `~/.aws` cuts short.

use std::time::Duration;

const FIRST: Duration = Duration::from_secs(1);
const CAP: Duration = Duration::from_secs(5 * 60);
/// Between retries of a needs-login failure (the watch retries at once after `aws sso login`).
pub const NEEDS_LOGIN: Duration = Duration::from_secs(15 * 60);

/// The wait before retry number `failures` (1-based), jittered to ±20 %.
#[must_use]
pub fn delay(failures: u32, needs_login: bool) -> Duration {
    let base = if needs_login {
        NEEDS_LOGIN
    } else {
        let exponent = failures.saturating_sub(1).min(16);
        FIRST.saturating_mul(1 << exponent).min(CAP)
    };
    // Jitter spreads many daemons (or slots) failing on the same outage.
    base.mul_f64(0.8 + 0.4 * fastrand::f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps_with_bounded_jitter() {
        for _ in 0..200 {
            let first = delay(1, false);
            assert!(first >= Duration::from_millis(800) && first <= Duration::from_millis(1200));
            let tenth = delay(10, false);
            assert!(tenth >= CAP.mul_f64(0.8) && tenth <= CAP.mul_f64(1.2));
            let login = delay(1, true);
            assert!(login >= NEEDS_LOGIN.mul_f64(0.8));
        }
        assert!(delay(u32::MAX, false) <= CAP.mul_f64(1.2));
    }
}
