//! `bedprov service install|uninstall|status`: the reports, as text for people.

use crate::service::commands::FollowUp;
use crate::service::files::FileState;
use crate::service::{
    Change, InstallReport, Manager, Platform, StatusReport, UninstallReport, launchd, systemd,
};
use std::fmt::Write as _;

fn commands(out: &mut String, commands: &[FollowUp]) {
    for command in commands {
        let _ = writeln!(out, "  {command}");
    }
}

const LINGER: &str = "On a server (no desktop session), keep it running when you log out:\n  loginctl enable-linger $USER\n";

#[must_use]
pub(crate) fn install(report: &InstallReport) -> String {
    let mut out = String::new();
    let service = format!("the bedprov user service ({})", report.platform.name());
    if let Some(packaged) = &report.packaged {
        let _ = writeln!(
            out,
            "Using the units the bedprov package installed for {}:",
            report.program.display()
        );
        for unit in &packaged.units {
            if *unit == systemd::SERVICE || report.socket_activation {
                let _ = writeln!(out, "  {:<9}  {}", "packaged", packaged.dir.join(unit).display());
            }
        }
    } else if report.changed() {
        let _ = writeln!(out, "Installed {service} for {}:", report.program.display());
    } else {
        let _ = writeln!(out, "Nothing changed: {service} is already installed and up to date.");
    }
    for (path, change) in &report.changes {
        let (word, why) = match change {
            Change::Created => ("created", ""),
            Change::Updated => ("updated", ""),
            Change::Replaced => ("replaced", " (your edits were overwritten: --force)"),
            Change::Unchanged => ("unchanged", ""),
        };
        let _ = writeln!(out, "  {word:<9}  {}{why}", path.display());
    }
    out.push('\n');
    let entry = match (report.platform, report.socket_activation) {
        (Platform::Systemd, true) => "The socket is ready: the daemon starts on the first request.",
        _ => "The daemon is running.",
    };
    match (report.ran, report.commands.is_empty()) {
        _ if report.unreached.is_some() => {
            unreached_install(&mut out, report);
        }
        (true, true) => {
            let _ = writeln!(out, "It was already loaded and current: nothing to run.");
        }
        (true, false) => {
            let _ = writeln!(out, "Ran:");
            commands(&mut out, &report.commands);
            let _ = writeln!(out, "{entry} Check it with `bedprov service status`.");
        }
        (false, _) => {
            let _ = writeln!(
                out,
                "To start it now and at every login, run (or pass --now to have them run):"
            );
            commands(&mut out, &report.commands);
        }
    }
    match report.platform {
        Platform::Systemd => {
            out.push('\n');
            out.push_str(LINGER);
        }
        Platform::Launchd => {
            let _ =
                writeln!(out, "\nIt starts at every login; its log: ~/Library/Logs/bedprov.log");
        }
    }
    out
}

/// An install whose `--now` found no service manager: what was done, what was not, and
/// what to run once a manager answers.
fn unreached_install(out: &mut String, report: &InstallReport) {
    let Some(unreached) = &report.unreached else { return };
    let _ = writeln!(
        out,
        "No {} user manager answers here ({}), so the service was not started.",
        report.platform.name(),
        unreached.reason
    );
    match unreached.enabled {
        Some(unit) => {
            let _ = writeln!(
                out,
                "{unit} is enabled: it starts at your next login that has a user manager."
            );
        }
        None => {
            let _ = writeln!(out, "It was not enabled either.");
        }
    }
    let _ = writeln!(out, "Where one answers, these start it now:");
    commands(out, &report.commands);
}

#[must_use]
pub(crate) fn uninstall(report: &UninstallReport) -> String {
    let mut out = String::new();
    let service = format!("the bedprov user service ({})", report.platform.name());
    if report.removed.is_empty() {
        let _ = writeln!(
            out,
            "Nothing to remove: {service} is not installed in {}.",
            report.dir.display()
        );
    } else {
        let _ = writeln!(out, "Removed {service}:");
        for path in &report.removed {
            let _ = writeln!(out, "  removed  {}", path.display());
        }
    }
    if let Some(reason) = &report.unreached {
        let _ = writeln!(
            out,
            "No {} user manager answers here ({reason}), so none was told: nothing was stopped or reloaded.",
            report.platform.name()
        );
        let _ = writeln!(
            out,
            "A daemon started by hand stops with `bedprov daemon stop`; one a user manager runs in another session, with `systemctl --user stop bedprov.service` there."
        );
        return out;
    }
    if !report.commands.is_empty() {
        if report.ran {
            let _ = writeln!(out, "Ran:");
        } else {
            let _ = writeln!(
                out,
                "To stop a daemon it may still run, run (or pass --now to have them run):"
            );
        }
        commands(&mut out, &report.commands);
    }
    if let Some(packaged) = &report.packaged {
        let _ = writeln!(
            out,
            "The units the bedprov package installed in {} stay: they go with the package.",
            packaged.dir.display()
        );
    }
    out
}

fn file_state(state: FileState) -> &'static str {
    match state {
        FileState::Missing => "not installed",
        FileState::Current => "installed, up to date",
        FileState::Outdated => {
            "installed by another bedprov version or binary (`bedprov service install` updates it)"
        }
        FileState::Edited => "installed, edited by hand",
    }
}

#[must_use]
pub(crate) fn status(report: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "bedprov user service ({}), files in {}",
        report.platform.name(),
        report.dir.display()
    );
    let width = report.files.iter().map(|(name, ..)| name.len()).max().unwrap_or(0);
    for (name, _, state) in &report.files {
        let packaged = report.packaged.as_ref().filter(|packaged| packaged.provides(name));
        let _ = match (packaged, state) {
            (Some(packaged), FileState::Missing) => writeln!(
                out,
                "  {name:<width$}  from the package: {} (runs {})",
                packaged.dir.join(name).display(),
                packaged.program.display()
            ),
            (Some(_), _) => {
                writeln!(out, "  {name:<width$}  {}, hiding the packaged unit", file_state(*state))
            }
            (None, _) => writeln!(out, "  {name:<width$}  {}", file_state(*state)),
        };
    }
    match &report.manager {
        Manager::Unavailable(reason) => {
            let _ = writeln!(out, "{}: cannot be asked here ({reason})", report.platform.name());
        }
        Manager::Systemd(units) => {
            for unit in units {
                let _ = writeln!(out, "systemd: {}", unit_line(unit));
            }
        }
        Manager::Launchd(None) => {
            let _ = writeln!(out, "launchd: {} is not loaded", launchd::LABEL);
        }
        Manager::Launchd(Some(agent)) => {
            let mut line = format!("launchd: {} {}", launchd::LABEL, agent.state);
            if let Some(pid) = agent.pid {
                let _ = write!(line, ", pid {pid}");
            }
            if let Some(code) = &agent.last_exit {
                let _ = write!(line, ", last exit code {code}");
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if report.packaged.is_none()
        && report.files.iter().all(|(_, _, state)| *state == FileState::Missing)
    {
        let _ = writeln!(out, "\nNot installed: run `bedprov service install` to set it up.");
    }
    out
}

fn unit_line(unit: &systemd::UnitState) -> String {
    if unit.load == "not-found" {
        return format!("{} not loaded", unit.id);
    }
    let mut line = format!("{} ", unit.id);
    if !unit.enabled.is_empty() {
        let _ = write!(line, "{}, ", unit.enabled);
    }
    let _ = write!(line, "{} ({})", unit.active, unit.sub);
    if let Some(pid) = unit.main_pid {
        let _ = write!(line, ", pid {pid}");
    }
    line
}
