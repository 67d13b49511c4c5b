//! Keys a run created and never delivered — it was killed (SIGKILL, a power cut, a lost
//! connection) between creating a key and handing its secret over. `key create` and
//! `key rotate` read the pending record on the IAM user (see `markers`), say which key it
//! is, and remove it when the person agrees: asked on a terminal, `--yes` without one.
//! Nobody can be using such a key, so removing it only frees its place.

use super::iam::{Credential, Iam, Kind, User};
use super::markers::{self, Pending};
use super::store::{self, Location};
use super::unit::BusinessUnit;
use super::{Step, step};
use crate::aws::Aws;
use crate::prompt::Questions;
use crate::timefmt::human_duration;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// The user's keys of `kind` (`listed` when the caller has just listed them), after dealing
/// with any that an interrupted run left undelivered. Stops (exit 10) when one is kept.
#[allow(clippy::too_many_arguments)] // one workflow step, with everything it reads and changes
pub(super) async fn settle(
    aws: &Aws,
    iam: &Iam,
    user: &mut User,
    unit: &BusinessUnit,
    kind: Kind,
    listed: Option<Vec<Credential>>,
    yes: bool,
    questions: &mut dyn Questions,
    steps: &mut Vec<Step>,
) -> Result<Vec<Credential>> {
    let mut credentials = match listed {
        Some(credentials) => credentials,
        None => iam.credentials(&user.name, kind).await?,
    };
    // Killed after a store took the secret but before that was recorded: the store tells.
    if let Some(Pending::Created { id, location }) = markers::pending(&user.tags, kind)
        && credentials.iter().any(|c| c.id == id)
        && holds(aws, &user.name, &location, &id).await
    {
        let record = BTreeMap::from([(markers::store_tag(&id), location.record())]);
        markers::set(iam, user, record).await?;
        step(steps, "record delivery", format!("found {id} in {location}: recorded as delivered"));
    }
    if let Some(stale) = markers::stale_pending(&user.tags, &credentials, kind) {
        markers::remove(iam, user, &[stale]).await?;
    }
    let leftovers: Vec<Credential> =
        markers::undelivered(&user.tags, &credentials).into_iter().cloned().collect();
    for key in &leftovers {
        let age = human_duration(SystemTime::now().duration_since(key.created).unwrap_or_default());
        let what = format!(
            "{unit}'s {} {} (created {age} ago) was made by a run that stopped before its secret was shown or stored: nobody holds it",
            kind.describe(),
            key.id
        );
        let delete = format!("bedprov key delete --business-unit {unit} --key-id {} --yes", key.id);
        if !remove_it(&what, yes, questions)? {
            return Err(Error::new(
                ErrorCode::Declined,
                format!("{what}; it was kept, and nothing was created"),
                format!("delete it to go on (re-run with --yes, or run `{delete}`)"),
            ));
        }
        iam.delete(&user.name, key).await?;
        step(
            steps,
            "remove undelivered key",
            format!(
                "deleted {} {}, left by a run that never delivered it",
                kind.describe(),
                key.id
            ),
        );
    }
    if !leftovers.is_empty() {
        credentials.retain(|c| !leftovers.iter().any(|left| left.id == c.id));
        markers::remove(iam, user, &[markers::pending_tag(kind)]).await?;
    }
    Ok(credentials)
}

/// Whether `location` holds key `id` (a store that cannot be read holds nothing).
async fn holds(aws: &Aws, user_name: &str, location: &Location, id: &str) -> bool {
    match location {
        Location::Printed => false,
        Location::Keyring { .. } => store::keyring_holds(user_name, id).await,
        Location::SecretsManager { name } => {
            store::secrets_manager_holds(aws, name).await.ok().flatten().as_deref() == Some(id)
        }
    }
}

/// Yes with `--yes`; asked on a terminal; without either, no (the error says how to go on).
fn remove_it(what: &str, yes: bool, questions: &mut dyn Questions) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !questions.can_ask() {
        return Ok(false);
    }
    let question = format!("{what}. Delete it?");
    let answer = questions.confirm(&question, true).map_err(Error::io("cannot read the answer"))?;
    Ok(answer.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prompt::NoTerminal;

    /// Answers every yes/no question with `answer`, and keeps what was asked.
    struct Says(Option<bool>, Vec<(String, bool)>);

    impl Questions for Says {
        fn can_ask(&self) -> bool {
            true
        }
        fn confirm(&mut self, question: &str, default: bool) -> std::io::Result<Option<bool>> {
            self.1.push((question.to_owned(), default));
            Ok(self.0)
        }
        fn choose(&mut self, question: &str, _options: &[&str]) -> std::io::Result<Option<usize>> {
            panic!("a leftover key is a yes/no question: {question}")
        }
    }

    /// Removing a leftover key is asked through the caller's questions (yes by default, as
    /// nobody holds it); `--yes` asks nothing, and nobody to ask or no answer keeps the key.
    #[test]
    fn a_leftover_key_is_removed_when_the_answer_or_yes_says_so() {
        let mut says_yes = Says(Some(true), Vec::new());
        assert!(remove_it("AKIA1 was left", false, &mut says_yes).unwrap());
        assert_eq!(says_yes.1, [("AKIA1 was left. Delete it?".to_owned(), true)]);

        let mut never = Says(None, Vec::new());
        assert!(remove_it("x", true, &mut never).unwrap());
        assert!(never.1.is_empty(), "--yes asks nothing");
        assert!(!remove_it("x", false, &mut never).unwrap(), "no answer keeps it");
        assert!(!remove_it("x", false, &mut Says(Some(false), Vec::new())).unwrap());
        assert!(!remove_it("x", false, &mut NoTerminal).unwrap());
    }
}
