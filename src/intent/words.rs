//! Splitting request text into words with their byte spans, and showing user text safely.
//!
//! A word keeps its inner punctuation (`ci/cd`, `1.5h`, `jane@corp.com`, `eu-west-1`) and
//! loses the punctuation around it (quotes, brackets, a sentence's final period). Commas,
//! semicolons, colons and sentence ends are remembered as clause breaks, because they end a
//! phrase such as a business unit's name. Nothing here knows what any word means.

use std::ops::Range;

/// Characters trimmed from the start of a word.
const OPENERS: &[char] = &['"', '\'', '(', '[', '{', '<', '“', '‘', '«', '`'];
/// Characters trimmed from the end of a word; the ones in [`CLAUSE_ENDS`] also end a clause.
const CLOSERS: &[char] =
    &['"', '\'', ')', ']', '}', '>', '”', '’', '»', '`', '.', ',', ';', ':', '!', '?'];
const CLAUSE_ENDS: &[char] = &['.', ',', ';', ':', '!', '?'];

/// One word of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    /// As typed (punctuation around it removed).
    pub text: String,
    /// Lowercase, for matching.
    pub lower: String,
    /// Where `text` sits in the request, in bytes.
    pub span: Range<usize>,
    /// A comma, colon, semicolon, sentence end or dash follows: a phrase stops here.
    pub clause_end: bool,
    /// A colon (or `=`) follows: what comes next is this word's value (`owner: …`).
    pub colon: bool,
}

/// Splits `text` into words. Linear in the length of `text`.
#[must_use]
pub fn split(text: &str) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut start = None;
    for (index, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
        // `:` `=` `,` `;` split inside a chunk too (`owner:jane@corp.com`, `marketing,owner`).
        let separator = c.is_whitespace() || c.is_control() || matches!(c, ':' | '=' | ',' | ';');
        if !separator {
            start.get_or_insert(index);
            continue;
        }
        if let Some(from) = start.take() {
            push_chunk(&mut words, text, from..index);
        }
        if let Some(last) = words.last_mut() {
            match c {
                ':' | '=' => {
                    last.colon = true;
                    last.clause_end = true;
                }
                ',' | ';' => last.clause_end = true,
                _ => {}
            }
        }
    }
    words
}

fn push_chunk(words: &mut Vec<Word>, text: &str, span: Range<usize>) {
    let chunk = &text[span.clone()];
    let lead = chunk.len() - chunk.trim_start_matches(OPENERS).len();
    let body = chunk.trim_start_matches(OPENERS);
    let trimmed = body.trim_end_matches(CLOSERS);
    let tail = &body[trimmed.len()..];
    let clause_end = tail.contains(CLAUSE_ENDS) || is_dash(trimmed);
    let colon = tail.contains(':');
    if trimmed.is_empty() || is_dash(trimmed) {
        // Lone punctuation ("-", "—", ",") still ends the clause before it.
        if let Some(last) = words.last_mut() {
            last.clause_end |= clause_end || !tail.is_empty();
            last.colon |= colon;
        }
        return;
    }
    let from = span.start + lead;
    words.push(Word {
        text: trimmed.to_owned(),
        lower: trimmed.to_lowercase(),
        span: from..from + trimmed.len(),
        clause_end,
        colon,
    });
}

fn is_dash(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| matches!(c, '-' | '–' | '—'))
}

/// User text for messages: at most 40 characters, with control, zero-width and direction
/// characters escaped so nothing typed can rewrite the terminal.
pub use crate::quote::shown;

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(text: &str) -> Vec<String> {
        split(text).into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn keeps_inner_punctuation_and_drops_outer() {
        assert_eq!(
            texts("Bedrock key for \"CI/CD\" (1.5h), in eu-west-1."),
            ["Bedrock", "key", "for", "CI/CD", "1.5h", "in", "eu-west-1"]
        );
        assert_eq!(texts("owner:jane@corp.com"), ["owner", "jane@corp.com"]);
        assert_eq!(texts("  \t\n "), Vec::<String>::new());
    }

    #[test]
    fn spans_point_into_the_text() {
        let text = "«Équipe» owner: <jane@corp.com>!";
        for word in split(text) {
            assert_eq!(&text[word.span.clone()], word.text);
        }
    }

    #[test]
    fn clause_breaks_and_colons_are_remembered() {
        let words = split("for Marketing Team, owner: jane — in eu-west-1");
        let flags: Vec<(bool, bool)> = words.iter().map(|w| (w.clause_end, w.colon)).collect();
        assert_eq!(
            flags,
            [
                (false, false),
                (false, false),
                (true, false),
                (true, true),
                (true, false),
                (false, false),
                (false, false)
            ]
        );
    }

    #[test]
    fn shown_escapes_and_truncates() {
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(shown("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(shown(&"z".repeat(50)), format!("{}…", "z".repeat(40)));
    }
}
