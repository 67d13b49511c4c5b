//! The stretch of `key create` and `key rotate` during which a key exists whose secret has
//! reached nobody: create it, verify it, deliver it (print the output that carries it, or
//! store it), record the delivery. Nothing irreversible happens before delivery, and any
//! failure on the way — the output cannot be written, the store refuses, SIGINT or SIGTERM,
//! a rotation's key that does not verify — deletes the new key again and says exactly what
//! state AWS is left in. A pending record on the IAM user covers what no code can catch
//! (SIGKILL, a power cut): the next run finds the key (see `leftovers`).

use super::iam::{Credential, Iam, NewCredential};
use super::interrupt::{Interrupt, Signal};
use super::markers::{self, Pending};
use super::store::{self, Location, Store};
use super::{Provisioned, step, verify, verify_text};
use crate::aws::Aws;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::time::SystemTime;

/// Shows a new secret to the person who asked (`--store print`): the CLI renders the result
/// and writes it. `Ok` only once the output has arrived; an error means it did not, and the
/// key is deleted again.
pub(crate) trait Printer {
    fn print(&mut self, result: &Provisioned) -> impl Future<Output = std::io::Result<()>>;
}

/// How to make and deliver one new key.
#[derive(Debug)]
pub(super) struct NewKey<'a> {
    pub aws: &'a Aws,
    pub iam: &'a Iam,
    pub store: Store,
    /// With [`Store::Secretsmanager`]: the secret the key goes into.
    pub secret_name: String,
    pub age_days: u32,
    pub verify: bool,
    /// A rotation hands out no key that failed verification: the old one is kept instead.
    pub rotation: bool,
}

/// Why a new key was taken back.
enum Failure {
    Interrupted(Signal),
    Print(std::io::Error),
    Store(Error),
    Record(Error),
    Unverified,
}

/// Creates, verifies and delivers a key of `result.kind` for `result.user`; fills in
/// `result` (credential, location, verification, steps). On error the key no longer exists
/// (or the error says it could not be deleted).
pub(super) async fn issue<P: Printer>(
    new: &NewKey<'_>,
    result: &mut Provisioned,
    printer: &mut P,
    interrupt: &mut Interrupt,
) -> Result<()> {
    let kind = result.kind;
    let before =
        Pending::Creating { before: result.existing.iter().map(|c| c.id.clone()).collect() };
    let pending = BTreeMap::from([(markers::pending_tag(kind), before.value())]);
    // Nothing exists yet, so a signal may stop this at once (a record that lands anyway
    // names no new key, and the next run drops it).
    match interrupt.or(markers::set(new.iam, &mut result.user, pending)).await {
        Ok(marked) => marked?,
        Err(signal) => {
            return Err(Error::new(
                signal.kind(),
                format!(
                    "interrupted by {} before the new key was created: nothing was created",
                    signal.name()
                ),
                "run the command again when you are ready",
            ));
        }
    }
    // If this fails, the pending record stays: the next run clears it, or finds the key if
    // IAM made one after all.
    let credential = new.iam.create(&result.user.name, kind, new.age_days).await?;
    let location = match new.store {
        Store::Secretsmanager => Location::SecretsManager { name: new.secret_name.clone() },
        other => Location::new(other, result.unit.as_str(), &result.user.name, &credential.id),
    };
    step(
        &mut result.steps,
        "create credential",
        format!("created {} {}", kind.describe(), credential.id),
    );
    let created = Pending::Created { id: credential.id.clone(), location: location.clone() };
    let pending = BTreeMap::from([(markers::pending_tag(kind), created.value())]);
    if let Err(error) = markers::set(new.iam, &mut result.user, pending).await {
        return Err(undo(new, result, credential, Failure::Record(error)).await);
    }

    if new.verify {
        let work = verify::new_credential(new.aws, new.iam, &result.user.name, &credential);
        match interrupt.or(work).await {
            Ok(verified) => result.verified = Some(verified),
            Err(signal) => {
                return Err(undo(new, result, credential, Failure::Interrupted(signal)).await);
            }
        }
        step(&mut result.steps, "verify", verify_text(result.verified));
        if new.rotation && result.verified == Some(false) {
            return Err(undo(new, result, credential, Failure::Unverified).await);
        }
    }
    if let Some(signal) = interrupt.received() {
        return Err(undo(new, result, credential, Failure::Interrupted(signal)).await);
    }

    deliver(new, result, credential, location.clone(), printer, interrupt).await?;
    record_delivery(new.iam, result, &location).await;
    Ok(())
}

/// Hands the secret over: prints the output that carries it, or stores it. On failure the
/// key is taken back (see [`undo`]).
async fn deliver<P: Printer>(
    new: &NewKey<'_>,
    result: &mut Provisioned,
    credential: NewCredential,
    location: Location,
    printer: &mut P,
    interrupt: &mut Interrupt,
) -> Result<()> {
    if location == Location::Printed {
        result.printed_steps = Some(result.steps.len());
        result.credential = Some(credential);
        result.location = Some(location);
        let failure = match interrupt.or(printer.print(result)).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(error)) => Failure::Print(error),
            Err(signal) => Failure::Interrupted(signal),
        };
        result.printed_steps = None;
        result.location = None;
        let credential = result.credential.take().expect("put in the result just above");
        return Err(undo(new, result, credential, failure).await);
    }
    // Not abandoned half-way on a signal: a store write either lands or fails.
    let saved = match &location {
        Location::SecretsManager { name } => {
            // The cost-tracking tags, not bedprov's records about the user's keys.
            let tags = markers::cost_tags(&result.user.tags);
            store::save_secrets_manager(new.aws, name, &tags, &credential).await
        }
        _ => store::save_keyring(&result.user.name, &credential).await,
    };
    match saved {
        Ok(place) => {
            step(&mut result.steps, "store secret", format!("stored in {place}"));
            result.stored_in = Some(place);
            result.credential = Some(credential);
            result.location = Some(location);
            Ok(())
        }
        Err(error) => Err(undo(new, result, credential, Failure::Store(error)).await),
    }
}

/// Records on the IAM user where the delivered key went, and that it is no longer pending.
/// A failure here takes nothing back (the key was delivered): it is reported as a step.
async fn record_delivery(iam: &Iam, result: &mut Provisioned, location: &Location) {
    let id = result.credential.as_ref().map(|c| c.id.clone()).unwrap_or_default();
    let record = BTreeMap::from([(markers::store_tag(&id), location.record())]);
    let recorded = match markers::set(iam, &mut result.user, record).await {
        Ok(()) => {
            markers::remove(iam, &mut result.user, &[markers::pending_tag(result.kind)]).await
        }
        Err(error) => Err(error),
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "the delivery could not be recorded");
        step(
            &mut result.steps,
            "record delivery",
            format!(
                "could not record on the IAM user that {id} was delivered ({error}): if a later run asks whether to remove {id}, answer no"
            ),
        );
    }
}

/// Deletes the new key (and its pending record) and explains, in the returned error, what
/// happened and what AWS holds now.
async fn undo(
    new: &NewKey<'_>,
    result: &mut Provisioned,
    credential: NewCredential,
    failure: Failure,
) -> Error {
    let kind = result.kind;
    let unit = result.unit.as_str();
    let id = credential.id.clone();
    let metadata = Credential {
        id: id.clone(),
        kind,
        active: true,
        created: SystemTime::now(),
        expires: credential.expires,
    };
    drop(credential);
    let mut state = match new.iam.delete(&result.user.name, &metadata).await {
        Ok(()) => {
            // Left behind, the next run clears it on its own.
            let _ = markers::remove(new.iam, &mut result.user, &[markers::pending_tag(kind)]).await;
            format!("the new {} {id} was deleted again", kind.describe())
        }
        Err(error) => format!(
            "deleting the new {} {id} failed too ({error}): it is still active and nobody holds its secret; delete it with `bedprov key delete --business-unit {unit} --key-id {id} --yes` (the next `bedprov key create` or `key rotate` offers to)",
            kind.describe()
        ),
    };
    if let Some(replaced) = &result.replaced {
        let old = &replaced.credential;
        let status = if old.active { "active" } else { "inactive" };
        let _ = write!(state, "; the old key {} is untouched ({status})", old.id);
        if let Some(place) = markers::location(&result.user.tags, &old.id)
            .filter(|place| *place != Location::Printed)
        {
            let _ = write!(state, " and {place} still holds it");
        }
    }
    let (kind, message, hint) = match failure {
        Failure::Interrupted(signal) => (
            signal.kind(),
            format!("interrupted by {} before the new key's secret was delivered: {state}", signal.name()),
            "nothing else changed; run the command again when you are ready".to_owned(),
        ),
        Failure::Print(error) => (
            ErrorCode::Internal,
            format!("could not write the new key's secret to stdout ({error}): {state}"),
            "run it again with stdout going to a terminal or to a file with free space, or keep the key in a store (--store secretsmanager, --store keyring)".to_owned(),
        ),
        Failure::Store(error) | Failure::Record(error) => {
            (error.kind(), format!("{error}: {state}"), error.hint().to_owned())
        }
        Failure::Unverified => (
            ErrorCode::Aws,
            format!("the new key could not be verified within 30 s, so it was not handed out: {state}"),
            "IAM can take a while to make a new key usable: try the rotation again in a minute".to_owned(),
        ),
    };
    Error::new(kind, message, hint)
}
