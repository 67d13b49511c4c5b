//! Long-term credentials per business unit, for systems and CI/CD: IAM user
//! `{unit}-bedrock-user` with tags and a Bedrock policy, at most two keys, each step
//! idempotent and named in the output, rotation that never leaves the unit without a
//! working key, and removal. Short-term tokens stay the recommendation; this is the path for
//! what runs longer than 12 hours unattended.
//!
//! No key is left that nobody holds: a new key is delivered (its output written, or its
//! secret stored) before anything irreversible happens, and deleted again when delivery
//! fails or the run is interrupted; a key a killed run left undelivered is recognised by the
//! next run.
//!
//! - [`unit`]: business-unit and owner names.
//! - [`iam`]: the IAM calls, mapped to domain types and action-naming errors.
//! - [`store`]: the OS keyring and AWS Secrets Manager, and where a key went.
//! - [`markers`]: what bedprov records on the IAM user about its keys.
//! - `issue`: from creating a key to delivering it, undone on any failure.
//! - `leftovers`: keys an interrupted run left undelivered, offered for removal.
//! - [`interrupt`]: SIGINT and SIGTERM while a new key is undelivered.
//! - `create`, `rotate`: those workflows; this module: `delete`, `list` and shared types.

mod create;
pub(crate) mod iam;
pub(crate) mod interrupt;
mod issue;
mod leftovers;
pub(crate) mod markers;
mod rotate;
pub(crate) mod store;
pub(crate) mod unit;
mod verify;

pub(crate) use create::create;
pub(crate) use issue::Printer;
pub(crate) use rotate::rotate;

use crate::aws::Aws;
use crate::region::Region;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use iam::{Credential, Iam, Kind, LastUsed, ListError, NewCredential, User};
use markers::Delivery;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};
use store::{Location, Store};
use unit::{BusinessUnit, Owner};

/// IAM allows two access keys per user; bedprov holds API keys to the same limit.
pub(crate) const MAX_KEYS: usize = 2;
/// Keys older than this are flagged "rotation due".
pub(crate) const ROTATION_AGE: Duration = Duration::from_secs(90 * 24 * 3600);

/// Which managed policy the user gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Policy {
    /// `AmazonBedrockFullAccess` (the default `--policy`).
    Full,
    /// `AmazonBedrockLimitedAccess`.
    Limited,
    /// Any policy ARN.
    Arn(String),
}

impl Policy {
    pub(crate) fn parse(input: &str) -> Result<Self> {
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
    pub(crate) fn arn(&self, region: &Region) -> String {
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
pub(crate) struct Step {
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
pub(crate) fn user_tags(
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
pub(crate) struct CreateRequest {
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
    /// Answer yes to questions on a terminal; without one, remove a key an interrupted run
    /// left undelivered.
    pub yes: bool,
}

/// What `key create` (or `rotate`) did.
#[derive(Debug)]
pub(crate) struct Provisioned {
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
    /// Where the new key's secret went. When nothing was made: where the key a rotation
    /// would replace is kept, if recorded.
    pub location: Option<Location>,
    /// The store that holds the new secret, described (`None` when it was printed).
    pub stored_in: Option<String>,
    /// `Some(true)` verified with STS; `Some(false)` tried and failed; `None` not tried.
    pub verified: Option<bool>,
    pub steps: Vec<Step>,
    /// Rotation: the key that is replaced.
    pub replaced: Option<Replaced>,
    /// Set once the output carrying the secret was printed: how many steps it showed (the
    /// rest are printed after it).
    pub printed_steps: Option<usize>,
}

/// The old key in a rotation.
#[derive(Debug)]
pub(crate) struct Replaced {
    pub credential: Credential,
    pub last_used: Option<LastUsed>,
    pub retire: Retire,
    /// True once it was retired (the new key's output is printed before that).
    pub done: bool,
}

/// What rotation does to the old key once the new one is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retire {
    Deactivate,
    Delete,
}

impl Retire {
    /// The past participle: "deactivated", "deleted".
    #[must_use]
    pub(crate) fn done(self) -> &'static str {
        match self {
            Self::Deactivate => "deactivated",
            Self::Delete => "deleted",
        }
    }
}

/// The key that `key rotate` replaces: the newest active one (or the newest at all).
fn rotation_target(existing: &[Credential]) -> Option<&Credential> {
    existing.iter().rev().find(|c| c.active).or(existing.last())
}

fn at_limit(
    unit: &BusinessUnit,
    kind: Kind,
    existing: &[Credential],
    tags: &BTreeMap<String, String>,
) -> Error {
    let list: Vec<String> = existing
        .iter()
        .map(|c| format!("{} ({})", c.id, if c.active { "active" } else { "inactive" }))
        .collect();
    // Never the key whose secret was handed out last: that is the one people use.
    let in_use = markers::last_delivered(tags, existing).map(|c| c.id.as_str());
    let others: Vec<&Credential> =
        existing.iter().filter(|c| Some(c.id.as_str()) != in_use).collect();
    let candidate = markers::undelivered(tags, existing)
        .first()
        .copied()
        .or_else(|| others.iter().find(|c| !c.active).copied())
        .or_else(|| others.first().copied())
        .unwrap_or(&existing[0]);
    Error::new(
        ErrorCode::Limit,
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

fn verify_text(verified: Option<bool>) -> &'static str {
    match verified {
        Some(true) => "the new key works (STS GetCallerIdentity answered)",
        Some(false) => "the new key could not be verified within 30 s",
        None => "not verified",
    }
}

/// What `key rotate` was asked to do.
#[derive(Debug, Clone)]
pub(crate) struct RotateRequest {
    pub unit: BusinessUnit,
    pub kind: Kind,
    pub age_days: u32,
    /// `None`: wherever the unit's key is kept now.
    pub store: Option<Store>,
    pub delete_old: bool,
    /// Remove a key an interrupted run left undelivered without asking.
    pub yes: bool,
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
        None => Err(Error::new(
            ErrorCode::Missing,
            format!("there is no IAM user {name} for business unit {unit}"),
            format!(
                "create it: bedprov key create --business-unit {unit} (or see `bedprov key list`)"
            ),
        )),
    }
}

/// What `key delete` removes.
#[derive(Debug, Clone)]
pub(crate) enum DeleteTarget {
    Key(String),
    User,
}

/// What `key delete` did.
#[derive(Debug, Default)]
pub(crate) struct Deleted {
    pub steps: Vec<Step>,
}

/// `bedprov key delete`. The caller has already confirmed.
pub(crate) async fn delete(
    aws: &Aws,
    unit: &BusinessUnit,
    target: &DeleteTarget,
) -> Result<Deleted> {
    let iam = Iam::new(aws.iam());
    let mut user = managed_user(&iam, unit).await?;
    let mut steps = Vec::new();
    let mut credentials = Vec::new();
    let mut unlisted = Vec::new();
    for kind in [Kind::AccessKey, Kind::ApiKey] {
        match iam.try_credentials(&user.name, kind).await {
            Ok(listed) => credentials.extend(listed),
            Err(ListError::NotImplemented(error)) => {
                step(&mut steps, "list credentials", NotListed { kind, error: &error }.to_string());
                unlisted.push(kind);
            }
            Err(ListError::Failed(error)) => return Err(error),
        }
    }
    match target {
        DeleteTarget::Key(id) => {
            let credential = credentials.iter().find(|c| &c.id == id).ok_or_else(|| {
                let known: Vec<&str> = credentials.iter().map(|c| c.id.as_str()).collect();
                let mut hint = if known.is_empty() {
                    "it has no keys at all".to_owned()
                } else {
                    format!("its keys are: {}", known.join(", "))
                };
                for kind in &unlisted {
                    let _ = write!(hint, " ({}s could not be listed here)", kind.describe());
                }
                Error::new(ErrorCode::Missing, format!("{} has no key {id}", user.name), hint)
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
            // Its records go with it (and records of keys deleted outside bedprov).
            let kind = credential.kind;
            credentials.retain(|c| &c.id != id);
            let mut stale = markers::stale_stores(&user.tags, &credentials);
            let same_kind: Vec<Credential> =
                credentials.iter().filter(|c| c.kind == kind).cloned().collect();
            stale.extend(markers::stale_pending(&user.tags, &same_kind, kind));
            markers::remove(&iam, &mut user, &stale).await?;
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
pub(crate) struct Listed {
    pub user: User,
    pub keys: Vec<ListedKey>,
}

#[derive(Debug)]
pub(crate) struct ListedKey {
    pub credential: Credential,
    pub last_used: Option<LastUsed>,
    pub rotation_due: bool,
    /// Where its secret went, or that an interrupted run never delivered it.
    pub delivery: Delivery,
}

/// What `key list` found.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub users: Vec<Listed>,
    /// Kinds of credential the endpoint cannot list (an AWS emulator without Bedrock API
    /// keys), with the error that said so: the listing shows the other kind.
    pub unlisted: Vec<(Kind, Error)>,
}

/// A kind of credential left out of a listing, and why, in one sentence.
#[derive(Debug)]
pub(crate) struct NotListed<'a> {
    pub kind: Kind,
    pub error: &'a Error,
}

impl std::fmt::Display for NotListed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}s not listed: {} ({})", self.kind.describe(), self.error, self.error.hint())
    }
}

/// `bedprov key list`: bedprov-made users, or one unit's.
pub(crate) async fn list(aws: &Aws, unit: Option<&BusinessUnit>) -> Result<Listing> {
    let iam = Iam::new(aws.iam());
    let users = match unit {
        Some(unit) => vec![managed_user(&iam, unit).await?],
        None => iam.bedrock_users().await?.into_iter().filter(User::managed).collect(),
    };
    let now = SystemTime::now();
    let mut listing = Listing::default();
    for user in users {
        let mut keys = Vec::new();
        for kind in [Kind::AccessKey, Kind::ApiKey] {
            // Once the endpoint said it cannot list a kind, it is not asked again per user.
            if listing.unlisted.iter().any(|(unlisted, _)| *unlisted == kind) {
                continue;
            }
            let credentials = match iam.try_credentials(&user.name, kind).await {
                Ok(credentials) => credentials,
                Err(ListError::NotImplemented(error)) => {
                    listing.unlisted.push((kind, error));
                    continue;
                }
                Err(ListError::Failed(error)) => return Err(error),
            };
            for credential in credentials {
                let last_used = iam.last_used(&credential).await?;
                let rotation_due =
                    now.duration_since(credential.created).unwrap_or_default() > ROTATION_AGE;
                let delivery = markers::delivery(&user.tags, &credential);
                keys.push(ListedKey { credential, last_used, rotation_due, delivery });
            }
        }
        listing.users.push(Listed { user, keys });
    }
    Ok(listing)
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
    fn the_limit_hint_never_names_the_key_in_use() {
        let unit = BusinessUnit::parse("ops").unwrap();
        let key = |id: &str, age: u64, active: bool| Credential {
            id: id.to_owned(),
            kind: Kind::AccessKey,
            active,
            created: SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 - age),
            expires: None,
        };
        let hint = |keys: &[Credential], tags: &BTreeMap<String, String>| {
            at_limit(&unit, Kind::AccessKey, keys, tags).hint().to_owned()
        };
        let none = BTreeMap::new();
        // An inactive key goes first, unless it is the one in use.
        let keys = [key("AKIAOLD", 100, true), key("AKIANEW", 10, false)];
        assert!(hint(&keys, &none).contains("--key-id AKIANEW"));
        let keys = [key("AKIAOLD", 100, true), key("AKIANEW", 10, true)];
        assert!(hint(&keys, &none).contains("--key-id AKIAOLD"));
        // A key nobody was given goes before both, even when it is the newest.
        let pending = BTreeMap::from([(
            markers::pending_tag(Kind::AccessKey),
            markers::Pending::Created { id: "AKIANEW".into(), location: Location::Printed }.value(),
        )]);
        let keys = [key("AKIAOLD", 100, false), key("AKIANEW", 10, true)];
        assert!(hint(&keys, &pending).contains("--key-id AKIANEW"), "{}", hint(&keys, &pending));
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
