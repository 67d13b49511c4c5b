//! Where a new long-term secret goes when it is not printed: the OS keyring (the Secret
//! Service over D-Bus, via keyring-core) or AWS Secrets Manager. A missing keyring fails
//! fast with a clear message; nothing ever falls back to printing or writing plain text.

use super::iam::{Kind, NewCredential};
use crate::aws::{self, Aws};
use crate::wire::exit;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The keyring service name for every bedprov entry.
pub const KEYRING_SERVICE: &str = "bedprov";

/// Where the secret is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Store {
    /// Shown once on stdout (the default).
    Print,
    /// The OS keyring (Secret Service on Linux).
    Keyring,
    /// AWS Secrets Manager, secret `bedprov/<unit>` (for fleets).
    Secretsmanager,
}

/// The keyring account for one credential: `<user>/<credential id>`.
#[must_use]
pub fn keyring_account(user_name: &str, credential_id: &str) -> String {
    format!("{user_name}/{credential_id}")
}

/// The Secrets Manager secret name for a unit.
#[must_use]
pub fn secret_name(unit: &str) -> String {
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
    Error::other(
        exit::AWS,
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
pub async fn probe_keyring() -> Result<()> {
    tokio::task::spawn_blocking(|| keyring_store().map(|_| ())).await.map_err(|e| {
        Error::other(exit::INTERNAL, format!("keyring check failed: {e}"), "try again")
    })?
}

/// Saves `credential` in the keyring; returns where it went.
pub async fn save_keyring(user_name: &str, credential: &NewCredential) -> Result<String> {
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
        Error::other(exit::INTERNAL, format!("keyring write failed: {e}"), "try again")
    })??;
    Ok(format!("OS keyring (service `{KEYRING_SERVICE}`, account `{shown}`)"))
}

/// Removes a keyring entry if there is one (and a keyring at all).
pub async fn forget_keyring(user_name: &str, credential_id: &str) -> bool {
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

/// Reads a keyring entry back (tests and `key list` use it to say what is stored).
pub async fn keyring_value(
    user_name: &str,
    credential_id: &str,
) -> Option<zeroize::Zeroizing<String>> {
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

/// Saves `credential` as the unit's secret in Secrets Manager (created with the user's tags,
/// or given a new version on rotation); returns where it went.
pub async fn save_secrets_manager(
    aws: &Aws,
    unit: &str,
    tags: &BTreeMap<String, String>,
    credential: &NewCredential,
) -> Result<String> {
    use aws_sdk_secretsmanager::types::Tag;
    let client = aws.secrets();
    let name = secret_name(unit);
    let value = payload(credential);
    let existing = match client.describe_secret().secret_id(&name).send().await {
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
pub async fn forget_secrets_manager(aws: &Aws, unit: &str) -> Result<bool> {
    let name = secret_name(unit);
    match aws.secrets().delete_secret().secret_id(&name).recovery_window_in_days(7).send().await {
        Ok(_) => Ok(true),
        Err(e) if aws::code(&e) == Some("ResourceNotFoundException") => Ok(false),
        Err(e) => Err(aws::error("secretsmanager:DeleteSecret", &e)),
    }
}
