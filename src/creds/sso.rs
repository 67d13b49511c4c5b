//! SSO credentials for the profile that holds the SSO settings (`sso_account_id`,
//! `sso_role_name`, and `sso_session` or the legacy `sso_start_url` / `sso_region`), through
//! aws-config's SSO provider, read and checked as botocore reads them.
//!
//! This is the one place an SSO failure is sorted, by the SDK's error types: a token cache
//! that is missing (never logged in, or after `aws sso logout`), unreadable or expired, or a
//! portal that refuses the token, needs `aws sso login --profile <this profile>`; a network
//! failure or a portal that refuses the account or role does not.

use super::{CredsError, Login, Profiles};
use aws_config::provider_config::ProviderConfig;
use aws_config::sso::SsoCredentialsProvider;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_sso::operation::get_role_credentials::GetRoleCredentialsError;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;

/// A profile's SSO settings, with those of its `[sso-session]` filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SsoSettings {
    pub profile: String,
    pub account_id: String,
    pub role_name: String,
    pub start_url: String,
    pub region: String,
    pub session: Option<String>,
}

impl SsoSettings {
    /// Reads them from `profile`. As botocore: all four values are required, and a value
    /// set both in the profile and in its `[sso-session]` must agree.
    pub(super) fn read(profiles: &Profiles, profile: &str) -> Result<Self, CredsError> {
        let config_error = |problem: String, hint: String| CredsError::Config {
            profile: profile.to_owned(),
            problem,
            hint,
        };
        let session = profiles.get(profile, "sso_session");
        let value = |key: &str| -> Result<Option<String>, CredsError> {
            let own = profiles.get(profile, key);
            let Some(session) = &session else { return Ok(own) };
            match (own, profiles.sso_session_value(session, key)) {
                (Some(own), Some(shared)) if own != shared => Err(config_error(
                    format!("sets {key} differently from its [sso-session {session}]"),
                    format!("remove {key} from profile `{profile}`, or make the two agree"),
                )),
                (own, shared) => Ok(shared.or(own)),
            }
        };
        if let Some(session) = &session
            && !profiles.has_sso_session(session)
        {
            return Err(config_error(
                format!(
                    "names sso_session `{session}`, but there is no [sso-session {session}] section"
                ),
                format!(
                    "add it (`aws configure sso-session`), or fix sso_session in profile `{profile}`"
                ),
            ));
        }
        let (account_id, role_name) = (value("sso_account_id")?, value("sso_role_name")?);
        let (start_url, region) = (value("sso_start_url")?, value("sso_region")?);
        let missing: Vec<&str> = [
            ("sso_start_url", &start_url),
            ("sso_region", &region),
            ("sso_role_name", &role_name),
            ("sso_account_id", &account_id),
        ]
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(key, _)| *key)
        .collect();
        match (account_id, role_name, start_url, region) {
            (Some(account_id), Some(role_name), Some(start_url), Some(region)) => Ok(Self {
                profile: profile.to_owned(),
                account_id,
                role_name,
                start_url,
                region,
                session,
            }),
            _ => Err(config_error(
                format!("is set up for SSO but lacks {}", missing.join(", ")),
                format!("set it up again with `aws configure sso --profile {profile}`"),
            )),
        }
    }

    /// The role credentials from the SSO portal. `asked` is the profile the token is for,
    /// named in the error next to this one when they differ.
    pub(super) async fn credentials(
        &self,
        provider_config: &ProviderConfig,
        asked: &str,
    ) -> Result<Credentials, CredsError> {
        let mut builder = SsoCredentialsProvider::builder()
            .configure(provider_config)
            .account_id(&self.account_id)
            .role_name(&self.role_name)
            .start_url(&self.start_url)
            .region(aws_types::region::Region::new(self.region.clone()));
        builder.set_session_name(self.session.clone());
        builder.build().provide_credentials().await.map_err(|error| match classify(&error) {
            Outcome::NeedsLogin => CredsError::NeedsLogin {
                profile: asked.to_owned(),
                login: Login::Sso { profile: self.profile.clone() },
            },
            Outcome::Failed => CredsError::Failed {
                profile: self.profile.clone(),
                detail: super::error_chain(&error),
            },
        })
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Outcome {
    NeedsLogin,
    Failed,
}

/// Sorts an SSO provider failure. Before the portal is called, everything is about the token
/// cache (missing, unreadable, expired, not refreshable) and is a provider error without a
/// portal error inside; the portal's own answer is a `GetRoleCredentials` error, of which
/// only `UnauthorizedException` (the token is no longer accepted) needs a login.
fn classify(error: &CredentialsError) -> Outcome {
    let CredentialsError::ProviderError(_) = error else { return Outcome::Failed };
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if let Some(portal) =
            inner.downcast_ref::<SdkError<GetRoleCredentialsError, HttpResponse>>()
        {
            return match portal {
                SdkError::ServiceError(answer) if answer.err().is_unauthorized_exception() => {
                    Outcome::NeedsLogin
                }
                _ => Outcome::Failed,
            };
        }
        source = inner.source();
    }
    Outcome::NeedsLogin
}

#[cfg(test)]
mod tests {
    use super::*;

    const SESSION: &str = "[sso-session corp]\nsso_start_url = https://example.awsapps.com/start\nsso_region = us-east-1\n";

    #[tokio::test]
    async fn settings_come_from_the_profile_or_its_sso_session() {
        let config = format!(
            "[profile new]\nsso_session = corp\nsso_account_id = 1\nsso_role_name = Dev\n\
             [profile legacy]\nsso_start_url = https://old.awsapps.com/start\nsso_region = eu-west-1\nsso_account_id = 2\nsso_role_name = Ops\n\
             [profile clash]\nsso_session = corp\nsso_region = eu-west-1\nsso_account_id = 1\nsso_role_name = Dev\n\
             [profile nosession]\nsso_session = gone\nsso_account_id = 1\nsso_role_name = Dev\n\
             [profile partial]\nsso_start_url = https://old.awsapps.com/start\nsso_account_id = 2\n{SESSION}"
        );
        let profiles = Profiles::parse(&config, "");
        let new = SsoSettings::read(&profiles, "new").unwrap();
        assert_eq!(new.start_url, "https://example.awsapps.com/start");
        assert_eq!(new.session.as_deref(), Some("corp"));
        let legacy = SsoSettings::read(&profiles, "legacy").unwrap();
        assert_eq!((legacy.region.as_str(), legacy.session), ("eu-west-1", None));
        for (profile, said) in [
            ("clash", "sets sso_region differently from its [sso-session corp]"),
            ("nosession", "no [sso-session gone] section"),
            ("partial", "lacks sso_region, sso_role_name"),
        ] {
            let err = SsoSettings::read(&profiles, profile).unwrap_err();
            assert!(err.to_string().contains(said), "{err}");
        }
    }

    #[test]
    fn a_cache_problem_needs_a_login_and_other_failures_do_not() {
        let missing_cache = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        assert_eq!(classify(&CredentialsError::provider_error(missing_cache)), Outcome::NeedsLogin);
        assert_eq!(classify(&CredentialsError::unhandled("odd answer")), Outcome::Failed);
        let refused = GetRoleCredentialsError::UnauthorizedException(
            aws_sdk_sso::types::error::UnauthorizedException::builder().build(),
        );
        let response =
            HttpResponse::new(401.try_into().unwrap(), aws_smithy_types::body::SdkBody::empty());
        let portal_refused: SdkError<GetRoleCredentialsError, HttpResponse> =
            SdkError::service_error(refused, response);
        assert_eq!(
            classify(&CredentialsError::provider_error(portal_refused)),
            Outcome::NeedsLogin
        );
        let unreachable: SdkError<GetRoleCredentialsError, HttpResponse> =
            SdkError::timeout_error("no answer");
        assert_eq!(classify(&CredentialsError::provider_error(unreachable)), Outcome::Failed);
    }
}
