//! The socket API's query string (`?profile=&region=&ttl=`) and percent-decoding, as the daemon
//! reads them from any client: no panic; encoding then decoding is the identity; a parsed query
//! renders and parses back to itself; validating it (region and TTL rules) never panics.
#![no_main]

use bedprov::clock::ManualClock;
use bedprov::daemon::state::Daemon;
use bedprov::wire::api::{TokenQuery, TokenRequest, percent_decode, percent_encode};
use libfuzzer_sys::fuzz_target;

/// Key building needs a daemon (its own environment fills in what a query leaves out).
static DAEMON: std::sync::LazyLock<Daemon> = std::sync::LazyLock::new(|| {
    Daemon::new(
        std::sync::Arc::new(NoSource),
        std::sync::Arc::new(ManualClock::new(std::time::UNIX_EPOCH)),
        "/nonexistent/config.toml".into(),
        "/nonexistent/bedprov.sock".into(),
    )
});

/// Never asked: building a key resolves nothing.
#[derive(Debug)]
struct NoSource;

impl bedprov::slot::CredentialSource for NoSource {
    fn resolve<'a>(
        &'a self,
        _key: &'a bedprov::slot::SlotKey,
    ) -> bedprov::slot::BoxFuture<'a, bedprov::Result<bedprov::creds::Resolved>> {
        unreachable!("key_for never resolves credentials")
    }
}

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let _ = percent_decode(text);
    assert_eq!(percent_decode(&percent_encode(text)).as_deref(), Some(text));
    if let Ok(query) = TokenQuery::parse(text) {
        let rendered = query.to_query_string();
        let again = TokenQuery::parse(rendered.strip_prefix('?').unwrap_or(&rendered))
            .unwrap_or_else(|e| panic!("{rendered:?} does not parse back: {e}"));
        assert_eq!(again, query);
        let _ = DAEMON.key_for(&TokenRequest::from(query));
    }
});
