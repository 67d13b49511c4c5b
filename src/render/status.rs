//! `bedprov status`: the daemon and its slots, for people and as JSON. For people, what the
//! daemon reports is quoted (`quote::shown`): a slot's profile came from whoever asked.

use crate::quote::{shown, shown_long};
use crate::timefmt::{human_utc, parse_rfc3339, relative};
use crate::wire::api::{ProxyStatus, SlotState, SlotStatus, StatusBody};
use std::fmt::Write as _;
use std::time::SystemTime;

#[must_use]
pub(crate) fn json(status: &StatusBody) -> String {
    let mut out = serde_json::to_string_pretty(status).expect("serializes");
    out.push('\n');
    out
}

#[must_use]
pub(crate) fn human(status: &StatusBody, now: SystemTime) -> String {
    let mut out = String::new();
    let since =
        parse_rfc3339(&status.started_at).map_or_else(|| shown(&status.started_at), human_utc);
    let _ = writeln!(
        out,
        "bedprov daemon {} (pid {}), up since {since}",
        shown(&status.version),
        status.pid
    );
    let _ = writeln!(out, "socket: {}", shown_long(&status.socket));
    if let Some(proxy) = &status.proxy {
        out.push_str(&self::proxy(proxy));
    }
    if status.slots.is_empty() {
        let _ = writeln!(
            out,
            "\nNo tokens yet: the first `bedprov-helper env` (or GET /v1/token) creates one."
        );
        return out;
    }
    let _ = writeln!(out);
    out.push_str(&slots(&status.slots, now));
    out
}

/// One paragraph per slot: state, expiry, next refresh, counters, last error and its hint.
#[must_use]
pub(crate) fn slots(slots: &[SlotStatus], now: SystemTime) -> String {
    let mut out = String::new();
    for slot in slots {
        let region =
            slot.region.as_deref().or(slot.requested_region.as_deref()).unwrap_or("(pending)");
        let when = |t: &Option<String>| {
            t.as_deref()
                .and_then(parse_rfc3339)
                .map(|at| format!("{} ({})", human_utc(at), relative(at, now)))
        };
        let _ = writeln!(
            out,
            "{} {} · profile {} · {} · TTL {}{}",
            mark(slot.state),
            slot.state.as_str(),
            shown(&slot.profile),
            shown(region),
            crate::timefmt::compact_duration(std::time::Duration::from_secs(slot.ttl_seconds)),
            if slot.pinned { " · from config" } else { "" },
        );
        if slot.credential_source.is_some() {
            let signer = super::token::signed_by(
                slot.credential_source,
                &slot.profile,
                slot.access_key_id.as_deref(),
            );
            let _ = writeln!(out, "    signed by {signer}");
        }
        if let Some(expires) = when(&slot.expires_at) {
            let _ = writeln!(out, "    token expires {expires}");
        }
        if let Some(credentials) = when(&slot.credential_expires_at) {
            let _ = writeln!(out, "    credentials expire {credentials}");
        }
        if slot.refreshing {
            let _ = writeln!(out, "    refreshing now");
        } else if let Some(next) = when(&slot.refresh_at) {
            let _ = writeln!(out, "    next refresh  {next}");
        }
        let _ =
            writeln!(out, "    refreshed {}, served {}", times(slot.refreshes), times(slot.served));
        if let Some(error) = &slot.last_error {
            let _ = writeln!(out, "    last error: {}", shown_long(&error.message));
            let _ = writeln!(out, "    hint: {}", shown_long(&error.hint));
        }
    }
    out
}

/// The local proxy: where it listens and sends, what it carried, what it refused.
#[must_use]
pub(crate) fn proxy(proxy: &ProxyStatus) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "proxy: {} → {}", shown(&proxy.listen), shown_long(&proxy.upstream));
    let _ = writeln!(
        out,
        "    {} requests · {} in, {} out · {} open streams · {} open connections",
        proxy.requests,
        bytes(proxy.bytes_from_clients),
        bytes(proxy.bytes_to_clients),
        proxy.open_streams,
        proxy.open_connections
    );
    if let Some(latency) = &proxy.added_latency_us {
        let _ = writeln!(
            out,
            "    added latency p50 {} µs · p99 {} µs · max {} µs ({} requests)",
            latency.p50, latency.p99, latency.max, latency.count
        );
    }
    if !proxy.errors.is_empty() {
        let errors: Vec<String> =
            proxy.errors.iter().map(|(kind, count)| format!("{} {count}", shown(kind))).collect();
        let _ = writeln!(out, "    refused or failed: {}", errors.join(", "));
    }
    out
}

/// A byte count for people: `512 B`, `3.4 KB`, `12.0 MB`.
fn bytes(count: u64) -> String {
    let (unit, scale) = match count {
        0..1_000 => return format!("{count} B"),
        1_000..1_000_000 => ("KB", 1_000),
        1_000_000..1_000_000_000 => ("MB", 1_000_000),
        _ => ("GB", 1_000_000_000),
    };
    let tenths = count / (scale / 10);
    format!("{}.{} {unit}", tenths / 10, tenths % 10)
}

fn times(count: u64) -> String {
    if count == 1 { "once".to_owned() } else { format!("{count} times") }
}

fn mark(state: SlotState) -> &'static str {
    match state {
        SlotState::Fresh => "✓",
        SlotState::Empty => "…",
        SlotState::Degraded => "!",
        SlotState::NeedsLogin | SlotState::Failed => "✗",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::api::LatencySummary;

    #[test]
    fn the_proxy_shows_its_address_traffic_latency_and_refusals() {
        let mut status = ProxyStatus {
            listen: "127.0.0.1:8239".into(),
            upstream: "AWS".into(),
            requests: 12,
            bytes_from_clients: 999,
            bytes_to_clients: 3_456_789,
            open_streams: 1,
            open_connections: 2,
            ..ProxyStatus::default()
        };
        assert_eq!(
            proxy(&status),
            "proxy: 127.0.0.1:8239 → AWS\n    12 requests · 999 B in, 3.4 MB out · 1 open streams · 2 open connections\n"
        );
        status.added_latency_us = Some(LatencySummary { p50: 80, p99: 700, max: 900, count: 12 });
        status.errors.insert("unauthorized".into(), 2);
        status.errors.insert("client_gone".into(), 1);
        let text = proxy(&status);
        assert!(
            text.contains("    added latency p50 80 µs · p99 700 µs · max 900 µs (12 requests)\n"),
            "{text}"
        );
        assert!(text.ends_with("    refused or failed: client_gone 1, unauthorized 2\n"), "{text}");
        assert_eq!(bytes(1_500), "1.5 KB");
        assert_eq!(bytes(12_000_000_000), "12.0 GB");
    }
}
