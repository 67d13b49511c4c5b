//! A plan from a plain-language request (`bedprov request`): a short human form,
//! ending in the equivalent command so people learn the CLI, and the JSON form
//! `{"action","key_type","business_unit","ttl_seconds","owner","region","store","notes"}`.

use crate::intent::{Action, Plan};
use crate::provision::store::{self, Store};
use serde::Serialize;
use std::fmt::Write as _;

/// The JSON form of a plan; fields that do not apply are `null`.
#[derive(Debug, Serialize)]
pub(crate) struct PlanBody<'a> {
    pub action: &'static str,
    pub key_type: &'static str,
    pub business_unit: Option<&'a str>,
    pub ttl_seconds: Option<u64>,
    pub owner: Option<&'a str>,
    pub region: Option<&'a str>,
    /// `create_key`: where the secret goes; `rotate_key`: the store named, or `null` for
    /// wherever the unit's key is kept now.
    pub store: Option<&'static str>,
    pub notes: Vec<&'a str>,
}

#[must_use]
pub(crate) fn body(plan: &Plan) -> PlanBody<'_> {
    PlanBody {
        action: plan.action.as_str(),
        key_type: plan.key_type().as_str(),
        business_unit: plan
            .business_unit
            .as_ref()
            .map(crate::provision::unit::BusinessUnit::as_str),
        ttl_seconds: plan.ttl.map(crate::ttl::Ttl::as_secs),
        owner: plan.owner.as_ref().map(crate::provision::unit::Owner::as_str),
        region: plan.region.as_ref().map(crate::region::Region::as_str),
        store: match plan.action {
            Action::GenerateToken => None,
            Action::CreateKey => Some(plan.store.unwrap_or(Store::Print).as_arg()),
            Action::RotateKey => plan.store.map(Store::as_arg),
        },
        notes: plan.all_notes(),
    }
}

/// JSON, pretty-printed, with a trailing newline.
#[must_use]
pub(crate) fn json(plan: &Plan) -> String {
    let mut out = serde_json::to_string_pretty(&body(plan)).expect("a plan always serializes");
    out.push('\n');
    out
}

/// The plan for people: what, the values, why, notes, and the equivalent command.
#[must_use]
pub(crate) fn human(plan: &Plan) -> String {
    let mut out = String::new();
    let unit = plan.business_unit.as_ref();
    let title = match (plan.action, unit) {
        (Action::GenerateToken, _) => "Plan: generate a short-term Bedrock API key".to_owned(),
        (Action::CreateKey, Some(unit)) => {
            format!("Plan: create a long-term Bedrock key for {unit}")
        }
        (Action::RotateKey, Some(unit)) => {
            format!("Plan: rotate the long-term Bedrock key of {unit}")
        }
        (_, None) => "Plan: a long-term Bedrock key".to_owned(),
    };
    let _ = writeln!(out, "{title}\n");
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{:<15}{value}", format!("{label}:"));
    };
    match plan.action {
        Action::GenerateToken => line("Type", "Short-term token (recommended)"),
        Action::CreateKey => line("Type", "Long-term IAM access key"),
        Action::RotateKey => line("Type", "Long-term IAM access key (rotation)"),
    }
    if let Some(unit) = unit {
        line("Business unit", &format!("{unit} (IAM user {})", unit.user_name()));
    }
    if let Some(ttl) = plan.ttl {
        line("TTL", &format!("{ttl} (real expiry = min(TTL, your credentials' expiry))"));
    }
    if let Some(owner) = &plan.owner {
        line("Owner", owner.as_str());
    }
    let unit_name = unit.map_or("UNIT", |u| u.as_str());
    let place = |store: Store| match store {
        Store::Print => "printed once on stdout".to_owned(),
        Store::Keyring => "the OS keyring".to_owned(),
        Store::Secretsmanager => {
            format!("AWS Secrets Manager secret {}", store::secret_name(unit_name))
        }
    };
    match (plan.action, plan.store) {
        (Action::GenerateToken, _) => {}
        (Action::CreateKey, store) => line("Store", &place(store.unwrap_or(Store::Print))),
        (Action::RotateKey, None) => {
            line("Store", "where the unit's key is kept now (recorded on its IAM user)");
        }
        (Action::RotateKey, Some(store)) => {
            line("Store", &format!("{} (must be where the unit's key is kept now)", place(store)));
        }
    }
    match (&plan.region, plan.action) {
        (Some(region), _) => line("Region", region.as_str()),
        (None, Action::GenerateToken) => {
            line("Region", "not named: $AWS_REGION, else the profile's, else us-east-1");
        }
        (None, _) => {}
    }
    line("Why", &plan.reason);
    for note in &plan.notes {
        line("Note", note);
    }
    let _ = writeln!(out, "\nEquivalent: {}", command_line(&plan.argv()));
    out
}

/// `bedprov` and its arguments as one line to paste into a POSIX shell: plan values are
/// validated to safe characters, and anything else would be single-quoted anyway.
#[must_use]
pub(crate) fn command_line(argv: &[String]) -> String {
    crate::wire::shell::posix_command_line(
        std::iter::once("bedprov").chain(argv.iter().map(String::as_str)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intent::{NoTerminal, understand};

    fn plan(text: &str) -> Plan {
        understand(text, &mut NoTerminal).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn json_has_exactly_the_documented_fields_in_order() {
        let out = json(&plan("Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1"));
        let value: serde_json::Value = serde_json::from_str(&out).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "action",
                "business_unit",
                "key_type",
                "notes",
                "owner",
                "region",
                "store",
                "ttl_seconds"
            ]
        );
        assert!(out.find("\"action\"") < out.find("\"key_type\""));
        assert!(out.find("\"region\"") < out.find("\"store\""));
        assert!(out.find("\"store\"") < out.find("\"notes\""));
        assert_eq!(value["action"], "create_key");
        assert_eq!(value["store"], "print");
        assert_eq!(value["key_type"], "long_term");
        assert!(value["ttl_seconds"].is_null());
        assert!(out.ends_with("}\n"));
    }

    #[test]
    fn human_plan_ends_with_the_equivalent_command() {
        let out = human(&plan("Quick Bedrock access for 30 minutes in eu-west-1"));
        assert!(out.starts_with("Plan: generate a short-term Bedrock API key\n\n"), "{out}");
        assert!(out.contains("TTL:           30m "), "{out}");
        assert!(out.contains("Region:        eu-west-1\n"), "{out}");
        assert!(
            out.ends_with("\nEquivalent: bedprov token --ttl 30m --region eu-west-1\n"),
            "{out}"
        );

        let out = human(&plan("rotate the key for data-science"));
        assert!(out.contains("Business unit: data-science (IAM user data-science-bedrock-user)"));
        assert!(!out.contains("Region:"), "{out}");
        assert!(out.ends_with("Equivalent: bedprov key rotate --business-unit data-science\n"));
    }

    #[test]
    fn command_line_quotes_what_a_shell_would_read() {
        let argv = ["key".to_owned(), "it's $(x)".to_owned(), String::new()];
        assert_eq!(command_line(&argv), r"bedprov key 'it'\''s $(x)' ''");
    }
}
