//! Credentials and region, as an AWS SDK in a given shell would choose them.
//!
//! A [`Target`] is the CLI's flags (or a token request's fields) applied to a shell's AWS
//! environment ([`AwsEnv`]) by botocore's rules:
//! - profile: `--profile` > `AWS_DEFAULT_PROFILE` > `AWS_PROFILE` > `default` (botocore and
//!   the AWS CLI read `AWS_DEFAULT_PROFILE` first); a named profile must exist.
//! - credentials: the shell's own (`AWS_ACCESS_KEY_ID`…) sign first, even with
//!   `AWS_PROFILE` set; an explicit `--profile` sets them aside (they then serve only a role
//!   profile's `credential_source = Environment`). Otherwise a profile's own chain — static
//!   keys, SSO, `credential_process`, and roles assumed from them with every setting
//!   botocore sends — is resolved by [`chain`], so each `credential_process`, direct or a
//!   role's source, runs through [`process`] (bounded time, stderr never repeated);
//!   aws-config resolves the rest (web identity, console login, container, instance
//!   metadata).
//! - region: `--region` > `AWS_REGION` > `AWS_DEFAULT_REGION` > the profile's > `us-east-1`.
//!
//! [`mfa_session`] is `bedprov login`'s part: the session of a role that needs an MFA code,
//! obtained on the terminal for the daemon to serve from ([`mfa`]).
//!
//! The config files come from the target too, never from this process's environment, so the
//! daemon resolves for each requesting shell what that shell would. Every call re-reads the
//! files and re-runs the chain: nothing here caches, so a daemon that calls it at refresh
//! time always gets current credentials. Errors say what to run next.

pub mod chain;
pub mod environment;
mod login;
mod metadata;
pub mod mfa;
pub mod process;
mod profile_file;
pub mod profiles;
mod role;
pub mod source;
mod sso;

use crate::region::{self, Region, RegionSource};
use crate::wire::api::{CredentialSource, ErrorCode};
use crate::wire::aws_env::AwsEnv;
use aws_config::ecs::EcsCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::meta::credentials::CredentialsProviderChain;
use aws_config::profile::ProfileFileCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_config::web_identity_token::WebIdentityTokenCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use chain::{Context, Plan};
pub use environment::{EnvCredentials, ProfileFiles};
pub use login::{Login, MfaWhy};
use mfa::{Mfa, RoleSession};
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
    /// `--profile` (or a token request's `profile`).
    Flag,
    /// `AWS_PROFILE`.
    Env,
    /// `AWS_DEFAULT_PROFILE`.
    EnvDefault,
    /// None named: `default`, which may be missing (the chain goes on).
    Default,
}

impl ProfileSelection {
    /// `--profile` > `AWS_DEFAULT_PROFILE` > `AWS_PROFILE` > `default`, as botocore and the
    /// AWS CLI choose.
    #[must_use]
    pub fn choose(flag: Option<&str>, env: &AwsEnv) -> Self {
        let non_empty =
            |v: Option<&str>| v.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
        for (value, source) in [
            (flag, ProfileSource::Flag),
            (env.default_profile.as_deref(), ProfileSource::EnvDefault),
            (env.profile.as_deref(), ProfileSource::Env),
        ] {
            if let Some(name) = non_empty(value) {
                return Self { name, source };
            }
        }
        Self { name: "default".into(), source: ProfileSource::Default }
    }

    /// True when the profile was named (and so must exist).
    #[must_use]
    pub fn named(&self) -> bool {
        self.source != ProfileSource::Default
    }
}

/// The shell's own credentials, and what they are for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ShellCredentials {
    /// The shell has none.
    #[default]
    None,
    /// They sign: environment credentials come first in every AWS SDK's chain.
    Sign(EnvCredentials),
    /// A profile was named explicitly: they serve only a role profile's
    /// `credential_source = Environment`, as on the AWS CLI.
    SourceOnly(EnvCredentials),
}

impl ShellCredentials {
    #[must_use]
    pub fn credentials(&self) -> Option<&EnvCredentials> {
        match self {
            Self::None => None,
            Self::Sign(credentials) | Self::SourceOnly(credentials) => Some(credentials),
        }
    }

    /// The credentials, when they sign.
    #[must_use]
    pub fn signing(&self) -> Option<&EnvCredentials> {
        match self {
            Self::Sign(credentials) => Some(credentials),
            _ => None,
        }
    }
}

/// What to resolve: everything that decides which credentials sign and in which region.
#[derive(Debug, Clone)]
pub struct Target {
    pub profile: ProfileSelection,
    /// The region asked for (flag or environment); `None`: the profile's, else `us-east-1`.
    pub region: Option<(Region, RegionSource)>,
    pub files: ProfileFiles,
    pub credentials: ShellCredentials,
}

impl Target {
    /// The flags applied to a shell's environment. Refuses what botocore refuses: a region
    /// that cannot be one, `AWS_ACCESS_KEY_ID` without `AWS_SECRET_ACCESS_KEY`, an
    /// `AWS_CREDENTIAL_EXPIRATION` that is not a time (unless an explicit profile sets the
    /// environment's credentials aside).
    pub fn new(
        profile_flag: Option<&str>,
        region_flag: Option<&str>,
        env: &AwsEnv,
    ) -> crate::Result<Self> {
        let profile = ProfileSelection::choose(profile_flag, env);
        let region =
            region::requested(region_flag, env.region.as_deref(), env.default_region.as_deref())?;
        let credentials = if profile.source == ProfileSource::Flag {
            EnvCredentials::from_env(env)
                .ok()
                .flatten()
                .map_or(ShellCredentials::None, ShellCredentials::SourceOnly)
        } else {
            EnvCredentials::from_env(env)?.map_or(ShellCredentials::None, ShellCredentials::Sign)
        };
        Ok(Self { profile, region, files: ProfileFiles::from_env(env), credentials })
    }

    /// This process's own flags and environment (the CLI), saying on stderr which of the
    /// files the environment names do not exist.
    pub fn from_process(
        profile_flag: Option<&str>,
        region_flag: Option<&str>,
    ) -> crate::Result<Self> {
        let env = AwsEnv::from_process();
        for note in ProfileFiles::named_but_missing(&env) {
            crate::progress::suspend(|| eprintln!("note: {}", crate::quote::shown_long(&note)));
        }
        Self::new(profile_flag, region_flag, &env)
    }
}

/// Credentials plus the region and profile they are for.
#[derive(Debug)]
pub struct Resolved {
    pub credentials: Credentials,
    /// Where they came from.
    pub credential_source: CredentialSource,
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
    #[error("AWS_ACCESS_KEY_ID is set in the environment, but {missing} is not")]
    EnvironmentPartial { missing: &'static str },
    #[error("AWS_CREDENTIAL_EXPIRATION is not a time with a time zone (RFC 3339): `{value}`")]
    EnvironmentExpiration { value: String },
    #[error(
        "the AWS credentials in the environment (AWS_ACCESS_KEY_ID {access_key_id}) expired at {expired_at}, as AWS_CREDENTIAL_EXPIRATION says"
    )]
    EnvironmentExpired { access_key_id: String, expired_at: String },
}

/// The hint for environment credentials that cannot sign.
const ENVIRONMENT_HINT: &str = "get fresh ones from the tool that set them (aws-vault exec, granted, `aws configure export-credentials`), or unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_CREDENTIAL_EXPIRATION to sign with a profile";

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
            Self::EnvironmentPartial { missing } => format!(
                "set {missing} too (the tool that set AWS_ACCESS_KEY_ID sets both), or unset AWS_ACCESS_KEY_ID to sign with a profile"
            ),
            Self::EnvironmentExpiration { .. } => {
                "write it like 2026-11-26T09:43:31Z (or with an offset such as +01:00), or unset it".into()
            }
            Self::EnvironmentExpired { .. } => ENVIRONMENT_HINT.into(),
            Self::Config { hint, .. } | Self::AssumeRole { hint, .. } => hint.clone(),
        }
    }

    /// True when only a human can fix it (log in); retry slowly, not in a loop.
    #[must_use]
    pub fn needs_login(&self) -> bool {
        matches!(self, Self::NeedsLogin { .. })
    }
}

/// Resolves credentials and region for `target`, asking the person at the terminal for any
/// MFA code.
pub async fn resolve(target: &Target) -> Result<Resolved, crate::Error> {
    resolve_with(target, Mfa::Ask).await
}

/// [`resolve`], with the MFA codes obtained as `mfa` says (the daemon never asks).
pub async fn resolve_with(target: &Target, mfa: Mfa<'_>) -> Result<Resolved, crate::Error> {
    let process_timeout = process::timeout()?;
    let profiles = Profiles::load(&target.files)?;
    let (region, region_source) = choose_region(target, &profiles)?;
    let (credentials, credential_source) =
        credentials(target, &region, &profiles, process_timeout, mfa).await?;
    Ok(Resolved {
        credentials,
        credential_source,
        profile: target.profile.clone(),
        region,
        region_source,
    })
}

/// `bedprov login`: asks for the MFA code of the role in the chain of `target`'s profile
/// that needs one (the topmost, if several do) and returns that role's session, to hand to
/// the daemon.
pub async fn mfa_session(target: &Target) -> Result<RoleSession, crate::Error> {
    let profile = &target.profile;
    let process_timeout = process::timeout()?;
    let profiles = Profiles::load(&target.files)?;
    if profile.source != ProfileSource::Default && !profiles.contains(&profile.name) {
        return Err(CredsError::UnknownProfile {
            profile: profile.name.clone(),
            known: profiles.names(),
        }
        .into());
    }
    let (region, _) = choose_region(target, &profiles)?;
    let plan = Plan::for_profile(&profiles, &profile.name)?;
    let context = Context {
        profiles: &profiles,
        asked: &profile.name,
        region: &region,
        process_timeout,
        mfa: Mfa::Ask,
        files: &target.files,
        environment: target.credentials.credentials(),
    };
    if plan.as_ref().is_some_and(Plan::needs_mfa) && !crate::prompt::interactive() {
        return Err(crate::Error::new(
            ErrorCode::NeedsLogin,
            "bedprov login asks for the MFA code on a terminal, and there is none here",
            format!("run `bedprov login --profile {}` in a terminal", profile.name),
        ));
    }
    let session = match &plan {
        Some(plan) => Box::pin(plan.login(&context)).await?,
        None => None,
    };
    session.ok_or_else(|| {
        let name = &profile.name;
        let hint = match plan.as_ref().and_then(Plan::sso_profile) {
            Some(holder) => format!(
                "its credentials come from SSO: sign in with `aws sso login --profile {holder}`"
            ),
            None => format!(
                "the daemon and `bedprov token --profile {name}` get its credentials without a login"
            ),
        };
        crate::Error::usage(
            format!("profile `{name}` assumes no role that needs an MFA code: there is nothing to log in to"),
            hint,
        )
    })
}

/// The region for `target` by bedprov's precedence.
pub fn choose_region(
    target: &Target,
    profiles: &Profiles,
) -> Result<(Region, RegionSource), region::RegionError> {
    let profile = &target.profile.name;
    let profile_region = profiles.region(profile);
    region::or_profile(
        target.region.clone(),
        profile_region.as_deref().map(|r| (profile.as_str(), r)),
    )
}

async fn credentials(
    target: &Target,
    region: &Region,
    profiles: &Profiles,
    process_timeout: Duration,
    mfa: Mfa<'_>,
) -> Result<(Credentials, CredentialSource), CredsError> {
    let profile = &target.profile;
    // Also with environment credentials: botocore refuses a named profile that is missing.
    if profile.named() && !profiles.contains(&profile.name) {
        return Err(CredsError::UnknownProfile {
            profile: profile.name.clone(),
            known: profiles.names(),
        });
    }
    if let Some(environment) = target.credentials.signing() {
        environment.check_expiry(SystemTime::now())?;
        return Ok((environment.credentials(), CredentialSource::Environment));
    }
    if let Some(plan) = chain::Plan::for_profile(profiles, &profile.name)? {
        let context = chain::Context {
            profiles,
            asked: &profile.name,
            region,
            process_timeout,
            mfa,
            files: &target.files,
            environment: target.credentials.credentials(),
        };
        let credentials = plan.resolve(&context).await?;
        let source = plan.credential_source(&credentials, profiles);
        return Ok((unexpired(credentials, profile, Some(&plan))?, source));
    }
    let sdk = sdk_chain(target, region);
    let credentials = tokio::time::timeout(RESOLVE_TIMEOUT, sdk.provide_credentials())
        .await
        .map_err(|_| CredsError::Failed {
            profile: profile.name.clone(),
            detail: format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs()),
        })?
        .map_err(|e| classify(profile, &e))?;
    let source = source::of(&credentials, &profiles.credential_kind(&profile.name));
    Ok((unexpired(credentials, profile, None)?, source))
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

/// aws-config's chain for what a profile's own keys do not resolve (web identity, console
/// login, nothing): the profile (reading the target's files, with the target's own
/// credentials as its `Environment` source), web identity, container, instance metadata
/// (where an answer without credentials means none, as in botocore).
fn sdk_chain(target: &Target, region: &Region) -> CredentialsProviderChain {
    let sdk_region = aws_types::region::Region::new(region.as_str().to_owned());
    let config = ProviderConfig::without_region().with_region(Some(sdk_region));
    let environment = environment::EnvironmentSource(target.credentials.credentials().cloned());
    let profile = ProfileFileCredentialsProvider::builder()
        .configure(&config)
        .profile_files(target.files.sdk_files())
        .profile_name(&target.profile.name)
        .with_custom_provider("Environment", environment)
        .build();
    CredentialsProviderChain::first_try("Profile", profile)
        .or_else(
            "WebIdentityToken",
            WebIdentityTokenCredentialsProvider::builder().configure(&config).build(),
        )
        .or_else("EcsContainer", EcsCredentialsProvider::builder().configure(&config).build())
        .or_else(
            "Ec2InstanceMetadata",
            metadata::InstanceMetadata(
                ImdsCredentialsProvider::builder().configure(&config).build(),
            ),
        )
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

    fn env(profile: Option<&str>, default_profile: Option<&str>) -> AwsEnv {
        AwsEnv {
            profile: profile.map(str::to_owned),
            default_profile: default_profile.map(str::to_owned),
            ..AwsEnv::default()
        }
    }

    #[test]
    fn profile_precedence_is_botocores() {
        let both = env(Some("b"), Some("c"));
        assert_eq!(ProfileSelection::choose(Some("a"), &both).source, ProfileSource::Flag);
        let chosen = ProfileSelection::choose(None, &both);
        assert_eq!((chosen.name.as_str(), chosen.source), ("c", ProfileSource::EnvDefault));
        assert_eq!(ProfileSelection::choose(None, &env(Some("b"), None)).name, "b");
        assert_eq!(
            ProfileSelection::choose(Some(" "), &AwsEnv::default()),
            ProfileSelection { name: "default".into(), source: ProfileSource::Default }
        );
    }

    #[test]
    fn an_explicit_profile_sets_environment_credentials_aside() {
        use crate::wire::Secret;
        let shell = AwsEnv {
            profile: Some("dev".into()),
            access_key_id: Some("ASIAEXAMPLE".into()),
            secret_access_key: Some(Secret::new("secret".into())),
            ..AwsEnv::default()
        };
        let target = Target::new(None, None, &shell).unwrap();
        assert_eq!(target.profile.name, "dev");
        assert_eq!(target.credentials.signing().unwrap().access_key_id(), "ASIAEXAMPLE");
        let explicit = Target::new(Some("ops"), None, &shell).unwrap();
        assert!(explicit.credentials.signing().is_none());
        assert!(matches!(explicit.credentials, ShellCredentials::SourceOnly(_)));
        // Partial credentials are refused, unless an explicit profile sets them aside.
        let partial = AwsEnv { secret_access_key: None, ..shell };
        assert!(Target::new(None, None, &partial).is_err());
        assert!(Target::new(Some("ops"), None, &partial).is_ok());
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
