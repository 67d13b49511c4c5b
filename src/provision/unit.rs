//! Business units and owners: turning what people type ("Marketing Team", "Sales &
//! Marketing") into the IAM names bedprov uses (`marketing-team`, user
//! `marketing-team-bedrock-user`), and checking owner emails against what IAM tag values
//! accept. Pure functions, no AWS calls; both `bedprov key` and plain-language requests use
//! them, so a plan names exactly the unit the key commands provision. Input shown in
//! messages is quoted through [`crate::quote::shown`].

use std::fmt;

/// What bedprov appends to a unit to name its IAM user.
pub(crate) const USER_SUFFIX: &str = "-bedrock-user";
/// IAM's limit on user names.
pub(crate) const IAM_USER_NAME_MAX: usize = 64;
/// The longest unit whose IAM user name still fits.
pub(crate) const UNIT_MAX: usize = IAM_USER_NAME_MAX - USER_SUFFIX.len();

/// A normalised business unit: `a-z`, `0-9` and single hyphens, at most [`UNIT_MAX`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BusinessUnit(String);

/// Why a name cannot be a business unit. Messages quote the name through
/// [`crate::quote::shown`], so they are safe to print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnitError {
    #[error("a business unit needs a name with a letter or digit in it")]
    Empty,
    #[error(
        "\"{shown}\" is {len} characters long as a unit: at most {UNIT_MAX} fit, because its IAM user `<unit>{USER_SUFFIX}` may have at most {IAM_USER_NAME_MAX}"
    )]
    TooLong { shown: String, len: usize },
}

impl UnitError {
    /// What to do instead.
    #[must_use]
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Empty => {
                "name the unit in words, e.g. \"Marketing Team\" (it becomes marketing-team)"
            }
            Self::TooLong { .. } => "use a shorter name or an abbreviation for the unit",
        }
    }
}

impl BusinessUnit {
    /// Normalises and validates. Lowercase; every character but an ASCII letter or digit —
    /// all that IAM refuses in a user name (`&`, `/`, spaces, accented letters…) and the
    /// punctuation it allows (`_ . + = , @`) — becomes a hyphen; runs of hyphens collapse,
    /// hyphens at either end go, and a trailing `-bedrock-user` is dropped. Refused only
    /// when nothing is left, or too much for IAM's user-name limit.
    pub fn parse(input: &str) -> Result<Self, UnitError> {
        let mut unit = String::with_capacity(input.len());
        for c in input.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                unit.push(c);
            } else if !unit.ends_with('-') {
                unit.push('-');
            }
        }
        let unit = unit.trim_matches('-');
        // "marketing-team-bedrock-user" typed as the unit itself: keep the unit part.
        let unit = unit.strip_suffix(USER_SUFFIX).unwrap_or(unit);
        if unit.is_empty() {
            return Err(UnitError::Empty);
        }
        if unit.len() > UNIT_MAX {
            let shown = crate::quote::shown(input.trim());
            return Err(UnitError::TooLong { shown, len: unit.len() });
        }
        Ok(Self(unit.to_owned()))
    }

    /// How `input` was read, when that is not plain to see: `"Sales & Marketing" is
    /// business unit sales-marketing (IAM user sales-marketing-bedrock-user)`. `None` when
    /// the input already is the unit (or its user name).
    #[must_use]
    pub fn reading(&self, input: &str) -> Option<String> {
        let typed = input.trim();
        (typed != self.0 && typed != self.user_name()).then(|| {
            format!(
                "\"{}\" is business unit {} (IAM user {})",
                crate::quote::shown(typed),
                self.0,
                self.user_name()
            )
        })
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

    /// The unit of a bedprov user name, if it has the suffix and is already normalised.
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

/// An email address: `local@domain.tld`, local part of letters, digits and `. _ + -`
/// starting with a letter or digit, domain of at least two labels ending in a letter TLD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner(String);

/// Why text is not an owner email (the message quotes it safely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{shown}\" is not an email address bedprov can record as the owner ({reason})")]
pub struct OwnerError {
    pub shown: String,
    pub reason: &'static str,
}

impl Owner {
    /// Parses an address; surrounding whitespace is ignored.
    pub fn parse(input: &str) -> Result<Self, OwnerError> {
        let input = input.trim();
        let refuse = |reason| OwnerError { shown: crate::quote::shown(input), reason };
        if input.len() > 254 {
            return Err(refuse("longer than 254 characters"));
        }
        let Some((local, domain)) = input.split_once('@') else {
            return Err(refuse("no @"));
        };
        if domain.contains('@') {
            return Err(refuse("more than one @"));
        }
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'+' | b'-'))
            && local.as_bytes()[0].is_ascii_alphanumeric()
            && !local.ends_with('.')
            && !local.contains("..");
        if !local_ok {
            return Err(refuse(
                "the part before @ may use letters, digits and . _ + -, starting with a letter or digit",
            ));
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let label_ok = |label: &&str| {
            !label.is_empty()
                && label.len() <= 63
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        };
        let tld_ok = labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
        if labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
            return Err(refuse("the domain after @ must look like corp.com"));
        }
        // Domains are case-insensitive: recorded lowercase, as `bedprov key create` does.
        Ok(Self(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Addresses are compared without case ("Jane@Corp.com" is the same owner).
    #[must_use]
    pub fn same_as(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(&other.0)
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
        let longest = "a".repeat(UNIT_MAX);
        assert_eq!(BusinessUnit::parse(&longest).unwrap().user_name().len(), 64);
        let err = BusinessUnit::parse(&format!("{longest}b")).unwrap_err();
        assert!(err.to_string().contains("at most 51 fit"), "{err}");
    }

    #[test]
    fn what_iam_refuses_becomes_a_hyphen_and_only_nothing_is_refused() {
        for (input, unit) in [
            ("Sales & Marketing", "sales-marketing"),
            ("EMEA/Support", "emea-support"),
            ("R&D", "r-d"),
            ("$(rm", "rm"),
            ("équipe", "quipe"),
            ("Ünited Wörks", "nited-w-rks"),
            ("a b!", "a-b"),
            ("x\u{202e}y", "x-y"),
            ("a+b", "a-b"),
            ("a@b", "a-b"),
            ("ops = prod, eu", "ops-prod-eu"),
            ("line\nbreak\ttab\0nul", "line-break-tab-nul"),
        ] {
            let parsed = BusinessUnit::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(parsed.as_str(), unit, "{input:?}");
            // Every IAM user name bedprov makes holds only what IAM allows.
            assert!(parsed.user_name().bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        }
        assert_eq!(BusinessUnit::parse("   "), Err(UnitError::Empty));
        assert_eq!(BusinessUnit::parse(" - _ "), Err(UnitError::Empty));
        assert_eq!(BusinessUnit::parse("&&& / ***"), Err(UnitError::Empty));
        assert_eq!(BusinessUnit::parse("éàü"), Err(UnitError::Empty));
        assert!(!UnitError::Empty.hint().is_empty());
    }

    #[test]
    fn the_iam_user_name_limit_counts_the_normalised_unit_with_its_suffix() {
        // 60 characters typed, 51 after normalising: fits exactly.
        let typed = format!("{} & {}", "a".repeat(25), "b".repeat(25));
        let unit = BusinessUnit::parse(&typed).unwrap();
        assert_eq!(unit.user_name().len(), IAM_USER_NAME_MAX);
        let err = BusinessUnit::parse(&format!("{typed}c")).unwrap_err();
        assert!(matches!(err, UnitError::TooLong { len: 52, .. }), "{err}");
        assert!(err.hint().contains("shorter"));
    }

    #[test]
    fn a_reading_is_offered_only_when_the_input_is_not_the_unit() {
        let unit = BusinessUnit::parse("Sales & Marketing").unwrap();
        assert_eq!(
            unit.reading("Sales & Marketing").unwrap(),
            "\"Sales & Marketing\" is business unit sales-marketing (IAM user sales-marketing-bedrock-user)"
        );
        assert_eq!(unit.reading(" sales-marketing "), None);
        assert_eq!(unit.reading("sales-marketing-bedrock-user"), None);
    }
}

#[cfg(test)]
mod owner_tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["jane@corp.com", "j.doe+bedrock@mail.corp.co.uk", "ops_team-1@x.io"] {
            assert_eq!(Owner::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Owner::parse("Jane@Corp.COM").unwrap().as_str(), "Jane@corp.com");
    }

    #[test]
    fn refuses_other_shapes() {
        for bad in [
            "jane",
            "@corp.com",
            "jane@",
            "jane@corp",
            "jane@@corp.com",
            "a@b@c.com",
            "-x@corp.com",
            "jane.@corp.com",
            "ja..ne@corp.com",
            "jane@-corp.com",
            "jane@corp.c0m",
            "j%x@corp.com",
            "jane@corp..com",
            "$(id)@corp.com",
        ] {
            assert!(Owner::parse(bad).is_err(), "{bad}");
        }
    }
}

#[cfg(test)]
mod earlier_tests {
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
        assert_eq!(BusinessUnit::parse("team$(x)").unwrap().as_str(), "team-x");
        assert_eq!(BusinessUnit::parse("équipe").unwrap().as_str(), "quipe");
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
