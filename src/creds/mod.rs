//! Credentials and region for a profile, through aws-config's chain.
//!
//! Profile selection: `--profile` > `AWS_PROFILE` > `default`. With `--profile`, only that
//! profile counts (environment keys are ignored, as the AWS CLI does); otherwise the default
//! chain runs: environment, profile (static, SSO, assume-role, `credential_process`), web
//! identity, ECS, IMDS. A profile's own chain — static keys, SSO, `credential_process`, and
//! roles assumed from them with every setting botocore sends — is resolved by [`chain`], so
//! each `credential_process`, direct or a role's source, runs through [`process`] (bounded
//! time, stderr never repeated); aws-config resolves the rest (web identity, console login,
//! ECS, IMDS).
//!
//! Every call re-reads the files and re-runs the chain: nothing here caches, so a daemon that
//! calls it at refresh time always gets current credentials. Errors say what to run next.

pub mod chain;
mod login;
pub mod mfa;
pub mod process;
pub mod profiles;
mod role;
mod sso;

use crate::region::{self, Region, RegionSource};
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
pub use login::{Login, MfaWhy};
use mfa::Mfa;
use profiles::Profiles;
use std::fmt;
use std::time::{Duration, SystemTime};

/// The longest one credential step may take (an SSO, STS or IMDS call, or aws-config's
/// whole chain).
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
    #[error("{}", login.describe(profile))]
    NeedsLogin { profile: String, login: Login },
    #[error("the credential_process of profile `{profile}` {problem}")]
    Process { profile: String, problem: String },
    #[error("cannot read the AWS config files: {detail}")]
    ProfileFile { detail: String },
    #[error("could not load credentials for profile `{profile}`: {detail}")]
    Failed { profile: String, detail: String },
    #[error("the credentials for profile `{profile}` are already expired")]
    Expired { profile: String },
    /// A profile's settings cannot work as written (a `source_profile` loop, a missing key).
    #[error("profile `{profile}` {problem}")]
    Config { profile: String, problem: String, hint: String },
    #[error("could not assume role {role_arn} for profile `{profile}`: {problem}")]
    AssumeRole { profile: String, role_arn: String, problem: String, hint: String },
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
            Self::NeedsLogin { profile, login } => login.hint(profile),
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
            Self::Config { hint, .. } | Self::AssumeRole { hint, .. } => hint.clone(),
        }
    }

    /// True when only a human can fix it (log in); retry slowly, not in a loop.
    #[must_use]
    pub fn needs_login(&self) -> bool {
        matches!(self, Self::NeedsLogin { .. })
    }
}

/// Resolves credentials and region, asking the person at the terminal for any MFA code.
/// `region_flag` wins over everything else.
pub async fn resolve(
    profile: &ProfileSelection,
    region_flag: Option<&str>,
) -> Result<Resolved, crate::Error> {
    resolve_with(profile, region_flag, Mfa::Ask).await
}

/// [`resolve`], with the MFA codes obtained as `mfa` says (the daemon never asks).
pub async fn resolve_with(
    profile: &ProfileSelection,
    region_flag: Option<&str>,
    mfa: Mfa<'_>,
) -> Result<Resolved, crate::Error> {
    let process_timeout = process::timeout()?;
    let profiles = Profiles::load().await?;
    let (region, region_source) = choose_region(profile, region_flag, &profiles)?;
    let credentials = credentials(profile, &region, &profiles, process_timeout, mfa).await?;
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
    mfa: Mfa<'_>,
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
    let plan = if from_env { None } else { chain::Plan::for_profile(profiles, &profile.name)? };
    if let Some(plan) = &plan {
        let context =
            chain::Context { profiles, asked: &profile.name, region, process_timeout, mfa };
        let credentials = plan.resolve(&context).await?;
        return unexpired(credentials, profile, Some(plan));
    }
    let attempt = async {
        if from_env {
            return EnvironmentVariableCredentialsProvider::new()
                .provide_credentials()
                .await
                .map_err(|e| classify(profile, &e));
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
        result.map_err(|e| classify(profile, &e))
    };
    let credentials = tokio::time::timeout(RESOLVE_TIMEOUT, attempt).await.map_err(|_| {
        CredsError::Failed {
            profile: profile.name.clone(),
            detail: format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs()),
        }
    })??;
    unexpired(credentials, profile, None)
}

/// The credentials, unless they are already expired (for SSO: a login is needed).
fn unexpired(
    credentials: Credentials,
    profile: &ProfileSelection,
    plan: Option<&chain::Plan>,
) -> Result<Credentials, CredsError> {
    if credentials.expiry().is_some_and(|expiry| expiry <= SystemTime::now()) {
        let name = profile.name.clone();
        return Err(match plan.and_then(chain::Plan::sso_profile) {
            Some(holder) => CredsError::NeedsLogin {
                profile: name,
                login: Login::Sso { profile: holder.into() },
            },
            None => CredsError::Expired { profile: name },
        });
    }
    Ok(credentials)
}

/// Maps an error of aws-config's chain (environment, web identity, console login, ECS,
/// IMDS: SSO is sorted in [`sso`]) to ours.
fn classify(profile: &ProfileSelection, error: &CredentialsError) -> CredsError {
    let name = profile.name.clone();
    let detail = error_chain(error);
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
        let sso = |holder: &str| CredsError::NeedsLogin {
            profile: "dev".into(),
            login: Login::Sso { profile: holder.into() },
        };
        assert_eq!(sso("dev").hint(), "run `aws sso login --profile dev`");
        assert_eq!(
            sso("dev").to_string(),
            "the AWS SSO session for profile `dev` has expired or was never started"
        );
        assert_eq!(sso("corp-sso").hint(), "run `aws sso login --profile corp-sso`");
        assert!(sso("corp-sso").to_string().contains("profile `corp-sso`, which profile `dev`"));
        let mfa =
            CredsError::NeedsLogin { profile: "dev".into(), login: Login::Mfa(MfaWhy::NoTerminal) };
        assert!(mfa.needs_login());
        assert!(mfa.to_string().contains("no terminal"), "{mfa}");
        assert!(mfa.hint().contains("`bedprov login --profile dev`"), "{}", mfa.hint());
        assert!(
            CredsError::NotFound { profile: "default".into(), explicit: false }
                .hint()
                .contains("aws configure")
        );
    }
}
