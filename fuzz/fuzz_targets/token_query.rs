//! The socket API's query string (`?profile=&region=&ttl=`) and percent-decoding, as the daemon
//! reads them from any client: no panic; encoding then decoding is the identity; a parsed query
//! renders and parses back to itself; validating it (region and TTL rules) never panics.
#![no_main]

use bedprov::daemon::state::Daemon;
use bedprov::wire::api::{TokenQuery, percent_decode, percent_encode};
use libfuzzer_sys::fuzz_target;

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
        let _ = Daemon::key_for(&query);
    }
});
