//! The words plain-language requests are read with: which words lean short-term or long-term,
//! which are verbs, which end a phrase, which never name a business unit.
//!
//! Only lists and lookups live here; deciding what a request means is `extract`'s and
//! `plan`'s job. Every word is lowercase; multi-word phrases are matched as consecutive words.

/// What a word says about the kind of key wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lean {
    /// Interactive, human, temporary use: a short-term token.
    Short,
    /// Unattended systems that outlive a token: a long-term key.
    Long,
    /// "production": a server (long-term) or a person checking production (short-term).
    Ambiguous,
}

/// How strongly a word says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// The kind itself was named ("long-term", "temporary").
    Explicit,
    /// A use that usually needs that kind ("CI/CD", "testing").
    Usage,
}

/// Phrases (one or two words) and what they say. Two-word entries are checked first.
const SIGNALS: &[(&[&str], Lean, Strength)] = &[
    (&["long", "term"], Lean::Long, Strength::Explicit),
    (&["long-term"], Lean::Long, Strength::Explicit),
    (&["longterm"], Lean::Long, Strength::Explicit),
    (&["long-lived"], Lean::Long, Strength::Explicit),
    (&["long", "lived"], Lean::Long, Strength::Explicit),
    (&["permanent"], Lean::Long, Strength::Explicit),
    (&["non-expiring"], Lean::Long, Strength::Explicit),
    (&["short", "term"], Lean::Short, Strength::Explicit),
    (&["short-term"], Lean::Short, Strength::Explicit),
    (&["shortterm"], Lean::Short, Strength::Explicit),
    (&["short-lived"], Lean::Short, Strength::Explicit),
    (&["short", "lived"], Lean::Short, Strength::Explicit),
    (&["temporary"], Lean::Short, Strength::Explicit),
    (&["temp"], Lean::Short, Strength::Explicit),
    (&["long", "running"], Lean::Long, Strength::Usage),
    (&["long-running"], Lean::Long, Strength::Usage),
    (&["always-on"], Lean::Long, Strength::Usage),
    (&["always", "on"], Lean::Long, Strength::Usage),
    (&["24/7"], Lean::Long, Strength::Usage),
    (&["ci/cd"], Lean::Long, Strength::Usage),
    (&["ci-cd"], Lean::Long, Strength::Usage),
    (&["cicd"], Lean::Long, Strength::Usage),
    (&["ci"], Lean::Long, Strength::Usage),
    (&["pipeline"], Lean::Long, Strength::Usage),
    (&["automation"], Lean::Long, Strength::Usage),
    (&["automated"], Lean::Long, Strength::Usage),
    (&["unattended"], Lean::Long, Strength::Usage),
    (&["headless"], Lean::Long, Strength::Usage),
    (&["system"], Lean::Long, Strength::Usage),
    (&["server"], Lean::Long, Strength::Usage),
    (&["service"], Lean::Long, Strength::Usage),
    (&["backend"], Lean::Long, Strength::Usage),
    (&["integration"], Lean::Long, Strength::Usage),
    (&["chatbot"], Lean::Long, Strength::Usage),
    (&["bot"], Lean::Long, Strength::Usage),
    (&["batch"], Lean::Long, Strength::Usage),
    (&["cron"], Lean::Long, Strength::Usage),
    (&["cronjob"], Lean::Long, Strength::Usage),
    (&["scheduled"], Lean::Long, Strength::Usage),
    (&["nightly"], Lean::Long, Strength::Usage),
    (&["hourly"], Lean::Long, Strength::Usage),
    (&["daily"], Lean::Long, Strength::Usage),
    (&["iam"], Lean::Long, Strength::Usage),
    (&["production"], Lean::Ambiguous, Strength::Usage),
    (&["prod"], Lean::Ambiguous, Strength::Usage),
    (&["quick", "test"], Lean::Short, Strength::Usage),
    (&["try", "out"], Lean::Short, Strength::Usage),
    (&["trying", "out"], Lean::Short, Strength::Usage),
    (&["quick"], Lean::Short, Strength::Usage),
    (&["quickly"], Lean::Short, Strength::Usage),
    (&["development"], Lean::Short, Strength::Usage),
    (&["dev"], Lean::Short, Strength::Usage),
    (&["developing"], Lean::Short, Strength::Usage),
    (&["testing"], Lean::Short, Strength::Usage),
    (&["test"], Lean::Short, Strength::Usage),
    (&["try"], Lean::Short, Strength::Usage),
    (&["trying"], Lean::Short, Strength::Usage),
    (&["experiment"], Lean::Short, Strength::Usage),
    (&["experimenting"], Lean::Short, Strength::Usage),
    (&["experimentation"], Lean::Short, Strength::Usage),
    (&["learning"], Lean::Short, Strength::Usage),
    (&["playground"], Lean::Short, Strength::Usage),
    (&["prototype"], Lean::Short, Strength::Usage),
    (&["prototyping"], Lean::Short, Strength::Usage),
    (&["demo"], Lean::Short, Strength::Usage),
    (&["hackathon"], Lean::Short, Strength::Usage),
    (&["exploring"], Lean::Short, Strength::Usage),
    (&["interactive"], Lean::Short, Strength::Usage),
    (&["notebook"], Lean::Short, Strength::Usage),
];

/// The longest signal phrase starting at `words[0]`: what it says and how many words it took.
#[must_use]
pub fn signal(words: &[&str]) -> Option<(Lean, Strength, usize)> {
    let matches = |phrase: &[&str]| {
        phrase.len() <= words.len()
            && phrase
                .iter()
                .zip(words)
                .all(|(want, word)| *want == *word || singular(word) == *want)
    };
    let two = SIGNALS.iter().filter(|(p, ..)| p.len() == 2);
    let one = SIGNALS.iter().filter(|(p, ..)| p.len() == 1);
    two.chain(one).find(|(phrase, ..)| matches(phrase)).map(|(p, lean, s)| (*lean, *s, p.len()))
}

/// What a verb asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerbKind {
    /// Replace a long-term key (or, for a token, mint a new one).
    Rotate,
    /// Get a fresh one: a new token, or a rotated long-term key.
    Refresh,
    /// Something `request` does not do; the plan points to the command that does.
    Delete,
    List,
}

const VERBS: &[(&str, VerbKind)] = &[
    ("rotate", VerbKind::Rotate),
    ("rotation", VerbKind::Rotate),
    ("rotating", VerbKind::Rotate),
    ("roll", VerbKind::Rotate),
    ("cycle", VerbKind::Rotate),
    ("refresh", VerbKind::Refresh),
    ("refreshing", VerbKind::Refresh),
    ("renew", VerbKind::Refresh),
    ("regenerate", VerbKind::Refresh),
    ("reissue", VerbKind::Refresh),
    ("replace", VerbKind::Refresh),
    ("delete", VerbKind::Delete),
    ("remove", VerbKind::Delete),
    ("revoke", VerbKind::Delete),
    ("deactivate", VerbKind::Delete),
    ("disable", VerbKind::Delete),
    ("destroy", VerbKind::Delete),
    ("list", VerbKind::List),
];

#[must_use]
pub fn verb(word: &str) -> Option<VerbKind> {
    VERBS.iter().find(|(w, _)| *w == word || *w == singular(word)).map(|(_, kind)| *kind)
}

/// Words that make a following signal mean its opposite ("not for production").
#[rustfmt::skip] // A word list reads better as a paragraph than as a column.
const NEGATIONS: &[&str] = &[
    "not", "no", "don't", "dont", "never", "without", "isn't", "isnt", "won't", "wont", "doesn't",
    "doesnt", "nothing", "neither", "nor",
];

#[must_use]
pub fn is_negation(word: &str) -> bool {
    NEGATIONS.contains(&word)
}

/// Words that end a business-unit phrase ("for marketing *in* eu-west-1").
#[rustfmt::skip] // A word list reads better as a paragraph than as a column.
const STOPS: &[&str] = &[
    "in", "on", "at", "with", "and", "or", "but", "to", "that", "which", "who", "so", "because",
    "please", "owner", "owned", "region", "valid", "lasting", "expiring", "expires", "until",
    "using", "via", "from", "by", "of", "for", "is", "are", "was", "will", "would", "should", "can",
    "could", "it", "as", "than", "when", "if", "then", "up", "within", "into", "about", "like",
    "runs", "run", "running", "we", "i", "they", "he", "she", "you",
];

#[must_use]
pub fn is_stop(word: &str) -> bool {
    STOPS.contains(&word)
}

/// Words that never name a business unit on their own: people, Bedrock itself, the thing
/// being asked for, and request filler ("I need a key for Bedrock" names no unit).
#[rustfmt::skip] // A word list reads better as a paragraph than as a column.
const FILLERS: &[&str] = &[
    "me", "myself", "us", "my", "our", "your", "their", "the", "a", "an", "this", "some", "any",
    "bedrock", "aws", "amazon", "api", "key", "token", "access", "credential", "creds", "secret",
    "claude", "anthropic", "model", "llm", "ai", "genai", "sonnet", "opus", "haiku", "use", "usage",
    "work", "working", "now", "today", "tonight", "later", "while", "bit", "little", "laptop",
    "machine", "computer", "workstation", "local", "locally", "personal", "app", "application",
    "script", "code", "project", "stuff", "thing", "something", "purpose", "job", "jobs",
    "workload", "need", "needs", "want", "get", "give", "create", "generate", "make", "new",
    "fresh", "another", "issue", "provision", "set", "setup", "i'd", "i'm", "just", "only", "one",
    "quick", "please", "hi", "hello", "hey", "thanks", "thank", "ok", "okay", "also", "too", "here",
    "there", "what", "how", "help", "call", "calls", "calling", "invoke", "invoking", "model",
    "chat", "agent", "agents", "task", "tasks", "other", "same", "account", "user", "users", "keys",
    "read", "write", "full", "limited", "admin", "console", "programmatic", "cli", "sdk", "python",
    "boto3", "cloud", "next", "coming", "following", "few", "couple", "rest", "morning",
    "afternoon", "evening", "night", "tomorrow", "weekend", "environment", "env", "cluster",
    "instance", "deployment", "infrastructure", "infra",
];

#[must_use]
pub fn is_filler(word: &str) -> bool {
    FILLERS.contains(&word) || FILLERS.contains(&singular(word))
}

/// Articles and possessives that open a unit phrase ("for *the* data-science team").
/// `personal` ones ("for *my* laptop") mean the request is about one person, not a unit.
#[must_use]
pub fn determiner(word: &str) -> Option<Determiner> {
    match word {
        "the" | "our" => Some(Determiner::Group),
        "a" | "an" | "this" | "that" | "their" | "your" | "some" => Some(Determiner::Other),
        "my" | "me" | "myself" | "personal" => Some(Determiner::Personal),
        _ => None,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Determiner {
    /// "the", "our": "for the X team" names unit X.
    Group,
    Other,
    /// "my": a person's own use, never a business unit.
    Personal,
}

/// Words that mark what follows as the business unit ("business unit: Marketing").
#[must_use]
pub fn is_unit_marker(word: &str) -> bool {
    matches!(word, "unit" | "business-unit" | "bu" | "team" | "department" | "dept")
}

/// Where a long-term key's secret goes, by name ("Secrets Manager", "the keyring"); one
/// word, or two joined by a space.
#[must_use]
pub fn store(phrase: &str) -> Option<crate::provision::store::Store> {
    use crate::provision::store::Store;
    match phrase {
        "secrets manager" | "secret manager" | "secretsmanager" | "secrets-manager" => {
            Some(Store::Secretsmanager)
        }
        "keyring" | "key-ring" | "keyrings" => Some(Store::Keyring),
        _ => None,
    }
}

/// Words that lead up to a store's name ("stored *in the* OS keyring", "*keep it in* Secrets
/// Manager"): read along with it, so no other pass takes them.
#[must_use]
pub fn is_store_lead(word: &str) -> bool {
    matches!(
        word,
        "in" | "into"
            | "to"
            | "from"
            | "using"
            | "via"
            | "with"
            | "the"
            | "a"
            | "an"
            | "my"
            | "our"
            | "aws"
            | "os"
            | "it"
            | "store"
            | "stored"
            | "save"
            | "saved"
            | "keep"
            | "kept"
            | "put"
    )
}

/// Words that say the value after them is the owner ("owner: jane@corp.com").
#[must_use]
pub fn is_owner_marker(word: &str) -> bool {
    matches!(word, "owner" | "contact" | "owned")
}

/// Words before a duration that make it how long something *runs*, not the token's TTL
/// ("a server that runs longer than 12 hours").
#[must_use]
pub fn is_runtime_word(word: &str) -> bool {
    matches!(
        word,
        "than" | "over" | "beyond" | "least" | "exceeds" | "exceed" | "runs" | "run" | "running"
    )
}

/// Words for numbers people spell out in durations ("two hours", "an hour").
#[must_use]
pub fn number_word(word: &str) -> Option<u32> {
    let value = match word {
        "a" | "an" | "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "seven" => 7,
        "eight" => 8,
        "nine" => 9,
        "ten" => 10,
        "eleven" => 11,
        "twelve" => 12,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        "forty-five" => 45,
        "sixty" => 60,
        "ninety" => 90,
        _ => return None,
    };
    Some(value)
}

/// Duration units a token can be given in (`Ttl` reads them), and longer ones it cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DurationUnit {
    /// `s`, `min`, `h` and their spellings: passed to `Ttl::parse` as written.
    Token(&'static str),
    /// Days, weeks, months, years: longer than any token lasts.
    TooLong,
}

#[must_use]
pub fn duration_unit(word: &str) -> Option<DurationUnit> {
    let unit = match word {
        "s" | "sec" | "secs" | "second" | "seconds" => DurationUnit::Token("s"),
        "m" | "min" | "mins" | "minute" | "minutes" => DurationUnit::Token("m"),
        "h" | "hr" | "hrs" | "hour" | "hours" => DurationUnit::Token("h"),
        "d" | "day" | "days" | "week" | "weeks" | "month" | "months" | "year" | "years" => {
            DurationUnit::TooLong
        }
        _ => return None,
    };
    Some(unit)
}

/// The first part of every AWS region name (`us`-east-1, `ap`-south-1, …).
const REGION_AREAS: &[&str] = &["us", "eu", "ap", "sa", "ca", "me", "af", "il", "cn", "mx", "tw"];
/// The middle parts of AWS region names.
const REGION_WORDS: &[&str] = &[
    "east",
    "west",
    "north",
    "south",
    "central",
    "northeast",
    "northwest",
    "southeast",
    "southwest",
    "gov",
    "iso",
    "isob",
    "isoe",
    "isof",
];

/// True when `word` is built like a real region name from AWS's own vocabulary, so that a
/// unit such as `ml-team-2` is never mistaken for one.
#[must_use]
pub fn looks_like_known_region(word: &str) -> bool {
    let parts: Vec<&str> = word.split('-').collect();
    let Some((last, rest)) = parts.split_last() else { return false };
    let Some((area, middle)) = rest.split_first() else { return false };
    REGION_AREAS.contains(area)
        && !middle.is_empty()
        && middle.iter().all(|part| REGION_WORDS.contains(part))
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
}

/// `servers` → `server`, `pipelines` → `pipeline` (a plural `s` only; enough for these lists).
fn singular(word: &str) -> &str {
    match word.strip_suffix('s') {
        Some(stem) if stem.len() > 2 && !stem.ends_with('s') => stem,
        _ => word,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_word_phrases_win_over_their_first_word() {
        assert_eq!(signal(&["quick", "test"]), Some((Lean::Short, Strength::Usage, 2)));
        assert_eq!(signal(&["long", "term", "key"]), Some((Lean::Long, Strength::Explicit, 2)));
        assert_eq!(signal(&["servers"]), Some((Lean::Long, Strength::Usage, 1)));
        assert_eq!(signal(&["long"]), None);
        assert_eq!(signal(&[]), None);
    }

    #[test]
    fn known_regions_only() {
        assert!(looks_like_known_region("eu-west-1"));
        assert!(looks_like_known_region("us-gov-west-1"));
        assert!(!looks_like_known_region("ml-team-2"));
        assert!(!looks_like_known_region("us-team-1"));
        assert!(!looks_like_known_region("us-east"));
        assert!(!looks_like_known_region("eu"));
    }
}
