//! Business units and owners: turning what people type ("Marketing Team") into the IAM
//! names bedprov uses (`marketing-team`, user `marketing-team-bedrock-user`), and checking
//! owner emails against what IAM tags accept. Pure functions, no AWS calls.

use std::fmt;

/// Suffix of every IAM user bedprov makes.
pub const USER_SUFFIX: &str = "-bedrock-user";
/// IAM user names are at most 64 characters.
pub const IAM_USER_NAME_MAX: usize = 64;
/// The longest unit that still fits `{unit}-bedrock-user` into 64 characters.
pub const UNIT_MAX: usize = IAM_USER_NAME_MAX - USER_SUFFIX.len();

/// A normalised business unit: lowercase ASCII letters, digits and single hyphens.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BusinessUnit(String);

/// Why a name cannot be a business unit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("the business unit is empty")]
    Empty,
    #[error("the business unit `{shown}` contains `{bad}`, which IAM user names do not allow")]
    BadCharacter { shown: String, bad: char },
    #[error(
        "the business unit `{shown}` is {len} characters; at most {UNIT_MAX} fit the IAM user name `<unit>{USER_SUFFIX}` (64 max)"
    )]
    TooLong { shown: String, len: usize },
}

impl BusinessUnit {
    /// Normalises: trims, lowercases, turns spaces, underscores, dots and slashes into
    /// single hyphens. Anything else outside `[a-z0-9-]` is refused, not silently dropped.
    pub fn parse(input: &str) -> Result<Self, UnitError> {
        let shown: String = input.chars().take(80).collect();
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
                return Err(UnitError::BadCharacter { shown, bad: c });
            }
        }
        let unit = unit.trim_matches('-').to_owned();
        // "marketing-team-bedrock-user" typed as the unit itself: keep the unit part.
        let unit = unit.strip_suffix(USER_SUFFIX).map(str::to_owned).unwrap_or(unit);
        if unit.is_empty() {
            return Err(UnitError::Empty);
        }
        if unit.len() > UNIT_MAX {
            return Err(UnitError::TooLong { shown, len: unit.len() });
        }
        Ok(Self(unit))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The IAM user name: `{unit}-bedrock-user`.
    #[must_use]
    pub fn user_name(&self) -> String {
        format!("{}{USER_SUFFIX}", self.0)
    }

    /// The unit of a bedprov user name, if it has the suffix.
    #[must_use]
    pub fn from_user_name(user_name: &str) -> Option<Self> {
        let unit = user_name.strip_suffix(USER_SUFFIX)?;
        Self::parse(unit).ok().filter(|u| u.0 == unit)
    }
}

impl fmt::Display for BusinessUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An owner email that IAM tag values accept (letters, digits, `._+-@`), lowercased domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{shown}` is not an email address bedprov can record (expected name@example.com; letters, digits and . _ + - only)"
)]
pub struct OwnerError {
    pub shown: String,
}

impl Owner {
    pub fn parse(input: &str) -> Result<Self, OwnerError> {
        let text = input.trim();
        let refuse = || OwnerError { shown: text.chars().take(80).collect() };
        let (local, domain) = text.split_once('@').ok_or_else(refuse)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
            && !local.starts_with('.')
            && !local.ends_with('.');
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && domain.len() <= 190
            && labels.iter().all(|l| {
                !l.is_empty()
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
        } else {
            Err(refuse())
        }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_units() {
        for (input, unit) in [
            ("Marketing Team", "marketing-team"),
            ("  data_science ", "data-science"),
            ("production-api", "production-api"),
            ("CI/CD", "ci-cd"),
            ("Team  --  A", "team-a"),
            ("marketing-team-bedrock-user", "marketing-team"),
            ("R&D".replace('&', " and ").as_str(), "r-and-d"),
        ] {
            assert_eq!(BusinessUnit::parse(input).unwrap().as_str(), unit, "{input}");
        }
        assert_eq!(
            BusinessUnit::parse("Marketing Team").unwrap().user_name(),
            "marketing-team-bedrock-user"
        );
    }

    #[test]
    fn refuses_what_iam_would() {
        assert_eq!(BusinessUnit::parse("  - "), Err(UnitError::Empty));
        assert!(matches!(
            BusinessUnit::parse("team$(x)"),
            Err(UnitError::BadCharacter { bad: '$', .. })
        ));
        assert!(matches!(BusinessUnit::parse("équipe"), Err(UnitError::BadCharacter { .. })));
        let long = "a".repeat(UNIT_MAX + 1);
        assert!(matches!(BusinessUnit::parse(&long), Err(UnitError::TooLong { .. })));
        let fits = "a".repeat(UNIT_MAX);
        assert_eq!(BusinessUnit::parse(&fits).unwrap().user_name().len(), 64);
    }

    #[test]
    fn user_names_map_back_to_units() {
        assert_eq!(BusinessUnit::from_user_name("ml-bedrock-user").unwrap().as_str(), "ml");
        assert!(BusinessUnit::from_user_name("alice").is_none());
        assert!(BusinessUnit::from_user_name("Ml_X-bedrock-user").is_none());
    }

    #[test]
    fn owners() {
        assert_eq!(
            Owner::parse(" jane.doe+ai@Corp.COM ").unwrap().as_str(),
            "jane.doe+ai@corp.com"
        );
        for bad in [
            "jane",
            "jane@",
            "@corp.com",
            "jane@corp",
            "ja ne@corp.com",
            "jane@corp..com",
            "j%x@corp.com",
            "jane@-corp.com",
            "jane@corp.c0m",
        ] {
            assert!(Owner::parse(bad).is_err(), "{bad}");
        }
    }
}
