//! TTL parsing (`--ttl`, `?ttl=`): no panic; an accepted TTL is in range, agrees with the
//! unchecked parse, and reads back from its own display and from its seconds; a refusal says
//! why without echoing more than 60 characters of the input.
#![no_main]

use bedprov::ttl::{MAX, MIN, Ttl, TtlError, parse_duration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let duration = parse_duration(text);
    match Ttl::parse(text) {
        Ok(ttl) => {
            assert!((MIN..=MAX).contains(&ttl.as_duration()));
            assert_eq!(duration, Ok(ttl.as_duration()));
            assert_eq!(Ttl::parse(&ttl.to_string()), Ok(ttl), "display {ttl}");
            assert_eq!(Ttl::parse(&ttl.as_secs().to_string()), Ok(ttl));
        }
        Err(TtlError::OutOfRange(refused)) => assert_eq!(duration, Ok(refused)),
        Err(TtlError::Unreadable { input }) => {
            assert!(duration.is_err());
            assert!(input.chars().count() <= 60);
        }
    }
});
