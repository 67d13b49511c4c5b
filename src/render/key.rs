//! Long-term credentials, in formats to share: human (plain text), Markdown (the same
//! sections, for tickets and wikis) and JSON. The secret appears exactly once, in the
//! copy-paste snippet, and only when it was asked to be printed. That output is printed in
//! two parts: [`delivery`] (everything known when the secret is handed over, written by the
//! workflow before the old key is retired) and [`after_delivery`] (the steps that followed).
//! No suggested command puts a secret on a command line.

use super::Format;
use crate::provision::iam::{Credential, Kind, NewCredential};
use crate::provision::markers::{self, Delivery};
use crate::provision::store::Location;
use crate::provision::unit::BusinessUnit;
use crate::provision::{Deleted, Listing, NotListed, Provisioned, Step};
use crate::timefmt::{human_duration, human_utc, rfc3339};
use crate::wire::api;
use crate::wire::shell::{self, Shell};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// The JSON shape of `key create` / `key rotate` (fields that do not apply are null; the
/// secret fields are null unless the secret was printed). Private and without `Debug`: it
/// holds the secret in the clear, for the one moment it is serialized to stdout.
#[derive(Serialize)]
struct CreatedBody<'a> {
    pub business_unit: &'a str,
    pub user_name: &'a str,
    pub user_created: bool,
    pub policy_arn: Option<&'a str>,
    pub kind: Kind,
    pub access_key_id: Option<&'a str>,
    pub secret_access_key: Option<&'a str>,
    pub api_key: Option<&'a str>,
    pub expires_at: Option<String>,
    pub stored_in: Option<&'a str>,
    pub verified: Option<bool>,
}

/// The output that carries a new secret, as it is when the secret is handed over.
#[must_use]
pub(crate) fn delivery(result: &Provisioned, format: Format) -> Zeroizing<String> {
    Zeroizing::new(shown(result, format))
}

/// What follows [`delivery`]: the steps done after it (nothing in JSON, a single document).
#[must_use]
pub(crate) fn after_delivery(result: &Provisioned, format: Format) -> String {
    let mut out = String::new();
    if format != Format::Json {
        let later =
            result.steps.get(result.printed_steps.unwrap_or_default()..).unwrap_or_default();
        step_lines(&mut out, later, &Style { markdown: format == Format::Markdown });
    }
    out
}

/// The whole output in `format`.
#[must_use]
pub(crate) fn shown(result: &Provisioned, format: Format) -> String {
    match format {
        Format::Json => json(result),
        Format::Markdown => human(result, true),
        // The rest is human: the key commands' parser admits no other.
        _ => human(result, false),
    }
}

/// True when the new secret is to be printed (not stored).
fn printed(result: &Provisioned) -> bool {
    result.credential.is_some() && result.location == Some(Location::Printed)
}

#[must_use]
pub(crate) fn json(result: &Provisioned) -> String {
    let credential = result.credential.as_ref();
    let printed = printed(result);
    let secret = credential.filter(|_| printed).map(|c| c.secret.expose());
    let body = CreatedBody {
        business_unit: result.unit.as_str(),
        user_name: &result.user.name,
        user_created: result.user_created,
        policy_arn: result.policy_arn.as_deref(),
        kind: result.kind,
        access_key_id: credential.filter(|c| c.kind == Kind::AccessKey).map(|c| c.id.as_str()),
        secret_access_key: secret.filter(|_| result.kind == Kind::AccessKey),
        api_key: secret.filter(|_| result.kind == Kind::ApiKey),
        expires_at: credential.and_then(|c| c.expires).map(rfc3339),
        stored_in: result.stored_in.as_deref(),
        verified: result.verified,
    };
    let mut out = serde_json::to_string_pretty(&body).expect("serializes");
    out.push('\n');
    out
}

/// Formatting helpers that differ between plain text and Markdown.
struct Style {
    markdown: bool,
}

impl Style {
    fn bold(&self, text: &str) -> String {
        if self.markdown { format!("**{text}**") } else { text.to_owned() }
    }

    fn code_block(&self, out: &mut String, lang: &str, body: &str) {
        if self.markdown {
            let _ = writeln!(out, "```{lang}\n{body}```");
        } else {
            out.push_str(body);
        }
    }
}

/// The long-term output: the unit, its user and key, the copy-paste snippet and what to do
/// next (or, when nothing was created, what exists and how to add).
#[must_use]
pub(crate) fn human(result: &Provisioned, markdown: bool) -> String {
    let style = Style { markdown };
    let mut out = String::new();
    match &result.credential {
        None => already_provisioned(&mut out, result, &style),
        Some(credential) => {
            header(&mut out, result, credential, &style);
            secret(&mut out, result, credential, &style);
            guidance(&mut out, result, &style);
        }
    }
    steps(&mut out, result, &style);
    out
}

fn already_provisioned(out: &mut String, result: &Provisioned, style: &Style) {
    let unit = result.unit.as_str();
    let _ = writeln!(out, "✓ {unit} is already provisioned: nothing new was created\n");
    let _ = writeln!(out, "{} {}", style.bold("IAM User:"), result.user.name);
    for existing in &result.existing {
        let _ = writeln!(out, "{} {}", style.bold("Existing key:"), describe_existing(existing));
    }
    let _ = writeln!(out, "\nSecrets are shown only once, at creation. To get a new one:");
    let kind = if result.kind == Kind::ApiKey { " --kind api-key" } else { "" };
    let _ = writeln!(
        out,
        "  bedprov key create --business-unit {unit}{kind} --additional  # a second key (two at most)"
    );
    let _ = writeln!(out, "  {}  # replace the old one safely", rotate_command(result));
}

fn header(out: &mut String, result: &Provisioned, credential: &NewCredential, style: &Style) {
    let unit = result.unit.as_str();
    let title = match (result.replaced.is_some(), result.kind) {
        (true, kind) => format!("✓ {} rotated for {unit}", kind.describe()),
        (false, Kind::AccessKey) => format!("✓ Bedrock IAM access keys created for {unit}"),
        (false, Kind::ApiKey) => format!("✓ Long-term Bedrock API key created for {unit}"),
    };
    let _ = writeln!(out, "{title}\n");
    let kind_text = match result.kind {
        Kind::AccessKey => "Long-term IAM access keys",
        Kind::ApiKey => "Long-term Amazon Bedrock API key",
    };
    let _ = writeln!(out, "{} {kind_text}", style.bold("Type:"));
    let _ = writeln!(out, "{} {}", style.bold("IAM User:"), result.user.name);
    let _ = writeln!(out, "{} {}", style.bold("Region:"), result.region);
    let shown_id: String = credential.id.chars().take(12).collect();
    let id_label = if result.kind == Kind::AccessKey { "Access Key ID:" } else { "Credential ID:" };
    let _ = writeln!(out, "{} {shown_id}...", style.bold(id_label));
    if let Some(expires) = credential.expires {
        let _ = writeln!(out, "{} {}", style.bold("Expires:"), human_utc(expires));
    }
    let verified = match result.verified {
        Some(true) => "yes",
        Some(false) => "NO (see below)",
        None => "not checked",
    };
    let _ = writeln!(out, "{} {verified}", style.bold("Verified:"));
    if let Some(replaced) = &result.replaced {
        let last_use = replaced.last_used.as_ref().map_or_else(
            || "never used (as far as IAM records)".to_owned(),
            |u| format!("last used {} ({}, {})", human_utc(u.at), u.service, u.region),
        );
        // Printed before the old key is retired: then it says what comes next.
        let outcome = if replaced.done {
            replaced.retire.done().to_owned()
        } else {
            format!("to be {} next", replaced.retire.done())
        };
        let _ = writeln!(
            out,
            "{} {} {outcome} — {last_use}",
            style.bold("Old key:"),
            replaced.credential.id,
        );
    }
    out.push('\n');
}

/// The snippet with the secret (the only place it appears), or where it was stored.
fn secret(out: &mut String, result: &Provisioned, credential: &NewCredential, style: &Style) {
    if !printed(result) {
        let place = result.stored_in.as_deref().unwrap_or("a store");
        let _ = writeln!(out, "🔒 The secret was stored in {place} and is not shown.\n");
        return;
    }
    let region = result.region.as_str();
    let _ = writeln!(
        out,
        "⚠️ {}\n",
        style.bold("CRITICAL: Save these credentials now - they cannot be retrieved later")
    );
    let _ = writeln!(out, "## Quick Setup (copy/paste)");
    // The region under both names, as every env output: boto3 reads only AWS_DEFAULT_REGION.
    let vars: Vec<(&str, &str)> = match result.kind {
        Kind::AccessKey => vec![
            ("AWS_ACCESS_KEY_ID", credential.id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", credential.secret.expose()),
            (api::REGION_VAR, region),
            (api::DEFAULT_REGION_VAR, region),
        ],
        Kind::ApiKey => api::token_vars(credential.secret.expose(), region).to_vec(),
    };
    let snippet = shell::export_lines(Shell::Posix, &vars).unwrap_or_else(|e| format!("# {e}\n"));
    style.code_block(out, "bash", &snippet);
    out.push('\n');
}

/// Test command, security reminder, rotation and cost tracking: the closing sections.
fn guidance(out: &mut String, result: &Provisioned, style: &Style) {
    let unit = result.unit.as_str();
    let region = result.region.as_str();
    let _ = writeln!(out, "## Test Command");
    let test = match result.kind {
        Kind::AccessKey => format!(
            "aws sts get-caller-identity && aws bedrock list-foundation-models --by-provider anthropic --region {region} --query 'modelSummaries[].modelId'\n"
        ),
        // printf is a shell builtin: the key reaches curl on its stdin (-H @-), never on a
        // command line, where any local user can read it while curl runs.
        Kind::ApiKey => format!(
            "printf 'Authorization: Bearer %s\\n' \"$AWS_BEARER_TOKEN_BEDROCK\" | curl -sS -H @- \"https://bedrock.{region}.amazonaws.com/foundation-models?byProvider=anthropic\"\n"
        ),
    };
    style.code_block(out, "bash", &test);
    let _ = writeln!(out, "\n## Security Reminder");
    let _ = writeln!(
        out,
        "⚠️ {} These are long-term credentials with high security risk.",
        style.bold("Important:")
    );
    let _ = writeln!(
        out,
        "- Store them in AWS Secrets Manager or a vault (1Password, Vault, …): `--store secretsmanager` does it for you"
    );
    let _ = writeln!(out, "- NEVER commit them to version control");
    let _ = writeln!(
        out,
        "- Rotate every 30-90 days minimum (`bedprov key list` flags keys past 90 days)"
    );
    let _ = writeln!(out, "- Set up AWS CloudTrail alerts for unusual activity");
    let _ = writeln!(
        out,
        "- Prefer short-term tokens where you can: `bedprov token`, or the daemon and `bedprov-helper`"
    );
    let _ = writeln!(out, "\n## Rotation Instructions");
    let into = match &result.location {
        Some(place @ (Location::Keyring { .. } | Location::SecretsManager { .. })) => {
            format!(" into {place}")
        }
        _ => String::new(),
    };
    let rotation = format!(
        "{}  # a new key{into}, verified, then the old one deactivated\n# update every system, then remove the old key:\nbedprov key delete --business-unit {unit} --key-id OLD_KEY_ID\n",
        rotate_command(result)
    );
    style.code_block(out, "bash", &rotation);
    let _ = writeln!(out, "\n## Cost Tracking");
    let _ = writeln!(out, "This IAM user is tagged with:");
    for (key, value) in &markers::cost_tags(&result.user.tags) {
        let _ = writeln!(out, "- {key}: {value}");
    }
    let _ = writeln!(out, "\nQuery costs in AWS Cost Explorer by filtering on these tags.");
}

/// `bedprov key rotate` for this unit, its kind of key and the store its key is kept in.
fn rotate_command(result: &Provisioned) -> String {
    let mut command = format!("bedprov key rotate --business-unit {}", result.unit);
    if result.kind == Kind::ApiKey {
        command.push_str(" --kind api-key");
    }
    if let Some(place @ (Location::Keyring { .. } | Location::SecretsManager { .. })) =
        &result.location
    {
        command.push_str(" --store ");
        command.push_str(place.store().as_arg());
    }
    command
}

fn steps(out: &mut String, result: &Provisioned, style: &Style) {
    let _ = writeln!(out, "\n## Steps");
    step_lines(out, &result.steps, style);
}

fn step_lines(out: &mut String, steps: &[Step], style: &Style) {
    for step in steps {
        let _ = writeln!(out, "- {} {}", style.bold(&format!("{}:", step.step)), step.result);
    }
}

fn describe_existing(credential: &Credential) -> String {
    let age =
        human_duration(SystemTime::now().duration_since(credential.created).unwrap_or_default());
    format!(
        "{} ({}, created {age} ago)",
        credential.id,
        if credential.active { "active" } else { "inactive" }
    )
}

/// `key list`, for people: the users and their keys, then any kind of key the endpoint
/// could not list, and why.
#[must_use]
pub(crate) fn list_human(listing: &Listing) -> String {
    let mut out = String::new();
    if listing.users.is_empty() {
        out.push_str("No bedprov-managed IAM users yet. Create one: bedprov key create --business-unit NAME\n");
        return out;
    }
    let now = SystemTime::now();
    let no_keys = if listing.unlisted.is_empty() { "(no keys)" } else { "(no keys listed)" };
    for entry in &listing.users {
        let owner = entry.user.tags.get("owner").map_or(String::new(), |o| format!(" · owner {o}"));
        let _ = writeln!(out, "{}{owner}", entry.user.name);
        if entry.keys.is_empty() {
            let _ = writeln!(out, "    {no_keys}");
        }
        for key in &entry.keys {
            let c = &key.credential;
            let age = human_duration(now.duration_since(c.created).unwrap_or_default());
            let used = key.last_used.as_ref().map_or_else(
                || "never used".to_owned(),
                |u| format!("last used {}", human_utc(u.at)),
            );
            let used =
                if c.kind == Kind::ApiKey { "use not recorded by IAM".to_owned() } else { used };
            let due = if key.rotation_due { " · ROTATION DUE (over 90 days)" } else { "" };
            let expires =
                c.expires.map_or(String::new(), |e| format!(" · expires {}", human_utc(e)));
            let unit = BusinessUnit::from_user_name(&entry.user.name)
                .map_or_else(|| entry.user.name.clone(), |u| u.to_string());
            let delivery = match &key.delivery {
                Delivery::Delivered(
                    place @ (Location::Keyring { .. } | Location::SecretsManager { .. }),
                ) => {
                    format!(" · kept in {place}")
                }
                Delivery::Undelivered => format!(
                    " · NOT DELIVERED: a run that stopped half-way made it, and nobody holds its secret; remove it: bedprov key delete --business-unit {unit} --key-id {} --yes",
                    c.id
                ),
                Delivery::Delivered(_) | Delivery::Unrecorded => String::new(),
            };
            let _ = writeln!(
                out,
                "    {} {} · {} · age {age} · {used}{expires}{due}{delivery}",
                c.kind.describe(),
                c.id,
                if c.active { "active" } else { "inactive" }
            );
        }
    }
    for (kind, error) in &listing.unlisted {
        let _ = writeln!(out, "\nNote: {}", NotListed { kind: *kind, error });
    }
    out
}

/// `key list` as JSON: `users`, and `not_listed` (kinds of key the endpoint could not list,
/// each with the error's message and hint).
#[must_use]
pub(crate) fn list_json(listing: &Listing) -> String {
    let users: Vec<serde_json::Value> = listing
        .users
        .iter()
        .map(|entry| {
            serde_json::json!({
                "user_name": entry.user.name,
                "business_unit": entry.user.tags.get("business-unit"),
                "owner": entry.user.tags.get("owner"),
                "keys": entry.keys.iter().map(|k| serde_json::json!({
                    "id": k.credential.id,
                    "kind": k.credential.kind,
                    "status": if k.credential.active { "active" } else { "inactive" },
                    "created_at": rfc3339(k.credential.created),
                    "expires_at": k.credential.expires.map(rfc3339),
                    "last_used_at": k.last_used.as_ref().map(|u| rfc3339(u.at)),
                    "rotation_due": k.rotation_due,
                    "delivered": k.delivery != Delivery::Undelivered,
                    "store": match &k.delivery {
                        Delivery::Delivered(place) => Some(place.record()),
                        Delivery::Undelivered | Delivery::Unrecorded => None,
                    },
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let not_listed: Vec<serde_json::Value> = listing
        .unlisted
        .iter()
        .map(|(kind, error)| {
            serde_json::json!({ "kind": kind, "message": error.to_string(), "hint": error.hint() })
        })
        .collect();
    let mut out = serde_json::to_string_pretty(
        &serde_json::json!({ "users": users, "not_listed": not_listed }),
    )
    .expect("serializes");
    out.push('\n');
    out
}

/// `key delete`.
#[must_use]
pub(crate) fn deleted(result: &Deleted) -> String {
    let mut out = String::from("✓ Done\n");
    for step in &result.steps {
        let _ = writeln!(out, "- {}: {}", step.step, step.result);
    }
    out
}
