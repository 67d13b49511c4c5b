//! `bedprov token`: resolve credentials, mint one token, render it. No daemon involved.

use super::Output;
use crate::creds::{self, Target};
use crate::render::Format;
use crate::render::token as render;
use crate::ttl::Ttl;
use crate::wire::api::CredentialSource;
use crate::wire::shell::Shell;
use clap::Args;
use std::time::SystemTime;

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// AWS profile to sign with; credentials in the environment are then ignored, as by
    /// aws --profile (default: credentials in the environment, else the profile in
    /// $AWS_DEFAULT_PROFILE, $AWS_PROFILE, "default").
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region the token works in (default: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Lifetime, 15m to 12h: 15m, 90min, 6h, 1h30m, "6 hours", 3600.
    #[arg(long, value_name = "DURATION", default_value = "12h")]
    pub ttl: String,
    /// Output: human (setup snippet and notes), env (shell lines), json, raw (the token only).
    #[arg(long, value_parser = Format::parser(Format::TOKEN), default_value_t = Format::Human)]
    pub format: Format,
    /// Shell syntax for --format env (default: from $SHELL).
    #[arg(long, value_name = "SHELL", value_parser = parse_shell)]
    pub shell: Option<Shell>,
}

pub(crate) fn parse_shell(name: &str) -> Result<Shell, String> {
    Shell::parse(name)
}

pub(super) async fn run(args: TokenArgs) -> crate::Result<Output> {
    let ttl = Ttl::parse(&args.ttl)?;
    let target = Target::from_process(args.profile.as_deref(), args.region.as_deref())?;
    let resolved = creds::resolve(&target).await?;
    let now = SystemTime::now();
    let token = crate::token::mint(&resolved.credentials, &resolved.region, ttl, now)?;
    let profile = &resolved.profile.name;
    let source = resolved.credential_source;
    tracing::info!(token = ?token, profile = %profile, source = source.as_str(), "minted a token");
    let unknown_temporary_expiry = source == CredentialSource::Environment
        && resolved.credentials.session_token().is_some()
        && resolved.credentials.expiry().is_none();

    let stdout = match args.format {
        Format::Env => {
            let shell = args.shell.unwrap_or_else(Shell::from_env);
            render::env(token.expose_secret(), token.region().as_str(), shell)?
        }
        Format::Json => render::json(&token.body(profile, source)),
        Format::Raw => render::raw(&token),
        // The rest is human: the parser admits no other.
        _ => {
            let signer = render::Signer { profile, source, unknown_temporary_expiry };
            render::human(&token, signer, &resolved.region_source, now)
        }
    };
    // The human format says it in its own words; the others are for machines, so on stderr.
    let notes = if args.format == Format::Human {
        Vec::new()
    } else {
        [
            render::cap_note(&token, now),
            render::unknown_expiry_note(&token, unknown_temporary_expiry),
        ]
        .into_iter()
        .flatten()
        .collect()
    };
    Ok(Output { stdout, notes, failure: None })
}
