//! `bedprov proxy new-key`: the local Bedrock proxy's key, replaced.

use super::Output;
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum ProxyCommand {
    /// Make a new local key for the proxy (e.g. after it leaked). A running daemon uses it
    /// from the next request on and refuses the old one: apps that hold the old one need
    /// `eval "$(bedprov-helper env --proxy)"` again and a restart.
    NewKey,
}

pub(super) fn run(command: &ProxyCommand) -> crate::Result<Output> {
    match command {
        ProxyCommand::NewKey => {
            let path = crate::paths::proxy_key();
            crate::proxy::key::replace(&path)?;
            Ok(Output::from(format!(
                "made a new local key for the proxy in {}\n\
                 A running daemon accepts only the new key from its next request on. Apps that hold the old one are refused: run `eval \"$(bedprov-helper env --proxy)\"` in their shells and restart them.\n",
                path.display()
            )))
        }
    }
}
