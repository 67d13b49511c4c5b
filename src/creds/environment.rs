//! A shell's AWS environment, read by botocore's rules: its own credentials
//! (`AWS_ACCESS_KEY_ID`…, with `AWS_CREDENTIAL_EXPIRATION`) and the config files it points
//! at. Built from a [`AwsEnv`] snapshot, never from this process's environment directly, so
//! the daemon can hold one per requesting shell.
//!
//! [`EnvCredentials`] keep the secrets zeroized, compare by a SHA-256 digest of everything
//! they hold (so a daemon slot keyed by them is reached only by a client that holds the same
//! credentials), and never show more than the access key id.

use super::CredsError;
use crate::timefmt::{human_utc, parse_rfc3339};
use crate::wire::aws_env::{self, AwsEnv};
use aws_credential_types::Credentials;
use aws_credential_types::credential_feature::AwsCredentialFeature;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError};
use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
use sha2::{Digest as _, Sha256};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use zeroize::Zeroizing;

/// The provider name on credentials taken from a shell's environment.
const PROVIDER_NAME: &str = "Environment";

/// Credentials from a shell's environment. Cheap to clone (shared, wiped when the last
/// clone goes).
#[derive(Clone)]
pub struct EnvCredentials(Arc<Inner>);

struct Inner {
    access_key_id: String,
    secret_access_key: Zeroizing<String>,
    session_token: Option<Zeroizing<String>>,
    expires_at: Option<SystemTime>,
    /// SHA-256 of all of the above: what equality, hashing and slot keys use.
    digest: [u8; 32],
}

impl EnvCredentials {
    /// The snapshot's credentials as botocore reads them: none without `AWS_ACCESS_KEY_ID`
    /// (an empty one counts as unset); an error when the secret key is missing or the stated
    /// expiry is not a time. The session token is `AWS_SECURITY_TOKEN`, else
    /// `AWS_SESSION_TOKEN` (botocore's order).
    pub fn from_env(env: &AwsEnv) -> Result<Option<Self>, CredsError> {
        let Some(access_key_id) = env.access_key_id.clone() else {
            return Ok(None);
        };
        let secret = env
            .secret_access_key
            .as_ref()
            .ok_or(CredsError::EnvironmentPartial { missing: aws_env::AWS_SECRET_ACCESS_KEY })?;
        let session_token = env.security_token.as_ref().or(env.session_token.as_ref());
        let expires_at = match &env.credential_expiration {
            None => None,
            Some(text) => Some(parse_expiration(text).ok_or_else(|| {
                CredsError::EnvironmentExpiration { value: crate::quote::shown(text) }
            })?),
        };
        let secret_access_key = Zeroizing::new(secret.expose().to_owned());
        let session_token = session_token.map(|t| Zeroizing::new(t.expose().to_owned()));
        let digest = digest(
            &access_key_id,
            &secret_access_key,
            session_token.as_ref().map(|t| t.as_str()),
            expires_at,
        );
        Ok(Some(Self(Arc::new(Inner {
            access_key_id,
            secret_access_key,
            session_token,
            expires_at,
            digest,
        }))))
    }

    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.0.access_key_id
    }

    /// `AWS_CREDENTIAL_EXPIRATION`, when the shell states it.
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// True for temporary credentials (they come with a session token).
    #[must_use]
    pub fn has_session_token(&self) -> bool {
        self.0.session_token.is_some()
    }

    /// True once their stated expiry has passed.
    #[must_use]
    pub fn expired(&self, now: SystemTime) -> bool {
        self.0.expires_at.is_some_and(|at| at <= now)
    }

    /// The error for using them at `now`, if they have expired.
    pub fn check_expiry(&self, now: SystemTime) -> Result<(), CredsError> {
        match self.0.expires_at {
            Some(at) if at <= now => Err(CredsError::EnvironmentExpired {
                access_key_id: self.0.access_key_id.clone(),
                expired_at: human_utc(at),
            }),
            _ => Ok(()),
        }
    }

    /// The SDK's form, for signing.
    #[must_use]
    pub fn credentials(&self) -> Credentials {
        let mut builder = Credentials::builder()
            .access_key_id(self.0.access_key_id.as_str())
            .secret_access_key(self.0.secret_access_key.as_str())
            .provider_name(PROVIDER_NAME);
        builder.set_session_token(self.0.session_token.as_ref().map(|t| t.to_string()));
        builder.set_expiry(self.0.expires_at);
        let mut credentials = builder.build();
        credentials
            .get_property_mut_or_default::<Vec<AwsCredentialFeature>>()
            .push(AwsCredentialFeature::CredentialsEnvVars);
        credentials
    }
}

/// Reads `AWS_CREDENTIAL_EXPIRATION`: RFC 3339 with a time zone, as the tools that set it
/// write it (botocore, too, refuses a time without one).
#[must_use]
pub fn parse_expiration(text: &str) -> Option<SystemTime> {
    parse_rfc3339(text.trim())
}

/// Length-prefixed, so no two different sets of fields hash alike.
fn digest(
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
    expires_at: Option<SystemTime>,
) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"bedprov environment credentials v1");
    for field in [Some(access_key_id), Some(secret), session_token] {
        match field {
            Some(text) => {
                hasher.update([1]);
                hasher.update((text.len() as u64).to_be_bytes());
                hasher.update(text.as_bytes());
            }
            None => hasher.update([0]),
        }
    }
    let expiry = expires_at.map(|at| at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()));
    hasher.update(expiry.map_or([0xff; 8], u64::to_be_bytes));
    hasher.finalize().into()
}

impl PartialEq for EnvCredentials {
    fn eq(&self, other: &Self) -> bool {
        self.0.digest == other.0.digest
    }
}

impl Eq for EnvCredentials {}

impl Hash for EnvCredentials {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.digest.hash(state);
    }
}

impl PartialOrd for EnvCredentials {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for EnvCredentials {
    fn cmp(&self, other: &Self) -> Ordering {
        (&self.0.access_key_id, self.0.digest).cmp(&(&other.0.access_key_id, other.0.digest))
    }
}

// By hand: only the key id and the expiry are shown (not the secrets, not the digest).
impl fmt::Debug for EnvCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvCredentials")
            .field("access_key_id", &self.0.access_key_id)
            .field("expires_at", &self.0.expires_at.map(crate::timefmt::rfc3339))
            .finish_non_exhaustive()
    }
}

/// The shell's credentials as a named credential source (`credential_source = Environment`
/// in a role profile): the request's own, never this process's environment.
#[derive(Debug)]
pub struct EnvironmentSource(pub Option<EnvCredentials>);

impl ProvideCredentials for EnvironmentSource {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::ready(match &self.0 {
            Some(credentials) => Ok(credentials.credentials()),
            None => Err(CredentialsError::not_loaded(
                "AWS_ACCESS_KEY_ID is not set in the environment (credential_source = Environment)",
            )),
        })
    }
}

/// The AWS config and credentials files a shell reads: `AWS_CONFIG_FILE` and
/// `AWS_SHARED_CREDENTIALS_FILE`, else `~/.aws/config` and `~/.aws/credentials`. Always
/// absolute paths, so the same files give the same slot whoever asks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProfileFiles {
    pub config: PathBuf,
    pub credentials: PathBuf,
}

impl Default for ProfileFiles {
    /// The files of a shell that names none.
    fn default() -> Self {
        Self::from_env(&AwsEnv::default())
    }
}

impl ProfileFiles {
    #[must_use]
    pub fn from_env(env: &AwsEnv) -> Self {
        let aws_dir = crate::paths::aws_dir();
        Self {
            config: env.config_file.as_ref().map_or_else(|| aws_dir.join("config"), PathBuf::from),
            credentials: env
                .credentials_file
                .as_ref()
                .map_or_else(|| aws_dir.join("credentials"), PathBuf::from),
        }
    }

    /// One sentence for each file the shell names (`AWS_CONFIG_FILE`,
    /// `AWS_SHARED_CREDENTIALS_FILE`) that does not exist. The SDKs read such a file as empty
    /// (and aws-config warns about it on every call); bedprov says it once, plainly.
    #[must_use]
    pub fn named_but_missing(env: &AwsEnv) -> Vec<String> {
        let named = [
            (aws_env::AWS_CONFIG_FILE, &env.config_file, "no profiles or settings from it"),
            (aws_env::AWS_SHARED_CREDENTIALS_FILE, &env.credentials_file, "no credentials from it"),
        ];
        named
            .into_iter()
            .filter_map(|(variable, path, meaning)| {
                let path = PathBuf::from(path.as_ref()?);
                (!path.exists()).then(|| {
                    format!(
                        "{variable} names {}, which does not exist: bedprov, like the AWS CLI, reads it as empty ({meaning})",
                        path.display()
                    )
                })
            })
            .collect()
    }

    /// True for `~/.aws/config` and `~/.aws/credentials`.
    #[must_use]
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// The files for aws-config, by path (never through this process's environment). A
    /// file that does not exist reads as empty, as the SDKs treat it.
    #[must_use]
    pub fn sdk_files(&self) -> EnvConfigFiles {
        let mut files = EnvConfigFiles::builder();
        for (kind, path) in [
            (EnvConfigFileKind::Config, &self.config),
            (EnvConfigFileKind::Credentials, &self.credentials),
        ] {
            files = if path.exists() {
                files.with_file(kind, path)
            } else {
                tracing::debug!(path = %path.display(), "AWS file not found; reading it as empty");
                files.with_contents(kind, "")
            };
        }
        files.build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Secret;

    fn env(expiration: Option<&str>) -> AwsEnv {
        AwsEnv {
            access_key_id: Some("ASIAEXAMPLE".into()),
            secret_access_key: Some(Secret::new("s3cr3t-key".into())),
            session_token: Some(Secret::new("session-tok".into())),
            credential_expiration: expiration.map(str::to_owned),
            ..AwsEnv::default()
        }
    }

    #[test]
    fn none_without_a_key_id_and_an_error_without_the_secret() {
        assert!(EnvCredentials::from_env(&AwsEnv::default()).unwrap().is_none());
        let partial = AwsEnv { secret_access_key: None, ..env(None) };
        assert_eq!(
            EnvCredentials::from_env(&partial).unwrap_err(),
            CredsError::EnvironmentPartial { missing: "AWS_SECRET_ACCESS_KEY" }
        );
    }

    #[test]
    fn expiration_is_parsed_and_refused_without_a_time_zone() {
        let creds =
            EnvCredentials::from_env(&env(Some("2030-01-01T00:00:00.5+02:00"))).unwrap().unwrap();
        assert_eq!(creds.expires_at(), parse_rfc3339("2029-12-31T22:00:00Z"));
        assert_eq!(creds.credentials().expiry(), creds.expires_at());
        for bad in ["2030-01-01 00:00:00", "tomorrow", "2030-01-01"] {
            assert!(matches!(
                EnvCredentials::from_env(&env(Some(bad))),
                Err(CredsError::EnvironmentExpiration { .. })
            ));
        }
    }

    #[test]
    fn the_security_token_wins_as_in_botocore() {
        let both = AwsEnv { security_token: Some(Secret::new("older-name".into())), ..env(None) };
        let creds = EnvCredentials::from_env(&both).unwrap().unwrap().credentials();
        assert_eq!(creds.session_token(), Some("older-name"));
    }

    #[test]
    fn equal_only_with_the_same_secrets_and_never_shown() {
        let a = EnvCredentials::from_env(&env(None)).unwrap().unwrap();
        let same = EnvCredentials::from_env(&env(None)).unwrap().unwrap();
        let other_secret =
            AwsEnv { secret_access_key: Some(Secret::new("other".into())), ..env(None) };
        let b = EnvCredentials::from_env(&other_secret).unwrap().unwrap();
        let later = EnvCredentials::from_env(&env(Some("2030-01-01T00:00:00Z"))).unwrap().unwrap();
        assert_eq!(a, same);
        assert_ne!(a, b, "same key id, other secret: another slot");
        assert_ne!(a, later);
        let shown = format!("{a:?}");
        assert!(shown.contains("ASIAEXAMPLE"));
        assert!(!shown.contains("s3cr3t") && !shown.contains("session-tok"), "{shown}");
    }

    #[test]
    fn a_named_file_that_is_missing_is_said_once_per_variable() {
        let dir = tempfile::tempdir().unwrap();
        let present = dir.path().join("config");
        std::fs::write(&present, "").unwrap();
        let missing = dir.path().join("nowhere/credentials");
        let shell = AwsEnv {
            config_file: Some(present.display().to_string()),
            credentials_file: Some(missing.display().to_string()),
            ..AwsEnv::default()
        };
        let notes = ProfileFiles::named_but_missing(&shell);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].starts_with("AWS_SHARED_CREDENTIALS_FILE names "), "{notes:?}");
        assert!(notes[0].contains(&missing.display().to_string()), "{notes:?}");
        assert!(ProfileFiles::named_but_missing(&AwsEnv::default()).is_empty());
    }

    #[test]
    fn expiry_is_checked_against_the_clock() {
        let creds = EnvCredentials::from_env(&env(Some("2030-01-01T00:00:00Z"))).unwrap().unwrap();
        let at = parse_rfc3339("2030-01-01T00:00:00Z").unwrap();
        assert!(creds.check_expiry(at - std::time::Duration::from_secs(1)).is_ok());
        assert!(creds.expired(at));
        let error = creds.check_expiry(at).unwrap_err();
        assert!(error.to_string().contains("ASIAEXAMPLE"), "{error}");
        assert!(error.to_string().contains("2030-01-01 00:00 UTC"), "{error}");
    }
}
