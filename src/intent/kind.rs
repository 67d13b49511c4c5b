//! Which kind of key a request asks for: short-term token or long-term key, and the
//! sentence saying why.
//!
//! The order of evidence: the kind named outright ("long-term", "temporary"), then what
//! only one kind has (a lifetime: tokens; a business unit: keys), then words about the use
//! ("CI/CD", "testing"), then the one open question ("production" alone), then the
//! recommended default. Evidence that points both ways is refused with an explanation.
//! Values (TTL, unit) arrive already validated; nothing here reads text.

use super::lexicon::{Lean, Strength, VerbKind};
use super::words::shown;
use super::{RawIntent, Said, Signal};
use crate::Error;
use crate::prompt::Questions;
use crate::provision::unit::BusinessUnit;
use crate::ttl::Ttl;
use crate::wire::api::ErrorCode;

/// The kind of key a plan makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    ShortTerm,
    LongTerm,
}

impl KeyType {
    /// The name in `--format json`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ShortTerm => "short_term",
            Self::LongTerm => "long_term",
        }
    }
}

/// The first signal of each kind and strength.
struct Evidence<'a> {
    short_named: Option<&'a Said<Signal>>,
    long_named: Option<&'a Said<Signal>>,
    short_use: Option<&'a Said<Signal>>,
    long_use: Option<&'a Said<Signal>>,
    production: Option<&'a Said<Signal>>,
}

impl<'a> Evidence<'a> {
    fn of(raw: &'a RawIntent) -> Self {
        let find = |lean: Lean, strength: Strength| {
            raw.signals.iter().find(|s| s.value.lean == lean && s.value.strength == strength)
        };
        Self {
            short_named: find(Lean::Short, Strength::Explicit),
            long_named: find(Lean::Long, Strength::Explicit),
            short_use: find(Lean::Short, Strength::Usage),
            long_use: find(Lean::Long, Strength::Usage),
            production: raw.signals.iter().find(|s| s.value.lean == Lean::Ambiguous),
        }
    }
}

type Decision = (KeyType, String);

/// Decides the kind of key; may ask `questions`, may add to `notes`.
pub(super) fn decide(
    raw: &RawIntent,
    ttl: Option<&(Ttl, String)>,
    unit: Option<&(BusinessUnit, String)>,
    questions: &mut dyn Questions,
    notes: &mut Vec<String>,
) -> crate::Result<Decision> {
    let evidence = Evidence::of(raw);
    refuse_contradictions(&evidence, ttl, unit)?;
    if let Some(decision) = named_or_implied(&evidence, ttl, unit, notes) {
        return Ok(decision);
    }
    match (evidence.short_use, evidence.long_use) {
        (Some(short), Some(long)) => {
            return Err(Error::usage(
                format!(
                    "\"{}\" suggests a short-term token, but \"{}\" suggests a long-term key",
                    quote(short),
                    quote(long)
                ),
                "say \"short-term\" or \"long-term\"",
            ));
        }
        (Some(short), None) => return Ok((KeyType::ShortTerm, short_reason(short))),
        (None, Some(long)) => return Ok((KeyType::LongTerm, long_reason(long))),
        (None, None) => {}
    }
    if raw.verbs.iter().any(|v| v.value == VerbKind::Rotate) && !raw.mentions_token {
        return Err(Error::usage(
            "rotation is for a business unit's long-term key, and the request names no unit",
            r#"name it, as in "rotate the key for data-science"; for a fresh short-term token say "refresh my Bedrock token""#,
        ));
    }
    if let Some(production) = evidence.production {
        return ask_about(&quote(production), questions, notes);
    }
    Ok((
        KeyType::ShortTerm,
        "short-term token: the recommended default (nothing in the request needs a long-term key)"
            .into(),
    ))
}

/// Evidence that points both ways: explained, never settled by a guess.
fn refuse_contradictions(
    evidence: &Evidence<'_>,
    ttl: Option<&(Ttl, String)>,
    unit: Option<&(BusinessUnit, String)>,
) -> crate::Result<()> {
    if let (Some(short), Some(long)) = (evidence.short_named, evidence.long_named) {
        return Err(Error::usage(
            format!(
                "the request asks for both a short-term (\"{}\") and a long-term (\"{}\") key",
                quote(short),
                quote(long)
            ),
            "say one of them",
        ));
    }
    if let (Some((ttl, ttl_said)), Some((unit, unit_said))) = (ttl, unit) {
        return Err(Error::usage(
            format!(
                "a lifetime (\"{ttl_said}\") is for short-term tokens, but a business unit (\"{unit_said}\") holds long-term keys"
            ),
            format!(
                "drop \"{unit_said}\" for a {ttl} token, or drop \"{ttl_said}\" for a long-term key for {unit}"
            ),
        ));
    }
    if let (Some(short), Some((_, unit_said))) = (evidence.short_named.or(evidence.short_use), unit)
    {
        return Err(Error::usage(
            format!(
                "\"{}\" asks for a short-term token, but a business unit (\"{unit_said}\") holds long-term keys",
                quote(short)
            ),
            format!(
                "drop \"{unit_said}\" for a token, or say \"long-term\" for a key for the unit"
            ),
        ));
    }
    if let (Some(long), Some((_, ttl_said))) = (evidence.long_named.or(evidence.long_use), ttl) {
        return Err(Error::usage(
            format!(
                "a lifetime (\"{ttl_said}\") is for short-term tokens, but \"{}\" asks for a long-term key",
                quote(long)
            ),
            format!(
                "drop \"{ttl_said}\" for a long-term key, or drop \"{}\" for a token",
                quote(long)
            ),
        ));
    }
    Ok(())
}

/// The kind named outright, or implied by a value only one kind has.
fn named_or_implied(
    evidence: &Evidence<'_>,
    ttl: Option<&(Ttl, String)>,
    unit: Option<&(BusinessUnit, String)>,
    notes: &mut Vec<String>,
) -> Option<Decision> {
    if let Some(short) = evidence.short_named {
        if let Some(long) = evidence.long_use {
            notes.push(format!(
                "\"{}\" usually needs a long-term key when it runs past 12 hours; the daemon (bedprov daemon start) keeps a token fresh instead",
                quote(long)
            ));
        }
        let reason = format!("short-term token: asked for by name (\"{}\")", quote(short));
        return Some((KeyType::ShortTerm, reason));
    }
    if let Some(long) = evidence.long_named {
        let reason = format!("long-term key: asked for by name (\"{}\")", quote(long));
        return Some((KeyType::LongTerm, reason));
    }
    if let Some((ttl, said)) = ttl {
        let reason =
            format!("short-term token: a lifetime was given ({})", as_read(said, &ttl.to_string()));
        return Some((KeyType::ShortTerm, reason));
    }
    if let Some((unit, said)) = unit {
        let reason = format!(
            "long-term key: business units hold long-term keys ({})",
            as_read(said, unit.as_str())
        );
        return Some((KeyType::LongTerm, reason));
    }
    None
}

/// The one open question, for "production" alone (a server that outlives a token, or a
/// person checking production for an afternoon?): asked when someone can answer; otherwise
/// the safer short-term token is planned, with how to ask for a long-term key.
fn ask_about(
    said: &str,
    questions: &mut dyn Questions,
    notes: &mut Vec<String>,
) -> crate::Result<Decision> {
    Ok(match runs_longer_than_a_token(said, questions)? {
        Some(true) => (
            KeyType::LongTerm,
            format!("long-term key: \"{said}\" runs longer than 12 hours (your answer)"),
        ),
        Some(false) => (
            KeyType::ShortTerm,
            format!("short-term token: \"{said}\" runs 12 hours or less (your answer)"),
        ),
        None => {
            notes.push(format!(
                "for a long-term key, say so: bedprov request \"long-term Bedrock key for {said} for the UNIT team\""
            ));
            (
                KeyType::ShortTerm,
                format!(
                    "short-term token: \"{said}\" alone does not say whether it runs longer than 12 hours, and there is no terminal to ask, so the safer choice was planned"
                ),
            )
        }
    })
}

/// Does it run longer than 12 hours? `None` when nobody can answer; a question left
/// unanswered plans nothing.
fn runs_longer_than_a_token(
    said: &str,
    questions: &mut dyn Questions,
) -> crate::Result<Option<bool>> {
    if !questions.can_ask() {
        return Ok(None);
    }
    let question =
        format!("\"{said}\": will it run longer than 12 hours without a person restarting it?");
    let options = [
        "No: a short-term token (up to 12 hours; `bedprov daemon start` keeps it fresh)",
        "Yes: a long-term IAM key for a business unit",
    ];
    match questions.choose(&question, &options).map_err(Error::io("cannot read the answer"))? {
        Some(choice) => Ok(Some(choice == 1)),
        None => Err(Error::new(
            ErrorCode::Declined,
            "no answer was given, so nothing was planned",
            "run the request again when you are ready; --dry-run shows the plan",
        )),
    }
}

fn quote(said: &Said<Signal>) -> String {
    shown(&said.text)
}

fn short_reason(said: &Said<Signal>) -> String {
    if said.value.runtime {
        format!("short-term token: it runs \"{}\", within a token's 12 hours", quote(said))
    } else {
        format!(
            "short-term token: \"{}\" is the interactive use tokens are for (up to 12 h, renewable)",
            quote(said)
        )
    }
}

fn long_reason(said: &Said<Signal>) -> String {
    if said.value.runtime {
        format!("long-term key: \"{}\" is longer than a token lasts (12 hours)", quote(said))
    } else {
        format!("long-term key: \"{}\" runs unattended, past a token's 12 hours", quote(said))
    }
}

/// `"Marketing Team" → marketing-team`, or just `"data-science"` when typed that way.
fn as_read(said: &str, value: &str) -> String {
    if said == value { format!("\"{said}\"") } else { format!("\"{said}\" → {value}") }
}
