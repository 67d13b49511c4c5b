//! `bedprov login`: for a profile whose role needs an MFA code, asks for the code once on the
//! terminal, assumes the role, and hands the role session to the daemon, which signs that
//! profile's tokens from it until it expires (the daemon itself can never ask for a code).

use super::Output;
use crate::creds::{self, Target};
use crate::wire::api::endpoint::{Health, Login};
use crate::wire::client::Client;
use clap::Args;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// How long the daemon may take to accept the session and refresh the slots that use it
/// (it answers within its own refresh wait).
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// AWS profile whose role needs an MFA code (default: $AWS_PROFILE, else "default").
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to call STS in (default as for bedprov token: $AWS_REGION, the profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

pub(super) async fn run(args: LoginArgs, socket: &Path) -> crate::Result<Output> {
    let target = Target::from_process(args.profile.as_deref(), args.region.as_deref())?;
    let profile = &target.profile;
    let client = Client::new(socket, HAND_OVER_TIMEOUT);
    // First: a code works once, and a daemon that is not there could not take the session.
    client.call(Health, &())?;
    let session = creds::mfa_session(&target).await?;
    let expires = session.expires_at();
    // The daemon keeps it (in memory only) and refreshes the slots whose chain uses it.
    let taken = client.call(Login, &session.to_body())?;
    let until = expires.map_or_else(
        || "with no stated end".to_owned(),
        |at| format!("until {}", crate::timefmt::human_utc(at)),
    );
    let mut text = format!(
        "The daemon signs tokens for profile `{}` from this MFA session {until}; then `bedprov login --profile {}` again.\n",
        profile.name, profile.name
    );
    text.push_str(&crate::render::status::slots(&taken.slots, SystemTime::now()));
    Ok(Output::from(text))
}
