//! bedprov's own resolution of a profile's credential chain, in botocore's order, so that
//! every setting botocore honours is honoured here too and every `credential_process` runs
//! under [`super::process`]'s rules.
//!
//! A chain is a base (static keys, SSO, a `credential_process`, a `credential_source`, or a
//! shape left to aws-config: web identity and console login) and the roles assumed from it,
//! one per profile with `role_arn`, lowest first. Precedence as botocore's
//! `AssumeRoleProvider`: for the profile asked for, `role_arn` comes first; for a
//! `source_profile`, its static keys win over its own `role_arn`; a profile may name itself
//! as `source_profile` only to use its own static keys; any other loop is an error that names
//! the profiles in it.
//!
//! Each network step is bounded on its own (a `credential_process` by its timeout): an MFA
//! prompt waits for a person, not for a clock.

use super::environment::{EnvCredentials, EnvironmentSource, ProfileFiles};
use super::mfa::{Mfa, RoleSession};
use super::profiles::CredentialKind;
use super::role::{NamedSource, RoleSource, RoleStep};
use super::sso::SsoSettings;
use super::{CredsError, Login, MfaWhy, Profiles, RESOLVE_TIMEOUT};
use crate::region::Region;
use crate::wire::api::CredentialSource;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_credential_types::provider::error::CredentialsError;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// What a resolution needs besides the plan.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub profiles: &'a Profiles,
    /// The profile the credentials are for, named in login hints.
    pub asked: &'a str,
    /// The token's region: STS and the credential providers are reached there.
    pub region: &'a Region,
    pub process_timeout: Duration,
    pub mfa: Mfa<'a>,
    /// The files the profiles were read from (aws-config's providers read them again).
    pub files: &'a ProfileFiles,
    /// The shell's own credentials, for `credential_source = Environment`: never this
    /// process's environment, which may belong to another shell.
    pub environment: Option<&'a EnvCredentials>,
}

/// Credentials that need no other credentials: where a chain starts.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Base {
    Static {
        profile: String,
    },
    Sso(SsoSettings),
    Process {
        profile: String,
        command: String,
    },
    Named {
        profile: String,
        source: NamedSource,
    },
    /// Web identity or console login: aws-config's provider for that profile.
    Sdk {
        profile: String,
    },
}

impl Base {
    fn profile(&self) -> &str {
        match self {
            Self::Static { profile }
            | Self::Process { profile, .. }
            | Self::Named { profile, .. }
            | Self::Sdk { profile } => profile,
            Self::Sso(settings) => &settings.profile,
        }
    }
}

/// A profile's chain: its base, then the roles assumed from it, lowest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    base: Base,
    roles: Vec<RoleStep>,
}

impl Plan {
    /// The chain of `profile`, or `None` when the profile is not defined or its own keys
    /// name no credentials bedprov resolves itself (web identity, console login, nothing):
    /// aws-config's chain handles those.
    pub fn for_profile(profiles: &Profiles, profile: &str) -> Result<Option<Self>, CredsError> {
        if !profiles.contains(profile) {
            return Ok(None);
        }
        match profiles.credential_kind(profile) {
            CredentialKind::AssumeRole => Self::roles_from(profiles, profile).map(Some),
            CredentialKind::WebIdentity | CredentialKind::Login | CredentialKind::Other => Ok(None),
            kind => Ok(Some(Self { base: base(profiles, profile, kind)?, roles: Vec::new() })),
        }
    }

    fn roles_from(profiles: &Profiles, profile: &str) -> Result<Self, CredsError> {
        let mut visited = vec![profile.to_owned()];
        let mut roles = Vec::new();
        let mut name = profile.to_owned();
        let base = loop {
            let step = RoleStep::read(profiles, &name)?;
            let source = step.source.clone();
            roles.push(step);
            match source {
                RoleSource::Named(source) => break Base::Named { profile: name, source },
                RoleSource::Profile(next) if next == name => {
                    // Allowed only to take the profile's own static keys.
                    if !profiles.has_static_keys(&name) {
                        return Err(loop_error(&visited, &next));
                    }
                    break base(profiles, &name, profiles.source_kind(&name))?;
                }
                RoleSource::Profile(next) => {
                    if !profiles.contains(&next) {
                        return Err(CredsError::Config {
                            profile: name.clone(),
                            problem: format!("names source_profile `{next}`, which is not defined"),
                            hint: format!(
                                "define [profile {next}] in your AWS config, or fix source_profile in profile `{name}`"
                            ),
                        });
                    }
                    if visited.contains(&next) {
                        return Err(loop_error(&visited, &next));
                    }
                    visited.push(next.clone());
                    match profiles.source_kind(&next) {
                        CredentialKind::AssumeRole => name = next,
                        kind => break base(profiles, &next, kind)?,
                    }
                }
            }
        };
        roles.reverse();
        Ok(Self { base, roles })
    }

    /// The profile holding the SSO settings this chain starts from, if it does.
    #[must_use]
    pub fn sso_profile(&self) -> Option<&str> {
        match &self.base {
            Base::Sso(settings) => Some(&settings.profile),
            _ => None,
        }
    }

    /// True when the chain passes through `profile` (as a role or as its base).
    #[must_use]
    pub fn passes_through(&self, profile: &str) -> bool {
        self.base.profile() == profile || self.roles.iter().any(|r| r.profile == profile)
    }

    /// The highest role that needs an MFA code: everything below it only serves to assume it.
    fn topmost_mfa(&self) -> Option<(usize, &RoleStep, &str)> {
        self.roles
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, role)| role.mfa_serial.as_deref().map(|serial| (i, role, serial)))
    }

    /// Where the chain's credentials come from, for "signed by …": a role if any is assumed,
    /// else the base (for aws-config's providers, what they mark on `credentials`).
    #[must_use]
    pub fn credential_source(
        &self,
        credentials: &Credentials,
        profiles: &Profiles,
    ) -> CredentialSource {
        if !self.roles.is_empty() {
            return CredentialSource::AssumeRole;
        }
        match &self.base {
            Base::Static { .. } => CredentialSource::StaticKeys,
            Base::Sso(_) => CredentialSource::Sso,
            Base::Process { .. } => CredentialSource::CredentialProcess,
            Base::Named { source: NamedSource::Environment, .. } => CredentialSource::Environment,
            Base::Named { source: NamedSource::Ec2InstanceMetadata, .. } => {
                CredentialSource::InstanceMetadata
            }
            Base::Named { source: NamedSource::EcsContainer, .. } => CredentialSource::Container,
            Base::Sdk { profile } => {
                super::source::of(credentials, &profiles.credential_kind(profile))
            }
        }
    }

    /// True when some role of the chain needs an MFA code.
    #[must_use]
    pub fn needs_mfa(&self) -> bool {
        self.topmost_mfa().is_some()
    }

    /// Resolves the chain. With [`Mfa::Sessions`], the session handed over for the topmost
    /// MFA role stands in for that role and everything below it.
    pub async fn resolve(&self, ctx: &Context<'_>) -> Result<Credentials, CredsError> {
        let (mut credentials, above) = match (self.topmost_mfa(), ctx.mfa) {
            (Some((index, role, serial)), Mfa::Sessions(sessions)) => {
                let now = SystemTime::now();
                let session =
                    sessions.credentials(&role.profile, &role.role_arn, serial, ctx.asked, now)?;
                (session, index + 1)
            }
            // Said before the base runs (a credential_process, an SSO call) for nothing.
            (Some(_), Mfa::Ask) if !crate::prompt::interactive() => {
                return Err(mfa_login(ctx.asked, MfaWhy::NoTerminal));
            }
            _ => (self.base_credentials(ctx).await?, 0),
        };
        for role in &self.roles[above..] {
            credentials = assume(ctx, role, &credentials).await?;
        }
        Ok(credentials)
    }

    /// For `bedprov login`: assumes the roles up to the topmost one that needs an MFA code,
    /// asking for the codes, and returns that role's session (`None` when no role needs one).
    pub async fn login(&self, ctx: &Context<'_>) -> Result<Option<RoleSession>, CredsError> {
        let Some((index, role, serial)) = self.topmost_mfa() else { return Ok(None) };
        let ctx = Context { mfa: Mfa::Ask, ..*ctx };
        if !crate::prompt::interactive() {
            return Err(mfa_login(ctx.asked, MfaWhy::NoTerminal));
        }
        let mut credentials = self.base_credentials(&ctx).await?;
        for step in &self.roles[..=index] {
            credentials = assume(&ctx, step, &credentials).await?;
        }
        Ok(Some(RoleSession {
            profile: role.profile.clone(),
            role_arn: role.role_arn.clone(),
            mfa_serial: serial.to_owned(),
            credentials,
        }))
    }

    async fn base_credentials(&self, ctx: &Context<'_>) -> Result<Credentials, CredsError> {
        let provider_config = ProviderConfig::without_region()
            .with_region(Some(aws_types::region::Region::new(ctx.region.as_str().to_owned())));
        match &self.base {
            Base::Static { profile } => static_keys(ctx.profiles, profile),
            Base::Process { profile, command } => {
                super::process::run(profile, command, ctx.process_timeout).await
            }
            Base::Sso(settings) => {
                bounded(&settings.profile, settings.credentials(&provider_config, ctx.asked))
                    .await?
            }
            Base::Named { profile, source } => {
                let provider: Box<dyn ProvideCredentials> = match source {
                    NamedSource::Environment => {
                        Box::new(EnvironmentSource(ctx.environment.cloned()))
                    }
                    NamedSource::Ec2InstanceMetadata => Box::new(
                        aws_config::imds::credentials::ImdsCredentialsProvider::builder()
                            .configure(&provider_config)
                            .build(),
                    ),
                    NamedSource::EcsContainer => Box::new(
                        aws_config::ecs::EcsCredentialsProvider::builder()
                            .configure(&provider_config)
                            .build(),
                    ),
                };
                let answer = bounded(profile, provider.provide_credentials()).await?;
                answer.map_err(|e| sdk_failure(profile, &e))
            }
            Base::Sdk { profile } => {
                let provider = aws_config::profile::ProfileFileCredentialsProvider::builder()
                    .configure(&provider_config)
                    .profile_files(ctx.files.sdk_files())
                    .profile_name(profile)
                    .build();
                let answer = bounded(profile, provider.provide_credentials()).await?;
                answer.map_err(|e| sdk_failure(profile, &e))
            }
        }
    }
}

/// Where a profile's own credentials come from, once it is known not to assume a role.
fn base(profiles: &Profiles, profile: &str, kind: CredentialKind) -> Result<Base, CredsError> {
    let profile = profile.to_owned();
    Ok(match kind {
        CredentialKind::Static => Base::Static { profile },
        CredentialKind::Sso => Base::Sso(SsoSettings::read(profiles, &profile)?),
        CredentialKind::Process(command) => Base::Process { profile, command },
        CredentialKind::WebIdentity | CredentialKind::Login => Base::Sdk { profile },
        CredentialKind::AssumeRole | CredentialKind::Other => {
            return Err(CredsError::Config {
                problem: "has no credentials of its own, and another profile takes its credentials from it (source_profile)".into(),
                hint: format!(
                    "give profile `{profile}` credentials (`aws configure --profile {profile}`, SSO or credential_process), or point source_profile elsewhere"
                ),
                profile,
            });
        }
    })
}

fn loop_error(visited: &[String], next: &str) -> CredsError {
    let mut path: Vec<&str> = visited.iter().map(String::as_str).collect();
    path.push(next);
    CredsError::Config {
        profile: visited[0].clone(),
        problem: format!("has a source_profile loop: {}", path.join(" → ")),
        hint: "break the loop: the last profile of a chain needs credentials of its own".into(),
    }
}

/// Static keys from the files: both keys, and the session token if there is one.
fn static_keys(profiles: &Profiles, profile: &str) -> Result<Credentials, CredsError> {
    let get = |key| profiles.get(profile, key);
    let missing = |key: &str| CredsError::Config {
        profile: profile.to_owned(),
        problem: format!("has only half of its static keys: {key} is missing"),
        hint: format!("add it (`aws configure --profile {profile}`)"),
    };
    let id = get("aws_access_key_id").ok_or_else(|| missing("aws_access_key_id"))?;
    let secret = zeroize::Zeroizing::new(
        get("aws_secret_access_key").ok_or_else(|| missing("aws_secret_access_key"))?,
    );
    Ok(Credentials::new(id, secret.as_str(), get("aws_session_token"), None, "profile"))
}

/// Assumes `role` with `source`, asking for its MFA code first when it needs one.
async fn assume(
    ctx: &Context<'_>,
    role: &RoleStep,
    source: &Credentials,
) -> Result<Credentials, CredsError> {
    let code = match (&role.mfa_serial, ctx.mfa) {
        (None, _) => None,
        (Some(serial), Mfa::Ask) => Some(ask_code(ctx.asked, serial)?),
        (Some(_), Mfa::Sessions(_)) => return Err(mfa_login(ctx.asked, MfaWhy::NoSession)),
    };
    bounded(&role.profile, role.assume(source, code.as_deref(), ctx.region)).await?
}

/// Asks the person at the terminal for the code of `serial`.
fn ask_code(asked: &str, serial: &str) -> Result<String, CredsError> {
    if !crate::prompt::interactive() {
        return Err(mfa_login(asked, MfaWhy::NoTerminal));
    }
    match crate::prompt::mfa_code(serial) {
        Ok(Some(code)) => Ok(code),
        Ok(None) => Err(mfa_login(asked, MfaWhy::NoCode)),
        Err(error) => Err(CredsError::Failed {
            profile: asked.to_owned(),
            detail: format!("cannot read the MFA code: {error}"),
        }),
    }
}

fn mfa_login(asked: &str, why: MfaWhy) -> CredsError {
    CredsError::NeedsLogin { profile: asked.to_owned(), login: Login::Mfa(why) }
}

/// One network step, bounded on its own.
async fn bounded<T>(profile: &str, step: impl Future<Output = T>) -> Result<T, CredsError> {
    tokio::time::timeout(RESOLVE_TIMEOUT, step).await.map_err(|_| CredsError::Failed {
        profile: profile.to_owned(),
        detail: format!("no answer within {} s", RESOLVE_TIMEOUT.as_secs()),
    })
}

fn sdk_failure(profile: &str, error: &CredentialsError) -> CredsError {
    CredsError::Failed { profile: profile.to_owned(), detail: super::error_chain(error) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATIC: &str = "aws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = s\n";

    fn plan(config: &str, profile: &str) -> Result<Option<Plan>, CredsError> {
        Plan::for_profile(&Profiles::parse(config, ""), profile)
    }

    fn roles(plan: &Plan) -> Vec<&str> {
        plan.roles.iter().map(|r| r.profile.as_str()).collect()
    }

    #[tokio::test]
    async fn a_role_chain_runs_from_its_base_up_in_botocore_order() {
        let config = format!(
            "[profile top]\nrole_arn = arn:aws:iam::1:role/top\nsource_profile = middle\n\
             [profile middle]\nrole_arn = arn:aws:iam::1:role/middle\nsource_profile = base\n\
             [profile base]\ncredential_process = /bin/creds\n\
             [profile keys-win]\nrole_arn = arn:aws:iam::1:role/k\nsource_profile = both\n\
             [profile both]\nrole_arn = arn:aws:iam::1:role/ignored\nsource_profile = base\n{STATIC}\
             [profile itself]\nrole_arn = arn:aws:iam::1:role/self\nsource_profile = itself\n{STATIC}\
             [profile on-sso]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = sso\n\
             [profile sso]\nsso_start_url = https://x.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 1\nsso_role_name = R\n"
        );
        let top = plan(&config, "top").unwrap().unwrap();
        assert_eq!(roles(&top), ["middle", "top"]);
        assert_eq!(
            top.base,
            Base::Process { profile: "base".into(), command: "/bin/creds".into() }
        );
        assert!(top.passes_through("base") && !top.passes_through("sso"));

        // A source profile's static keys win over its own role_arn.
        let keys = plan(&config, "keys-win").unwrap().unwrap();
        assert_eq!(
            (roles(&keys), &keys.base),
            (vec!["keys-win"], &Base::Static { profile: "both".into() })
        );
        // A profile may take its own static keys to assume its role.
        let itself = plan(&config, "itself").unwrap().unwrap();
        assert_eq!(itself.base, Base::Static { profile: "itself".into() });
        assert_eq!(roles(&itself), ["itself"]);
        // Over SSO: the login hint will name the SSO profile.
        assert_eq!(plan(&config, "on-sso").unwrap().unwrap().sso_profile(), Some("sso"));
        // Not a chain: aws-config's chain handles it.
        assert_eq!(plan(&config, "nope").unwrap(), None);
    }

    #[tokio::test]
    async fn loops_and_dead_ends_are_named() {
        let config = "[profile a]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = b\n\
             [profile b]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = a\n\
             [profile selfish]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = selfish\n\
             [profile lost]\nrole_arn = arn:aws:iam::1:role/l\nsource_profile = nowhere\n\
             [profile empty-source]\nrole_arn = arn:aws:iam::1:role/e\nsource_profile = empty\n\
             [profile empty]\nregion = us-east-1\n";
        for (profile, said) in [
            ("a", "source_profile loop: a → b → a"),
            ("selfish", "source_profile loop: selfish → selfish"),
            ("lost", "names source_profile `nowhere`, which is not defined"),
            ("empty-source", "has no credentials of its own"),
        ] {
            let err = plan(config, profile).unwrap_err();
            assert!(err.to_string().contains(said), "{profile}: {err}");
            assert!(!err.hint().is_empty());
            assert!(!err.needs_login());
        }
    }

    #[tokio::test]
    async fn the_topmost_mfa_role_is_the_one_a_login_hands_over() {
        let config = format!(
            "[profile work]\nrole_arn = arn:aws:iam::1:role/work\nsource_profile = admin\n\
             [profile admin]\nrole_arn = arn:aws:iam::1:role/admin\nsource_profile = keys\nmfa_serial = arn:aws:iam::1:mfa/me\n\
             [profile keys]\n{STATIC}"
        );
        let work = plan(&config, "work").unwrap().unwrap();
        assert!(work.needs_mfa());
        let (index, role, serial) = work.topmost_mfa().unwrap();
        assert_eq!((index, role.profile.as_str(), serial), (0, "admin", "arn:aws:iam::1:mfa/me"));

        // The daemon, without a session: the login names the profile asked for.
        let profiles = Profiles::parse(&config, "");
        let sessions = super::super::mfa::RoleSessions::default();
        let region = Region::parse("us-east-1").unwrap();
        let files = ProfileFiles::default();
        let ctx = Context {
            profiles: &profiles,
            asked: "work",
            region: &region,
            process_timeout: Duration::from_secs(5),
            mfa: Mfa::Sessions(&sessions),
            files: &files,
            environment: None,
        };
        let err = work.resolve(&ctx).await.unwrap_err();
        assert!(err.needs_login());
        assert!(err.hint().contains("bedprov login --profile work"), "{}", err.hint());
    }

    #[tokio::test]
    async fn half_a_static_key_pair_is_named() {
        let profiles = Profiles::parse("", "[p]\naws_access_key_id = AKIDEXAMPLE\n");
        let err = static_keys(&profiles, "p").unwrap_err();
        assert!(err.to_string().contains("aws_secret_access_key is missing"), "{err}");
    }
}
