//! Owner email addresses: the practical shape that IAM tag values accept.
//!
//! This checks the shape only (no DNS, no mailbox); the owner is recorded as a tag on the
//! unit's IAM user, so the address must also be a valid IAM tag value.

use std::fmt;

/// An email address: `local@domain.tld`, local part of letters, digits and `. _ + -`
/// starting with a letter or digit, domain of at least two labels ending in a letter TLD.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why text is not an owner email (the message quotes it safely).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{shown}\" is not an email address bedprov can record as the owner ({reason})")]
pub struct EmailError {
    pub shown: String,
    pub reason: &'static str,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let refuse = |reason| EmailError { shown: super::words::shown(input), reason };
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

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_addresses() {
        for ok in ["jane@corp.com", "j.doe+bedrock@mail.corp.co.uk", "ops_team-1@x.io"] {
            assert_eq!(Email::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(Email::parse("Jane@Corp.COM").unwrap().as_str(), "Jane@corp.com");
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
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }
}
