//! What an AWS SDK in a shell reads from its environment to choose its credentials,
//! profile, region and config files: the variable names, and a snapshot of their values.
//!
//! `bedprov-helper` gathers a snapshot (a dozen `getenv`s, std only) and sends it with each
//! token request, so the daemon signs with what boto3 or the AWS CLI in that shell would use;
//! the CLI gathers its own; the daemon's own snapshot serves clients that send none (curl).
//! Gathering normalises only what cannot wait: empty values count as unset (botocore falls
//! through an empty `AWS_ACCESS_KEY_ID=`), and file paths are made absolute here, where the
//! shell's `~` and working directory are known. What the values mean (precedence, partial
//! credentials, expiry) is decided in one place, `bedprov::creds`, by botocore's rules.

use crate::Secret;
use serde::{Deserialize, Serialize};
use std::path::{Component, Path, PathBuf};

pub const AWS_PROFILE: &str = "AWS_PROFILE";
/// The AWS CLI's older name for `AWS_PROFILE`; botocore and the CLI read it *first*.
pub const AWS_DEFAULT_PROFILE: &str = "AWS_DEFAULT_PROFILE";
/// Read by the AWS CLI v2 and most SDKs (not by boto3).
pub const AWS_REGION: &str = "AWS_REGION";
/// Read by boto3 and the AWS CLI.
pub const AWS_DEFAULT_REGION: &str = "AWS_DEFAULT_REGION";
pub const AWS_CONFIG_FILE: &str = "AWS_CONFIG_FILE";
pub const AWS_SHARED_CREDENTIALS_FILE: &str = "AWS_SHARED_CREDENTIALS_FILE";
pub const AWS_ACCESS_KEY_ID: &str = "AWS_ACCESS_KEY_ID";
pub const AWS_SECRET_ACCESS_KEY: &str = "AWS_SECRET_ACCESS_KEY";
pub const AWS_SESSION_TOKEN: &str = "AWS_SESSION_TOKEN";
/// The older name of `AWS_SESSION_TOKEN`; botocore prefers it when both are set.
pub const AWS_SECURITY_TOKEN: &str = "AWS_SECURITY_TOKEN";
/// When environment credentials expire (RFC 3339), as aws-vault, granted and
/// `aws configure export-credentials` set it.
pub const AWS_CREDENTIAL_EXPIRATION: &str = "AWS_CREDENTIAL_EXPIRATION";

/// Every variable a snapshot holds.
pub const VARIABLES: [&str; 11] = [
    AWS_PROFILE,
    AWS_DEFAULT_PROFILE,
    AWS_REGION,
    AWS_DEFAULT_REGION,
    AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    AWS_SECURITY_TOKEN,
    AWS_CREDENTIAL_EXPIRATION,
];

/// What a daemon started on a shell's behalf must not inherit from it: the snapshot's
/// variables, and the other credential variables credential tools set alongside them (the
/// daemon serves every shell; each shell's own choices reach it per request).
pub const NOT_INHERITED: [&str; 13] = [
    AWS_PROFILE,
    AWS_DEFAULT_PROFILE,
    AWS_REGION,
    AWS_DEFAULT_REGION,
    AWS_CONFIG_FILE,
    AWS_SHARED_CREDENTIALS_FILE,
    AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN,
    AWS_SECURITY_TOKEN,
    AWS_CREDENTIAL_EXPIRATION,
    // aws-vault's older name for AWS_CREDENTIAL_EXPIRATION.
    "AWS_SESSION_EXPIRATION",
    // Read with environment credentials by botocore and the Rust SDK.
    "AWS_ACCOUNT_ID",
];

/// A snapshot of the variables above, as sent in a token request (JSON keys are the
/// variable names; unset ones are left out). Secrets stay in [`Secret`]s.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwsEnv {
    #[serde(rename = "AWS_PROFILE", default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    #[serde(rename = "AWS_DEFAULT_PROFILE", default, skip_serializing_if = "Option::is_none")]
    pub default_profile: Option<String>,
    #[serde(rename = "AWS_REGION", default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(rename = "AWS_DEFAULT_REGION", default, skip_serializing_if = "Option::is_none")]
    pub default_region: Option<String>,
    /// Absolute.
    #[serde(rename = "AWS_CONFIG_FILE", default, skip_serializing_if = "Option::is_none")]
    pub config_file: Option<String>,
    /// Absolute.
    #[serde(
        rename = "AWS_SHARED_CREDENTIALS_FILE",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub credentials_file: Option<String>,
    #[serde(rename = "AWS_ACCESS_KEY_ID", default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(rename = "AWS_SECRET_ACCESS_KEY", default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    #[serde(rename = "AWS_SESSION_TOKEN", default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Secret>,
    #[serde(rename = "AWS_SECURITY_TOKEN", default, skip_serializing_if = "Option::is_none")]
    pub security_token: Option<Secret>,
    #[serde(
        rename = "AWS_CREDENTIAL_EXPIRATION",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub credential_expiration: Option<String>,
}

impl AwsEnv {
    /// This process's own environment.
    #[must_use]
    pub fn from_process() -> Self {
        Self::gather(|name| std::env::var(name).ok(), || std::env::current_dir().ok())
    }

    /// A snapshot from `get` (a variable's value, if set and valid UTF-8); `cwd` is asked
    /// only when a file path is relative.
    pub fn gather(get: impl Fn(&str) -> Option<String>, cwd: impl Fn() -> Option<PathBuf>) -> Self {
        let value = |name: &str| get(name).filter(|v| !v.is_empty());
        let path = |name: &str| value(name).map(|raw| absolute(&raw, get("HOME").as_deref(), &cwd));
        Self {
            profile: value(AWS_PROFILE),
            default_profile: value(AWS_DEFAULT_PROFILE),
            region: value(AWS_REGION),
            default_region: value(AWS_DEFAULT_REGION),
            config_file: path(AWS_CONFIG_FILE),
            credentials_file: path(AWS_SHARED_CREDENTIALS_FILE),
            access_key_id: value(AWS_ACCESS_KEY_ID),
            secret_access_key: value(AWS_SECRET_ACCESS_KEY).map(Secret::new),
            session_token: value(AWS_SESSION_TOKEN).map(Secret::new),
            security_token: value(AWS_SECURITY_TOKEN).map(Secret::new),
            credential_expiration: value(AWS_CREDENTIAL_EXPIRATION),
        }
    }

    /// True when `AWS_ACCESS_KEY_ID` is set (to something): the shell has credentials of
    /// its own, which sign before any profile (unless a profile is named explicitly).
    #[must_use]
    pub fn has_credentials(&self) -> bool {
        self.access_key_id.is_some()
    }
}

/// `~` and `~/…` expanded with `home` (as the SDKs do), a relative path joined to the
/// working directory: the daemon that reads the file has neither.
fn absolute(raw: &str, home: Option<&str>, cwd: &impl Fn() -> Option<PathBuf>) -> String {
    let path = Path::new(raw);
    let mut components = path.components();
    let expanded = match (components.next(), home) {
        (Some(Component::Normal(first)), Some(home)) if first == "~" => {
            Path::new(home).join(components.as_path())
        }
        _ => path.to_path_buf(),
    };
    let absolute = if expanded.is_absolute() {
        expanded
    } else {
        match cwd() {
            Some(dir) => dir.join(expanded),
            None => expanded,
        }
    };
    absolute.to_string_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn gather(vars: &[(&str, &str)]) -> AwsEnv {
        let map: HashMap<String, String> =
            vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        AwsEnv::gather(|name| map.get(name).cloned(), || Some(PathBuf::from("/work/dir")))
    }

    #[test]
    fn empty_values_count_as_unset() {
        let env = gather(&[
            (AWS_ACCESS_KEY_ID, ""),
            (AWS_SECRET_ACCESS_KEY, "x"),
            (AWS_PROFILE, ""),
            (AWS_DEFAULT_REGION, ""),
        ]);
        assert!(!env.has_credentials());
        assert_eq!(env.profile, None);
        assert_eq!(env.default_region, None);
        assert_eq!(env.secret_access_key.as_ref().map(Secret::expose), Some("x"));
    }

    #[test]
    fn paths_are_made_absolute_where_the_shell_is() {
        let env = gather(&[
            ("HOME", "/home/me"),
            (AWS_CONFIG_FILE, "~/other/config"),
            (AWS_SHARED_CREDENTIALS_FILE, "creds"),
        ]);
        assert_eq!(env.config_file.as_deref(), Some("/home/me/other/config"));
        assert_eq!(env.credentials_file.as_deref(), Some("/work/dir/creds"));
        let env = gather(&[(AWS_CONFIG_FILE, "/etc/aws/config")]);
        assert_eq!(env.config_file.as_deref(), Some("/etc/aws/config"));
    }

    #[test]
    fn json_keys_are_the_variable_names_and_unset_ones_are_left_out() {
        let env = gather(&[(AWS_PROFILE, "dev"), (AWS_SECRET_ACCESS_KEY, "s3cr3t")]);
        let json = serde_json::to_string(&env).unwrap();
        assert_eq!(json, r#"{"AWS_PROFILE":"dev","AWS_SECRET_ACCESS_KEY":"s3cr3t"}"#);
        assert_eq!(serde_json::from_str::<AwsEnv>(&json).unwrap(), env);
        assert!(!format!("{env:?}").contains("s3cr3t"));
    }

    #[test]
    fn every_snapshot_variable_is_kept_from_an_autostarted_daemon() {
        for name in VARIABLES {
            assert!(NOT_INHERITED.contains(&name), "{name}");
        }
    }
}
