//! Business-unit names: normalising what people type ("Marketing Team" → `marketing-team`)
//! and holding IAM's rules for the user name bedprov derives from it, `{unit}-bedrock-user`.
//!
//! Only the name lives here; which IAM user exists, and what it holds, is the provisioning
//! code's business.

use std::fmt;

/// What bedprov appends to a unit to name its IAM user.
pub const USER_SUFFIX: &str = "-bedrock-user";
/// IAM's limit on user names.
pub const IAM_USER_NAME_MAX: usize = 64;
/// The longest unit whose IAM user name still fits.
pub const MAX_LEN: usize = IAM_USER_NAME_MAX - USER_SUFFIX.len();

/// A normalised, IAM-safe business unit: lowercase, hyphens between words, at most
/// [`MAX_LEN`] characters of `a-z 0-9 + = , . @ _ -`, starting and ending with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BusinessUnit(String);

/// Why a name cannot be a business unit. Messages quote the name through
/// [`super::words::shown`], so they are safe to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("a business unit needs a name")]
    Empty,
    #[error(
        "\"{shown}\" is {len} characters long: a business unit can have at most {MAX_LEN}, because its IAM user `{{unit}}{USER_SUFFIX}` may have at most {IAM_USER_NAME_MAX}"
    )]
    TooLong { shown: String, len: usize },
    #[error(
        "\"{shown}\" cannot name an IAM user: {bad} is not allowed (IAM user names use only letters, digits and + = , . @ _ -)"
    )]
    BadCharacter { shown: String, bad: String },
    #[error("\"{shown}\" must start and end with a letter or digit")]
    BadEdge { shown: String },
}

impl BusinessUnit {
    /// Normalises (lowercase, whitespace runs become one hyphen) and validates.
    pub fn parse(input: &str) -> Result<Self, UnitError> {
        let normal = input.split_whitespace().collect::<Vec<_>>().join("-").to_lowercase();
        let shown = || super::words::shown(&normal);
        if normal.is_empty() {
            return Err(UnitError::Empty);
        }
        if let Some(bad) = normal.chars().find(|c| !is_allowed(*c)) {
            let bad = if bad.is_ascii_graphic() {
                format!("`{bad}`")
            } else {
                format!("{} (U+{:04X})", bad.escape_debug(), u32::from(bad))
            };
            return Err(UnitError::BadCharacter { shown: shown(), bad });
        }
        // Only ASCII is left, so bytes are characters.
        let len = normal.len();
        if len > MAX_LEN {
            return Err(UnitError::TooLong { shown: shown(), len });
        }
        let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        if !edge_ok(normal.chars().next()) || !edge_ok(normal.chars().last()) {
            return Err(UnitError::BadEdge { shown: shown() });
        }
        Ok(Self(normal))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IAM user bedprov keeps this unit's keys on.
    #[must_use]
    pub fn iam_user_name(&self) -> String {
        format!("{}{USER_SUFFIX}", self.0)
    }
}

impl fmt::Display for BusinessUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn is_allowed(c: char) -> bool {
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || matches!(c, '+' | '=' | ',' | '.' | '@' | '_' | '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_to_lowercase_hyphens() {
        assert_eq!(BusinessUnit::parse("Marketing Team").unwrap().as_str(), "marketing-team");
        assert_eq!(BusinessUnit::parse("  data   science ").unwrap().as_str(), "data-science");
        assert_eq!(
            BusinessUnit::parse("production-api").unwrap().iam_user_name(),
            "production-api-bedrock-user"
        );
        assert_eq!(BusinessUnit::parse("ml_ops.v2").unwrap().as_str(), "ml_ops.v2");
    }

    #[test]
    fn the_longest_unit_fills_the_iam_limit_exactly() {
        let longest = "a".repeat(MAX_LEN);
        assert_eq!(BusinessUnit::parse(&longest).unwrap().iam_user_name().len(), 64);
        let err = BusinessUnit::parse(&format!("{longest}b")).unwrap_err();
        assert!(err.to_string().contains("at most 51"), "{err}");
    }

    #[test]
    fn refuses_what_iam_refuses() {
        for bad in ["data/science", "$(rm", "équipe", "a b!", "x\u{202e}y"] {
            let err = BusinessUnit::parse(bad).unwrap_err();
            assert!(matches!(err, UnitError::BadCharacter { .. }), "{bad}: {err}");
        }
        assert_eq!(BusinessUnit::parse("   "), Err(UnitError::Empty));
        assert!(matches!(BusinessUnit::parse("-rf"), Err(UnitError::BadEdge { .. })));
        assert!(matches!(BusinessUnit::parse("team."), Err(UnitError::BadEdge { .. })));
    }
}
