//! `bedprov decode [TOKEN|-]`: offline introspection of a token.

use crate::render::Format;
use crate::render::decode as render;
use clap::Args;
use std::io::Read as _;
use std::time::SystemTime;

#[derive(Debug, Args)]
pub struct DecodeArgs {
    /// The token, or `-` (or nothing) to read it from stdin. Prefer stdin: arguments show
    /// up in `ps` and shell history.
    #[arg(value_name = "TOKEN")]
    pub token: Option<String>,
    #[arg(long, value_parser = Format::parser(Format::REPORT), default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn run(args: &DecodeArgs) -> crate::Result<String> {
    let input = match args.token.as_deref() {
        Some(token) if token != "-" => zeroize::Zeroizing::new(token.to_owned()),
        _ => {
            use std::io::IsTerminal as _;
            if std::io::stdin().is_terminal() {
                eprintln!("Paste the token, then press Ctrl-D:");
            }
            let mut text = zeroize::Zeroizing::new(String::new());
            std::io::stdin()
                .take(64 * 1024)
                .read_to_string(&mut text)
                .map_err(crate::Error::io("cannot read the token from stdin"))?;
            text
        }
    };
    let decoded = crate::token::decode(&input)?;
    let credential_expires_at = shell_credential_expiry(&decoded.access_key_id);
    let now = SystemTime::now();
    Ok(match args.format {
        Format::Json => render::json(&decoded, credential_expires_at, now),
        // The rest is human: the parser admits no other.
        _ => render::human(&decoded, credential_expires_at, now),
    })
}

/// `AWS_CREDENTIAL_EXPIRATION`, when this shell holds the credentials that signed the token
/// (its `AWS_ACCESS_KEY_ID` is the token's key): the token dies with them.
fn shell_credential_expiry(access_key_id: &str) -> Option<SystemTime> {
    let environment = crate::wire::aws_env::AwsEnv::from_process();
    if environment.access_key_id.as_deref() != Some(access_key_id) {
        return None;
    }
    crate::creds::environment::parse_expiration(&environment.credential_expiration?)
}
