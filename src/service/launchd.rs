//! The launchd agent: `com.bedprov.daemon.plist` as shipped in `launchd/`, where it goes
//! (`~/Library/LaunchAgents`), the `launchctl` commands that follow an install or an
//! uninstall, and what `launchctl` says about the agent.
//!
//! launchd expands nothing in a plist, so the installer fills in absolute paths: the
//! `bedprov` binary, the home directory (logs, `PATH`) and the socket the user's shells
//! look for (an agent may see another temp directory than a terminal does).
//!
//! This module only renders and asks; writing and removing files is `files`' job.

use super::commands::FollowUp;
use super::files::{self, Comment, Wanted};
use super::{Context, Feature, Part};
use crate::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const LABEL: &str = "com.bedprov.daemon";
pub const PLIST: &str = "com.bedprov.daemon.plist";

const TEMPLATE: &str = include_str!("../../launchd/com.bedprov.daemon.plist");

/// `~/Library/LaunchAgents`.
#[must_use]
pub fn agents_dir(home: &Path) -> PathBuf {
    home.join("Library").join("LaunchAgents")
}

/// `~/Library/Logs`, where the agent's output goes.
#[must_use]
pub fn logs_dir(home: &Path) -> PathBuf {
    home.join("Library").join("Logs")
}

/// The agent's plist, rendered for `ctx`.
pub fn parts(ctx: &Context) -> crate::Result<Vec<Part>> {
    let mut text = files::fill(
        TEMPLATE,
        &[
            ("@BEDPROV@", &xml_text("the path of bedprov", &ctx.program)?),
            ("@HOME@", &xml_text("the home directory", &ctx.home)?),
            ("@SOCKET@", &xml_text("the socket path", &ctx.socket)?),
        ],
    );
    if !ctx.daemon_args.is_empty() {
        let mut args = String::from("<string>run</string>\n");
        for arg in &ctx.daemon_args {
            files::check_daemon_arg(arg)?;
            let _ = writeln!(args, "\t\t<string>{arg}</string>");
        }
        text = files::extend_line(&text, "<string>run</string>\n", &args);
    }
    Ok(vec![Part {
        name: PLIST,
        feature: Feature::Always,
        file: Wanted {
            path: agents_dir(&ctx.home).join(PLIST),
            contents: files::seal(&text, Comment::Xml),
        },
    }])
}

/// The arguments after `daemon run` in an installed plist that bedprov puts there
/// (`--proxy…`).
#[must_use]
pub fn installed_daemon_args(plist: &str) -> Vec<String> {
    plist
        .lines()
        .filter_map(|line| line.trim().strip_prefix("<string>")?.strip_suffix("</string>"))
        .filter(|arg| arg.starts_with("--proxy"))
        .map(str::to_owned)
        .collect()
}

/// `value` as XML character data.
fn xml_text(what: &str, value: &Path) -> crate::Result<String> {
    let text = value.to_str().ok_or_else(|| {
        Error::usage(
            format!("{what} is not valid UTF-8: {}", value.display()),
            "use paths that are valid UTF-8 (plists cannot hold anything else)",
        )
    })?;
    files::check_value(what, text)?;
    Ok(text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;"))
}

fn domain(uid: u32) -> String {
    format!("gui/{uid}")
}

fn target(uid: u32) -> String {
    format!("gui/{uid}/{LABEL}")
}

/// True when the agent is loaded (`launchctl print` knows it); `None` when launchctl cannot
/// be asked.
#[must_use]
pub fn loaded(uid: u32) -> Option<bool> {
    FollowUp::new("launchctl", &["print", &target(uid)]).run_unchecked().ok().map(|f| f.success)
}

/// What to run after an install. `loaded` is what launchctl said (`None`: not asked, as when
/// only printing); a changed plist is only read again after a bootout.
#[must_use]
pub fn install_commands(
    uid: u32,
    plist: &Path,
    changed: bool,
    loaded: Option<bool>,
) -> Vec<FollowUp> {
    let bootstrap =
        FollowUp::new("launchctl", &["bootstrap", &domain(uid), &plist.to_string_lossy()]);
    match (loaded, changed) {
        (Some(true), false) => Vec::new(),
        (Some(false), _) | (None, false) => vec![bootstrap],
        (Some(true) | None, true) => {
            vec![FollowUp::new("launchctl", &["bootout", &target(uid)]), bootstrap]
        }
    }
}

/// What stops and unloads the agent (it works by label, also after the file is gone).
#[must_use]
pub fn uninstall_command(uid: u32) -> FollowUp {
    FollowUp::new("launchctl", &["bootout", &target(uid)])
}

/// The agent as `launchctl print` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentState {
    /// `running`, `not running`, …
    pub state: String,
    pub pid: Option<u32>,
    pub last_exit: Option<String>,
}

/// Asks launchd about the agent: `Ok(None)` when it is not loaded, `Err` when launchctl
/// cannot be asked (not macOS).
pub fn query(uid: u32) -> Result<Option<AgentState>, String> {
    let command = FollowUp::new("launchctl", &["print", &target(uid)]);
    let finished = command.run_unchecked().map_err(|e| e.to_string())?;
    Ok(finished.success.then(|| parse_print(&finished.stdout)))
}

/// Picks the top-level `state`, `pid` and `last exit code` lines of `launchctl print`.
fn parse_print(text: &str) -> AgentState {
    let field = |name: &str| {
        text.lines().find_map(|line| {
            let (key, value) = line.trim().split_once(" = ")?;
            (key == name).then(|| value.trim().to_owned())
        })
    };
    AgentState {
        state: field("state").unwrap_or_else(|| "unknown".into()),
        pid: field("pid").and_then(|p| p.parse().ok()),
        last_exit: field("last exit code"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plist_gets_absolute_escaped_paths_and_no_placeholder_is_left() {
        let ctx = Context::for_tests("/Users/a&b/bin/bedprov");
        let parts = parts(&ctx).unwrap();
        let plist = &parts[0].file.contents;
        assert!(plist.contains("<string>/Users/a&amp;b/bin/bedprov</string>"), "{plist}");
        assert!(plist.contains("<string>/home/me/Library/Logs/bedprov.log</string>"));
        assert!(plist.contains("<string>/run/me/bedprov.sock</string>"));
        assert!(
            !plist.contains("@BEDPROV@")
                && !plist.contains("@HOME@")
                && !plist.contains("@SOCKET@")
        );
        assert!(files::is_sealed(plist));
        assert_eq!(
            parts[0].file.path,
            Path::new("/home/me/Library/LaunchAgents/com.bedprov.daemon.plist")
        );
    }

    #[test]
    fn commands_bootstrap_and_reload_only_a_changed_agent() {
        let plist = Path::new("/h/Library/LaunchAgents/com.bedprov.daemon.plist");
        let lines = |commands: Vec<FollowUp>| {
            commands.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        };
        let bootstrap =
            "launchctl bootstrap gui/501 /h/Library/LaunchAgents/com.bedprov.daemon.plist";
        assert_eq!(lines(install_commands(501, plist, true, Some(false))), bootstrap);
        assert_eq!(lines(install_commands(501, plist, false, None)), bootstrap);
        assert_eq!(lines(install_commands(501, plist, false, Some(true))), "");
        assert_eq!(
            lines(install_commands(501, plist, true, Some(true))),
            format!("launchctl bootout gui/501/com.bedprov.daemon; {bootstrap}")
        );
        assert_eq!(
            uninstall_command(501).to_string(),
            "launchctl bootout gui/501/com.bedprov.daemon"
        );
    }

    #[test]
    fn print_output_gives_state_and_pid() {
        let text = "gui/501/com.bedprov.daemon = {\n\tactive count = 1\n\tpath = /Users/a/Library/LaunchAgents/com.bedprov.daemon.plist\n\tstate = running\n\n\tprogram = /Users/a/.cargo/bin/bedprov\n\tpid = 4242\n\tlast exit code = (never exited)\n\tendpoints = {\n\t}\n}\n";
        let state = parse_print(text);
        assert_eq!(state.state, "running");
        assert_eq!(state.pid, Some(4242));
        assert_eq!(state.last_exit.as_deref(), Some("(never exited)"));
    }
}
