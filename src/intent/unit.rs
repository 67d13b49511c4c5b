//! Business-unit names: normalising what people type ("Marketing Team" → `marketing-team`)
//! and holding IAM's rules for the user name bedprov derives from it, `{unit}-bedrock-user`.
//!
//! The rules are exactly those `bedprov key create --business-unit` applies (lowercase ASCII
//! letters, digits and single hyphens; spaces, `_`, `.` and `/` become hyphens; anything
//! else is refused), so the unit a plan shows is the unit the key command provisions.
//! Which IAM user exists, and what it holds, is the provisioning code's business.

use std::fmt;

/// What bedprov appends to a unit to name its IAM user.
pub const USER_SUFFIX: &str = "-bedrock-user";
/// IAM's limit on user names.
pub const IAM_USER_NAME_MAX: usize = 64;
/// The longest unit whose IAM user name still fits.
pub const MAX_LEN: usize = IAM_USER_NAME_MAX - USER_SUFFIX.len();

/// A normalised business unit: `a-z`, `0-9` and single hyphens, at most [`MAX_LEN`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BusinessUnit(String);

/// Why a name cannot be a business unit. Messages quote the name through
/// [`super::words::shown`], so they are safe to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("a business unit needs a name")]
    Empty,
    #[error(
        "\"{shown}\" is {len} characters long as a unit: at most {MAX_LEN} fit, because its IAM user `<unit>{USER_SUFFIX}` may have at most {IAM_USER_NAME_MAX}"
    )]
    TooLong { shown: String, len: usize },
    #[error(
        "\"{shown}\" cannot name an IAM user: {bad} is not allowed (a business unit uses letters, digits, spaces and hyphens)"
    )]
    BadCharacter { shown: String, bad: String },
}

impl BusinessUnit {
    /// Normalises (lowercase; spaces, `_`, `.`, `/` and hyphen runs become one hyphen;
    /// a trailing `-bedrock-user` is dropped) and validates.
    pub fn parse(input: &str) -> Result<Self, UnitError> {
        let shown = || super::words::shown(input.trim());
        let mut unit = String::with_capacity(input.len());
        for c in input.trim().chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                unit.push(c);
            } else if c.is_whitespace() || matches!(c, '-' | '_' | '.' | '/') {
                if !unit.ends_with('-') {
                    unit.push('-');
                }
            } else {
                let bad = if c.is_ascii_graphic() {
                    format!("`{c}`")
                } else {
                    format!("{} (U+{:04X})", c.escape_unicode(), u32::from(c))
                };
                return Err(UnitError::BadCharacter { shown: shown(), bad });
            }
        }
        let unit = unit.trim_matches('-');
        // "marketing-team-bedrock-user" typed as the unit itself: keep the unit part.
        let unit = unit.strip_suffix(USER_SUFFIX).unwrap_or(unit);
        if unit.is_empty() {
            return Err(UnitError::Empty);
        }
        if unit.len() > MAX_LEN {
            return Err(UnitError::TooLong { shown: shown(), len: unit.len() });
        }
        Ok(Self(unit.to_owned()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IAM user bedprov keeps this unit's keys on: `{unit}-bedrock-user`.
    #[must_use]
    pub fn user_name(&self) -> String {
        format!("{}{USER_SUFFIX}", self.0)
    }
}

impl fmt::Display for BusinessUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_lowercase_hyphens() {
        for (input, unit) in [
            ("Marketing Team", "marketing-team"),
            ("  data   science ", "data-science"),
            ("ml_ops.v2", "ml-ops-v2"),
            ("CI/CD", "ci-cd"),
            ("-rf", "rf"),
            ("marketing-team-bedrock-user", "marketing-team"),
        ] {
            assert_eq!(BusinessUnit::parse(input).unwrap().as_str(), unit, "{input}");
        }
        assert_eq!(
            BusinessUnit::parse("production-api").unwrap().user_name(),
            "production-api-bedrock-user"
        );
    }

    #[test]
    fn normalising_twice_changes_nothing() {
        for input in ["Marketing Team", "a__b..c//d", "X-bedrock-user"] {
            let once = BusinessUnit::parse(input).unwrap();
            assert_eq!(BusinessUnit::parse(once.as_str()).unwrap(), once, "{input}");
        }
    }

    #[test]
    fn the_longest_unit_fills_the_iam_limit_exactly() {
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(BusinessUnit::parse(&longest).unwrap().user_name().len(), 64);
        let err = BusinessUnit::parse(&format!("{longest}b")).unwrap_err();
        assert!(err.to_string().contains("at most 51 fit"), "{err}");
    }

    #[test]
    fn refuses_what_iam_refuses() {
        for bad in ["R&D", "$(rm", "équipe", "a b!", "x\u{202e}y", "a+b", "a@b"] {
            let err = BusinessUnit::parse(bad).unwrap_err();
            assert!(matches!(err, UnitError::BadCharacter { .. }), "{bad}: {err}");
        }
        assert!(BusinessUnit::parse("x\u{202e}y").unwrap_err().to_string().contains("U+202E"));
        assert_eq!(BusinessUnit::parse("   "), Err(UnitError::Empty));
        assert_eq!(BusinessUnit::parse(" - _ "), Err(UnitError::Empty));
    }
}
