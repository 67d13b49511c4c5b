//! Times and durations as text, for every layer: RFC 3339 for machines, "2026-11-26 21:43
//! UTC" and "in 5 hours 58 min" for people, and `SigV4`'s `X-Amz-Date` form. A bottom-layer
//! module: tokens, credentials, slots and the daemon use it as much as `render` does, and it
//! uses nothing of bedprov's.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use time::OffsetDateTime;
use time::macros::format_description;

fn to_offset(at: SystemTime) -> OffsetDateTime {
    let secs = at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    OffsetDateTime::from_unix_timestamp(i64::try_from(secs).unwrap_or(i64::MAX))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// `2026-11-26T09:43:31Z` (whole seconds, UTC).
#[must_use]
pub fn rfc3339(at: SystemTime) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    to_offset(at).format(&fmt).unwrap_or_default()
}

/// Parses what [`rfc3339`] writes (and any RFC 3339 time with an offset).
#[must_use]
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let parsed =
        OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()?;
    let secs = u64::try_from(parsed.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// `2026-11-26 21:43 UTC`, for people.
#[must_use]
pub fn human_utc(at: SystemTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    to_offset(at).format(&fmt).unwrap_or_default()
}

/// `21:43 UTC`, for a sentence about today.
#[must_use]
pub fn clock_utc(at: SystemTime) -> String {
    let fmt = format_description!("[hour]:[minute] UTC");
    to_offset(at).format(&fmt).unwrap_or_default()
}

/// Parses `SigV4`'s `20261126T094331Z`.
#[must_use]
pub fn parse_amz_date(text: &str) -> Option<SystemTime> {
    let fmt = format_description!("[year][month][day]T[hour][minute][second]Z");
    let parsed = time::PrimitiveDateTime::parse(text, &fmt).ok()?.assume_utc();
    let secs = u64::try_from(parsed.unix_timestamp()).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(secs))
}

/// "12 hours", "58 min", "1 hour 30 min", "45 s": a duration for people, to the minute
/// (seconds only below a minute).
#[must_use]
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    if secs < 60 {
        return format!("{secs} s");
    }
    let minutes = secs / 60;
    let (hours, minutes) = (minutes / 60, minutes % 60);
    let hours_text = match hours {
        0 => String::new(),
        1 => "1 hour".to_owned(),
        n => format!("{n} hours"),
    };
    match (hours, minutes) {
        (_, 0) => hours_text,
        (0, m) => format!("{m} min"),
        (_, m) => format!("{hours_text} {m} min"),
    }
}

/// "12h", "1h30m", "15m", "90s": compact, and accepted back by `--ttl`.
#[must_use]
pub fn compact_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let mut out = String::new();
    for (n, unit) in [(h, 'h'), (m, 'm'), (s, 's')] {
        if n > 0 {
            out.push_str(&n.to_string());
            out.push(unit);
        }
    }
    if out.is_empty() { "0s".to_owned() } else { out }
}

/// "in 5 hours 58 min" or "3 min ago", relative to `now`.
#[must_use]
pub fn relative(at: SystemTime, now: SystemTime) -> String {
    match at.duration_since(now) {
        Ok(ahead) => format!("in {}", human_duration(ahead)),
        Err(behind) => format!("{} ago", human_duration(behind.duration())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let at = UNIX_EPOCH + Duration::from_secs(1_795_686_211);
        assert_eq!(rfc3339(at), "2026-11-26T09:43:31Z");
        assert_eq!(parse_rfc3339("2026-11-26T09:43:31Z"), Some(at));
        assert_eq!(parse_rfc3339("2026-11-26T10:43:31+01:00"), Some(at));
        assert_eq!(human_utc(at), "2026-11-26 09:43 UTC");
        assert_eq!(clock_utc(at), "09:43 UTC");
        assert_eq!(parse_amz_date("20261126T094331Z"), Some(at));
        assert_eq!(parse_amz_date("2026-11-26"), None);
    }

    #[test]
    fn durations_for_people() {
        assert_eq!(human_duration(Duration::from_secs(43200)), "12 hours");
        assert_eq!(human_duration(Duration::from_secs(3480)), "58 min");
        assert_eq!(human_duration(Duration::from_secs(5400)), "1 hour 30 min");
        assert_eq!(human_duration(Duration::from_secs(59)), "59 s");
        assert_eq!(compact_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(compact_duration(Duration::from_secs(900)), "15m");
        let now = UNIX_EPOCH + Duration::from_secs(1000);
        assert_eq!(relative(now + Duration::from_secs(120), now), "in 2 min");
        assert_eq!(relative(now - Duration::from_secs(180), now), "3 min ago");
    }
}
