//! AWS regions: shape validation and the precedence bedprov uses to pick one.
//!
//! Precedence: `--region` > `AWS_REGION` > `AWS_DEFAULT_REGION` > the profile's `region` >
//! `us-east-1` (where most Claude models are). Every output says which source won, because
//! a token works only in the region it was signed for.

use std::fmt;

/// The region used when nothing else names one.
pub const DEFAULT: &str = "us-east-1";

/// A region whose shape was checked (`us-east-1`, `eu-central-2`, `us-gov-west-1`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Region(String);

/// A region string that cannot be an AWS region.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not an AWS region name: expected something like us-east-1, eu-west-1 or ap-southeast-2"
)]
pub struct RegionError {
    pub input: String,
}

impl Region {
    /// Checks the shape: lowercase `<area>-<words>-<digits>`, 2–4 parts, at most 32 chars.
    pub fn parse(input: &str) -> Result<Self, RegionError> {
        let refuse = || RegionError { input: crate::quote::shown(input) };
        let trimmed = input.trim();
        let parts: Vec<&str> = trimmed.split('-').collect();
        let shape_ok = trimmed.len() <= 32
            && (3..=5).contains(&parts.len())
            && parts[0].len() == 2
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
            && !parts[parts.len() - 1].is_empty();
        if shape_ok { Ok(Self(trimmed.to_owned())) } else { Err(refuse()) }
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where the region came from, so the output can say so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegionSource {
    Flag,
    EnvAwsRegion,
    EnvAwsDefaultRegion,
    Profile(String),
    Default,
}

impl fmt::Display for RegionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flag => f.write_str("from --region"),
            Self::EnvAwsRegion => f.write_str("from AWS_REGION"),
            Self::EnvAwsDefaultRegion => f.write_str("from AWS_DEFAULT_REGION"),
            Self::Profile(name) => write!(f, "from profile {}", crate::quote::shown(name)),
            Self::Default => f.write_str("default"),
        }
    }
}

/// Applies the precedence to already-gathered candidates; the first present one wins and
/// must have a valid shape (a bad `AWS_REGION` is an error, not silently skipped).
pub fn choose(
    flag: Option<&str>,
    env_region: Option<&str>,
    env_default_region: Option<&str>,
    profile: Option<(&str, &str)>,
) -> Result<(Region, RegionSource), RegionError> {
    or_profile(requested(flag, env_region, env_default_region)?, profile)
}

/// The region asked for before any profile is read: the flag, else `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`. `None` when none names one.
pub fn requested(
    flag: Option<&str>,
    env_region: Option<&str>,
    env_default_region: Option<&str>,
) -> Result<Option<(Region, RegionSource)>, RegionError> {
    let candidates = [
        (flag, RegionSource::Flag),
        (env_region, RegionSource::EnvAwsRegion),
        (env_default_region, RegionSource::EnvAwsDefaultRegion),
    ];
    for (value, source) in candidates {
        if let Some(value) = non_empty(value) {
            return Ok(Some((Region::parse(value)?, source)));
        }
    }
    Ok(None)
}

/// The requested region, else the profile's `region`, else [`DEFAULT`].
pub fn or_profile(
    requested: Option<(Region, RegionSource)>,
    profile: Option<(&str, &str)>,
) -> Result<(Region, RegionSource), RegionError> {
    if let Some(chosen) = requested {
        return Ok(chosen);
    }
    if let Some((name, value)) = profile.filter(|(_, v)| !v.trim().is_empty()) {
        return Ok((Region::parse(value)?, RegionSource::Profile(name.to_owned())));
    }
    Ok((Region(DEFAULT.to_owned()), RegionSource::Default))
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|s| !s.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_region_shapes() {
        for r in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-5",
            "cn-northwest-1",
            "il-central-1",
        ] {
            assert_eq!(Region::parse(r).unwrap().as_str(), r);
        }
    }

    #[test]
    fn refuses_other_shapes() {
        for r in [
            "",
            "us",
            "US-EAST-1",
            "us-east",
            "us_east_1",
            "us-east-1a",
            "u-east-1",
            "us--1",
            "us-east\n-1",
            "a-b-c-d-e-f-1",
            "bedrock.amazonaws.com",
        ] {
            assert!(Region::parse(r).is_err(), "{r:?}");
        }
    }

    #[test]
    fn precedence_is_flag_env_default_env_profile_default() {
        let pick = |f, e, d, p| choose(f, e, d, p).unwrap();
        let prof = Some(("dev", "eu-west-1"));
        assert_eq!(pick(Some("us-west-2"), Some("ap-south-1"), None, prof).1, RegionSource::Flag);
        assert_eq!(
            pick(None, Some("ap-south-1"), Some("us-west-1"), prof).1,
            RegionSource::EnvAwsRegion
        );
        assert_eq!(pick(None, None, Some("us-west-1"), prof).1, RegionSource::EnvAwsDefaultRegion);
        assert_eq!(
            pick(None, Some(""), None, prof),
            (Region::parse("eu-west-1").unwrap(), RegionSource::Profile("dev".into()))
        );
        assert_eq!(
            pick(None, None, None, None),
            (Region::parse("us-east-1").unwrap(), RegionSource::Default)
        );
        assert!(choose(None, Some("nonsense"), None, prof).is_err());
    }
}
