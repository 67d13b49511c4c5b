//! Long-term credentials per business unit, for systems and CI/CD: IAM user
//! `{unit}-bedrock-user` with tags and a Bedrock policy, at most two keys, each step
//! idempotent and named in the output, rotation that never leaves the unit without a
//! working key, and removal. Short-term tokens stay the recommendation; this is the path for
//! what runs longer than 12 hours unattended.
//!
//! - [`unit`]: business-unit and owner names.
//! - [`iam`]: the IAM calls, mapped to domain types and action-naming errors.
//! - [`store`]: the OS keyring and AWS Secrets Manager.
//! - this module: the workflows `create`, `rotate`, `delete`, `list`.

pub mod iam;
pub mod store;
pub mod unit;
mod verify;

use crate::aws::Aws;
use crate::region::Region;
use crate::wire::exit;
use crate::{Error, Result};
use iam::{Credential, Iam, Kind, LastUsed, NewCredential, User};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use store::Store;
use unit::{BusinessUnit, Owner};

/// IAM allows two access keys per user; bedprov holds API keys to the same limit.
pub const MAX_KEYS: usize = 2;
/// Keys older than this are flagged "rotation due".
pub const ROTATION_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// Which managed policy the user gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// `AmazonBedrockFullAccess` (the seed's default).
    Full,
    /// `AmazonBedrockLimitedAccess`.
    Limited,
    /// Any policy ARN.
    Arn(String),
}

impl Policy {
    pub fn parse(input: &str) -> Result<Self> {
        match input.trim() {
            "full" => Ok(Self::Full),
            "limited" => Ok(Self::Limited),
            arn if arn.starts_with("arn:") && arn.contains(":policy/") => {
                Ok(Self::Arn(arn.to_owned()))
            }
            other => Err(Error::usage(
                format!("`{}` is not a policy choice", other.chars().take(80).collect::<String>()),
                "use --policy full (AmazonBedrockFullAccess), limited (AmazonBedrockLimitedAccess) or a policy ARN",
            )),
        }
    }

    /// The ARN in the region's partition.
    #[must_use]
    pub fn arn(&self, region: &Region) -> String {
        let partition = match region.as_str() {
            r if r.starts_with("us-gov-") => "aws-us-gov",
            r if r.starts_with("cn-") => "aws-cn",
            _ => "aws",
        };
        match self {
            Self::Full => format!("arn:{partition}:iam::aws:policy/AmazonBedrockFullAccess"),
            Self::Limited => format!("arn:{partition}:iam::aws:policy/AmazonBedrockLimitedAccess"),
            Self::Arn(arn) => arn.clone(),
        }
    }
}

/// One named step and what it did, for the output.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    pub step: &'static str,
    pub result: String,
}

fn step(steps: &mut Vec<Step>, name: &'static str, result: impl Into<String>) {
    let result = result.into();
    tracing::info!(step = name, %result);
    steps.push(Step { step: name, result });
}

/// The tags bedprov puts on a user (cost tracking and ownership).
#[must_use]
pub fn user_tags(
    unit: &BusinessUnit,
    owner: Option<&Owner>,
    created: bool,
) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::from([
        ("business-unit".to_owned(), unit.as_str().to_owned()),
        ("purpose".to_owned(), "bedrock".to_owned()),
        ("managed-by".to_owned(), "bedprov".to_owned()),
    ]);
    if created {
        tags.insert("created-by".to_owned(), "bedprov".to_owned());
    }
    if let Some(owner) = owner {
        tags.insert("owner".to_owned(), owner.as_str().to_owned());
    }
    tags
}

/// What `key create` was asked to do.
#[derive(Debug, Clone)]
#[allow(clippy::struct_excessive_bools)] // one per command-line switch
pub struct CreateRequest {
    pub unit: BusinessUnit,
    pub owner: Option<Owner>,
    pub policy: Policy,
    pub kind: Kind,
    /// API keys only: days until the key expires (1–36600).
    pub age_days: u32,
    pub store: Store,
    pub verify: bool,
    /// Manage an existing user bedprov did not create.
    pub adopt: bool,
    /// Create another key when one exists (at most two).
    pub additional: bool,
    /// Answer yes to questions on a terminal.
    pub yes: bool,
}

/// What `key create` (or `rotate`) did.
#[derive(Debug)]
pub struct Provisioned {
    pub unit: BusinessUnit,
    pub user: User,
    pub user_created: bool,
    pub policy_arn: Option<String>,
    pub kind: Kind,
    pub region: Region,
    /// The new credential; `None` when the unit was already provisioned and nothing was made.
    pub credential: Option<NewCredential>,
    /// Keys that already existed (metadata only).
    pub existing: Vec<Credential>,
    pub stored_in: Option<String>,
    /// `Some(true)` verified with STS; `Some(false)` tried and failed; `None` not tried.
    pub verified: Option<bool>,
    pub steps: Vec<Step>,
    /// Rotation: the key that was replaced, and what happened to it.
    pub replaced: Option<Replaced>,
}

/// The old key in a rotation.
#[derive(Debug)]
pub struct Replaced {
    pub credential: Credential,
    pub last_used: Option<LastUsed>,
    /// "deactivated", "deleted", or "left active" (when the new key could not be verified).
    pub outcome: &'static str,
}

impl Provisioned {
    #[must_use]
    pub fn already_provisioned(&self) -> bool {
        self.credential.is_none()
    }
}

/// `bedprov key create`.
pub async fn create(aws: &Aws, request: &CreateRequest) -> Result<Provisioned> {
    if request.kind == Kind::ApiKey && !(1..=36_600).contains(&request.age_days) {
        return Err(Error::usage(
            format!("--age-days {} is outside 1–36600", request.age_days),
            "pass --age-days between 1 and 36600 (default 30)",
        ));
    }
    if request.store == Store::Keyring {
        // Fail before anything exists in AWS, not after a key was made.
        store::probe_keyring().await?;
    }
    let iam = Iam::new(aws.iam());
    let user_name = request.unit.user_name();
    let mut steps = Vec::new();
    let (user, user_created) = ensure_user(&iam, request, &user_name, &mut steps).await?;
    let policy_arn = request.policy.arn(&aws.region);
    if iam.attached_policies(&user_name).await?.contains(&policy_arn) {
        step(&mut steps, "attach policy", format!("{policy_arn} already attached"));
    } else {
        iam.attach_policy(&user_name, &policy_arn).await?;
        step(&mut steps, "attach policy", format!("attached {policy_arn}"));
    }
    let existing = iam.credentials(&user_name, request.kind).await?;
    let mut result = Provisioned {
        unit: request.unit.clone(),
        user,
        user_created,
        policy_arn: Some(policy_arn),
        kind: request.kind,
        region: aws.region.clone(),
        credential: None,
        existing: existing.clone(),
        stored_in: None,
        verified: None,
        steps,
        replaced: None,
    };
    if existing.len() >= MAX_KEYS {
        return Err(at_limit(&request.unit, request.kind, &existing));
    }
    if !existing.is_empty() && !request.additional && !confirm_additional(request, &existing)? {
        let ids: Vec<&str> = existing.iter().map(|c| c.id.as_str()).collect();
        step(
            &mut result.steps,
            "create credential",
            format!("already provisioned ({}); nothing created", ids.join(", ")),
        );
        return Ok(result);
    }
    let credential = iam.create(&user_name, request.kind, request.age_days).await?;
    step(
        &mut result.steps,
        "create credential",
        format!("created {} {}", request.kind.describe(), credential.id),
    );
    result.stored_in = keep(aws, &iam, request.store, &result, &credential).await?;
    if let Some(place) = &result.stored_in {
        step(&mut result.steps, "store secret", format!("stored in {place}"));
    }
    if request.verify {
        result.verified = Some(verify::new_credential(aws, &iam, &user_name, &credential).await);
        step(&mut result.steps, "verify", verify_text(result.verified));
    }
    result.credential = Some(credential);
    Ok(result)
}

async fn ensure_user(
    iam: &Iam,
    request: &CreateRequest,
    user_name: &str,
    steps: &mut Vec<Step>,
) -> Result<(User, bool)> {
    match iam.user(user_name).await? {
        None => {
            let tags = user_tags(&request.unit, request.owner.as_ref(), true);
            let user = iam.create_user(user_name, &tags).await?;
            step(steps, "create user", format!("created IAM user {user_name}"));
            Ok((user, true))
        }
        Some(mut user) if user.managed() => {
            step(steps, "create user", format!("IAM user {user_name} exists (managed by bedprov)"));
            if let Some(owner) = &request.owner
                && user.tags.get("owner") != Some(&owner.as_str().to_owned())
            {
                let tags = BTreeMap::from([("owner".to_owned(), owner.as_str().to_owned())]);
                iam.tag_user(user_name, &tags).await?;
                user.tags.extend(tags);
                step(steps, "tag user", format!("owner set to {owner}"));
            }
            Ok((user, false))
        }
        Some(mut user) if request.adopt => {
            let tags = user_tags(&request.unit, request.owner.as_ref(), false);
            iam.tag_user(user_name, &tags).await?;
            user.tags.extend(tags);
            step(
                steps,
                "adopt user",
                format!("adopted existing IAM user {user_name} (tagged managed-by=bedprov)"),
            );
            Ok((user, false))
        }
        Some(_) => Err(Error::usage(
            format!(
                "IAM user {user_name} already exists and was not created by bedprov; it was left untouched"
            ),
            "pass --adopt to let bedprov manage it (it adds tags and attaches the policy), or choose another --business-unit",
        )),
    }
}

fn at_limit(unit: &BusinessUnit, kind: Kind, existing: &[Credential]) -> Error {
    let list: Vec<String> = existing
        .iter()
        .map(|c| format!("{} ({})", c.id, if c.active { "active" } else { "inactive" }))
        .collect();
    let candidate = existing.iter().find(|c| !c.active).unwrap_or(&existing[0]);
    Error::other(
        exit::LIMIT,
        format!(
            "{unit} already has {} {}s ({}): that is the limit of two",
            existing.len(),
            kind.describe(),
            list.join(", ")
        ),
        format!(
            "delete one you no longer use (`bedprov key delete --business-unit {unit} --key-id {}`), then create or rotate",
            candidate.id
        ),
    )
}

fn confirm_additional(request: &CreateRequest, existing: &[Credential]) -> Result<bool> {
    if !crate::prompt::interactive() {
        return Ok(false);
    }
    if request.yes {
        return Ok(true);
    }
    let question = format!(
        "{} already has {} {} ({}). Create another one?",
        request.unit,
        existing.len(),
        request.kind.describe(),
        existing.iter().map(|c| c.id.as_str()).collect::<Vec<_>>().join(", ")
    );
    Ok(crate::prompt::confirm(&question, false)
        .map_err(Error::io("cannot read the answer"))?
        .unwrap_or(false))
}

/// Stores the new secret where asked. If storing fails, the new credential is deleted again,
/// so no key exists that nobody holds.
async fn keep(
    aws: &Aws,
    iam: &Iam,
    place: Store,
    result: &Provisioned,
    credential: &NewCredential,
) -> Result<Option<String>> {
    let saved = match place {
        Store::Print => return Ok(None),
        Store::Keyring => store::save_keyring(&result.user.name, credential).await,
        Store::Secretsmanager => {
            store::save_secrets_manager(aws, result.unit.as_str(), &result.user.tags, credential)
                .await
        }
    };
    match saved {
        Ok(place) => Ok(Some(place)),
        Err(error) => {
            let metadata = Credential {
                id: credential.id.clone(),
                kind: credential.kind,
                active: true,
                created: SystemTime::now(),
                expires: None,
                alias: None,
            };
            let cleanup = iam.delete(&result.user.name, &metadata).await;
            let what = if cleanup.is_ok() {
                "the new key was deleted again"
            } else {
                "the new key could not be deleted: remove it with `bedprov key delete`"
            };
            Err(Error::other(error.exit_code(), format!("{error} ({what})"), error.hint()))
        }
    }
}

fn verify_text(verified: Option<bool>) -> &'static str {
    match verified {
        Some(true) => "the new key works (STS GetCallerIdentity answered)",
        Some(false) => "the new key could not be verified within 30 s",
        None => "not verified",
    }
}

/// What `key rotate` was asked to do.
#[derive(Debug, Clone)]
pub struct RotateRequest {
    pub unit: BusinessUnit,
    pub kind: Kind,
    pub age_days: u32,
    pub store: Store,
    pub delete_old: bool,
}

/// `bedprov key rotate`: new key → store → verify → only then deactivate (or delete) the old.
pub async fn rotate(aws: &Aws, request: &RotateRequest) -> Result<Provisioned> {
    if request.store == Store::Keyring {
        store::probe_keyring().await?;
    }
    let iam = Iam::new(aws.iam());
    let user = managed_user(&iam, &request.unit).await?;
    let existing = iam.credentials(&user.name, request.kind).await?;
    let Some(old) = existing.iter().rev().find(|c| c.active).or(existing.last()).cloned() else {
        return Err(Error::other(
            exit::NOT_FOUND,
            format!("{} has no {} to rotate", request.unit, request.kind.describe()),
            format!("create one: bedprov key create --business-unit {}", request.unit),
        ));
    };
    if existing.len() >= MAX_KEYS {
        return Err(at_limit(&request.unit, request.kind, &existing));
    }
    let last_used = iam.last_used(&old).await?;
    let mut steps = Vec::new();
    let credential = iam.create(&user.name, request.kind, request.age_days).await?;
    step(
        &mut steps,
        "create credential",
        format!("created {} {}", request.kind.describe(), credential.id),
    );
    let mut result = Provisioned {
        unit: request.unit.clone(),
        user,
        user_created: false,
        policy_arn: None,
        kind: request.kind,
        region: aws.region.clone(),
        credential: None,
        existing,
        stored_in: None,
        verified: None,
        steps,
        replaced: None,
    };
    result.stored_in = keep(aws, &iam, request.store, &result, &credential).await?;
    if let Some(place) = &result.stored_in {
        step(&mut result.steps, "store secret", format!("stored in {place}"));
    }
    let verified = verify::new_credential(aws, &iam, &result.user.name, &credential).await;
    result.verified = Some(verified);
    step(&mut result.steps, "verify", verify_text(Some(verified)));
    let outcome = if !verified {
        "left active"
    } else if request.delete_old {
        iam.delete(&result.user.name, &old).await?;
        store::forget_keyring(&result.user.name, &old.id).await;
        "deleted"
    } else {
        iam.set_active(&result.user.name, &old, false).await?;
        "deactivated"
    };
    step(&mut result.steps, "retire old credential", format!("{} {outcome}", old.id));
    result.replaced = Some(Replaced { credential: old, last_used, outcome });
    result.credential = Some(credential);
    Ok(result)
}

async fn managed_user(iam: &Iam, unit: &BusinessUnit) -> Result<User> {
    let name = unit.user_name();
    match iam.user(&name).await? {
        Some(user) if user.managed() => Ok(user),
        Some(_) => Err(Error::usage(
            format!("IAM user {name} was not created by bedprov; bedprov leaves it alone"),
            format!(
                "to manage it, adopt it first: bedprov key create --business-unit {unit} --adopt"
            ),
        )),
        None => Err(Error::other(
            exit::NOT_FOUND,
            format!("there is no IAM user {name} for business unit {unit}"),
            format!(
                "create it: bedprov key create --business-unit {unit} (or see `bedprov key list`)"
            ),
        )),
    }
}

/// What `key delete` removes.
#[derive(Debug, Clone)]
pub enum DeleteTarget {
    Key(String),
    User,
}

/// What `key delete` did.
#[derive(Debug, Default)]
pub struct Deleted {
    pub steps: Vec<Step>,
}

/// `bedprov key delete`. The caller has already confirmed.
pub async fn delete(aws: &Aws, unit: &BusinessUnit, target: &DeleteTarget) -> Result<Deleted> {
    let iam = Iam::new(aws.iam());
    let user = managed_user(&iam, unit).await?;
    let mut steps = Vec::new();
    let mut credentials = iam.credentials(&user.name, Kind::AccessKey).await?;
    credentials.extend(iam.credentials(&user.name, Kind::ApiKey).await?);
    match target {
        DeleteTarget::Key(id) => {
            let credential = credentials.iter().find(|c| &c.id == id).ok_or_else(|| {
                let known: Vec<&str> = credentials.iter().map(|c| c.id.as_str()).collect();
                Error::other(
                    exit::NOT_FOUND,
                    format!("{} has no key {id}", user.name),
                    if known.is_empty() {
                        "it has no keys at all".to_owned()
                    } else {
                        format!("its keys are: {}", known.join(", "))
                    },
                )
            })?;
            iam.delete(&user.name, credential).await?;
            step(
                &mut steps,
                "delete credential",
                format!("deleted {} {id}", credential.kind.describe()),
            );
            if store::forget_keyring(&user.name, id).await {
                step(&mut steps, "forget secret", "removed its OS keyring entry");
            }
        }
        DeleteTarget::User => {
            for credential in &credentials {
                iam.delete(&user.name, credential).await?;
                step(
                    &mut steps,
                    "delete credential",
                    format!("deleted {} {}", credential.kind.describe(), credential.id),
                );
                if store::forget_keyring(&user.name, &credential.id).await {
                    step(
                        &mut steps,
                        "forget secret",
                        format!("removed the OS keyring entry for {}", credential.id),
                    );
                }
            }
            for arn in iam.attached_policies(&user.name).await? {
                iam.detach_policy(&user.name, &arn).await?;
                step(&mut steps, "detach policy", format!("detached {arn}"));
            }
            iam.delete_user(&user.name).await?;
            step(&mut steps, "delete user", format!("deleted IAM user {}", user.name));
            if store::forget_secrets_manager(aws, unit.as_str()).await? {
                step(
                    &mut steps,
                    "forget secret",
                    format!(
                        "scheduled Secrets Manager secret {} for deletion (7-day recovery window)",
                        store::secret_name(unit.as_str())
                    ),
                );
            }
        }
    }
    Ok(Deleted { steps })
}

/// One user in `key list`.
#[derive(Debug)]
pub struct Listed {
    pub user: User,
    pub keys: Vec<ListedKey>,
}

#[derive(Debug)]
pub struct ListedKey {
    pub credential: Credential,
    pub last_used: Option<LastUsed>,
    pub rotation_due: bool,
}

/// `bedprov key list`: bedprov-made users, or one unit's.
pub async fn list(aws: &Aws, unit: Option<&BusinessUnit>) -> Result<Vec<Listed>> {
    let iam = Iam::new(aws.iam());
    let users = match unit {
        Some(unit) => vec![managed_user(&iam, unit).await?],
        None => iam.bedrock_users().await?.into_iter().filter(User::managed).collect(),
    };
    let now = SystemTime::now();
    let mut listed = Vec::new();
    for user in users {
        let mut keys = Vec::new();
        for kind in [Kind::AccessKey, Kind::ApiKey] {
            for credential in iam.credentials(&user.name, kind).await? {
                let last_used = iam.last_used(&credential).await?;
                let rotation_due =
                    now.duration_since(credential.created).unwrap_or_default() > ROTATION_AGE;
                keys.push(ListedKey { credential, last_used, rotation_due });
            }
        }
        listed.push(Listed { user, keys });
    }
    Ok(listed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_choices() {
        let region = Region::parse("us-east-1").unwrap();
        assert_eq!(
            Policy::parse("full").unwrap().arn(&region),
            "arn:aws:iam::aws:policy/AmazonBedrockFullAccess"
        );
        assert_eq!(
            Policy::parse("limited").unwrap().arn(&Region::parse("us-gov-west-1").unwrap()),
            "arn:aws-us-gov:iam::aws:policy/AmazonBedrockLimitedAccess"
        );
        assert_eq!(
            Policy::parse("arn:aws:iam::123456789012:policy/x").unwrap().arn(&region),
            "arn:aws:iam::123456789012:policy/x"
        );
        assert!(Policy::parse("admin").unwrap_err().hint().contains("limited"));
    }

    #[test]
    fn tags_for_cost_tracking() {
        let unit = BusinessUnit::parse("Marketing Team").unwrap();
        let owner = Owner::parse("jane@corp.com").unwrap();
        let tags = user_tags(&unit, Some(&owner), true);
        assert_eq!(tags["business-unit"], "marketing-team");
        assert_eq!(tags["purpose"], "bedrock");
        assert_eq!(tags["owner"], "jane@corp.com");
        assert_eq!(tags["created-by"], "bedprov");
        assert!(!user_tags(&unit, None, false).contains_key("created-by"));
    }
}
