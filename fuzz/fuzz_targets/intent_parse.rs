//! Plain-language requests (`bedprov request TEXT`): no panic on any text; a plan is
//! internally consistent (a long-term plan names a unit and no lifetime, a token plan a
//! lifetime in range and no unit, an owner only for a new key) and its equivalent command is
//! accepted by the real command-line parser; a refusal is a usage error with a hint.
#![no_main]

use bedprov::cli::Cli;
use bedprov::intent::{self, Action, KeyType, NoTerminal};
use bedprov::ttl::{MAX, MIN};
use bedprov::wire::exit;
use clap::Parser as _;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    match intent::understand(text, &mut NoTerminal) {
        Ok(plan) => {
            match plan.key_type() {
                KeyType::LongTerm => {
                    assert!(
                        plan.business_unit.is_some(),
                        "long-term plan without a unit: {text:?}"
                    );
                    assert!(plan.ttl.is_none());
                }
                KeyType::ShortTerm => {
                    assert!(plan.business_unit.is_none());
                    let ttl = plan.ttl.expect("token plans carry a TTL").as_duration();
                    assert!((MIN..=MAX).contains(&ttl));
                }
            }
            if plan.owner.is_some() {
                assert_eq!(plan.action, Action::CreateKey);
            }
            let argv = plan.argv();
            let parsed = Cli::try_parse_from(
                std::iter::once("bedprov".to_owned()).chain(argv.iter().cloned()),
            );
            assert!(parsed.is_ok(), "the plan's command line is refused: {argv:?}");
        }
        Err(error) => {
            assert_eq!(error.exit_code(), exit::USAGE, "{error}");
            assert!(!error.hint().is_empty());
        }
    }
});
