//! `bedprov key rotate`: a new key into the same place as the key it replaces (stdout, the
//! OS keyring, or the unit's Secrets Manager secret — found from the record on the IAM user
//! and checked against the store itself), verified and delivered, and only then the old
//! key deactivated (or deleted). The unit is never left without the key its hosts read.

use super::iam::{Credential, Iam, Kind, User};
use super::interrupt::{Interrupt, Signal};
use super::issue::{self, NewKey, Printer};
use super::store::{self, Location, SecretState, Store};
use super::unit::BusinessUnit;
use super::{MAX_KEYS, Provisioned, Replaced, Retire, RotateRequest, Step};
use super::{at_limit, leftovers, managed_user, markers, rotation_target, step};
use crate::aws::Aws;
use crate::prompt::Questions;
use crate::timefmt::human_utc;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};

/// `bedprov key rotate`. With the unit's key printed, `printer` shows the new secret; whether
/// to remove a key an interrupted run left is asked of `questions`.
pub(crate) async fn rotate<P: Printer>(
    aws: &Aws,
    request: &RotateRequest,
    printer: &mut P,
    questions: &mut dyn Questions,
) -> Result<Provisioned> {
    let iam = Iam::new(aws.iam());
    let mut user = managed_user(&iam, &request.unit).await?;
    let mut steps = Vec::new();
    let kind = request.kind;
    let (unit, yes) = (&request.unit, request.yes);
    let existing =
        leftovers::settle(aws, &iam, &mut user, unit, kind, None, yes, questions, &mut steps)
            .await?;
    let Some(old) = rotation_target(&existing).cloned() else {
        let create = match kind {
            Kind::AccessKey => String::new(),
            Kind::ApiKey => " --kind api-key".to_owned(),
        };
        return Err(Error::new(
            ErrorCode::Missing,
            format!("{} has no {} to rotate", request.unit, kind.describe()),
            format!("create one: bedprov key create --business-unit {}{create}", request.unit),
        ));
    };
    if existing.len() >= MAX_KEYS {
        return Err(at_limit(&request.unit, kind, &existing, &user.tags));
    }
    let location = locate(aws, &user, &request.unit, &old, request.store, &mut steps).await?;
    let last_used = iam.last_used(&old).await?;
    let retire = if request.delete_old { Retire::Delete } else { Retire::Deactivate };
    let mut result = Provisioned {
        unit: request.unit.clone(),
        user,
        user_created: false,
        policy_arn: None,
        kind,
        region: aws.region.clone(),
        credential: None,
        existing,
        location: None,
        stored_in: None,
        verified: None,
        steps,
        replaced: Some(Replaced { credential: old.clone(), last_used, retire, done: false }),
        printed_steps: None,
    };
    let secret_name = match &location {
        Location::SecretsManager { name } => name.clone(),
        _ => store::secret_name(request.unit.as_str()),
    };
    let mut interrupt = Interrupt::catch()?;
    let new = NewKey {
        aws,
        iam: &iam,
        store: location.store(),
        secret_name,
        age_days: request.age_days,
        verify: true,
        rotation: true,
    };
    issue::issue(&new, &mut result, printer, &mut interrupt).await?;
    if let Some(signal) = interrupt.received() {
        return Err(stopped_before_retiring(signal, &result, &old));
    }
    retire_old(&iam, &mut result, &old, retire).await?;
    Ok(result)
}

async fn retire_old(
    iam: &Iam,
    result: &mut Provisioned,
    old: &Credential,
    retire: Retire,
) -> Result<()> {
    let user_name = result.user.name.clone();
    let done = match retire {
        Retire::Delete => iam.delete(&user_name, old).await,
        Retire::Deactivate => iam.set_active(&user_name, old, false).await,
    };
    if let Err(error) = done {
        let new_id = result.credential.as_ref().map_or("", |c| c.id.as_str());
        return Err(Error::new(error.kind(),
            format!(
                "the new key {new_id} was delivered, but the old key {} could not be {}: {error}",
                old.id,
                retire.done()
            ),
            format!(
                "once your systems use the new key, remove the old one: bedprov key delete --business-unit {} --key-id {}",
                result.unit, old.id
            ),
        )
        .with_source(error));
    }
    if retire == Retire::Delete {
        store::forget_keyring(&user_name, &old.id).await;
        // The record of a deleted key is only clutter; a failure to drop it changes nothing.
        let _ = markers::remove(iam, &mut result.user, &[markers::store_tag(&old.id)]).await;
    }
    step(&mut result.steps, "retire old credential", format!("{} {}", old.id, retire.done()));
    if let Some(replaced) = &mut result.replaced {
        replaced.done = true;
    }
    Ok(())
}

/// A signal after the new key was delivered: the old key is left as it was (both work).
fn stopped_before_retiring(signal: Signal, result: &Provisioned, old: &Credential) -> Error {
    let new_id = result.credential.as_ref().map_or("", |c| c.id.as_str());
    let place = result.location.as_ref().map_or_else(String::new, |l| format!(" to {l}"));
    Error::new(
        signal.kind(),
        format!(
            "interrupted by {} after the new key {new_id} was delivered{place}: the old key {} was left {}",
            signal.name(),
            old.id,
            if old.active { "active" } else { "inactive" }
        ),
        format!(
            "once your systems use the new key, remove the old one: bedprov key delete --business-unit {} --key-id {}",
            result.unit, old.id
        ),
    )
}

/// Where the key being rotated is kept, from the record on the IAM user (or, for keys made
/// before bedprov kept records, from the stores themselves), checked against the store: the
/// new key goes to the same place.
async fn locate(
    aws: &Aws,
    user: &User,
    unit: &BusinessUnit,
    old: &Credential,
    asked: Option<Store>,
    steps: &mut Vec<Step>,
) -> Result<Location> {
    let location = match markers::location(&user.tags, &old.id) {
        Some(recorded) => recorded,
        None => discover(aws, user, unit, old, asked).await?,
    };
    if let Some(asked) = asked
        && asked != location.store()
    {
        let kind = match old.kind {
            Kind::AccessKey => String::new(),
            Kind::ApiKey => " --kind api-key".to_owned(),
        };
        return Err(Error::usage(
            format!(
                "{unit}'s key {} is kept in {location}, not where --store {} puts it: rotating it there would retire the key that is read from {location}",
                old.id,
                asked.as_arg()
            ),
            format!(
                "rotate it where it is kept (leave --store out, or pass --store {}); to move {unit} elsewhere, create a key there (bedprov key create --business-unit {unit}{kind} --additional --store {}), switch your systems to it, then delete {}",
                location.store().as_arg(),
                asked.as_arg(),
                old.id
            ),
        ));
    }
    check(aws, &user.name, unit, old, &location, steps).await?;
    Ok(location)
}

/// The store a key without a record was put in: the unit's Secrets Manager secret or the
/// OS keyring when they hold it, else stdout.
async fn discover(
    aws: &Aws,
    user: &User,
    unit: &BusinessUnit,
    old: &Credential,
    asked: Option<Store>,
) -> Result<Location> {
    if store::keyring_holds(&user.name, &old.id).await {
        return Ok(Location::Keyring { account: store::keyring_account(&user.name, &old.id) });
    }
    let name = store::secret_name(unit.as_str());
    let in_secrets_manager = match store::secret_state(aws, &name).await {
        Ok(SecretState::Live) => store::secrets_manager_holds(aws, &name)
            .await
            .map(|held| held.as_deref() == Some(old.id.as_str())),
        Ok(_) => Ok(false),
        Err(error) => Err(error),
    };
    match (in_secrets_manager, asked) {
        (Ok(true), _) => Ok(Location::SecretsManager { name }),
        (Ok(false), _) => Ok(Location::Printed),
        // Told where it is: that is the best knowledge left.
        (Err(_), Some(asked)) => Ok(Location::new(asked, unit.as_str(), &user.name, &old.id)),
        (Err(error), None) => Err(Error::new(
            error.kind(),
            format!("cannot tell where {unit}'s key {} is kept: {error}", old.id),
            "pass --store print, keyring or secretsmanager to say where it is",
        )
        .with_source(error)),
    }
}

/// The store holds the key being rotated (and a secret about to be destroyed is restored).
async fn check(
    aws: &Aws,
    user_name: &str,
    unit: &BusinessUnit,
    old: &Credential,
    location: &Location,
    steps: &mut Vec<Step>,
) -> Result<()> {
    let missing = |what: String| {
        Error::new(
            ErrorCode::Missing,
            what,
            format!(
                "see `bedprov key list --business-unit {unit}`; to start over in that store, create a key there (bedprov key create --business-unit {unit} --additional --store {}) and delete {}",
                location.store().as_arg(),
                old.id
            ),
        )
    };
    match location {
        Location::Printed => Ok(()),
        Location::Keyring { account } => {
            store::probe_keyring().await?;
            if store::keyring_holds(user_name, &old.id).await {
                Ok(())
            } else {
                Err(missing(format!(
                    "the OS keyring here has no entry for {} (account `{account}`), where it was stored: rotate on the machine whose keyring holds it",
                    old.id
                )))
            }
        }
        Location::SecretsManager { name } => {
            match store::secret_state(aws, name).await? {
                SecretState::Missing => {
                    return Err(missing(format!(
                        "Secrets Manager secret `{name}`, where {} was stored, does not exist",
                        old.id
                    )));
                }
                SecretState::ScheduledForDeletion(on) => {
                    store::restore_secret(aws, name).await?;
                    let when = on.map_or_else(String::new, |on| format!(" on {}", human_utc(on)));
                    step(
                        steps,
                        "restore secret",
                        format!(
                            "Secrets Manager secret `{name}` was scheduled for deletion{when}: restored it, so the new key goes into a secret that stays"
                        ),
                    );
                }
                SecretState::Live => {}
            }
            match store::secrets_manager_holds(aws, name).await? {
                Some(held) if held == old.id => Ok(()),
                held => Err(missing(format!(
                    "Secrets Manager secret `{name}` holds {}, not {} (the key being rotated)",
                    held.as_deref().unwrap_or("no bedprov key"),
                    old.id
                ))),
            }
        }
    }
}
