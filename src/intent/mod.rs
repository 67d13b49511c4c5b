//! Plain-language requests ("Bedrock key for Marketing Team, owner: jane@corp.com, in
//! eu-west-1") understood deterministically: no network, no model.
//!
//! Two stages, like a well-built argument parser:
//! 1. [`extract`]: text → [`RawIntent`], what was *said*, each piece with its span in the text
//!    (words about the kind of key, verbs, a business unit, durations, emails, regions, a
//!    store for the secret).
//!    Extraction never judges; it only finds.
//! 2. [`plan::validate`]: [`RawIntent`] → [`Plan`], what will *run*: it checks every value
//!    (`Ttl`, `Region`, [`crate::provision::unit::BusinessUnit`], [`crate::provision::unit::Owner`]), settles the key type
//!    (`kind`), and refuses contradictions with an explanation instead of guessing. The one
//!    open question ("production" alone: longer than 12 hours?) goes to [`Questions`].
//!
//! Helpers: `words` splits text into words with spans; `lexicon` holds the word lists.
//!
//! A plan becomes the `bedprov` command line that does the work ([`Plan::argv`]); running it
//! is the CLI's job, through the same parser and dispatch as typed commands. Nothing here
//! prints, prompts or touches AWS.

mod extract;
mod kind;
pub mod lexicon;
pub mod plan;
pub mod words;

#[cfg(test)]
mod tests;

pub use crate::prompt::{NoTerminal, Questions};
pub use extract::extract;
pub use kind::KeyType;
pub use plan::{Action, Plan, validate};

use lexicon::{Lean, Strength, VerbKind};
use std::ops::Range;

/// The longest request read, in characters: a request is a sentence or two, and the bound
/// keeps the work on hostile input small.
pub const MAX_CHARS: usize = 1000;

/// Something the request said, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said<T> {
    pub value: T,
    /// Byte range of the words in the request text.
    pub span: Range<usize>,
    /// The words as typed (pass through [`words::shown`] before printing).
    pub text: String,
}

/// A word or phrase about the kind of key wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub lean: Lean,
    pub strength: Strength,
    /// Derived from how long something runs ("runs longer than 12 hours"), not a keyword.
    pub runtime: bool,
}

/// A duration that reads as a token lifetime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationSaid {
    /// What `Ttl::parse` is given (`6h`, `1h30m`, `90m`).
    Ttl(String),
    /// Days, weeks, months or years: longer than any token lasts.
    TooLong,
}

/// Stage one's result: everything the request said that bedprov reads, unjudged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawIntent {
    /// Words about the kind of key, in order.
    pub signals: Vec<Said<Signal>>,
    /// Signals that came after a negation ("not for production"): not counted, but explained.
    pub negated: Vec<Said<Signal>>,
    pub verbs: Vec<Said<VerbKind>>,
    /// Business-unit names as typed (words joined by spaces), not yet normalised.
    pub units: Vec<Said<String>>,
    pub durations: Vec<Said<DurationSaid>>,
    /// Anything with an `@`: candidate owner emails.
    pub emails: Vec<Said<()>>,
    /// "owner: X" where X is not an email.
    pub owner_not_email: Option<Said<()>>,
    /// Candidate region names as typed.
    pub regions: Vec<Said<()>>,
    /// Where the secret should go ("in Secrets Manager", "in the keyring").
    pub stores: Vec<Said<crate::provision::store::Store>>,
    /// The word "token" appears (a token is refreshed, never rotated).
    pub mentions_token: bool,
    /// Something Bedrock-related was recognised at all; otherwise the text is not a request.
    pub recognised: bool,
}

/// Both stages: the plan for `text`, asking `questions` the one open question if it comes up.
pub fn understand(text: &str, questions: &mut dyn Questions) -> crate::Result<Plan> {
    validate(&extract(text)?, questions)
}
