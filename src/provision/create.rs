//! `bedprov key create`: the user (created, found, or adopted), the policy, what an
//! interrupted run left behind, then — unless the unit already has its key — a new key,
//! verified and delivered (see `issue`).

use super::iam::{Iam, Kind, ListError};
use super::interrupt::Interrupt;
use super::issue::{self, NewKey, Printer};
use super::store::{self, SecretState, Store};
use super::{CreateRequest, MAX_KEYS, Provisioned, markers, step, user_tags};
use super::{Step, at_limit, leftovers, rotation_target};
use crate::aws::Aws;
use crate::prompt::Questions;
use crate::timefmt::human_utc;
use crate::{Error, Result};
use std::collections::BTreeMap;

/// `bedprov key create`. With `--store print`, `printer` shows the new secret; whether to
/// make another key, or to remove one an interrupted run left, is asked of `questions`.
pub(crate) async fn create<P: Printer>(
    aws: &Aws,
    request: &CreateRequest,
    printer: &mut P,
    questions: &mut dyn Questions,
) -> Result<Provisioned> {
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
    // Bedrock API keys need IAM calls an AWS emulator may lack: listing them comes before
    // anything is created, so such an endpoint leaves no user behind.
    let listed = match request.kind {
        Kind::ApiKey => {
            Some(iam.try_credentials(&user_name, Kind::ApiKey).await.map_err(nothing_created)?)
        }
        Kind::AccessKey => None,
    };
    let mut steps = Vec::new();
    let (mut user, user_created) = ensure_user(&iam, request, &user_name, &mut steps).await?;
    let policy_arn = request.policy.arn(&aws.region);
    if iam.attached_policies(&user_name).await?.contains(&policy_arn) {
        step(&mut steps, "attach policy", format!("{policy_arn} already attached"));
    } else {
        iam.attach_policy(&user_name, &policy_arn).await?;
        step(&mut steps, "attach policy", format!("attached {policy_arn}"));
    }
    let existing = leftovers::settle(
        aws,
        &iam,
        &mut user,
        &request.unit,
        request.kind,
        listed,
        request.yes,
        questions,
        &mut steps,
    )
    .await?;
    if existing.len() >= MAX_KEYS {
        return Err(at_limit(&request.unit, request.kind, &existing, &user.tags));
    }
    let mut result = Provisioned {
        unit: request.unit.clone(),
        user,
        user_created,
        policy_arn: Some(policy_arn),
        kind: request.kind,
        region: aws.region.clone(),
        credential: None,
        existing,
        location: None,
        stored_in: None,
        verified: None,
        steps,
        replaced: None,
        printed_steps: None,
    };
    if !result.existing.is_empty()
        && !request.additional
        && !confirm_additional(request, &result.existing, questions)?
    {
        let ids: Vec<&str> = result.existing.iter().map(|c| c.id.as_str()).collect();
        let summary = format!("already provisioned ({}); nothing created", ids.join(", "));
        step(&mut result.steps, "create credential", summary);
        result.location = rotation_target(&result.existing)
            .and_then(|key| markers::location(&result.user.tags, &key.id));
        return Ok(result);
    }
    let secret_name = store::secret_name(request.unit.as_str());
    if request.store == Store::Secretsmanager {
        revive_secret(aws, &secret_name, &mut result.steps).await?;
    }
    let mut interrupt = Interrupt::catch()?;
    let new = NewKey {
        aws,
        iam: &iam,
        store: request.store,
        secret_name,
        age_days: request.age_days,
        verify: request.verify,
        rotation: false,
    };
    issue::issue(&new, &mut result, printer, &mut interrupt).await?;
    if let Some(signal) = interrupt.received() {
        step(
            &mut result.steps,
            "interrupted",
            format!(
                "{} came after the secret was delivered: nothing was left to stop",
                signal.name()
            ),
        );
    }
    Ok(result)
}

/// The error for an endpoint that cannot list Bedrock API keys, before anything was made.
fn nothing_created(error: ListError) -> Error {
    match error {
        ListError::NotImplemented(error) => Error::new(
            error.kind(),
            format!("cannot make Bedrock API keys here: {error}; nothing was created"),
            format!(
                "{}; `--kind access-key` works against AWS emulators such as moto",
                error.hint()
            ),
        )
        .with_source(error),
        ListError::Failed(error) => error,
    }
}

/// A Secrets Manager secret scheduled for deletion (after `key delete --user`) is restored
/// before a new key goes into it: a key is never written into a secret about to be destroyed.
async fn revive_secret(aws: &Aws, name: &str, steps: &mut Vec<Step>) -> Result<()> {
    if let SecretState::ScheduledForDeletion(on) = store::secret_state(aws, name).await? {
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
    Ok(())
}

async fn ensure_user(
    iam: &Iam,
    request: &CreateRequest,
    user_name: &str,
    steps: &mut Vec<Step>,
) -> Result<(super::User, bool)> {
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

fn confirm_additional(
    request: &CreateRequest,
    existing: &[super::Credential],
    questions: &mut dyn Questions,
) -> Result<bool> {
    if !questions.can_ask() {
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
    let answer =
        questions.confirm(&question, false).map_err(Error::io("cannot read the answer"))?;
    Ok(answer.unwrap_or(false))
}
