//! Token lifetimes: parsing what people type (`6h`, `90min`, `1h30m`, `30 minutes`, `3600`)
//! and holding the 15 min – 12 h range AWS allows.
//!
//! Used by `bedprov token --ttl`, the daemon's `?ttl=` and plain-language requests.

use std::fmt;
use std::time::Duration;

/// The shortest TTL bedprov signs.
pub const MIN: Duration = Duration::from_secs(15 * 60);
/// The longest TTL a Bedrock token may carry (`X-Amz-Expires` ≤ 43200).
pub const MAX: Duration = Duration::from_secs(12 * 60 * 60);

/// The forms `--ttl` accepts, for error messages and help.
pub const FORMS: &str = "15m, 90min, 6h, 1h30m, 1.5h, 6 hours, 30 minutes, or seconds such as 3600";

/// A token lifetime within [`MIN`]..=[`MAX`], in whole seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Ttl(Duration);

impl Default for Ttl {
    /// 12 hours: the default `bedprov token` mints, and AWS's maximum.
    fn default() -> Self {
        Self(MAX)
    }
}

/// Why a TTL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TtlError {
    #[error("cannot read `{input}` as a duration: use {FORMS}")]
    Unreadable { input: String },
    #[error("a TTL of {} is outside the allowed range of 15 minutes to 12 hours", crate::timefmt::human_duration(*.0))]
    OutOfRange(Duration),
}

impl Ttl {
    /// A TTL from a duration, refused outside the range or when not whole seconds.
    pub fn new(duration: Duration) -> Result<Self, TtlError> {
        if duration.subsec_nanos() != 0 || duration < MIN || duration > MAX {
            return Err(TtlError::OutOfRange(duration));
        }
        Ok(Self(duration))
    }

    /// Parses and range-checks a TTL.
    pub fn parse(input: &str) -> Result<Self, TtlError> {
        Self::new(parse_duration(input)?)
    }

    #[must_use]
    pub fn as_duration(self) -> Duration {
        self.0
    }

    #[must_use]
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl fmt::Display for Ttl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::timefmt::compact_duration(self.0))
    }
}

/// Parses a duration without range checks: a bare number is seconds; otherwise one or more
/// `<number><unit>` parts (`1h30m`, `1 hour 30 minutes`, `1.5h`), case-insensitive.
pub fn parse_duration(input: &str) -> Result<Duration, TtlError> {
    let unreadable = || TtlError::Unreadable { input: crate::quote::shown(input) };
    let text = input.trim().to_ascii_lowercase();
    if text.is_empty() || text.len() > 64 {
        return Err(unreadable());
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<u64>().map(Duration::from_secs).map_err(|_| unreadable());
    }
    let mut millis: u128 = 0;
    let mut rest = text.as_str();
    while !rest.is_empty() {
        let number_len =
            rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_len);
        let value: f64 = number.parse().map_err(|_| unreadable())?;
        let tail = tail.trim_start();
        let unit_len = tail.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let unit_secs: u32 = match unit {
            "s" | "sec" | "secs" | "second" | "seconds" => 1,
            "m" | "min" | "mins" | "minute" | "minutes" => 60,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3600,
            _ => return Err(unreadable()),
        };
        let part = value * f64::from(unit_secs) * 1000.0;
        if !part.is_finite() || part > 1e12 {
            return Err(unreadable());
        }
        // Rounded to the millisecond: `1.5h` is exactly 5400 s, not 5399.999….
        #[allow(clippy::cast_sign_loss)]
        let part = part.round() as u128;
        millis += part;
        rest = tail.trim_start().trim_start_matches([',', '+']).trim_start();
        rest = rest.strip_prefix("and ").unwrap_or(rest);
    }
    let millis = u64::try_from(millis).map_err(|_| unreadable())?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(input: &str) -> u64 {
        Ttl::parse(input).unwrap_or_else(|e| panic!("{input}: {e}")).as_secs()
    }

    #[test]
    fn accepts_every_documented_form() {
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("90min"), 5400);
        assert_eq!(secs("6h"), 21600);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("6 hours"), 21600);
        assert_eq!(secs("30 minutes"), 1800);
        assert_eq!(secs("3600"), 3600);
        assert_eq!(secs("1.5h"), 5400);
        assert_eq!(secs("1 hour 30 minutes"), 5400);
        assert_eq!(secs("1 hour and 30 minutes"), 5400);
        assert_eq!(secs(" 12H "), 43200);
        assert_eq!(secs("43200s"), 43200);
    }

    #[test]
    fn refuses_out_of_range_naming_the_range() {
        for input in ["14m", "899", "12h1s", "13h", "0", "0.5s"] {
            let err = Ttl::parse(input).unwrap_err();
            assert!(err.to_string().contains("15 minutes to 12 hours"), "{input}: {err}");
        }
    }

    #[test]
    fn refuses_unreadable_input_listing_the_forms() {
        for input in
            ["", "abc", "6 days", "h", "1.2.3h", "-5m", "5m-", "1e9h", "99999999999999999999"]
        {
            let err = Ttl::parse(input).unwrap_err();
            assert!(
                matches!(err, TtlError::Unreadable { .. } | TtlError::OutOfRange(_)),
                "{input}"
            );
        }
        assert!(Ttl::parse("6 days").unwrap_err().to_string().contains("90min"));
    }

    #[test]
    fn default_is_twelve_hours() {
        assert_eq!(Ttl::default().as_secs(), 43200);
        assert_eq!(Ttl::default().to_string(), "12h");
    }
}
