//! Reading the AWS config and credentials files a shell points at ([`ProfileFiles`]), for the
//! facts bedprov needs before it asks for credentials: which profiles exist, a profile's
//! keys and region, its `[sso-session]` sections, and how a profile gets its credentials, in
//! botocore's order. The format itself is [`super::profile_file`]'s.

use super::CredsError;
use super::environment::ProfileFiles;
use super::profile_file::{FileKind, ProfileSet};
use std::path::Path;

/// The parsed profile files.
#[derive(Debug)]
pub struct Profiles {
    set: ProfileSet,
}

/// How a profile obtains credentials, as far as its own keys tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// `role_arn` (without `web_identity_token_file`): assume a role, from `source_profile`
    /// or `credential_source`.
    AssumeRole,
    /// `role_arn` with `web_identity_token_file`.
    WebIdentity,
    /// `sso_account_id` / `sso_role_name`, with `sso_session` or the legacy `sso_start_url`.
    Sso,
    /// `aws_access_key_id` / `aws_secret_access_key` in the profile.
    Static,
    /// `login_session` (a console sign-in session).
    Login,
    /// `credential_process = …`.
    Process(String),
    /// Nothing the profile itself says.
    Other,
}

impl Profiles {
    /// Loads the profile files. A missing file is fine (no profiles), and one that is not
    /// UTF-8 reads as empty, as the AWS SDKs read them; a file that cannot be read or does
    /// not parse is an error naming it.
    pub fn load(files: &ProfileFiles) -> Result<Self, CredsError> {
        let mut set = ProfileSet::default();
        for (kind, path) in
            [(FileKind::Config, &files.config), (FileKind::Credentials, &files.credentials)]
        {
            let text = match std::fs::read(path) {
                Ok(bytes) => String::from_utf8(bytes).unwrap_or_else(|_| {
                    tracing::debug!(path = %path.display(), "AWS file is not UTF-8; reading it as empty");
                    String::new()
                }),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
                Err(error) => return Err(file_error(path, &error.to_string())),
            };
            set.add(kind, &text).map_err(|error| {
                file_error(path, &format!("line {}: {}", error.line, error.message))
            })?;
        }
        Ok(Self { set })
    }

    /// Profiles from the given texts of the two files, for tests.
    #[cfg(test)]
    pub(crate) fn parse(config: &str, credentials: &str) -> Self {
        let mut set = ProfileSet::default();
        set.add(FileKind::Config, config).expect("test config parses");
        set.add(FileKind::Credentials, credentials).expect("test credentials parse");
        Self { set }
    }

    /// Every profile name, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.profile_names().map(str::to_owned).collect();
        names.sort();
        names
    }

    #[must_use]
    pub fn contains(&self, profile: &str) -> bool {
        self.set.profile(profile).is_some()
    }

    /// The profile's own `region` key.
    #[must_use]
    pub fn region(&self, profile: &str) -> Option<String> {
        self.get(profile, "region")
    }

    /// A key of a profile; an empty value counts as absent.
    #[must_use]
    pub fn get(&self, profile: &str, key: &str) -> Option<String> {
        let value = self.set.profile(profile)?.get(key)?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// A key of an `[sso-session NAME]` section; `None` for a missing section or key.
    #[must_use]
    pub fn sso_session_value(&self, session: &str, key: &str) -> Option<String> {
        let value = self.set.sso_session(session)?.get(key)?.trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    /// True when an `[sso-session NAME]` section exists.
    #[must_use]
    pub fn has_sso_session(&self, session: &str) -> bool {
        self.set.sso_session(session).is_some()
    }

    /// How the profile gets credentials when it is the one asked for, in botocore's order:
    /// assume-role, web identity, SSO, static keys, console login, `credential_process`.
    #[must_use]
    pub fn credential_kind(&self, profile: &str) -> CredentialKind {
        let has = |key| self.get(profile, key).is_some();
        if has("role_arn") && !has("web_identity_token_file") {
            CredentialKind::AssumeRole
        } else {
            self.own_credentials(profile)
        }
    }

    /// How the profile gets credentials when it is another profile's `source_profile`: as
    /// botocore does, static keys there win over the profile's own `role_arn`.
    #[must_use]
    pub fn source_kind(&self, profile: &str) -> CredentialKind {
        if self.has_static_keys(profile) {
            self.own_credentials(profile)
        } else {
            self.credential_kind(profile)
        }
    }

    /// True when the profile has either static key (botocore's test).
    #[must_use]
    pub fn has_static_keys(&self, profile: &str) -> bool {
        self.get(profile, "aws_access_key_id").is_some()
            || self.get(profile, "aws_secret_access_key").is_some()
    }

    /// The profile providers botocore tries, in its order, leaving assume-role aside.
    fn own_credentials(&self, profile: &str) -> CredentialKind {
        let has = |key| self.get(profile, key).is_some();
        if has("role_arn") && has("web_identity_token_file") {
            CredentialKind::WebIdentity
        } else if has("sso_account_id") || has("sso_role_name") {
            CredentialKind::Sso
        } else if self.has_static_keys(profile) {
            CredentialKind::Static
        } else if has("login_session") {
            CredentialKind::Login
        } else if let Some(command) = self.get(profile, "credential_process") {
            CredentialKind::Process(command)
        } else {
            CredentialKind::Other
        }
    }
}

/// A file that cannot be read or parsed, named.
fn file_error(path: &Path, problem: &str) -> CredsError {
    CredsError::ProfileFile { detail: format!("{}: {problem}", path.display()) }
}
