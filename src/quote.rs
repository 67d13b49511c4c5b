//! Quoting untrusted text for display: what a person typed (a business unit, an email,
//! request text), what arrived from outside (token fields, profile names in a socket query,
//! config values, AWS error messages) is shown cut short, with control and invisible
//! characters (escape sequences, CR/LF, bidi overrides, zero-width) escaped, so it can never
//! rewrite the terminal or forge a line of output or of a log. Structured output (JSON)
//! keeps the exact value: its own escaping makes it inert.
//!
//! Escaped text contains no control character, so quoting twice changes nothing more.

/// A name or a value someone typed, in a message: at most 40 characters shown.
#[must_use]
pub fn shown(text: &str) -> String {
    escaped(text, 40)
}

/// A longer text from outside (an AWS error message, an error from the daemon, a log
/// field): at most 1000 characters.
#[must_use]
pub fn shown_long(text: &str) -> String {
    escaped(text, 1000)
}

/// Cuts by what is shown, not by what came in: one escaped character takes up to ten.
fn escaped(text: &str, limit: usize) -> String {
    let mut out = String::with_capacity(text.len().min(limit));
    let mut shown = 0;
    for c in text.chars() {
        let piece: String =
            if c.is_control() || is_invisible(c) { c.escape_unicode().collect() } else { c.into() };
        let width = piece.chars().count();
        if shown + width > limit {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        shown += width;
    }
    out
}

fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_invisibles_and_cuts_long_text() {
        assert_eq!(shown("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert!(shown("x\u{202e}y").contains("\\u{202e}"));
        assert_eq!(shown(&"z".repeat(50)).chars().count(), 41);
        assert_eq!(shown(&"z".repeat(40)), "z".repeat(40));
    }

    #[test]
    fn escapes_count_towards_the_cut_and_quoting_twice_is_still_quoting_once() {
        let nuls = "\0".repeat(30);
        let once = shown(&nuls);
        assert!(once.chars().count() <= 41, "{once}");
        assert!(once.ends_with('…'));
        assert_eq!(shown(&once), once);
    }

    #[test]
    fn long_text_keeps_more_but_no_line_break_and_quoting_twice_is_quoting_once() {
        let forged = "denied\r\nValid: yes\u{1b}]0;title\u{7}";
        let once = shown_long(forged);
        assert_eq!(once, "denied\\u{d}\\u{a}Valid: yes\\u{1b}]0;title\\u{7}");
        assert_eq!(shown_long(&once), once);
        assert_eq!(shown_long(&"m".repeat(1200)).chars().count(), 1001);
        assert_eq!(shown_long(&"m".repeat(900)), "m".repeat(900));
    }
}
