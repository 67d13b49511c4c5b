//! `bedprov check`: identity, Claude model access and the token self-check. For people, what
//! AWS answered (the identity, model names, error messages) is quoted (`quote::shown_long`).

use crate::quote::{shown, shown_long};
use crate::verify::Check;
use std::fmt::Write as _;

#[must_use]
pub(crate) fn json(check: &Check) -> String {
    let problem =
        |p: &crate::verify::Problem| serde_json::json!({ "message": p.message, "hint": p.hint });
    let value = serde_json::json!({
        "ok": check.ok(),
        "profile": check.profile,
        "credential_source": check.credential_source,
        "region": check.region,
        "identity": check.identity.as_ref().map_or_else(|p| serde_json::json!({ "error": problem(p) }), |i| serde_json::to_value(i).unwrap_or_default()),
        "models": check.models.as_ref().map_or_else(|p| serde_json::json!({ "error": problem(p) }), |m| serde_json::to_value(m).unwrap_or_default()),
        "token": check.token.as_ref().map_or_else(|p| serde_json::json!({ "error": problem(p) }), |t| serde_json::to_value(t).unwrap_or_default()),
    });
    let mut out = serde_json::to_string_pretty(&value).expect("serializes");
    out.push('\n');
    out
}

#[must_use]
pub(crate) fn human(check: &Check) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Profile: {}   Region: {} ({})",
        shown(&check.profile),
        check.region,
        check.region_source
    );
    let signed_by = super::token::signed_by(
        Some(check.credential_source),
        &check.profile,
        Some(&check.access_key_id),
    );
    let _ = writeln!(out, "Signed by: {signed_by}\n");
    match &check.identity {
        Ok(identity) => {
            let _ = writeln!(
                out,
                "✓ Identity: {} (account {})",
                shown_long(&identity.arn),
                shown(&identity.account)
            );
        }
        Err(problem) => {
            let _ = writeln!(
                out,
                "✗ Identity: {}\n  hint: {}",
                shown_long(&problem.message),
                shown_long(&problem.hint)
            );
        }
    }
    match &check.models {
        Ok(models) if models.is_empty() => {
            let _ =
                writeln!(out, "✗ Claude models: AWS lists no Anthropic models in {}", check.region);
            let _ = writeln!(
                out,
                "  hint: try a region with Claude (e.g. --region us-east-1 or us-west-2), and enable model access in the Bedrock console"
            );
        }
        Ok(models) => {
            let _ = writeln!(out, "✓ Claude models in {} (as AWS lists them):", check.region);
            for model in models {
                let status = model.status.as_deref().map_or("status unknown".into(), shown);
                let name =
                    model.name.as_deref().map_or(String::new(), |n| format!(" — {}", shown(n)));
                let _ = writeln!(out, "  - {} ({status}){name}", shown_long(&model.model_id));
            }
        }
        Err(problem) => {
            let _ = writeln!(
                out,
                "✗ Claude models: {} (no model list is shown without AWS's answer)\n  hint: {}",
                shown_long(&problem.message),
                shown_long(&problem.hint)
            );
        }
    }
    match &check.token {
        Ok(token) => {
            let _ = writeln!(
                out,
                "✓ Token self-check: a fresh token decodes to {} and expires {}",
                token.region, token.expires_at
            );
        }
        Err(problem) => {
            let _ = writeln!(
                out,
                "✗ Token self-check: {}\n  hint: {}",
                shown_long(&problem.message),
                shown_long(&problem.hint)
            );
        }
    }
    out
}
