//! Quoting untrusted text inside messages: what a person typed (a business unit, an email,
//! request text) is echoed back cut short, with control and invisible characters (bidi
//! overrides, zero-width) escaped, so an error can never rewrite the terminal around it.

#[must_use]
pub fn shown(text: &str) -> String {
    const LIMIT: usize = 40;
    let mut out = String::new();
    for (count, c) in text.chars().enumerate() {
        if count == LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() || is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
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
    }
}
