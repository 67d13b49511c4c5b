//! What the proxy counts for `bedprov status`: requests, body bytes each way, refusals and
//! failures by kind, open connections and streams, and the latency it adds (a histogram of
//! fixed buckets, each a fifth wider than the last: lock-free, a few hundred bytes).

use crate::wire::api::{LatencySummary, ProxyStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Refusals and failures, counted by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Another user's connection.
    ForeignUser,
    /// No local key, or a wrong one.
    Unauthorized,
    /// Wrong `Host`, a browser's headers, absolute-form or CONNECT.
    Refused,
    /// Not an operation the proxy forwards.
    NotForwarded,
    /// The prefix names no usable profile or region.
    BadPrefix,
    /// The slot had no token to sign with (needs login, no credentials, failing).
    NoToken,
    /// The upstream could not be reached or failed mid-answer.
    UpstreamUnreachable,
    /// The upstream refused the token (and the one retry, if made, did not help).
    TokenRejected,
    /// The client left before its answer was complete.
    ClientGone,
    /// Connections over the cap, closed at once.
    TooManyConnections,
}

impl Failure {
    const ALL: [Self; 10] = [
        Self::ForeignUser,
        Self::Unauthorized,
        Self::Refused,
        Self::NotForwarded,
        Self::BadPrefix,
        Self::NoToken,
        Self::UpstreamUnreachable,
        Self::TokenRejected,
        Self::ClientGone,
        Self::TooManyConnections,
    ];

    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ForeignUser => "foreign_user",
            Self::Unauthorized => "unauthorized",
            Self::Refused => "refused",
            Self::NotForwarded => "not_forwarded",
            Self::BadPrefix => "bad_prefix",
            Self::NoToken => "no_token",
            Self::UpstreamUnreachable => "upstream_unreachable",
            Self::TokenRejected => "token_rejected",
            Self::ClientGone => "client_gone",
            Self::TooManyConnections => "too_many_connections",
        }
    }
}

/// Bucket `i` holds durations up to [`bounds`]`[i]` microseconds; the last one holds the
/// rest (hours).
const BUCKETS: usize = 128;

/// The proxy's counters.
#[derive(Debug)]
pub struct Stats {
    requests: AtomicU64,
    retries: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
    open_streams: AtomicU64,
    open_connections: AtomicU64,
    failures: [AtomicU64; Failure::ALL.len()],
    latency: [AtomicU64; BUCKETS],
    latency_max_us: AtomicU64,
}

impl Default for Stats {
    fn default() -> Self {
        Self {
            requests: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            bytes_out: AtomicU64::new(0),
            open_streams: AtomicU64::new(0),
            open_connections: AtomicU64::new(0),
            failures: std::array::from_fn(|_| AtomicU64::new(0)),
            latency: std::array::from_fn(|_| AtomicU64::new(0)),
            latency_max_us: AtomicU64::new(0),
        }
    }
}

impl Stats {
    pub fn request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub fn retried(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub fn failed(&self, failure: Failure) {
        let index = Failure::ALL.iter().position(|f| *f == failure).expect("listed");
        self.failures[index].fetch_add(1, Ordering::Relaxed);
    }

    pub fn bytes_from_client(&self, n: usize) {
        self.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub fn bytes_to_client(&self, n: usize) {
        self.bytes_out.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts an open stream until the guard is dropped.
    pub fn stream(self: &std::sync::Arc<Self>) -> Open {
        self.open_streams.fetch_add(1, Ordering::Relaxed);
        Open { stats: std::sync::Arc::clone(self), connection: false }
    }

    /// Counts an open connection until the guard is dropped.
    pub fn connection(self: &std::sync::Arc<Self>) -> Open {
        self.open_connections.fetch_add(1, Ordering::Relaxed);
        Open { stats: std::sync::Arc::clone(self), connection: true }
    }

    #[must_use]
    pub fn open_connections(&self) -> u64 {
        self.open_connections.load(Ordering::Relaxed)
    }

    /// Records the time the proxy added to one request.
    pub fn added(&self, added: Duration) {
        let micros = u64::try_from(added.as_micros()).unwrap_or(u64::MAX);
        self.latency[bucket(micros)].fetch_add(1, Ordering::Relaxed);
        self.latency_max_us.fetch_max(micros, Ordering::Relaxed);
    }

    /// The counters as `/v1/status` shows them.
    #[must_use]
    pub fn status(&self, listen: String, upstream: String) -> ProxyStatus {
        let counts: Vec<u64> = self.latency.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        let percentile = |per_mille: u64| {
            // The bucket that holds the `per_mille` point: its upper bound.
            let rank = (total * per_mille).div_ceil(1000).max(1);
            let mut seen = 0;
            counts
                .iter()
                .position(|count| {
                    seen += count;
                    seen >= rank
                })
                .map_or(0, upper_bound)
                .min(self.latency_max_us.load(Ordering::Relaxed))
        };
        let mut errors: std::collections::BTreeMap<String, u64> = Failure::ALL
            .iter()
            .zip(&self.failures)
            .map(|(failure, count)| (failure.as_str().to_owned(), count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
            .collect();
        let retries = self.retries.load(Ordering::Relaxed);
        if retries > 0 {
            errors.insert("retried_after_refresh".into(), retries);
        }
        ProxyStatus {
            listen,
            upstream,
            requests: self.requests.load(Ordering::Relaxed),
            bytes_from_clients: self.bytes_in.load(Ordering::Relaxed),
            bytes_to_clients: self.bytes_out.load(Ordering::Relaxed),
            open_streams: self.open_streams.load(Ordering::Relaxed),
            open_connections: self.open_connections.load(Ordering::Relaxed),
            errors,
            added_latency_us: (total > 0).then(|| LatencySummary {
                p50: percentile(500),
                p99: percentile(990),
                max: self.latency_max_us.load(Ordering::Relaxed),
                count: total,
            }),
        }
    }
}

/// The buckets' upper bounds in microseconds: 1, 2, … 10, then each a fifth more than the
/// last.
fn bounds() -> &'static [u64; BUCKETS] {
    static BOUNDS: std::sync::OnceLock<[u64; BUCKETS]> = std::sync::OnceLock::new();
    BOUNDS.get_or_init(|| {
        let mut bounds = [1u64; BUCKETS];
        for i in 1..BUCKETS {
            bounds[i] = bounds[i - 1].saturating_add((bounds[i - 1] / 5).max(1));
        }
        bounds
    })
}

fn bucket(micros: u64) -> usize {
    bounds().partition_point(|bound| *bound < micros).min(BUCKETS - 1)
}

fn upper_bound(index: usize) -> u64 {
    bounds()[index]
}

/// A counted open stream or connection, uncounted on drop.
#[derive(Debug)]
pub struct Open {
    stats: std::sync::Arc<Stats>,
    connection: bool,
}

impl Drop for Open {
    fn drop(&mut self) {
        let gauge =
            if self.connection { &self.stats.open_connections } else { &self.stats.open_streams };
        gauge.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn percentiles_are_within_a_fifth() {
        let stats = Stats::default();
        assert!(stats.status(String::new(), String::new()).added_latency_us.is_none());
        for micros in 1..=1000u64 {
            stats.added(Duration::from_micros(micros));
        }
        let summary = stats.status(String::new(), String::new()).added_latency_us.unwrap();
        assert_eq!((summary.count, summary.max), (1000, 1000));
        assert!((500..=600).contains(&summary.p50), "{summary:?}");
        assert!((990..=1000).contains(&summary.p99), "{summary:?}");
        stats.added(Duration::from_secs(100_000));
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn gauges_and_failures() {
        let stats = Arc::new(Stats::default());
        let stream = stats.stream();
        let connection = stats.connection();
        stats.failed(Failure::Unauthorized);
        stats.failed(Failure::Unauthorized);
        stats.failed(Failure::ClientGone);
        stats.retried();
        let open = stats.status("127.0.0.1:1".into(), "AWS".into());
        assert_eq!((open.open_streams, open.open_connections), (1, 1));
        assert_eq!(open.errors["unauthorized"], 2);
        assert_eq!(open.errors["client_gone"], 1);
        assert_eq!(open.errors["retried_after_refresh"], 1);
        assert!(!open.errors.contains_key("no_token"));
        drop((stream, connection));
        let closed = stats.status(String::new(), String::new());
        assert_eq!((closed.open_streams, closed.open_connections), (0, 0));
    }
}
