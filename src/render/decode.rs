//! `bedprov decode`: what a token says about itself, for people and as JSON. Never the
//! signature or the session token (the decoder does not even keep them). A token is text
//! from outside: for people, its fields are quoted (`quote::shown`); JSON keeps them exact.

use super::time::{human_duration, human_utc, rfc3339};
use crate::quote::shown;
use crate::token::Decoded;
use serde::Serialize;
use std::fmt::Write as _;
use std::time::SystemTime;

/// The JSON form of a decoded token.
#[derive(Debug, Serialize)]
pub struct DecodedBody {
    pub region: String,
    pub access_key_id: String,
    pub issued_at: String,
    pub expires_at: String,
    pub ttl_seconds: u64,
    /// Seconds until `expires_at`; 0 once expired.
    pub remaining_seconds: u64,
    pub expired: bool,
    pub has_session_token: bool,
}

#[must_use]
pub fn body(decoded: &Decoded, now: SystemTime) -> DecodedBody {
    let remaining = decoded.expires_at.duration_since(now).unwrap_or_default();
    DecodedBody {
        region: decoded.region.clone(),
        access_key_id: decoded.access_key_id.clone(),
        issued_at: rfc3339(decoded.issued_at),
        expires_at: rfc3339(decoded.expires_at),
        ttl_seconds: decoded.ttl.as_secs(),
        remaining_seconds: remaining.as_secs(),
        expired: remaining.is_zero(),
        has_session_token: decoded.has_session_token,
    }
}

#[must_use]
pub fn json(decoded: &Decoded, now: SystemTime) -> String {
    let mut out = serde_json::to_string_pretty(&body(decoded, now)).expect("serializes");
    out.push('\n');
    out
}

#[must_use]
pub fn human(decoded: &Decoded, now: SystemTime) -> String {
    let mut out = String::new();
    let status = match decoded.expires_at.duration_since(now) {
        Ok(left) if !left.is_zero() => format!("valid, {} left", human_duration(left)),
        _ => format!(
            "EXPIRED {} ago",
            human_duration(now.duration_since(decoded.expires_at).unwrap_or_default())
        ),
    };
    let _ = writeln!(out, "Status:        {status}");
    let _ = writeln!(out, "Region:        {}", shown(&decoded.region));
    let _ = writeln!(out, "Access key:    {}", shown(&decoded.access_key_id));
    let _ = writeln!(out, "Issued at:     {}", human_utc(decoded.issued_at));
    let _ = writeln!(
        out,
        "Expires at:    {} (TTL {})",
        human_utc(decoded.expires_at),
        human_duration(decoded.ttl)
    );
    let session = if decoded.has_session_token {
        "yes (temporary credentials: it stops working earlier if they expire first)"
    } else {
        "no (long-term access key)"
    };
    let _ = writeln!(out, "Session token: {session}");
    out
}
