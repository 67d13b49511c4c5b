//! Reading the AWS config and credentials files a shell points at ([`ProfileFiles`]) with
//! aws-config's own parser, for the facts bedprov needs before it asks for credentials:
//! which profiles exist, a profile's region, and how it gets its credentials (so errors
//! can name the right fix).

use super::CredsError;
use super::environment::ProfileFiles;
use aws_config::profile::ProfileSet;
use aws_types::os_shim_internal::{Env, Fs};

/// The parsed profile files.
#[derive(Debug)]
pub struct Profiles {
    set: ProfileSet,
}

/// How a profile obtains credentials, as far as its own keys tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialKind {
    /// `aws_access_key_id` / `aws_secret_access_key` in the profile.
    Static,
    /// `credential_process = …` and nothing that takes precedence over it.
    Process(String),
    /// `sso_session` or `sso_start_url`: needs `aws sso login`.
    Sso,
    /// `role_arn`: assume-role, from a source profile or credential source.
    AssumeRole,
    /// Anything else (web identity, login, or nothing the profile itself says).
    Other,
}

impl Profiles {
    /// Loads the profile files. Missing files are fine (no profiles); a file that does not
    /// parse is an error naming it.
    pub async fn load(files: &ProfileFiles) -> Result<Self, CredsError> {
        // The files are given by path: this process's environment plays no part.
        let set =
            aws_config::profile::load(&Fs::real(), &Env::from_slice(&[]), &files.sdk_files(), None)
                .await
                .map_err(|e| CredsError::ProfileFile { detail: super::error_chain(&e) })?;
        Ok(Self { set })
    }

    /// Every profile name, sorted.
    #[must_use]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.set.profiles().map(str::to_owned).collect();
        names.sort();
        names
    }

    #[must_use]
    pub fn contains(&self, profile: &str) -> bool {
        self.set.get_profile(profile).is_some()
    }

    /// The profile's own `region` key.
    #[must_use]
    pub fn region(&self, profile: &str) -> Option<String> {
        self.get(profile, "region")
    }

    fn get(&self, profile: &str, key: &str) -> Option<String> {
        self.set.get_profile(profile)?.get(key).map(str::to_owned)
    }

    /// How the profile gets credentials, following aws-config's precedence
    /// (`role_arn`, then SSO, then static keys, then `credential_process`).
    #[must_use]
    pub fn credential_kind(&self, profile: &str) -> CredentialKind {
        let has = |key| self.get(profile, key).is_some();
        if has("role_arn") {
            CredentialKind::AssumeRole
        } else if has("sso_session") || has("sso_start_url") {
            CredentialKind::Sso
        } else if has("aws_access_key_id") {
            CredentialKind::Static
        } else if let Some(command) = self.get(profile, "credential_process") {
            CredentialKind::Process(command)
        } else {
            CredentialKind::Other
        }
    }

    /// True when this profile, or the profile it assumes a role from, signs in with SSO.
    #[must_use]
    pub fn uses_sso(&self, profile: &str) -> bool {
        let mut current = profile.to_owned();
        for _ in 0..8 {
            if self.credential_kind(&current) == CredentialKind::Sso {
                return true;
            }
            match self.get(&current, "source_profile") {
                Some(next) if next != current => current = next,
                _ => return false,
            }
        }
        false
    }
}
