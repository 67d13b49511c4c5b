//! `bedprov decode`: what a token says about itself, for people and as JSON. Never the
//! signature or the session token (the decoder does not even keep them). A token is text
//! from outside: for people, its fields are quoted (`quote::shown`); JSON keeps them exact.
//!
//! A token cannot tell when its signing credentials expire. When the shell decoding it holds
//! those credentials with `AWS_CREDENTIAL_EXPIRATION`, that time caps the expiry shown.

use crate::quote::shown;
use crate::timefmt::{human_duration, human_utc, rfc3339};
use crate::token::Decoded;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::SystemTime;

/// The JSON form of a decoded token.
#[derive(Debug, Serialize)]
pub(crate) struct DecodedBody {
    pub region: String,
    pub access_key_id: String,
    pub issued_at: String,
    /// When the token stops working: `issued_at` + TTL, or earlier when the signing
    /// credentials expire first (known only from `AWS_CREDENTIAL_EXPIRATION` in the shell
    /// that holds them).
    pub expires_at: String,
    /// When the signing credentials expire, if known; `null` otherwise.
    pub credential_expires_at: Option<String>,
    pub ttl_seconds: u64,
    /// Seconds until `expires_at`; 0 once expired.
    pub remaining_seconds: u64,
    pub expired: bool,
    pub has_session_token: bool,
}

/// The token's expiry, capped by its credentials' when known.
fn expires_at(decoded: &Decoded, credential_expires_at: Option<SystemTime>) -> SystemTime {
    credential_expires_at.map_or(decoded.expires_at, |at| at.min(decoded.expires_at))
}

/// `credential_expires_at`: when the signing credentials expire, if known.
#[must_use]
pub(crate) fn body(
    decoded: &Decoded,
    credential_expires_at: Option<SystemTime>,
    now: SystemTime,
) -> DecodedBody {
    let expires_at = expires_at(decoded, credential_expires_at);
    let remaining = expires_at.duration_since(now).unwrap_or_default();
    DecodedBody {
        region: decoded.region.clone(),
        access_key_id: decoded.access_key_id.clone(),
        issued_at: rfc3339(decoded.issued_at),
        expires_at: rfc3339(expires_at),
        credential_expires_at: credential_expires_at.map(rfc3339),
        ttl_seconds: decoded.ttl.as_secs(),
        remaining_seconds: remaining.as_secs(),
        expired: remaining.is_zero(),
        has_session_token: decoded.has_session_token,
    }
}

#[must_use]
pub(crate) fn json(
    decoded: &Decoded,
    credential_expires_at: Option<SystemTime>,
    now: SystemTime,
) -> String {
    let body = body(decoded, credential_expires_at, now);
    let mut out = serde_json::to_string_pretty(&body).expect("serializes");
    out.push('\n');
    out
}

#[must_use]
pub(crate) fn human(
    decoded: &Decoded,
    credential_expires_at: Option<SystemTime>,
    now: SystemTime,
) -> String {
    let mut out = String::new();
    let expires_at = expires_at(decoded, credential_expires_at);
    let status = match expires_at.duration_since(now) {
        Ok(left) if !left.is_zero() => format!("valid, {} left", human_duration(left)),
        _ => format!(
            "EXPIRED {} ago",
            human_duration(now.duration_since(expires_at).unwrap_or_default())
        ),
    };
    let _ = writeln!(out, "Status:        {status}");
    let _ = writeln!(out, "Region:        {}", shown(&decoded.region));
    let _ = writeln!(out, "Access key:    {}", shown(&decoded.access_key_id));
    let _ = writeln!(out, "Issued at:     {}", human_utc(decoded.issued_at));
    let _ = writeln!(
        out,
        "Expires at:    {} (TTL {})",
        human_utc(expires_at),
        human_duration(decoded.ttl)
    );
    if let Some(at) = credential_expires_at {
        let effect = if at < decoded.expires_at {
            "the token stops working then, before its TTL runs out"
        } else {
            "after the token's TTL"
        };
        let _ = writeln!(
            out,
            "Credentials:   expire {} (AWS_CREDENTIAL_EXPIRATION in this shell): {effect}",
            human_utc(at)
        );
    }
    let session = if decoded.has_session_token {
        "yes (temporary credentials: it stops working earlier if they expire first)"
    } else {
        "no (long-term access key)"
    };
    let _ = writeln!(out, "Session token: {session}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn decoded() -> Decoded {
        let issued_at = UNIX_EPOCH + Duration::from_secs(1_795_686_211);
        Decoded {
            region: "us-east-1".into(),
            access_key_id: "ASIAEXAMPLE".into(),
            issued_at,
            ttl: Duration::from_secs(43200),
            expires_at: issued_at + Duration::from_secs(43200),
            has_session_token: true,
        }
    }

    #[test]
    fn known_credential_expiry_caps_what_is_shown() {
        let token = decoded();
        let credentials = token.issued_at + Duration::from_secs(900);
        let body = body(&token, Some(credentials), token.issued_at);
        assert_eq!(body.expires_at, "2026-11-26T09:58:31Z");
        assert_eq!(body.credential_expires_at.as_deref(), Some("2026-11-26T09:58:31Z"));
        assert_eq!(body.remaining_seconds, 900);
        let text = human(&token, Some(credentials), token.issued_at);
        assert!(text.contains("Status:        valid, 15 min left"), "{text}");
        assert!(text.contains("Expires at:    2026-11-26 09:58 UTC (TTL 12 hours)"), "{text}");
        assert!(
            text.contains("AWS_CREDENTIAL_EXPIRATION in this shell): the token stops working then"),
            "{text}"
        );
    }

    #[test]
    fn without_it_the_ttl_decides() {
        let token = decoded();
        let body = body(&token, None, token.issued_at);
        assert_eq!(body.expires_at, "2026-11-26T21:43:31Z");
        assert_eq!(body.credential_expires_at, None);
        assert!(!human(&token, None, token.issued_at).contains("Credentials:"));
    }
}
