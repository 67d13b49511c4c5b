//! `bedprov login`: for a profile whose role needs an MFA code, asks for the code once on the
//! terminal, assumes the role, and hands the role session to the daemon, which signs that
//! profile's tokens from it until it expires (the daemon itself can never ask for a code).

use super::Output;
use crate::creds::Target;
use crate::creds::mfa::{self, RoleSession};
use crate::wire::api::RefreshBody;
use crate::wire::exit;
use clap::Args;
use std::path::Path;
use std::time::SystemTime;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// AWS profile whose role needs an MFA code (default: $AWS_PROFILE, else "default").
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Region to call STS in (default as for bedprov token: $AWS_REGION, the profile's, us-east-1).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
}

pub async fn run(args: LoginArgs, socket: &Path) -> crate::Result<Output> {
    let target = Target::from_process(args.profile.as_deref(), args.region.as_deref())?;
    let profile = &target.profile;
    let session = mfa::login(&target).await?;
    let expires = session.expires_at();
    let taken = hand_over(socket, session)?;
    let until = expires.map_or_else(
        || "with no stated end".to_owned(),
        |at| format!("until {}", crate::render::time::human_utc(at)),
    );
    let mut text = format!(
        "The daemon signs tokens for profile `{}` from this MFA session {until}; then `bedprov login --profile {}` again.\n",
        profile.name, profile.name
    );
    text.push_str(&crate::render::status::slots(&taken.slots, SystemTime::now()));
    Ok(Output::from(text))
}

/// Hands `session` to the daemon listening on `socket`. There, `Daemon::accept_role_session`
/// keeps it (in memory only) and refreshes the slots whose chain uses it; the answer lists
/// those slots. The session travels in the body of a socket request that carries
/// credentials; without such a request in the socket API, nothing is handed over and the
/// session is dropped here (its keys zeroized).
fn hand_over(socket: &Path, session: RoleSession) -> crate::Result<RefreshBody> {
    drop(session);
    Err(crate::Error::other(
        exit::INTERNAL,
        format!(
            "the daemon on {} takes no role sessions: its socket API has no request that carries credentials",
            socket.display()
        ),
        "meanwhile, `bedprov token --profile NAME` on a terminal asks for the MFA code itself",
    ))
}
