//! What bedprov records about a unit's keys, as tags on its IAM user (access keys and
//! Bedrock API keys cannot be tagged; users can):
//!
//! - `bedprov-pending:<kind>`: a key of that kind is being made and its secret has reached
//!   nobody yet. `creating after <ids that existed>` just before the key is created, then
//!   `created <id> for <location>`; removed once the secret is delivered.
//! - `bedprov-store:<key id>`: where that key's secret went ([`Location::record`]). Written
//!   only after delivery, so it is also the record that the key was delivered.
//!
//! A run killed between creating a key and delivering it (SIGKILL, a power cut) leaves the
//! pending tag behind, and the next run knows which key nobody holds. Keys made before
//! bedprov kept these records have neither tag: they count as delivered.

use super::iam::{Credential, Iam, Kind, User};
use super::store::Location;
use crate::Result;
use std::collections::BTreeMap;

const PENDING: &str = "bedprov-pending:";
const STORE: &str = "bedprov-store:";

/// True for the tags this module owns (as opposed to the cost-tracking tags).
#[must_use]
fn is_marker(tag_key: &str) -> bool {
    tag_key.starts_with(PENDING) || tag_key.starts_with(STORE)
}

/// The user's tags without this module's: the cost-tracking tags the unit's other resources
/// (its Secrets Manager secret) carry too.
#[must_use]
pub(crate) fn cost_tags(tags: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    tags.iter().filter(|(key, _)| !is_marker(key)).map(|(k, v)| (k.clone(), v.clone())).collect()
}

#[must_use]
pub(crate) fn pending_tag(kind: Kind) -> String {
    format!("{PENDING}{}", kind.as_str())
}

#[must_use]
pub(crate) fn store_tag(credential_id: &str) -> String {
    format!("{STORE}{credential_id}")
}

/// A key of one kind on its way to being delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pending {
    /// About to be created; these keys of the kind existed before.
    Creating { before: Vec<String> },
    /// Created, to be delivered to `location`.
    Created { id: String, location: Location },
}

impl Pending {
    /// The tag value (IAM allows letters, digits, spaces and `_.:/=+-@` in it).
    #[must_use]
    pub(crate) fn value(&self) -> String {
        match self {
            Self::Creating { before } if before.is_empty() => "creating after none".to_owned(),
            Self::Creating { before } => format!("creating after {}", before.join(" ")),
            Self::Created { id, location } => format!("created {id} for {}", location.record()),
        }
    }

    /// Reads [`Pending::value`] back; `None` for anything else.
    #[must_use]
    pub(crate) fn parse(value: &str) -> Option<Self> {
        if let Some(rest) = value.strip_prefix("creating after ") {
            let before = match rest.trim() {
                "none" => Vec::new(),
                ids => ids.split_whitespace().map(str::to_owned).collect(),
            };
            return Some(Self::Creating { before });
        }
        let (id, record) = value.strip_prefix("created ")?.split_once(" for ")?;
        let id = id.trim();
        if id.is_empty() {
            return None;
        }
        Some(Self::Created { id: id.to_owned(), location: Location::parse(record)? })
    }
}

/// The pending record for `kind`, if there is a readable one.
#[must_use]
pub(crate) fn pending(tags: &BTreeMap<String, String>, kind: Kind) -> Option<Pending> {
    tags.get(&pending_tag(kind)).and_then(|value| Pending::parse(value))
}

/// Where key `credential_id` was delivered, if that was recorded.
#[must_use]
pub(crate) fn location(tags: &BTreeMap<String, String>, credential_id: &str) -> Option<Location> {
    tags.get(&store_tag(credential_id)).and_then(|record| Location::parse(record))
}

/// What the records say about one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivery {
    /// Its secret went there.
    Delivered(Location),
    /// A run created it and stopped before its secret reached anyone.
    Undelivered,
    /// No record either way: made before bedprov kept them (or outside bedprov). Taken as
    /// delivered.
    Unrecorded,
}

/// What the user's tags say about `credential`.
#[must_use]
pub(crate) fn delivery(tags: &BTreeMap<String, String>, credential: &Credential) -> Delivery {
    if let Some(location) = location(tags, &credential.id) {
        return Delivery::Delivered(location);
    }
    match pending(tags, credential.kind) {
        Some(Pending::Created { id, .. }) if id == credential.id => Delivery::Undelivered,
        Some(Pending::Creating { before }) if !before.contains(&credential.id) => {
            Delivery::Undelivered
        }
        _ => Delivery::Unrecorded,
    }
}

/// The keys among `credentials` that nobody was given.
#[must_use]
pub(crate) fn undelivered<'a>(
    tags: &BTreeMap<String, String>,
    credentials: &'a [Credential],
) -> Vec<&'a Credential> {
    credentials.iter().filter(|c| delivery(tags, c) == Delivery::Undelivered).collect()
}

/// The key whose secret was handed out last and is in use: the newest active key that was
/// delivered (or, with none active, the newest delivered). A hint must never suggest
/// deleting it.
#[must_use]
pub(crate) fn last_delivered<'a>(
    tags: &BTreeMap<String, String>,
    credentials: &'a [Credential],
) -> Option<&'a Credential> {
    credentials
        .iter()
        .filter(|c| delivery(tags, c) != Delivery::Undelivered)
        .max_by_key(|c| (c.active, c.created))
}

/// Adds or replaces tags on the user, and in `user.tags`.
pub(crate) async fn set(iam: &Iam, user: &mut User, tags: BTreeMap<String, String>) -> Result<()> {
    iam.tag_user(&user.name, &tags).await?;
    user.tags.extend(tags);
    Ok(())
}

/// Removes tags from the user (those it has), and from `user.tags`.
pub(crate) async fn remove(iam: &Iam, user: &mut User, keys: &[String]) -> Result<()> {
    let present: Vec<String> =
        keys.iter().filter(|k| user.tags.contains_key(*k)).cloned().collect();
    if present.is_empty() {
        return Ok(());
    }
    iam.untag_user(&user.name, &present).await?;
    for key in &present {
        user.tags.remove(key);
    }
    Ok(())
}

/// The pending record for `kind` when it names no key that still awaits delivery (the key
/// was deleted, delivered, never created, or the record is unreadable): safe to drop.
/// `credentials` are the user's keys of that kind.
#[must_use]
pub(crate) fn stale_pending(
    tags: &BTreeMap<String, String>,
    credentials: &[Credential],
    kind: Kind,
) -> Option<String> {
    let tag = pending_tag(kind);
    let open = tags.contains_key(&tag) && !undelivered(tags, credentials).is_empty();
    (tags.contains_key(&tag) && !open).then_some(tag)
}

/// Store records of keys that no longer exist. `credentials` are all the user's keys, of
/// both kinds.
#[must_use]
pub(crate) fn stale_stores(
    tags: &BTreeMap<String, String>,
    credentials: &[Credential],
) -> Vec<String> {
    tags.keys()
        .filter_map(|key| key.strip_prefix(STORE))
        .filter(|id| !credentials.iter().any(|c| c.id == *id))
        .map(store_tag)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn key(id: &str, age: u64) -> Credential {
        Credential {
            id: id.to_owned(),
            kind: Kind::AccessKey,
            active: true,
            created: UNIX_EPOCH + Duration::from_secs(1_000_000 - age),
            expires: None,
        }
    }

    #[test]
    fn pending_values_read_back() {
        for pending in [
            Pending::Creating { before: Vec::new() },
            Pending::Creating { before: vec!["AKIA1".into(), "AKIA2".into()] },
            Pending::Created { id: "AKIA3".into(), location: Location::Printed },
            Pending::Created {
                id: "ACCA4".into(),
                location: Location::Keyring { account: "ops-bedrock-user/ACCA4".into() },
            },
            Pending::Created {
                id: "AKIA5".into(),
                location: Location::SecretsManager { name: "bedprov/ops".into() },
            },
        ] {
            let value = pending.value();
            assert!(value.len() <= 256, "{value}");
            assert!(
                value.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c)),
                "IAM would refuse {value:?}"
            );
            assert_eq!(Pending::parse(&value), Some(pending));
        }
        assert_eq!(Pending::parse("created  for print"), None);
        assert_eq!(Pending::parse("something else"), None);
    }

    #[test]
    fn a_key_is_undelivered_only_while_a_pending_record_names_it() {
        let old = key("AKIAOLD", 100);
        let new = key("AKIANEW", 10);
        let keys = [old.clone(), new.clone()];
        let mut tags = BTreeMap::from([(
            pending_tag(Kind::AccessKey),
            Pending::Creating { before: vec!["AKIAOLD".into()] }.value(),
        )]);
        assert_eq!(delivery(&tags, &old), Delivery::Unrecorded);
        assert_eq!(delivery(&tags, &new), Delivery::Undelivered);
        assert_eq!(last_delivered(&tags, &keys).unwrap().id, "AKIAOLD");
        assert_eq!(stale_pending(&tags, &keys, Kind::AccessKey), None);

        tags.insert(store_tag("AKIANEW"), "print".into());
        assert_eq!(delivery(&tags, &new), Delivery::Delivered(Location::Printed));
        assert_eq!(last_delivered(&tags, &keys).unwrap().id, "AKIANEW");
        assert_eq!(
            stale_pending(&tags, &keys, Kind::AccessKey),
            Some(pending_tag(Kind::AccessKey))
        );

        tags.insert(store_tag("AKIAGONE"), "print".into());
        assert_eq!(stale_stores(&tags, &keys), [store_tag("AKIAGONE")]);
        assert!(undelivered(&tags, &keys).is_empty());
    }
}
