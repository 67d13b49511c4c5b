//! `bedprov decode` on anything: no panic, and what it accepts is consistent. Then the other
//! way: a token minted with the input as its session token decodes back to what was signed
//! (or is refused as too large, exactly when it is), and its redacted `Debug` shows none of it.
#![no_main]

use aws_credential_types::Credentials;
use bedprov::region::Region;
use bedprov::token::{DecodeError, PREFIX, decode, mint};
use bedprov::ttl::Ttl;
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, UNIX_EPOCH};

const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-gov-west-1"];

fuzz_target!(|input: &[u8]| {
    let text = String::from_utf8_lossy(input);
    if let Ok(decoded) = decode(&text) {
        assert!((1..=604_800).contains(&decoded.ttl.as_secs()));
        assert_eq!(decoded.expires_at, decoded.issued_at + decoded.ttl);
        assert!(!decoded.access_key_id.is_empty() && !decoded.access_key_id.contains('/'));
        assert!(!decoded.region.contains('/'));
    }

    let seed = input.iter().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(*b)));
    let session = (!text.is_empty()).then(|| text.clone().into_owned());
    let creds = Credentials::new(
        "ASIAFUZZEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        session.clone(),
        None,
        "fuzz",
    );
    let region = Region::parse(REGIONS[(seed % 4) as usize]).unwrap();
    let ttl = Ttl::new(Duration::from_secs(900 + seed % 42_301)).unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_500_000_000 + seed % 600_000_000);
    let token = mint(&creds, &region, ttl, at).expect("valid credentials always mint");
    let decoded = match decode(token.expose_secret()) {
        Ok(decoded) => decoded,
        // decode refuses more than 16 KiB (real tokens are 1–4 KB); only a session token of
        // several KB, mostly non-ASCII (percent-encoded nine-fold), gets there.
        Err(DecodeError::TooLarge(size)) => {
            assert!(size > 16 * 1024 && size == token.expose_secret().len());
            return;
        }
        Err(error) => panic!("a minted token does not decode: {error}"),
    };
    assert_eq!(decoded.access_key_id, "ASIAFUZZEXAMPLE");
    assert_eq!(decoded.region, region.as_str());
    assert_eq!(decoded.issued_at, at);
    assert_eq!(decoded.ttl, ttl.as_duration());
    assert_eq!(decoded.has_session_token, session.is_some());
    let shown = format!("{token:?} {token}");
    assert!(!shown.contains(&token.expose_secret()[PREFIX.len()..]));
});
