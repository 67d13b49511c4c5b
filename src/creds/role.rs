//! A profile's role settings and the `sts:AssumeRole` call made with them, as botocore makes
//! it: `RoleSessionName` (`role_session_name`, else a generated name), `ExternalId`
//! (`external_id`), `DurationSeconds` (`duration_seconds`) and, for `mfa_serial`,
//! `SerialNumber` with the `TokenCode` the caller obtained.
//!
//! STS is reached in the token's region, at the endpoint the SDK picks (`AWS_ENDPOINT_URL_STS`
//! and `AWS_ENDPOINT_URL` included). Failures say what AWS said and what to change.

use super::CredsError;
use crate::region::Region;
use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_sdk_sts::operation::assume_role::AssumeRoleError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata as _;

/// The `credential_source` names botocore accepts, and the provider each stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NamedSource {
    Environment,
    Ec2InstanceMetadata,
    EcsContainer,
}

impl NamedSource {
    const ALL: [(&'static str, Self); 3] = [
        ("Environment", Self::Environment),
        ("Ec2InstanceMetadata", Self::Ec2InstanceMetadata),
        ("EcsContainer", Self::EcsContainer),
    ];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(known, _)| *known == name).map(|(_, source)| *source)
    }
}

/// Where a role profile's source credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RoleSource {
    Profile(String),
    Named(NamedSource),
}

/// One role to assume: a profile with `role_arn`, its source and its call parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RoleStep {
    pub profile: String,
    pub role_arn: String,
    pub source: RoleSource,
    pub external_id: Option<String>,
    pub session_name: Option<String>,
    pub duration_seconds: Option<i32>,
    pub mfa_serial: Option<String>,
}

impl RoleStep {
    /// Reads the role settings of `profile` (which has `role_arn`). Like botocore, exactly
    /// one of `source_profile` and `credential_source` is required, and a `duration_seconds`
    /// that is not a number is ignored (STS then grants its default hour).
    pub(super) fn read(profiles: &super::Profiles, profile: &str) -> Result<Self, CredsError> {
        let get = |key| profiles.get(profile, key);
        let config_error = |problem: String, hint: String| CredsError::Config {
            profile: profile.to_owned(),
            problem,
            hint,
        };
        let role_arn = get("role_arn").unwrap_or_default();
        let source = match (get("source_profile"), get("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "has both source_profile and credential_source".into(),
                    format!("keep only one of them in profile `{profile}`"),
                ));
            }
            (None, None) => {
                return Err(config_error(
                    "has role_arn but neither source_profile nor credential_source".into(),
                    format!(
                        "add `source_profile = NAME` (the profile whose credentials assume the role) to profile `{profile}`"
                    ),
                ));
            }
            (Some(source), None) => RoleSource::Profile(source),
            (None, Some(name)) => {
                RoleSource::Named(NamedSource::parse(&name).ok_or_else(|| {
                    config_error(
                        format!(
                            "has credential_source = {}, which is not a credential source",
                            crate::quote::shown(&name)
                        ),
                        "use one of Environment, Ec2InstanceMetadata or EcsContainer".into(),
                    )
                })?)
            }
        };
        let duration_seconds = get("duration_seconds").and_then(|text| {
            let parsed = text.parse::<i32>().ok();
            if parsed.is_none() {
                tracing::warn!(
                    profile,
                    "duration_seconds is not a whole number; ignored, as the AWS CLI does"
                );
            }
            parsed
        });
        Ok(Self {
            profile: profile.to_owned(),
            role_arn,
            source,
            external_id: get("external_id"),
            session_name: get("role_session_name"),
            duration_seconds,
            mfa_serial: get("mfa_serial"),
        })
    }

    /// Assumes the role with `source` credentials (and, for `mfa_serial`, `token_code`).
    pub(super) async fn assume(
        &self,
        source: &Credentials,
        token_code: Option<&str>,
        region: &Region,
    ) -> Result<Credentials, CredsError> {
        // Boxed: the SDK's futures are large.
        let config = Box::pin(
            aws_config::defaults(BehaviorVersion::latest())
                .region(aws_types::region::Region::new(region.as_str().to_owned()))
                .credentials_provider(source.clone())
                .load(),
        )
        .await;
        let session_name = self.session_name.clone().unwrap_or_else(generated_session_name);
        let call = aws_sdk_sts::Client::new(&config)
            .assume_role()
            .role_arn(&self.role_arn)
            .role_session_name(session_name)
            .set_external_id(self.external_id.clone())
            .set_duration_seconds(self.duration_seconds)
            .set_serial_number(self.mfa_serial.clone())
            .set_token_code(token_code.map(str::to_owned))
            .send();
        let answer = Box::pin(call).await.map_err(|e| self.failure(&e, token_code.is_some()))?;
        let sts = answer.credentials.ok_or_else(|| CredsError::AssumeRole {
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
            problem: "STS answered without credentials".into(),
            hint: "try again; if it persists, run with -vv".into(),
        })?;
        let expiry = std::time::SystemTime::try_from(sts.expiration).ok();
        Ok(Credentials::new(
            sts.access_key_id,
            sts.secret_access_key,
            Some(sts.session_token),
            expiry,
            "AssumeRole",
        ))
    }

    /// What went wrong, and what to change. AWS's messages name no secrets.
    fn failure<R: std::fmt::Debug + 'static>(
        &self,
        error: &SdkError<AssumeRoleError, R>,
        with_code: bool,
    ) -> CredsError {
        let profile = &self.profile;
        let source = match &self.source {
            RoleSource::Profile(name) => format!("profile `{name}`"),
            RoleSource::Named(named) => format!("credential_source {named:?}"),
        };
        let (problem, hint) = match error {
            SdkError::ServiceError(service) => {
                let code = service.err().code().unwrap_or("Unknown");
                let message = service.err().message().unwrap_or("no message");
                let problem = format!("{code}: {message}");
                let hint = match code {
                    "AccessDenied" if with_code => format!(
                        "check that the MFA code was current (each code works once: wait for the next one) and that the role trusts the identity of {source}"
                    ),
                    "AccessDenied" => format!(
                        "make sure the role's trust policy lets the identity of {source} assume it (`aws sts get-caller-identity --profile {profile}` shows the same error with the AWS CLI)"
                    ),
                    "ValidationError" if self.duration_seconds.is_some() => format!(
                        "lower duration_seconds in profile `{profile}`: it may not exceed the role's maximum session duration (and 3600 when a role assumes another role)"
                    ),
                    "ExpiredToken" | "ExpiredTokenException" => {
                        format!("the credentials of {source} have expired: refresh them and try again")
                    }
                    "InvalidClientTokenId" | "SignatureDoesNotMatch" => format!(
                        "AWS does not accept the credentials of {source}: check them (or your clock, if it is far off)"
                    ),
                    "RegionDisabledException" => {
                        "STS is not active in this region for that account: pass another --region, or activate STS there".into()
                    }
                    _ => format!("check the role settings of profile `{profile}`"),
                };
                (problem, hint)
            }
            SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => (
                format!("cannot reach STS: {}", super::error_chain(error)),
                "check your network (and AWS_ENDPOINT_URL_STS / AWS_ENDPOINT_URL if you set one), then try again".into(),
            ),
            other => (
                super::error_chain(other),
                "try again; run with -vv for details".into(),
            ),
        };
        CredsError::AssumeRole {
            profile: profile.clone(),
            role_arn: self.role_arn.clone(),
            problem,
            hint,
        }
    }
}

/// A session name when the profile sets none, made as botocore makes its own
/// (`botocore-session-<unix seconds>`), under bedprov's name so AWS's logs tell who asked.
fn generated_session_name() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!("bedprov-session-{secs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profiles(config: &str) -> super::super::Profiles {
        super::super::Profiles::parse(config, "")
    }

    #[test]
    fn role_settings_are_read_as_botocore_reads_them() {
        let p = profiles(
            "[profile r]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\nduration_seconds = 43200\nexternal_id = ext\nrole_session_name = me\nmfa_serial = arn:aws:iam::1:mfa/me\n\
             [profile bad-duration]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\nduration_seconds = 12h\n\
             [profile both]\nrole_arn = arn:aws:iam::1:role/x\nsource_profile = base\ncredential_source = Environment\n\
             [profile neither]\nrole_arn = arn:aws:iam::1:role/x\n\
             [profile imds]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = Ec2InstanceMetadata\n\
             [profile typo]\nrole_arn = arn:aws:iam::1:role/x\ncredential_source = environment\n",
        );
        let role = RoleStep::read(&p, "r").unwrap();
        assert_eq!(role.duration_seconds, Some(43200));
        assert_eq!(role.external_id.as_deref(), Some("ext"));
        assert_eq!(role.session_name.as_deref(), Some("me"));
        assert_eq!(role.mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/me"));
        assert_eq!(role.source, RoleSource::Profile("base".into()));
        assert_eq!(RoleStep::read(&p, "bad-duration").unwrap().duration_seconds, None);
        assert_eq!(
            RoleStep::read(&p, "imds").unwrap().source,
            RoleSource::Named(NamedSource::Ec2InstanceMetadata)
        );
        for (profile, said) in [
            ("both", "both source_profile and credential_source"),
            ("neither", "neither source_profile nor credential_source"),
            ("typo", "not a credential source"),
        ] {
            let err = RoleStep::read(&p, profile).unwrap_err();
            assert!(err.to_string().contains(said), "{err}");
            assert!(!err.hint().is_empty());
        }
    }

    #[test]
    fn the_generated_session_name_is_valid_for_sts() {
        let name = generated_session_name();
        assert!(name.starts_with("bedprov-session-") && name.len() <= 64, "{name}");
        assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "=,.@-_".contains(c)));
    }
}
