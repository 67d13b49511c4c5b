//! Credentials and region for a profile, through aws-config's chain.
//!
//! Profile selection: `--profile` > `AWS_PROFILE` > `default`. With `--profile`, only that
//! profile counts (environment keys are ignored, as the AWS CLI does); otherwise the default
//! chain runs: environment, profile (static, SSO, assume-role, `credential_process`), web
//! identity, ECS, IMDS. A profile whose credentials come straight from `credential_process`
//! runs through [`process`], which bounds time and never repeats the child's stderr.
//!
//! Every call re-reads the files and re-runs the chain: nothing here caches, so a daemon that
//! calls it at refresh time always gets current credentials. Errors say what to run next.

pub mod process;
pub mod profiles;

use crate::region::{self, Region, RegionSource};
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use profiles::{CredentialKind, Profiles};
use std::fmt;
use std::time::Duration;

/// The longest a whole credential resolution may take (SSO, STS and IMDS calls included).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(90);

/// Which profile, and why that one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProfileSelection {
    pub name: String,
    pub source: ProfileSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProfileSource {
    Flag,
    Env,
    Default,
}

impl ProfileSelection {
    /// `--profile` > `AWS_PROFILE` > `default`.
    #[must_use]
    pub fn select(flag: Option<&str>) -> Self {
        let env = std::env::var("AWS_PROFILE").ok();
        Self::choose(flag, env.as_deref())
    }

    #[must_use]
    pub fn choose(flag: Option<&str>, env: Option<&str>) -> Self {
        let non_empty =
            |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        if let Some(name) = non_empty(flag) {
            return Self { name, source: ProfileSource::Flag };
        }
        if let Some(name) = non_empty(env) {
            return Self { name, source: ProfileSource::Env };
        }
        Self { name: "default".into(), source: ProfileSource::Default }
    }
}

/// Credentials plus the region and profile they are for.
#[derive(Debug)]
pub struct Resolved {
    pub credentials: Credentials,
    pub profile: ProfileSelection,
    pub region: Region,
    pub region_source: RegionSource,
}

/// Why credentials could not be had. Messages never contain secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredsError {
    #[error("no AWS credentials found for profile `{profile}`")]
    NotFound { profile: String, explicit: bool },
    #[error("AWS profile `{profile}` is not defined in your AWS config or credentials file")]
    UnknownProfile { profile: String, known: Vec<String> },
    #[error("the AWS SSO session for profile `{profile}` has expired or was never started")]
    NeedsLogin { profile: String },
    #[error("the credential_process of profile `{profile}` {problem}")]
    Process { profile: String, problem: String },
    #[error("cannot read the AWS config files: {detail}")]
    ProfileFile { detail: String },
    #[error("could not load credentials for profile `{profile}`: {detail}")]
    Failed { profile: String, detail: String },
    #[error("the credentials for profile `{profile}` are already expired")]
    Expired { profile: String },
}

impl CredsError {
    /// What the user should do next.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            Self::NotFound { profile, explicit: true } => format!(
                "add credentials to profile `{profile}` (`aws configure --profile {profile}`), or sign in with `aws sso login --profile {profile}`"
            ),
            Self::NotFound { .. } => "run `aws configure` or `aws sso login --profile X`, or set AWS_PROFILE".into(),
            Self::UnknownProfile { known, .. } if known.is_empty() => {
                "no profiles are defined yet: run `aws configure --profile NAME` (or `aws configure sso`)".into()
            }
            Self::UnknownProfile { known, .. } => {
                format!("profiles found: {}; pass one with --profile or set AWS_PROFILE", known.join(", "))
            }
            Self::NeedsLogin { profile } => format!("run `aws sso login --profile {profile}`"),
            Self::Process { profile, .. } => format!(
                "run the command from `aws configure get credential_process --profile {profile}` yourself to see what it prints"
            ),
            Self::ProfileFile { .. } => "fix the file named above (or point AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE elsewhere)".into(),
            Self::Failed { profile, .. } => {
                format!("check the profile with `aws sts get-caller-identity --profile {profile}`")
            }
            Self::Expired { profile } => {
                format!("refresh them (for SSO: `aws sso login --profile {profile}`) and try again")
            }
        }
    }

    /// True when only a human can fix it (log in); retry slowly, not in a loop.
    #[must_use]
    pub fn needs_login(&self) -> bool {
        matches!(self, Self::NeedsLogin { .. })
    }
}

/// Resolves credentials and region. `region_flag` wins over everything else.
pub async fn resolve(
    profile: &ProfileSelection,
    region_flag: Option<&str>,
) -> Result<Resolved, crate::Error> {
    let process_timeout = process::timeout()?;
    let profiles = Profiles::load().await?;
    let (region, region_source) = choose_region(profile, region_flag, &profiles)?;
    let credentials = credentials(profile, &region, &profiles, process_timeout).await?;
    Ok(Resolved { credentials, profile: profile.clone(), region, region_source })
}

/// The region for `profile` by bedprov's precedence.
pub fn choose_region(
    profile: &ProfileSelection,
    region_flag: Option<&str>,
    profiles: &Profiles,
) -> Result<(Region, RegionSource), region::RegionError> {
    let env_region = std::env::var("AWS_REGION").ok();
    let env_default = std::env::var("AWS_DEFAULT_REGION").ok();
    let profile_region = profiles.region(&profile.name);
    region::choose(
        region_flag,
        env_region.as_deref(),
        env_default.as_deref(),
        profile_region.as_deref().map(|r| (profile.name.as_str(), r)),
    )
}

async fn credentials(
    profile: &ProfileSelection,
    region: &Region,
    profiles: &Profiles,
    process_timeout: Duration,
) -> Result<Credentials, CredsError> {
    let explicit = profile.source != ProfileSource::Default;
    if explicit && !profiles.contains(&profile.name) {
        return Err(CredsError::UnknownProfile {
            profile: profile.name.clone(),
            known: profiles.names(),
        });
    }
    let sdk_region = aws_types::region::Region::new(region.as_str().to_owned());
    let from_env =
        profile.source != ProfileSource::Flag && std::env::var_os("AWS_ACCESS_KEY_ID").is_some();
    let attempt = async {
        if from_env {
            return EnvironmentVariableCredentialsProvider::new()
                .provide_credentials()
                .await
                .map_err(|e| classify(profile, profiles, &e));
        }
        if let CredentialKind::Process(command) = profiles.credential_kind(&profile.name) {
            return process::run(&profile.name, &command, process_timeout).await;
        }
        let result = if profile.source == ProfileSource::Flag {
            let config = ProviderConfig::without_region().with_region(Some(sdk_region));
            ProfileFileCredentialsProvider::builder()
                .configure(&config)
                .profile_name(&profile.name)
                .build()
                .provide_credentials()
                .await
        } else {
            DefaultCredentialsChain::builder()
                .profile_name(&profile.name)
                .region(sdk_region)
                .build()
                .await
                .provide_credentials()
                .await
        };
        result.map_err(|e| classify(profile, profiles, &e))
    };
    // A longer credential_process timeout, if asked for, is not cut short here.
    let limit = RESOLVE_TIMEOUT.max(process_timeout + Duration::from_secs(5));
    let credentials =
        tokio::time::timeout(limit, attempt).await.map_err(|_| CredsError::Failed {
            profile: profile.name.clone(),
            detail: format!("no answer within {} s", limit.as_secs()),
        })??;
    if let Some(expiry) = credentials.expiry()
        && expiry <= std::time::SystemTime::now()
    {
        return Err(if profiles.uses_sso(&profile.name) {
            CredsError::NeedsLogin { profile: profile.name.clone() }
        } else {
            CredsError::Expired { profile: profile.name.clone() }
        });
    }
    Ok(credentials)
}

/// Maps aws-config's error to ours, deciding whether a login would fix it: for a profile
/// that signs in with SSO, a missing, unreadable or expired token cache (or a portal that
/// no longer accepts it) needs `aws sso login`; anything else is reported as it is.
fn classify(
    profile: &ProfileSelection,
    profiles: &Profiles,
    error: &CredentialsError,
) -> CredsError {
    let name = profile.name.clone();
    let detail = error_chain(error);
    let sso = profiles.uses_sso(&name);
    let login_would_fix =
        ["SSO token", "sso token", "Session token not found or invalid", "UnauthorizedException"]
            .iter()
            .any(|needle| detail.contains(needle));
    if sso && (login_would_fix || matches!(error, CredentialsError::CredentialsNotLoaded(_))) {
        return CredsError::NeedsLogin { profile: name };
    }
    if matches!(error, CredentialsError::CredentialsNotLoaded(_)) {
        return CredsError::NotFound {
            profile: name,
            explicit: profile.source != ProfileSource::Default,
        };
    }
    CredsError::Failed { profile: name, detail }
}

/// An error and its sources as one line, cut short and with any quoted process stderr
/// removed (credential tools print secrets there).
#[must_use]
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let part = inner.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = inner.source();
    }
    if let Some(cut) = text.find("Stderr:") {
        text.truncate(cut);
        text.push_str("(stderr withheld)");
    }
    if text.len() > 400 {
        let mut end = 400;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

impl fmt::Display for ProfileSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_precedence() {
        assert_eq!(ProfileSelection::choose(Some("a"), Some("b")).source, ProfileSource::Flag);
        assert_eq!(ProfileSelection::choose(None, Some("b")).name, "b");
        assert_eq!(
            ProfileSelection::choose(Some(" "), None),
            ProfileSelection { name: "default".into(), source: ProfileSource::Default }
        );
    }

    #[test]
    fn error_chain_withholds_stderr() {
        let err = CredentialsError::provider_error(
            "external process exited with code 1. Stderr: SECRET123",
        );
        let text = error_chain(&err);
        assert!(!text.contains("SECRET123"), "{text}");
        assert!(text.contains("withheld"));
    }

    #[test]
    fn hints_name_the_fix() {
        let unknown =
            CredsError::UnknownProfile { profile: "x".into(), known: vec!["a".into(), "b".into()] };
        assert_eq!(
            unknown.hint(),
            "profiles found: a, b; pass one with --profile or set AWS_PROFILE"
        );
        assert_eq!(
            CredsError::NeedsLogin { profile: "dev".into() }.hint(),
            "run `aws sso login --profile dev`"
        );
        assert!(
            CredsError::NotFound { profile: "default".into(), explicit: false }
                .hint()
                .contains("aws configure")
        );
    }
}
