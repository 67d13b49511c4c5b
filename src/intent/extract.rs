//! Stage one: request text → [`RawIntent`]. Finds what was said and where; decides nothing.
//!
//! Each pass claims the words it reads, so later passes never read them twice: emails and
//! owners first, then regions, stores, durations, verbs, business units, and last the words about
//! the kind of key (so "for the *dev* team" names a unit rather than asking for a token).
//! Values are kept as typed; `plan` validates them. Work is linear in the number of words,
//! and the text is bounded by [`MAX_CHARS`](super::MAX_CHARS).

use super::lexicon::{self, Determiner, DurationUnit, Lean, Strength};
use super::words::{self, Word};
use super::{DurationSaid, MAX_CHARS, RawIntent, Said, Signal};
use crate::Error;
use std::ops::Range;

/// Words that say the request is about Bedrock credentials even when nothing else is read.
const REQUEST_NOUNS: &[&str] = &[
    "bedrock",
    "key",
    "keys",
    "token",
    "tokens",
    "api",
    "access",
    "credential",
    "credentials",
    "creds",
];

/// Reads `text` into a [`RawIntent`]. Refuses only text that cannot be a request at all:
/// empty, or longer than [`MAX_CHARS`].
pub fn extract(text: &str) -> crate::Result<RawIntent> {
    if text.trim().is_empty() {
        return Err(Error::usage(
            "the request is empty",
            r#"say what you need, e.g. bedprov request "Bedrock key for 6 hours""#,
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_CHARS {
        return Err(Error::usage(
            format!(
                "the request is {chars} characters long; bedprov reads requests of up to {MAX_CHARS}"
            ),
            r#"say it in a sentence, e.g. bedprov request "Bedrock key for Marketing Team, owner: jane@corp.com", or use bedprov token / bedprov key directly"#,
        ));
    }
    let mut reader = Reader::new(text);
    reader.emails_and_owner();
    reader.regions();
    reader.stores();
    reader.durations();
    reader.verbs();
    reader.units();
    reader.signals();
    reader.finish();
    Ok(reader.raw)
}

struct Reader<'t> {
    text: &'t str,
    words: Vec<Word>,
    /// Words already read by an earlier pass.
    claimed: Vec<bool>,
    raw: RawIntent,
}

impl<'t> Reader<'t> {
    fn new(text: &'t str) -> Self {
        let words = words::split(text);
        let claimed = vec![false; words.len()];
        Self { text, words, claimed, raw: RawIntent::default() }
    }

    fn lower(&self, index: usize) -> &str {
        self.words.get(index).map_or("", |w| w.lower.as_str())
    }

    fn free(&self, index: usize) -> bool {
        index < self.words.len() && !self.claimed[index]
    }

    fn claim(&mut self, range: Range<usize>) {
        for index in range {
            self.claimed[index] = true;
        }
    }

    /// The words `range` as a [`Said`] (span from the first word's start to the last's end).
    fn said<T>(&self, range: Range<usize>, value: T) -> Said<T> {
        let span = self.words[range.start].span.start..self.words[range.end - 1].span.end;
        Said { value, text: self.text[span.clone()].to_owned(), span }
    }

    /// The next free word after `index` in the same clause, skipping `skip` words.
    fn next_value(&self, index: usize, skip: &[&str]) -> Option<usize> {
        let mut at = index;
        loop {
            if self.words.get(at)?.clause_end && !self.words[at].colon {
                return None;
            }
            at += 1;
            if !self.free(at) {
                return None;
            }
            if !skip.contains(&self.lower(at)) {
                return Some(at);
            }
        }
    }

    /// Any word with an `@` is a candidate owner; "owner: X" must be followed by one.
    fn emails_and_owner(&mut self) {
        for index in 0..self.words.len() {
            if self.words[index].text.contains('@') {
                self.raw.emails.push(self.said(index..index + 1, ()));
                self.claim(index..index + 1);
            }
        }
        for index in 0..self.words.len() {
            let word = self.lower(index);
            let marked = lexicon::is_owner_marker(word)
                && (self.words[index].colon
                    || (word == "owned" && self.lower(index + 1) == "by")
                    || (word == "owner" && matches!(self.lower(index + 1), "is" | "email")));
            if !marked || !self.free(index) {
                continue;
            }
            self.claim(index..index + 1);
            let skip = ["is", "by", "email", "e-mail", "address"];
            let mut value = index + 1;
            while value < self.words.len() && skip.contains(&self.lower(value)) {
                self.claimed[value] = true;
                value += 1;
            }
            let is_email = self.words.get(value).is_some_and(|w| w.text.contains('@'));
            if !is_email && self.raw.owner_not_email.is_none() {
                let end = if self.free(value) { value + 1 } else { index + 1 };
                self.raw.owner_not_email = Some(self.said(index..end, ()));
                self.claim(index..end);
            }
        }
    }

    /// "in eu-west-1", "region: us-west-2", or a word built like a real region name.
    fn regions(&mut self) {
        for index in 0..self.words.len() {
            if !self.free(index) {
                continue;
            }
            let word = self.lower(index).to_owned();
            let candidate = if matches!(word.as_str(), "region" | "regions") {
                // After "region:" anything is meant as a region; otherwise only region shapes.
                let colon = self.words[index].colon;
                self.next_value(index, &["is", "=", "of"])
                    .filter(|&next| colon || region_shaped(self.lower(next)))
                    .map(|next| (index, next))
            } else if matches!(word.as_str(), "in" | "at" | "within" | "to" | "into") {
                Some(index + 1)
                    .filter(|&next| self.free(next) && region_shaped(self.lower(next)))
                    .map(|next| (index, next))
            } else if lexicon::looks_like_known_region(&word) {
                Some((index, index))
            } else {
                None
            };
            if let Some((marker, value)) = candidate {
                self.raw.regions.push(self.said(value..value + 1, ()));
                self.claim(marker.min(value)..value + 1);
            }
        }
    }

    /// "in Secrets Manager", "stored in the OS keyring": where the secret should go. The
    /// words leading up to the name are claimed with it.
    fn stores(&mut self) {
        let mut index = 0;
        while index < self.words.len() {
            let Some((store, width)) = self.store_at(index) else {
                index += 1;
                continue;
            };
            let mut start = index;
            while start > 0
                && self.free(start - 1)
                && !self.words[start - 1].clause_end
                && lexicon::is_store_lead(self.lower(start - 1))
            {
                start -= 1;
            }
            self.raw.stores.push(self.said(index..index + width, store));
            self.claim(start..index + width);
            index += width;
        }
    }

    /// A store named at word `index`, and how many words name it.
    fn store_at(&self, index: usize) -> Option<(crate::provision::store::Store, usize)> {
        if !self.free(index) {
            return None;
        }
        if !self.words[index].clause_end && self.free(index + 1) {
            let pair = format!("{} {}", self.lower(index), self.lower(index + 1));
            if let Some(store) = lexicon::store(&pair) {
                return Some((store, 2));
            }
        }
        lexicon::store(self.lower(index)).map(|store| (store, 1))
    }

    /// "6 hours", "90 min", "1.5h", "1h30m", "a 12-hour token", "half an hour", "2 days";
    /// after "runs"/"longer than", how long something runs (a signal, not a TTL).
    fn durations(&mut self) {
        let mut index = 0;
        while index < self.words.len() {
            let Some((end, normal, unit)) = self.duration_at(index) else {
                index += 1;
                continue;
            };
            let runtime = (index.saturating_sub(3)..index)
                .rev()
                .take_while(|&k| !self.words[k].clause_end)
                .any(|k| lexicon::is_runtime_word(self.lower(k)));
            if runtime {
                let longer = unit == DurationUnit::TooLong
                    || crate::ttl::parse_duration(&normal).is_ok_and(|d| d >= crate::ttl::MAX);
                let lean = if longer { Lean::Long } else { Lean::Short };
                let signal = Signal { lean, strength: Strength::Usage, runtime: true };
                self.raw.signals.push(self.said(index..end, signal));
            } else {
                let value = match unit {
                    DurationUnit::TooLong => DurationSaid::TooLong,
                    DurationUnit::Token(_) => DurationSaid::Ttl(normal),
                };
                self.raw.durations.push(self.said(index..end, value));
            }
            self.claim(index..end);
            index = end;
        }
    }

    /// A duration starting at word `index`: (end word, the text for `Ttl::parse`, its unit).
    fn duration_at(&self, index: usize) -> Option<(usize, String, DurationUnit)> {
        if !self.free(index) {
            return None;
        }
        let word = self.lower(index);
        if word == "half"
            && matches!(self.lower(index + 1), "an" | "a")
            && self.lower(index + 2) == "hour"
        {
            return (self.free(index + 1) && self.free(index + 2))
                .then(|| (index + 3, "30m".to_owned(), DurationUnit::Token("m")));
        }
        if let Some((normal, unit)) = single_word_duration(word) {
            return Some((index + 1, normal, unit));
        }
        // One or more "<number> <unit>" pairs: "1 hour 30 minutes", "2 hours and 15 min".
        let mut normal = String::new();
        let mut at = index;
        let mut kind = None;
        while let Some(amount) = number(self.lower(at)) {
            let unit_at = at + 1;
            if !self.free(at) || !self.free(unit_at) || self.words[at].clause_end {
                break;
            }
            let Some(unit) = lexicon::duration_unit(self.lower(unit_at)) else { break };
            if let DurationUnit::Token(short) = unit {
                normal.push_str(&amount);
                normal.push_str(short);
            }
            // Any part longer than a token makes the whole duration too long.
            if kind != Some(DurationUnit::TooLong) {
                kind = Some(unit);
            }
            at = unit_at + 1;
            if self.words[unit_at].clause_end {
                break;
            }
            if self.lower(at) == "and" && number(self.lower(at + 1)).is_some() {
                at += 1;
            }
        }
        let kind = kind?;
        // An "and" that led to no further part is not part of the duration.
        let end = if self.lower(at - 1) == "and" { at - 1 } else { at };
        Some((end, normal, kind))
    }

    fn verbs(&mut self) {
        for index in 0..self.words.len() {
            if !self.free(index) {
                continue;
            }
            if let Some(kind) = lexicon::verb(self.lower(index)) {
                self.raw.verbs.push(self.said(index..index + 1, kind));
                self.claim(index..index + 1);
            }
        }
    }

    /// "business unit: X", "for X", "for the X team", "the X team", "X access".
    fn units(&mut self) {
        for index in 0..self.words.len() {
            let word = self.lower(index);
            let business_unit =
                (word == "business" && self.lower(index + 1) == "unit") || word == "business-unit";
            // "team: marketing" opens a clause; "for the Platform Team: …" ends one.
            let opens_clause = index == 0
                || self.words[index - 1].clause_end
                || self.words[index - 1].lower == "for";
            let marked = business_unit
                || (lexicon::is_unit_marker(word) && self.words[index].colon && opens_clause);
            if !marked || !self.free(index) {
                continue;
            }
            let marker_end = if word == "business" { index + 2 } else { index + 1 };
            self.claim(index..marker_end.min(self.words.len()));
            let start = (marker_end..self.words.len())
                .find(|&k| !matches!(self.lower(k), "is" | "named" | "called"))
                .unwrap_or(self.words.len());
            let phrase = self.phrase(start, false);
            self.take_unit(&phrase, true);
        }
        for index in 0..self.words.len() {
            if self.lower(index) == "for" && self.free(index) && !self.words[index].clause_end {
                self.for_phrase(index + 1);
            }
        }
        for index in 0..self.words.len() {
            if matches!(self.lower(index), "team" | "teams") && self.free(index) {
                self.team_phrase(index);
            }
        }
        for index in 0..self.words.len() {
            if self.lower(index) == "access" && self.free(index) {
                self.access_phrase(index);
            }
        }
    }

    /// Free words from `start` to the end of the clause, at most six; with `stop_words`,
    /// also up to the first stop word ("for marketing *in* …"). A possessive ends it:
    /// "for the security team's SIEM" is the security team's.
    fn phrase(&self, start: usize, stop_words: bool) -> Vec<usize> {
        let mut phrase = Vec::new();
        let mut at = start;
        while self.free(at) && phrase.len() < 6 {
            if stop_words && lexicon::is_stop(self.lower(at)) {
                break;
            }
            phrase.push(at);
            let possessive = strip_possessive(self.lower(at)).len() < self.lower(at).len();
            if self.words[at].clause_end || possessive {
                break;
            }
            at += 1;
        }
        phrase
    }

    /// "for Marketing Team" → `Marketing Team`; "for the data-science team" → `data-science`;
    /// "for production", "for my laptop", "for a demo" → no unit (the words stay for the
    /// signals pass). "for marketing and sales" reads both, so `plan` can refuse two units.
    fn for_phrase(&mut self, start: usize) {
        let mut phrase = self.phrase(start, true);
        let next = phrase.last().map(|&last| last + 1);
        let Some(&first) = phrase.first() else { return };
        let determiner = lexicon::determiner(self.lower(first));
        // Only bare names and "the"/"our" name a unit: "my laptop" and "a pipeline" do not.
        if matches!(determiner, Some(Determiner::Personal | Determiner::Other)) {
            return;
        }
        let group = determiner == Some(Determiner::Group);
        if group {
            phrase.remove(0);
        }
        let named_a_use = self.trim_end(&mut phrase);
        let team = phrase.last().is_some_and(|&last| self.is_team(last));
        if team && (group || phrase.len() == 1) {
            phrase.pop();
        } else if !team {
            // "for the data pipeline", "for marketing automation": a system, described by
            // the words before it; its unit is not named, and guessing one is not our call.
            if named_a_use {
                return;
            }
            self.trim_start(&mut phrase);
        }
        self.take_unit(&phrase, team);
        let joined = next.filter(|&n| matches!(self.lower(n), "and" | "or" | "&"));
        if let Some(next) = joined.filter(|&n| self.free(n + 1)) {
            self.for_phrase(next + 1);
        }
    }

    fn is_team(&self, index: usize) -> bool {
        matches!(strip_possessive(self.lower(index)), "team" | "teams")
    }

    /// True when words `first` and `second` form a two-word signal ("quick test").
    fn is_signal_pair(&self, first: usize, second: usize) -> bool {
        lexicon::signal(&[self.lower(first), self.lower(second)]).is_some_and(|(.., len)| len == 2)
    }

    /// Drops words about the use or the request ("CI/CD", "quick test", "Bedrock", "jobs")
    /// from the end of a phrase, leaving them for the signals pass. True when a word about
    /// the use (not mere filler) was among them.
    fn trim_end(&self, phrase: &mut Vec<usize>) -> bool {
        let mut named_a_use = false;
        while let Some(&last) = phrase.last() {
            let pair = phrase.len() >= 2 && self.is_signal_pair(phrase[phrase.len() - 2], last);
            if pair {
                phrase.truncate(phrase.len() - 2);
                named_a_use = true;
            } else if is_generic(self.lower(last)) {
                named_a_use |= !lexicon::is_filler(self.lower(last));
                phrase.pop();
            } else {
                break;
            }
        }
        named_a_use
    }

    /// Like [`Self::trim_end`], from the start.
    fn trim_start(&self, phrase: &mut Vec<usize>) {
        while let Some(&first) = phrase.first() {
            if phrase.len() >= 2 && self.is_signal_pair(first, phrase[1]) {
                phrase.drain(..2);
            } else if is_generic(self.lower(first)) {
                phrase.remove(0);
            } else {
                break;
            }
        }
    }

    /// "give the data science team access" → `data science`: a team named after "the"/"our".
    fn team_phrase(&mut self, team: usize) {
        let mut start = team;
        while start > 0 && team - start < 4 {
            let before = start - 1;
            if !self.free(before)
                || self.words[before].clause_end
                || lexicon::is_stop(self.lower(before))
            {
                return;
            }
            if lexicon::determiner(self.lower(before)) == Some(Determiner::Group) {
                let phrase: Vec<usize> = (start..team).collect();
                self.claim(before..start);
                self.claim(team..team + 1);
                self.take_unit(&phrase, true);
                return;
            }
            start = before;
        }
    }

    /// "marketing access" → `marketing` (not "Bedrock access": that names no unit).
    fn access_phrase(&mut self, access: usize) {
        let mut start = access;
        while start > 0 && access - start < 3 {
            let before = start - 1;
            let word = self.lower(before);
            let plain = self.free(before)
                && !self.words[before].clause_end
                && !lexicon::is_stop(word)
                && !lexicon::is_filler(word)
                && lexicon::determiner(word).is_none()
                && lexicon::signal(&[word]).is_none();
            if !plain {
                break;
            }
            start = before;
        }
        self.take_unit(&(start..access).collect::<Vec<_>>(), false);
    }

    /// Records `phrase` as a unit unless it is empty or (without an explicit marker) only
    /// filler words.
    fn take_unit(&mut self, phrase: &[usize], marked: bool) {
        let (Some(&first), Some(&last)) = (phrase.first(), phrase.last()) else { return };
        if !marked && phrase.iter().all(|&at| lexicon::is_filler(self.lower(at))) {
            return;
        }
        let name: Vec<&str> =
            phrase.iter().map(|&at| strip_possessive(&self.words[at].text)).collect();
        let said = self.said(first..last + 1, name.join(" "));
        self.raw.units.push(said);
        self.claim(first..last + 1);
    }

    /// Words about the kind of key, with negations ("not for production") set aside.
    fn signals(&mut self) {
        let mut index = 0;
        while index < self.words.len() {
            if !self.free(index) {
                index += 1;
                continue;
            }
            let word = self.lower(index).to_owned();
            let (negated_prefix, bare) = match word.strip_prefix("non-") {
                Some(rest) => (true, rest.to_owned()),
                None => (false, word),
            };
            let mut pair = vec![bare.as_str()];
            if self.free(index + 1) && !self.words[index].clause_end {
                pair.push(self.lower(index + 1));
            }
            let Some((lean, strength, width)) = lexicon::signal(&pair) else {
                index += 1;
                continue;
            };
            let negated = negated_prefix
                || (index.saturating_sub(3)..index)
                    .rev()
                    .take_while(|&k| !self.words[k].clause_end)
                    .any(|k| lexicon::is_negation(self.lower(k)));
            let said = self.said(index..index + width, Signal { lean, strength, runtime: false });
            if negated {
                self.raw.negated.push(said);
            } else {
                self.raw.signals.push(said);
            }
            self.claim(index..index + width);
            index += width;
        }
    }

    fn finish(&mut self) {
        let raw = &mut self.raw;
        raw.mentions_token =
            self.words.iter().any(|w| matches!(w.lower.as_str(), "token" | "tokens"));
        raw.recognised = self.words.iter().any(|w| REQUEST_NOUNS.contains(&w.lower.as_str()))
            || !raw.signals.is_empty()
            || !raw.negated.is_empty()
            || !raw.verbs.is_empty()
            || !raw.units.is_empty()
            || !raw.durations.is_empty()
            || !raw.regions.is_empty()
            || !raw.stores.is_empty();
    }
}

/// `eu-west-1`, `mars-1`: a word meant as a region (validated later, so `mars-1` is refused
/// with a reason instead of being read as something else).
fn region_shaped(word: &str) -> bool {
    word.contains('-')
        && word.starts_with(|c: char| c.is_ascii_alphabetic())
        && word.ends_with(|c: char| c.is_ascii_digit())
}

/// A number in a duration: digits (`6`, `1.5`) or a spelled-out number (`two`, `an`).
fn number(word: &str) -> Option<String> {
    if !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return word.parse::<f64>().is_ok().then(|| word.to_owned());
    }
    lexicon::number_word(word).map(|n| n.to_string())
}

/// One-word durations: `1.5h`, `90min`, `1h30m`, `2d`, `12-hour`, `30-minute`.
fn single_word_duration(word: &str) -> Option<(String, DurationUnit)> {
    if let Some((amount, unit)) = word.rsplit_once('-') {
        let amount = number(amount)?;
        return match lexicon::duration_unit(unit)? {
            DurationUnit::Token(short) => {
                Some((format!("{amount}{short}"), DurationUnit::Token(short)))
            }
            DurationUnit::TooLong => Some((String::new(), DurationUnit::TooLong)),
        };
    }
    if !word.starts_with(|c: char| c.is_ascii_digit())
        || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.')
    {
        return None;
    }
    let letters = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.');
    let first_unit: String = letters.chars().take_while(char::is_ascii_alphabetic).collect();
    let unit = lexicon::duration_unit(&first_unit)?;
    let normal = if unit == DurationUnit::TooLong { String::new() } else { word.to_owned() };
    Some((normal, unit))
}

/// Words that never name a unit: filler, or a word about the kind of key (also negated,
/// as in "non-production").
fn is_generic(word: &str) -> bool {
    let bare = word.strip_prefix("non-").unwrap_or(word);
    lexicon::is_filler(word) || lexicon::signal(&[bare]).is_some()
}

/// "marketing's" → "marketing".
fn strip_possessive(word: &str) -> &str {
    word.strip_suffix("'s").or_else(|| word.strip_suffix("’s")).unwrap_or(word)
}
