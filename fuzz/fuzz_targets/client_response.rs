//! The blocking client's answer parser (used by `bedprov-helper`): whoever holds the socket
//! can send anything. No panic; an accepted answer has a three-digit status, and its body is
//! the start of what follows the head.
#![no_main]

use bedprov::wire::client::parse_response;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(response) = parse_response(input.to_vec()) else {
        return;
    };
    assert!((100..=999).contains(&response.status));
    let head_end = input.windows(4).position(|w| w == b"\r\n\r\n").expect("a head was found");
    let rest = &input[head_end + 4..];
    assert!(rest.starts_with(&response.body));
});
