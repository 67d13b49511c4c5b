//! Stage two: [`RawIntent`] → [`Plan`]. Validates every value, settles the key type, refuses
//! contradictions with an explanation, and turns the plan into the `bedprov` command line
//! that carries it out.
//!
//! It does not run anything, print, or prompt: the one open question (does "production"
//! alone run longer than a token lasts?) goes through [`Questions`], so the CLI asks on a
//! terminal and tests answer directly.

use super::kind::{self, KeyType};
use super::lexicon::{Lean, Strength, VerbKind};
use super::words::shown;
use super::{DurationSaid, RawIntent, Said};
use crate::Error;
use crate::prompt::Questions;
use crate::provision::store::Store;
use crate::provision::unit::BusinessUnit;
use crate::provision::unit::Owner;
use crate::region::Region;
use crate::ttl::Ttl;

/// What will run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Mint a short-term token (`bedprov token`).
    GenerateToken,
    /// Provision a long-term key for a business unit (`bedprov key create`).
    CreateKey,
    /// Replace a business unit's long-term key (`bedprov key rotate`).
    RotateKey,
}

impl Action {
    /// The name in `--format json`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GenerateToken => "generate_token",
            Self::CreateKey => "create_key",
            Self::RotateKey => "rotate_key",
        }
    }

    #[must_use]
    pub fn key_type(self) -> KeyType {
        match self {
            Self::GenerateToken => KeyType::ShortTerm,
            Self::CreateKey | Self::RotateKey => KeyType::LongTerm,
        }
    }
}

/// A validated plan: every value checked, nothing left to guess.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub action: Action,
    /// Long-term plans only.
    pub business_unit: Option<BusinessUnit>,
    /// Short-term plans only (12 h when the request named none).
    pub ttl: Option<Ttl>,
    /// `create_key` only: tagged on the unit's IAM user.
    pub owner: Option<Owner>,
    /// `None`: the usual precedence decides (`AWS_REGION`, the profile's, `us-east-1`).
    pub region: Option<Region>,
    /// Long-term plans only: where the secret goes. `None`: printed once (`create_key`), or
    /// wherever the unit's key is kept now (`rotate_key`).
    pub store: Option<Store>,
    /// Why this key type, in a sentence (the first note in JSON).
    pub reason: String,
    /// Everything else worth knowing before it runs.
    pub notes: Vec<String>,
}

impl Plan {
    #[must_use]
    pub fn key_type(&self) -> KeyType {
        self.action.key_type()
    }

    /// The `bedprov` arguments that carry out the plan, as a person would type them.
    #[must_use]
    pub fn argv(&self) -> Vec<String> {
        let mut argv: Vec<String> = match self.action {
            Action::GenerateToken => vec!["token".into()],
            Action::CreateKey => vec!["key".into(), "create".into()],
            Action::RotateKey => vec!["key".into(), "rotate".into()],
        };
        let mut flag = |name: &str, value: Option<String>| {
            if let Some(value) = value {
                argv.push(name.to_owned());
                argv.push(value);
            }
        };
        flag("--business-unit", self.business_unit.as_ref().map(ToString::to_string));
        // 12 h is `bedprov token`'s default: the shortest equivalent command leaves it out.
        flag("--ttl", self.ttl.filter(|ttl| *ttl != Ttl::default()).map(|ttl| ttl.to_string()));
        flag("--owner", self.owner.as_ref().map(ToString::to_string));
        flag("--region", self.region.as_ref().map(ToString::to_string));
        flag("--store", self.store.map(|store| store.as_arg().to_owned()));
        argv
    }

    /// All notes, the reason first (what `--format json` lists).
    #[must_use]
    pub fn all_notes(&self) -> Vec<&str> {
        std::iter::once(self.reason.as_str()).chain(self.notes.iter().map(String::as_str)).collect()
    }
}

const EXAMPLES: &str = r#"e.g. "Bedrock key for 6 hours", "Bedrock key for Marketing Team, owner: jane@corp.com", "rotate the key for data-science""#;
const SECURITY_NOTE: &str = "long-term keys never expire on their own: keep the secret in a vault, never commit it, and rotate it every 30-90 days";

/// Checks what `raw` said and decides what will run.
pub fn validate(raw: &RawIntent, questions: &mut dyn Questions) -> crate::Result<Plan> {
    if !raw.recognised {
        return Err(Error::usage(
            "found no request for a Bedrock key or token in that text",
            format!("say what you need, {EXAMPLES}"),
        ));
    }
    refuse_other_verbs(raw)?;
    let owner = owner(raw)?;
    let region = region(raw)?;
    let ttl = ttl(raw)?;
    let unit = business_unit(raw)?;
    let store = single(
        &raw.stores,
        "store",
        "a key's secret goes to one place: name one store",
        |said| Ok(said.value),
        |a: &Store, b: &Store| a == b,
    )?;
    let mut notes: Vec<String> = raw
        .negated
        .iter()
        .map(|said| format!("not counted: \"{}\" (the request says not)", shown(&said.text)))
        .collect();
    let (key_type, reason) = kind::decide(raw, ttl.as_ref(), unit.as_ref(), questions, &mut notes)?;
    let rotate = raw.verbs.iter().any(|v| matches!(v.value, VerbKind::Rotate | VerbKind::Refresh));

    if key_type == KeyType::ShortTerm {
        if rotate {
            notes.push(
                "a token is not rotated: a new one is minted, and the old one expires on its own"
                    .into(),
            );
        }
        if let Some((email, _)) = &owner {
            notes.push(format!(
                "owner {email} is not used: owners are tags on long-term keys, and tokens carry no tags"
            ));
        }
        if let Some((_, said)) = &store {
            notes.push(format!(
                "\"{said}\" is not used: a token is shown, never stored (stores are for long-term keys)"
            ));
        }
        return Ok(Plan {
            action: Action::GenerateToken,
            business_unit: None,
            ttl: Some(ttl.map_or_else(Ttl::default, |(ttl, _)| ttl)),
            owner: None,
            region: region.map(|(region, _)| region),
            store: None,
            reason,
            notes,
        });
    }

    let Some((unit, _)) = unit else {
        // Echo the use they named ("CI/CD") so the example reads like their own request.
        let usage = raw.signals.iter().find(|s| {
            s.value.lean != Lean::Short && s.value.strength == Strength::Usage && !s.value.runtime
        });
        let example = usage.map_or_else(
            || r#""long-term Bedrock key for the UNIT team""#.to_owned(),
            |said| format!("\"Bedrock key for {} for the UNIT team\"", shown(&said.text)),
        );
        return Err(Error::usage(
            "a long-term key belongs to a business unit, and the request names none",
            format!(
                "name the unit, e.g. {example} or \"business unit: UNIT\"; or run bedprov key create --business-unit UNIT"
            ),
        ));
    };
    let action = if rotate { Action::RotateKey } else { Action::CreateKey };
    if action == Action::RotateKey {
        if let Some((_, said)) = &owner {
            return Err(Error::usage(
                format!(
                    "an owner (\"{said}\") is recorded when a key is created; rotation keeps the unit's tags"
                ),
                format!(
                    "drop the owner to rotate, or see the unit's tags with bedprov key list --business-unit {unit}"
                ),
            ));
        }
        notes.push(format!(
            "rotation makes a new key for {unit}, delivers it where the old one is kept, and retires the old one once the new one works"
        ));
    }
    notes.push(SECURITY_NOTE.into());
    Ok(Plan {
        action,
        business_unit: Some(unit),
        ttl: None,
        owner: owner.map(|(email, _)| email).filter(|_| action == Action::CreateKey),
        region: region.map(|(region, _)| region),
        store: store.map(|(store, _)| store),
        reason,
        notes,
    })
}

fn refuse_other_verbs(raw: &RawIntent) -> crate::Result<()> {
    let unit = raw.units.first().map_or("UNIT".to_owned(), |u| {
        BusinessUnit::parse(&u.value).map_or("UNIT".to_owned(), |u| u.to_string())
    });
    for verb in &raw.verbs {
        let (what, command) = match verb.value {
            VerbKind::Delete => ("delete", format!("bedprov key delete --business-unit {unit}")),
            VerbKind::List => ("list", "bedprov key list".to_owned()),
            VerbKind::Rotate | VerbKind::Refresh => continue,
        };
        return Err(Error::usage(
            format!(
                "bedprov request creates tokens and keys and rotates keys; it does not {what} (\"{}\")",
                shown(&verb.text)
            ),
            format!("run {command} (it shows what it will do first)"),
        ));
    }
    Ok(())
}

/// One value named once (or the same value repeated): anything else is a contradiction.
fn single<T, O>(
    said: &[Said<T>],
    what: &str,
    why_one: &str,
    parse: impl Fn(&Said<T>) -> crate::Result<O>,
    same: impl Fn(&O, &O) -> bool,
) -> crate::Result<Option<(O, String)>> {
    let mut found: Option<(O, String)> = None;
    for item in said {
        let value = parse(item)?;
        let text = shown(&item.text);
        match &found {
            Some((first, first_text)) if !same(first, &value) => {
                return Err(Error::usage(
                    format!("the request names two {what}s, \"{first_text}\" and \"{text}\""),
                    why_one.to_owned(),
                ));
            }
            Some(_) => {}
            None => found = Some((value, text)),
        }
    }
    Ok(found)
}

fn owner(raw: &RawIntent) -> crate::Result<Option<(Owner, String)>> {
    if let Some(said) = &raw.owner_not_email {
        return Err(Error::usage(
            format!("the owner must be an email address: \"{}\" is not one", shown(&said.text)),
            "write it as owner: jane@corp.com",
        ));
    }
    let parse = |said: &Said<()>| {
        Owner::parse(&said.text)
            .map_err(|e| Error::usage(e.to_string(), "write the owner as owner: jane@corp.com"))
    };
    single(
        &raw.emails,
        "owner email",
        "a key has one owner: name one email address",
        parse,
        Owner::same_as,
    )
}

fn region(raw: &RawIntent) -> crate::Result<Option<(Region, String)>> {
    let parse = |said: &Said<()>| {
        Region::parse(&said.text.to_lowercase()).map_err(|e| {
            Error::usage(
                e.to_string(),
                "name a region where Bedrock runs, as in \"in eu-west-1\" or \"region: us-west-2\"",
            )
        })
    };
    single(
        &raw.regions,
        "region",
        "a key or token is set up for one region: ask once per region",
        parse,
        |a: &Region, b: &Region| a == b,
    )
}

fn ttl(raw: &RawIntent) -> crate::Result<Option<(Ttl, String)>> {
    const LONGER: &str = "ask for 15 minutes to 12 hours; for something that runs longer, ask for a long-term key for its business unit";
    let parse = |said: &Said<DurationSaid>| match &said.value {
        DurationSaid::Ttl(normal) => Ttl::parse(normal).map_err(|e| {
            let message = match e {
                crate::ttl::TtlError::OutOfRange(_) => {
                    format!("\"{}\": {e}", shown(&said.text))
                }
                crate::ttl::TtlError::Unreadable { .. } => {
                    format!("cannot read \"{}\" as a token lifetime", shown(&said.text))
                }
            };
            Error::usage(message, LONGER)
        }),
        DurationSaid::TooLong => Err(Error::usage(
            format!(
                "\"{}\" is longer than a short-term token can last (15 minutes to 12 hours)",
                shown(&said.text)
            ),
            LONGER,
        )),
    };
    single(
        &raw.durations,
        "lifetime",
        "a token has one lifetime: name one duration",
        parse,
        |a: &Ttl, b: &Ttl| a == b,
    )
}

fn business_unit(raw: &RawIntent) -> crate::Result<Option<(BusinessUnit, String)>> {
    let parse = |said: &Said<String>| {
        BusinessUnit::parse(&said.value).map_err(|e| {
            Error::usage(
                e.to_string(),
                format!(
                    "{}, as in \"for the data-science team\" or \"business unit: Sales & Marketing\"",
                    e.hint()
                ),
            )
        })
    };
    single(
        &raw.units,
        "business unit",
        "one request provisions one business unit: make one request per unit",
        parse,
        |a: &BusinessUnit, b: &BusinessUnit| a == b,
    )
}
