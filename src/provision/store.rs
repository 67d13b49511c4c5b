//! Where a new long-term secret goes when it is not printed: the OS keyring (the Secret
//! Service over D-Bus, via keyring-core) or AWS Secrets Manager. A missing keyring fails
//! fast with a clear message; nothing ever falls back to printing or writing plain text.
//! [`Location`] names the place one key went (recorded on the IAM user, so rotation puts
//! the next key there too), and the checks here tell whether a store holds a given key.
//! A Secrets Manager secret scheduled for deletion is never written into: it is restored
//! first, and saying so is the caller's job.

use super::iam::{Kind, NewCredential};
use crate::aws::{self, Aws};
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The keyring service name for every bedprov entry.
pub(crate) const KEYRING_SERVICE: &str = "bedprov";

/// Where the secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Store {
    /// Shown once on stdout.
    Print,
    /// The OS keyring (Secret Service on Linux).
    Keyring,
    /// AWS Secrets Manager, secret `bedprov/<unit>` (for fleets).
    Secretsmanager,
}

impl Store {
    /// The `--store` value that selects it.
    #[must_use]
    pub fn as_arg(self) -> &'static str {
        match self {
            Self::Print => "print",
            Self::Keyring => "keyring",
            Self::Secretsmanager => "secretsmanager",
        }
    }
}

/// Where one key's secret was delivered. Recorded on the IAM user when the key is delivered
/// (as `print`, `keyring:bedprov/<account>` or `secretsmanager:<secret name>`), so rotation
/// finds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// Shown once on stdout.
    Printed,
    /// The OS keyring, service [`KEYRING_SERVICE`], this account.
    Keyring { account: String },
    /// AWS Secrets Manager, this secret.
    SecretsManager { name: String },
}

impl Location {
    /// Where a new credential of `user_name` (unit `unit`) goes for `store`.
    #[must_use]
    pub(crate) fn new(store: Store, unit: &str, user_name: &str, credential_id: &str) -> Self {
        match store {
            Store::Print => Self::Printed,
            Store::Keyring => Self::Keyring { account: keyring_account(user_name, credential_id) },
            Store::Secretsmanager => Self::SecretsManager { name: secret_name(unit) },
        }
    }

    #[must_use]
    pub(crate) fn store(&self) -> Store {
        match self {
            Self::Printed => Store::Print,
            Self::Keyring { .. } => Store::Keyring,
            Self::SecretsManager { .. } => Store::Secretsmanager,
        }
    }

    /// The form kept in an IAM tag value (letters, digits and `_.:/=+-@` only).
    #[must_use]
    pub(crate) fn record(&self) -> String {
        match self {
            Self::Printed => "print".to_owned(),
            Self::Keyring { account } => format!("keyring:{KEYRING_SERVICE}/{account}"),
            Self::SecretsManager { name } => format!("secretsmanager:{name}"),
        }
    }

    /// Reads [`Location::record`] back; `None` for anything else (a tag anyone with
    /// `iam:TagUser` could have written, so only the characters bedprov writes are taken).
    #[must_use]
    pub(crate) fn parse(record: &str) -> Option<Self> {
        let plain = |text: &str| {
            !text.is_empty()
                && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
        };
        if record == "print" {
            return Some(Self::Printed);
        }
        if let Some(rest) = record.strip_prefix("keyring:") {
            let account = rest.strip_prefix(KEYRING_SERVICE)?.strip_prefix('/')?;
            return plain(account).then(|| Self::Keyring { account: account.to_owned() });
        }
        let name = record.strip_prefix("secretsmanager:")?;
        plain(name).then(|| Self::SecretsManager { name: name.to_owned() })
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Printed => f.write_str("stdout (shown once)"),
            Self::Keyring { account } => {
                write!(f, "the OS keyring (service `{KEYRING_SERVICE}`, account `{account}`)")
            }
            Self::SecretsManager { name } => write!(f, "AWS Secrets Manager secret `{name}`"),
        }
    }
}

/// The keyring account for one credential: `<user>/<credential id>`.
#[must_use]
pub(crate) fn keyring_account(user_name: &str, credential_id: &str) -> String {
    format!("{user_name}/{credential_id}")
}

/// The Secrets Manager secret name for a unit.
#[must_use]
pub(crate) fn secret_name(unit: &str) -> String {
    format!("bedprov/{unit}")
}

/// The stored value. Access keys use the `credential_process` JSON shape, so the entry can be
/// read back by `credential_process = secret-tool lookup service bedprov username …`.
fn payload(credential: &NewCredential) -> zeroize::Zeroizing<String> {
    let value = match credential.kind {
        Kind::AccessKey => serde_json::json!({
            "Version": 1,
            "AccessKeyId": credential.id,
            "SecretAccessKey": credential.secret.expose(),
        }),
        Kind::ApiKey => serde_json::json!({
            "CredentialId": credential.id,
            "BedrockApiKey": credential.secret.expose(),
        }),
    };
    zeroize::Zeroizing::new(value.to_string())
}

fn no_keyring(detail: &str) -> Error {
    Error::new(
        ErrorCode::Aws,
        format!("no OS keyring is available ({detail}); the key was NOT stored"),
        "use --store print or --store secretsmanager, or start a Secret Service (e.g. gnome-keyring-daemon) in a D-Bus session",
    )
}

fn keyring_store() -> Result<Arc<keyring_core::CredentialStore>> {
    let store =
        zbus_secret_service_keyring_store::Store::new().map_err(|e| no_keyring(&e.to_string()))?;
    Ok(store)
}

/// Checks that a keyring is reachable, before anything is created in AWS.
pub(crate) async fn probe_keyring() -> Result<()> {
    tokio::task::spawn_blocking(|| keyring_store().map(|_| ())).await.map_err(|e| {
        Error::new(ErrorCode::Internal, format!("keyring check failed: {e}"), "try again")
    })?
}

/// Saves `credential` in the keyring; returns where it went.
pub(crate) async fn save_keyring(user_name: &str, credential: &NewCredential) -> Result<String> {
    let account = keyring_account(user_name, &credential.id);
    let value = payload(credential);
    let label = format!("bedprov {} for {user_name}", credential.kind.describe());
    let shown = account.clone();
    tokio::task::spawn_blocking(move || {
        let store = keyring_store()?;
        let modifiers = std::collections::HashMap::from([("label", label.as_str())]);
        let entry = keyring_core::Entry::new_in_store_with_modifiers(
            &store,
            KEYRING_SERVICE,
            &account,
            &modifiers,
        )
        .map_err(|e| no_keyring(&e.to_string()))?;
        entry.set_password(&value).map_err(|e| no_keyring(&e.to_string()))
    })
    .await
    .map_err(|e| {
        Error::new(ErrorCode::Internal, format!("keyring write failed: {e}"), "try again")
    })??;
    Ok(format!("OS keyring (service `{KEYRING_SERVICE}`, account `{shown}`)"))
}

/// Removes a keyring entry if there is one (and a keyring at all).
pub(crate) async fn forget_keyring(user_name: &str, credential_id: &str) -> bool {
    let account = keyring_account(user_name, credential_id);
    tokio::task::spawn_blocking(move || {
        let Ok(store) = keyring_store() else { return false };
        keyring_core::Entry::new_in_store(&store, KEYRING_SERVICE, &account)
            .and_then(|e| e.delete_credential())
            .is_ok()
    })
    .await
    .unwrap_or(false)
}

/// Reads a keyring entry back.
async fn keyring_value(user_name: &str, credential_id: &str) -> Option<zeroize::Zeroizing<String>> {
    let account = keyring_account(user_name, credential_id);
    tokio::task::spawn_blocking(move || {
        let store = keyring_store().ok()?;
        keyring_core::Entry::new_in_store(&store, KEYRING_SERVICE, &account)
            .ok()?
            .get_password()
            .ok()
            .map(zeroize::Zeroizing::new)
    })
    .await
    .ok()
    .flatten()
}

/// The credential id a stored value names (`AccessKeyId`, or `CredentialId` for API keys).
fn stored_id(value: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(value).ok()?;
    let id = value.get("AccessKeyId").or_else(|| value.get("CredentialId"))?;
    id.as_str().map(str::to_owned)
}

/// True when the keyring holds `credential_id` under its account.
pub(crate) async fn keyring_holds(user_name: &str, credential_id: &str) -> bool {
    keyring_value(user_name, credential_id)
        .await
        .and_then(|value| stored_id(&value))
        .is_some_and(|id| id == credential_id)
}

/// What Secrets Manager knows of a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretState {
    Missing,
    Live,
    /// `DeleteSecret` ran: the secret is destroyed at this time unless restored.
    ScheduledForDeletion(Option<SystemTime>),
}

/// Whether the secret exists, and whether it is scheduled for deletion.
pub(crate) async fn secret_state(aws: &Aws, name: &str) -> Result<SecretState> {
    match aws.secrets().describe_secret().secret_id(name).send().await {
        Ok(found) => Ok(match found.deleted_date {
            Some(date) => SecretState::ScheduledForDeletion(
                u64::try_from(date.secs()).ok().map(|secs| UNIX_EPOCH + Duration::from_secs(secs)),
            ),
            None => SecretState::Live,
        }),
        Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => Ok(SecretState::Missing),
        Err(e) => Err(aws::error("secretsmanager:DescribeSecret", &e)),
    }
}

/// Cancels the scheduled deletion of a secret.
pub(crate) async fn restore_secret(aws: &Aws, name: &str) -> Result<()> {
    aws.secrets()
        .restore_secret()
        .secret_id(name)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| aws::error("secretsmanager:RestoreSecret", &e))
}

/// The credential id the secret's current value names (`None`: a value bedprov did not
/// write).
pub(crate) async fn secrets_manager_holds(aws: &Aws, name: &str) -> Result<Option<String>> {
    let value = aws
        .secrets()
        .get_secret_value()
        .secret_id(name)
        .send()
        .await
        .map_err(|e| aws::error("secretsmanager:GetSecretValue", &e))?;
    let text = zeroize::Zeroizing::new(value.secret_string.unwrap_or_default());
    Ok(stored_id(&text))
}

/// Refuses to write into a secret that is scheduled for deletion (the caller restores it
/// first, or stops).
fn scheduled_for_deletion(name: &str) -> Error {
    Error::new(
        ErrorCode::Aws,
        format!(
            "Secrets Manager secret `{name}` is scheduled for deletion; the key was not written into it"
        ),
        format!(
            "restore it first (`aws secretsmanager restore-secret --secret-id {name}`), then run the command again"
        ),
    )
}

/// Saves `credential` as secret `name` in Secrets Manager (created with `tags`, or given a new
/// version on rotation); returns where it went.
pub(crate) async fn save_secrets_manager(
    aws: &Aws,
    name: &str,
    tags: &BTreeMap<String, String>,
    credential: &NewCredential,
) -> Result<String> {
    use aws_sdk_secretsmanager::types::Tag;
    let client = aws.secrets();
    let name = name.to_owned();
    let value = payload(credential);
    let existing = match client.describe_secret().secret_id(&name).send().await {
        Ok(found) if found.deleted_date.is_some() => return Err(scheduled_for_deletion(&name)),
        Ok(found) => Some(found.arn.unwrap_or_else(|| name.clone())),
        Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => None,
        Err(e) => return Err(aws::error("secretsmanager:DescribeSecret", &e)),
    };
    let arn = if let Some(arn) = existing {
        client
            .put_secret_value()
            .secret_id(&name)
            .secret_string(value.as_str())
            .send()
            .await
            .map_err(|e| aws::error("secretsmanager:PutSecretValue", &e))?;
        arn
    } else {
        let tags: Vec<Tag> =
            tags.iter().map(|(k, v)| Tag::builder().key(k).value(v).build()).collect();
        let created = client
            .create_secret()
            .name(&name)
            .description("Long-term Amazon Bedrock credential managed by bedprov")
            .secret_string(value.as_str())
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| aws::error("secretsmanager:CreateSecret", &e))?;
        created.arn.unwrap_or_else(|| name.clone())
    };
    Ok(format!("AWS Secrets Manager secret `{name}` ({arn})"))
}

/// Schedules the unit's secret for deletion (7-day recovery window); false if none existed.
pub(crate) async fn forget_secrets_manager(aws: &Aws, unit: &str) -> Result<bool> {
    let name = secret_name(unit);
    match aws.secrets().delete_secret().secret_id(&name).recovery_window_in_days(7).send().await {
        Ok(_) => Ok(true),
        Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(aws::error("secretsmanager:DeleteSecret", &e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_back_and_odd_records_are_refused() {
        for location in [
            Location::Printed,
            Location::Keyring { account: "ops-bedrock-user/AKIA1".into() },
            Location::SecretsManager { name: "bedprov/ops".into() },
        ] {
            assert_eq!(Location::parse(&location.record()), Some(location));
        }
        for odd in
            ["", "keyring:", "keyring:other/x", "secretsmanager:", "secretsmanager:a b", "vault:x"]
        {
            assert_eq!(Location::parse(odd), None, "{odd:?}");
        }
    }
}
