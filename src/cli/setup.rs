//! `bedprov setup claude-code`: Claude Code's settings pointed at the daemon's local
//! Bedrock proxy (or, with `--undo`, put back), the change shown before it is written.

use super::Output;
use crate::proxy::claude_code::{self, Change, Plan, Wanted};
use crate::wire::api::{ProxyRequest, endpoint};
use crate::wire::aws_env::AwsEnv;
use crate::wire::client::Client;
use clap::{Args, Subcommand};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum SetupCommand {
    /// Point Claude Code at the daemon's local Bedrock proxy, so its sessions never hold an
    /// expiring token.
    ///
    /// Merges an `env` block into ~/.claude/settings.json ($CLAUDE_CONFIG_DIR): Bedrock mode,
    /// the region, the proxy's base URL and its local key. Everything else in the file stays;
    /// the previous file is kept as settings.json.bedprov-backup; a second run changes
    /// nothing. Needs a daemon running with the proxy.
    ClaudeCode(ClaudeCodeArgs),
}

#[derive(Debug, Args)]
pub struct ClaudeCodeArgs {
    /// Show the change and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The AWS profile whose credentials sign (default: this shell's, else the daemon's).
    #[arg(long, value_name = "PROFILE", conflicts_with = "undo")]
    pub profile: Option<String>,
    /// The Bedrock region (default: this shell's, else the profile's).
    #[arg(long, value_name = "REGION", conflicts_with = "undo")]
    pub region: Option<String>,
    /// Take out exactly what setup put in (values it replaced come back).
    #[arg(long)]
    pub undo: bool,
}

pub(super) fn run(command: SetupCommand, socket: &Path) -> crate::Result<Output> {
    let SetupCommand::ClaudeCode(args) = command;
    let settings = crate::paths::claude_settings();
    let record = crate::paths::claude_code_record();
    if args.undo {
        let plan = claude_code::undo(&settings, &record)?;
        let mut text = describe(
            &plan,
            args.dry_run,
            "nothing to undo: `bedprov setup claude-code` has not changed it",
        );
        for name in &plan.left {
            let _ = writeln!(text, "  left {name}: it changed since setup set it");
        }
        if !args.dry_run {
            plan.write()?;
            if plan.changes_anything() {
                text.push_str("Restart Claude Code to use its previous settings.\n");
            }
        }
        return Ok(Output::from(text));
    }
    let request = ProxyRequest {
        profile: args.profile,
        region: args.region,
        environment: Some(AwsEnv::from_process()),
    };
    let body = Client::new(socket, Duration::from_secs(30)).call(endpoint::Proxy, &request)?;
    let wanted =
        Wanted { region: body.region.clone(), base_url: body.base_url.clone(), key: body.key };
    let plan = claude_code::setup(&settings, &wanted, &record)?;
    let mut text = describe(&plan, args.dry_run, "already set up: nothing to change");
    if !args.dry_run {
        plan.write()?;
    }
    let _ = writeln!(
        text,
        "Claude Code reaches Bedrock through the daemon's proxy on {listen}: keep the daemon running with it on that address, e.g. as a user service: `bedprov service install --proxy={listen} --now` (or `[proxy] listen = \"{listen}\"` in {config}).",
        listen = body.listen,
        config = crate::paths::config_file().display()
    );
    if plan.changes_anything() && !args.dry_run {
        text.push_str("Restart Claude Code to pick this up. To take it out again: `bedprov setup claude-code --undo`.\n");
    }
    Ok(Output::from(text))
}

/// The plan as the user reads it: the file, each change, and what was (or would be) done.
fn describe(plan: &Plan, dry_run: bool, unchanged: &str) -> String {
    let mut text = format!("Claude Code settings: {}\n", plan.path.display());
    if !plan.changes_anything() {
        let _ = writeln!(text, "  {unchanged}");
        return text;
    }
    for Change { name, before, after } in &plan.changes {
        let line = match (before, after) {
            (None, Some(after)) => format!("  + {name} = {after}"),
            (Some(before), None) => format!("  - {name} (was {before})"),
            (Some(before), Some(after)) => format!("  ~ {name} = {after} (was {before})"),
            (None, None) => continue,
        };
        let _ = writeln!(text, "{line}");
    }
    if dry_run {
        text.push_str("dry run: nothing written\n");
    } else {
        if plan.backup_needed() {
            let _ = writeln!(text, "backup of the previous file: {}", plan.backup.display());
        }
        let _ = writeln!(text, "wrote {} (private: mode 600)", plan.path.display());
    }
    text
}
