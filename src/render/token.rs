//! A freshly minted short-term token, in the four formats `bedprov token` offers:
//! human (minimal and copy-paste ready), env (shell lines), JSON ([`TokenBody`]) and raw.

use crate::quote::shown;
use crate::region::RegionSource;
use crate::timefmt::{clock_utc, human_duration, human_utc};
use crate::token::Token;
use crate::wire::api::{CredentialSource, TokenBody};
use crate::wire::shell::{self, Shell, UnsafeValue};
use std::fmt::Write as _;
use std::time::SystemTime;

/// What signed, in words: "profile dev (assumed role)", "environment credentials
/// (`AWS_ACCESS_KEY_ID` ASIA…)". `profile` is the profile whose settings applied.
#[must_use]
pub(crate) fn signed_by(
    source: Option<CredentialSource>,
    profile: &str,
    access_key_id: Option<&str>,
) -> String {
    // Both came from outside (a socket query, a credential source): quoted for display.
    let profile = shown(profile);
    let profile_with = |what: &str| format!("profile {profile} ({what})");
    match source {
        Some(CredentialSource::Environment) => match access_key_id {
            Some(key) => format!("environment credentials (AWS_ACCESS_KEY_ID {})", shown(key)),
            None => "environment credentials (AWS_ACCESS_KEY_ID)".to_owned(),
        },
        Some(CredentialSource::StaticKeys) => profile_with("access keys"),
        Some(CredentialSource::CredentialProcess) => profile_with("credential_process"),
        Some(CredentialSource::Sso) => profile_with("IAM Identity Center / SSO"),
        Some(CredentialSource::AssumeRole) => profile_with("assumed role"),
        Some(CredentialSource::WebIdentity) => "a web identity token (assumed role)".to_owned(),
        Some(CredentialSource::Container) => "container credentials (ECS / EKS)".to_owned(),
        Some(CredentialSource::InstanceMetadata) => {
            "instance metadata (the EC2 instance's role)".to_owned()
        }
        Some(CredentialSource::Other) | None => format!("profile {profile}"),
    }
}

/// JSON, pretty-printed, with a trailing newline.
#[must_use]
pub(crate) fn json(body: &TokenBody) -> String {
    let mut out = serde_json::to_string_pretty(body).expect("TokenBody always serializes");
    out.push('\n');
    out
}

/// `export` lines for the token and its region (under both names SDKs read): complete
/// valid shell, or an error.
pub(crate) fn env(token: &str, region: &str, shell: Shell) -> Result<String, UnsafeValue> {
    shell::export_lines(shell, &crate::wire::api::token_vars(token, region))
}

/// The token and a newline.
#[must_use]
pub(crate) fn raw(token: &Token) -> String {
    format!("{}\n", token.expose_secret())
}

/// When the credentials expire before the TTL: the plain sentence saying so.
#[must_use]
pub(crate) fn cap_note(token: &Token, now: SystemTime) -> Option<String> {
    if !token.capped_by_credentials() {
        return None;
    }
    let left = token.expires_at().duration_since(now).unwrap_or_default();
    Some(format!(
        "requested {}, but your credentials expire in {}: token valid until {}",
        token.ttl(),
        human_duration(left),
        clock_utc(token.expires_at())
    ))
}

/// Temporary credentials from the environment with no stated expiry: the token may die
/// with them, before its own expiry, and nothing can tell when.
#[must_use]
pub(crate) fn unknown_expiry_note(token: &Token, unknown_temporary_expiry: bool) -> Option<String> {
    unknown_temporary_expiry.then(|| {
        format!(
            "AWS_SESSION_TOKEN is set without AWS_CREDENTIAL_EXPIRATION: these temporary credentials may expire before {}, and the token stops working with them",
            human_utc(token.expires_at())
        )
    })
}

/// Who signed a token, for [`human`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct Signer<'a> {
    pub profile: &'a str,
    pub source: CredentialSource,
    /// Temporary environment credentials without `AWS_CREDENTIAL_EXPIRATION`.
    pub unknown_temporary_expiry: bool,
}

/// The short-term output: what, until when, where, a copy-paste snippet (the only
/// place the token appears), a test command, the auto-refresh pointer and the security notes.
#[must_use]
pub(crate) fn human(
    token: &Token,
    signer: Signer<'_>,
    region_source: &RegionSource,
    now: SystemTime,
) -> String {
    let region = token.region().as_str();
    let left = human_duration(token.expires_at().duration_since(now).unwrap_or_default());
    let signed_by = signed_by(Some(signer.source), signer.profile, Some(token.access_key_id()));
    let mut out = String::new();
    let _ = writeln!(out, "✓ Bedrock API key generated\n");
    let _ = writeln!(out, "Type:    Short-term token (signed by {signed_by})");
    let _ = writeln!(out, "Expires: {} ({left} from now)", human_utc(token.expires_at()));
    let _ = writeln!(out, "Region:  {region} ({region_source})");
    let notes = [cap_note(token, now), unknown_expiry_note(token, signer.unknown_temporary_expiry)];
    for note in notes.into_iter().flatten() {
        let _ = writeln!(out, "Note:    {note}");
    }
    let snippet = env(token.expose_secret(), region, Shell::Posix)
        .expect("a minted token and a validated region are single-line");
    let _ = writeln!(out, "\n## Quick setup (copy/paste)\n{snippet}");
    let _ = writeln!(out, "## Test it (lists the Claude models this token can see)");
    // The header goes through curl's stdin from the shell's builtin printf: on curl's
    // command line, any local user could read the token in /proc/PID/cmdline.
    let _ = writeln!(
        out,
        "printf 'Authorization: Bearer %s\\n' \"$AWS_BEARER_TOKEN_BEDROCK\" | curl -sS -H @- \"https://bedrock.{region}.amazonaws.com/foundation-models?byProvider=anthropic\"\n"
    );
    let _ = writeln!(out, "## Auto-refresh (shells and long-running apps)");
    let _ = writeln!(out, "bedprov daemon start              # keeps a fresh token in memory");
    let _ = writeln!(
        out,
        "eval \"$(bedprov-helper env)\"       # in any shell, in about a millisecond"
    );
    let _ =
        writeln!(out, "bedprov-helper exec -- your-app    # or run an app with a fresh token\n");
    let _ = writeln!(out, "## Security notes");
    let _ = writeln!(
        out,
        "✓ Expires automatically in {left}; real expiry = min(TTL, your credentials' expiry)"
    );
    let _ = writeln!(out, "✓ Never commit it to version control or paste it into tickets or chat");
    let _ = writeln!(out, "✓ Works only in {region}; mint another with --region for other regions");
    let _ = writeln!(
        out,
        "✓ Servers or CI/CD running over 12 hours need long-term keys: bedprov key create --business-unit NAME"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;
    use crate::token::mint;
    use crate::ttl::Ttl;
    use aws_credential_types::Credentials;
    use std::time::{Duration, UNIX_EPOCH};

    fn token(cred_expiry: Option<u64>) -> (Token, SystemTime) {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_686_211);
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            cred_expiry.map(|s| now + Duration::from_secs(s)),
            "t",
        );
        (mint(&creds, &Region::parse("eu-west-1").unwrap(), Ttl::default(), now).unwrap(), now)
    }

    #[test]
    fn human_output_shows_the_token_once_in_the_snippet() {
        let (token, now) = token(None);
        let signer = Signer {
            profile: "default",
            source: CredentialSource::StaticKeys,
            unknown_temporary_expiry: false,
        };
        let out = human(&token, signer, &RegionSource::Default, now);
        assert!(
            out.contains("Type:    Short-term token (signed by profile default (access keys))")
        );
        assert!(out.starts_with("✓ Bedrock API key generated\n"));
        assert_eq!(out.matches(token.expose_secret()).count(), 1);
        assert!(
            out.contains(&format!("export AWS_BEARER_TOKEN_BEDROCK='{}'", token.expose_secret()))
        );
        assert!(out.contains("Expires: 2026-11-26 21:43 UTC (12 hours from now)"));
        assert!(out.contains("Region:  eu-west-1 (default)"));
        assert!(out.contains("Never commit"));
        assert!(!out.contains("Note:"));
    }

    #[test]
    fn capped_expiry_is_said_plainly() {
        let (token, now) = token(Some(58 * 60));
        assert_eq!(
            cap_note(&token, now).unwrap(),
            "requested 12h, but your credentials expire in 58 min: token valid until 10:41 UTC"
        );
        let body = token.body("dev", CredentialSource::Environment);
        assert_eq!(body.credential_source, Some(CredentialSource::Environment));
        assert_eq!(body.access_key_id.as_deref(), Some("AKIDEXAMPLE"));
        assert_eq!(body.expires_at, "2026-11-26T10:41:31Z");
        assert_eq!(body.credential_expires_at.as_deref(), Some("2026-11-26T10:41:31Z"));
        assert_eq!(body.ttl_seconds, 43200);
    }
}
