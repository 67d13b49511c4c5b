//! systemd user units: `bedprov.service`, the optional `bedprov.socket` (socket activation)
//! and the optional sandboxing drop-in, as shipped in `systemd/`; where they go
//! (`$XDG_CONFIG_HOME/systemd/user`); the `systemctl --user` commands that follow an install
//! or an uninstall; and what `systemctl --user` says about the units.
//!
//! This module only renders and asks; writing and removing files is `files`' job.

use super::commands::FollowUp;
use super::files::{self, Comment, Wanted};
use super::{Context, Feature, Part};
use crate::Error;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const SERVICE: &str = "bedprov.service";
pub const SOCKET: &str = "bedprov.socket";
pub const SANDBOX: &str = "bedprov.service.d/sandbox.conf";

const SERVICE_TEMPLATE: &str = include_str!("../../systemd/bedprov.service");
const SOCKET_TEMPLATE: &str = include_str!("../../systemd/bedprov.socket");
const SANDBOX_TEMPLATE: &str = include_str!("../../systemd/bedprov.service.d/sandbox.conf");

/// The placeholder the installer replaces with the absolute path of `bedprov`.
pub const PROGRAM_PLACEHOLDER: &str = "@BEDPROV@";

/// `$XDG_CONFIG_HOME/systemd/user` (default `~/.config/systemd/user`).
#[must_use]
pub fn unit_dir(config_home: &Path) -> PathBuf {
    config_home.join("systemd").join("user")
}

/// Every file this platform may install, rendered for `ctx`.
pub fn parts(ctx: &Context) -> crate::Result<Vec<Part>> {
    let dir = unit_dir(&ctx.config_home);
    let mut service =
        files::fill(SERVICE_TEMPLATE, &[(PROGRAM_PLACEHOLDER, &exec_path(&ctx.program)?)]);
    if !ctx.daemon_args.is_empty() {
        for arg in &ctx.daemon_args {
            files::check_daemon_arg(arg)?;
        }
        service = files::extend_line(
            &service,
            " daemon run\n",
            &format!(" daemon run {}\n", ctx.daemon_args.join(" ")),
        );
    }
    let part = |name: &'static str, feature, text: &str| Part {
        name,
        feature,
        file: Wanted { path: dir.join(name), contents: files::seal(text, Comment::Hash) },
    };
    Ok(vec![
        part(SERVICE, Feature::Always, &service),
        part(SOCKET, Feature::SocketActivation, SOCKET_TEMPLATE),
        part(SANDBOX, Feature::Sandbox, SANDBOX_TEMPLATE),
    ])
}

/// `program` as the first word of `ExecStart=`: `%` doubled (systemd expands specifiers
/// there; `$` is left alone, variables are not expanded in the executable's path), and
/// double-quoted when it holds anything but plain path characters. systemd refuses
/// executables whose path holds quotes or backslashes, so those are refused here, early.
fn exec_path(program: &Path) -> crate::Result<String> {
    let text = program.to_str().ok_or_else(|| {
        Error::usage(
            format!("the path of bedprov is not valid UTF-8: {}", program.display()),
            "install bedprov at a plain path (e.g. with `cargo install`) and run it from there",
        )
    })?;
    files::check_value("the path of bedprov", text)?;
    if text.contains(['"', '\'', '\\']) {
        return Err(Error::usage(
            format!("systemd cannot run a program whose path holds quotes or backslashes: {text}"),
            "install bedprov at a plain path (`cargo install` puts it in ~/.cargo/bin) and run `bedprov service install` from there",
        ));
    }
    let escaped = text.replace('%', "%%");
    let plain = escaped.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+,:=@%$".contains(c));
    Ok(if plain { escaped } else { format!("\"{escaped}\"") })
}

/// The arguments after `daemon run` in an installed unit's `ExecStart=` that bedprov puts
/// there (`--proxy…`).
#[must_use]
pub fn installed_daemon_args(unit: &str) -> Vec<String> {
    unit.lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .and_then(|line| line.split_once(" daemon run"))
        .map(|(_, rest)| {
            rest.split_whitespace()
                .filter(|a| a.starts_with("--proxy"))
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The units a package installed (in `/usr/lib/systemd/user`): they run the packaged
/// `bedprov`, and `service install` enables them rather than writing copies of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packaged {
    pub dir: PathBuf,
    /// The program their `ExecStart=` runs.
    pub program: PathBuf,
    /// The units there: `bedprov.service`, and `bedprov.socket` when shipped.
    pub units: Vec<&'static str>,
}

impl Packaged {
    /// Whether the package provides `name` (a unit file name).
    #[must_use]
    pub fn provides(&self, name: &str) -> bool {
        self.units.contains(&name)
    }

    /// Whether the packaged units run `program` (this binary).
    #[must_use]
    pub fn runs(&self, program: &Path) -> bool {
        let real = |path: &Path| std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        real(&self.program) == real(program)
    }
}

/// The packaged units in `dir`, if a `bedprov.service` is there.
#[must_use]
pub fn packaged(dir: &Path) -> Option<Packaged> {
    let text = std::fs::read_to_string(dir.join(SERVICE)).ok()?;
    let program = exec_program(&text)?;
    let units = [SERVICE, SOCKET].into_iter().filter(|unit| dir.join(unit).is_file()).collect();
    Some(Packaged { dir: dir.to_owned(), program, units })
}

/// The program of a unit's `ExecStart=`: its first word, unquoted, `%%` unescaped (the
/// inverse of [`exec_path`]).
fn exec_program(unit: &str) -> Option<PathBuf> {
    let value = unit.lines().find_map(|line| line.trim().strip_prefix("ExecStart="))?;
    let value = value.trim_start_matches(['-', '@', ':', '+', '!']);
    let word = match value.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None => value.split_whitespace().next()?,
    };
    Some(PathBuf::from(word.replace("%%", "%")))
}

fn systemctl(args: &[&str]) -> FollowUp {
    let mut all = vec!["--user"];
    all.extend_from_slice(args);
    FollowUp::new("systemctl", &all)
}

/// The unit that starts the daemon: the socket with socket activation, else the service.
#[must_use]
pub fn entry_point(socket_activation: bool) -> &'static str {
    if socket_activation { SOCKET } else { SERVICE }
}

/// `systemctl --user enable UNIT`: only links, so it works without a user manager; the unit
/// then starts at the next login that has one.
#[must_use]
pub fn enable(unit: &str) -> FollowUp {
    systemctl(&["enable", unit])
}

/// What to run after an install: load new or changed units, enable and start the entry
/// point, and restart a running daemon whose unit was replaced.
#[must_use]
pub fn install_commands(socket_activation: bool, changed: bool, replaced: bool) -> Vec<FollowUp> {
    let unit = entry_point(socket_activation);
    let mut commands = Vec::new();
    if changed || replaced {
        commands.push(systemctl(&["daemon-reload"]));
    }
    commands.push(systemctl(&["enable", "--now", unit]));
    if replaced {
        // A daemon already running keeps its old unit until restarted (no-op when stopped).
        commands.push(systemctl(&["try-restart", SERVICE]));
    }
    commands
}

/// Units (by name) that are present among `names` (installed file names).
fn units<'a>(names: &[&'a str]) -> Vec<&'a str> {
    [SOCKET, SERVICE].into_iter().filter(|unit| names.contains(unit)).collect()
}

/// Before removing files with `--now`: disable and stop the units that are installed.
#[must_use]
pub fn uninstall_first(installed: &[&str]) -> Vec<FollowUp> {
    let units = units(installed);
    if units.is_empty() {
        return Vec::new();
    }
    let mut args = vec!["disable", "--now"];
    args.extend(units);
    vec![systemctl(&args)]
}

/// After removing files: forget them. Without `--now`, also stop what may still run.
#[must_use]
pub fn uninstall_after(installed: &[&str], now: bool) -> Vec<FollowUp> {
    let mut commands = Vec::new();
    let units = units(installed);
    if !now && !units.is_empty() {
        let mut args = vec!["stop"];
        args.extend(units);
        commands.push(systemctl(&args));
    }
    commands.push(systemctl(&["daemon-reload"]));
    commands
}

/// Links `systemctl enable` made for our units (`*.wants/bedprov.service`, …).
#[must_use]
pub fn enablement_links(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut links: Vec<PathBuf> = entries
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| {
            path.extension().is_some_and(|ext| ext == "wants" || ext == "requires") && path.is_dir()
        })
        .flat_map(|wants| [wants.join(SERVICE), wants.join(SOCKET)])
        .filter(|link| std::fs::symlink_metadata(link).is_ok())
        .collect();
    links.sort();
    links
}

/// One unit as `systemctl --user show` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitState {
    pub id: String,
    /// `loaded`, `not-found`, …
    pub load: String,
    /// `active`, `inactive`, `failed`, …
    pub active: String,
    /// `running`, `listening`, `dead`, …
    pub sub: String,
    /// `enabled`, `disabled`, … (empty when unknown)
    pub enabled: String,
    pub main_pid: Option<u32>,
}

/// Asks the user manager about our units; `Err` with the reason when it cannot be reached.
pub fn query() -> Result<Vec<UnitState>, String> {
    let command = systemctl(&[
        "show",
        SERVICE,
        SOCKET,
        "--property=Id,LoadState,ActiveState,SubState,UnitFileState,MainPID",
    ]);
    let finished = command.run_unchecked().map_err(|e| e.to_string())?;
    if !finished.success {
        let reason = finished.stderr.lines().next().unwrap_or_default().trim();
        return Err(if reason.is_empty() { format!("`{command}` failed") } else { reason.into() });
    }
    Ok(parse_show(&finished.stdout))
}

/// Parses `systemctl show` output: one `Key=value` block per unit, blank lines between.
fn parse_show(text: &str) -> Vec<UnitState> {
    text.split("\n\n")
        .filter_map(|block| {
            let fields: BTreeMap<&str, &str> =
                block.lines().filter_map(|line| line.split_once('=')).collect();
            let field = |name: &str| fields.get(name).copied().unwrap_or_default().to_owned();
            let id = field("Id");
            (!id.is_empty()).then(|| UnitState {
                id,
                load: field("LoadState"),
                active: field("ActiveState"),
                sub: field("SubState"),
                enabled: field("UnitFileState"),
                main_pid: fields.get("MainPID").and_then(|p| p.parse().ok()).filter(|p| *p > 0),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_path_escapes_what_systemd_would_expand() {
        let path = |p: &str| exec_path(Path::new(p)).unwrap();
        assert_eq!(path("/home/a/.cargo/bin/bedprov"), "/home/a/.cargo/bin/bedprov");
        assert_eq!(path("/opt/100%/bedprov"), "/opt/100%%/bedprov");
        assert_eq!(path("/opt/$HOME/bedprov"), "/opt/$HOME/bedprov");
        assert_eq!(path("/opt/my tools/bedprov"), "\"/opt/my tools/bedprov\"");
        assert_eq!(path("/opt/a;b #c/bedprov"), "\"/opt/a;b #c/bedprov\"");
        for refused in [
            "/opt/x\nExecStartPre=/bin/evil",
            r#"/opt/a"b/bedprov"#,
            "/opt/it's/bedprov",
            r"/opt/a\b/bedprov",
        ] {
            let error = exec_path(Path::new(refused)).unwrap_err();
            assert_eq!(error.exit_code(), crate::wire::exit::USAGE, "{refused}");
            assert!(!error.hint().is_empty());
        }
    }

    #[test]
    fn the_service_runs_this_binary_in_the_foreground_and_no_placeholder_is_left() {
        let ctx = Context::for_tests("/opt/bedprov bin/bedprov");
        let parts = parts(&ctx).unwrap();
        let service = &parts[0].file.contents;
        assert!(service.contains("\nExecStart=\"/opt/bedprov bin/bedprov\" daemon run\n"));
        for part in &parts {
            assert!(!part.file.contents.contains('@'), "{}", part.name);
            assert!(part.file.path.starts_with("/cfg/systemd/user"));
            assert!(files::is_sealed(&part.file.contents));
        }
        assert_eq!(
            parts[2].file.path,
            Path::new("/cfg/systemd/user/bedprov.service.d/sandbox.conf")
        );
    }

    #[test]
    fn with_the_proxy_the_service_runs_it_and_status_reads_it_back() {
        let ctx = Context::for_tests("/usr/bin/bedprov")
            .with_proxy(Some("127.0.0.1:9000".parse().unwrap()));
        let service = parts(&ctx).unwrap().remove(0).file.contents;
        assert!(
            service.contains("\nExecStart=/usr/bin/bedprov daemon run --proxy=127.0.0.1:9000\n")
        );
        assert_eq!(installed_daemon_args(&service), ["--proxy=127.0.0.1:9000"]);
        let bare = Context::for_tests("/usr/bin/bedprov").with_proxy(None);
        assert!(parts(&bare).unwrap()[0].file.contents.contains(" daemon run --proxy\n"));
        assert!(installed_daemon_args("ExecStart=/x daemon run\n").is_empty());
    }

    #[test]
    fn the_program_of_exec_start_is_read_back_as_exec_path_wrote_it() {
        for program in ["/usr/bin/bedprov", "/opt/my tools 100%/bedprov", "/opt/$HOME/bedprov"] {
            let ctx = Context::for_tests(program);
            let parts = parts(&ctx).unwrap();
            assert_eq!(exec_program(&parts[0].file.contents), Some(program.into()), "{program}");
        }
        assert_eq!(
            exec_program("[Service]\nExecStart=-/usr/bin/x run\n"),
            Some("/usr/bin/x".into())
        );
        assert_eq!(exec_program("[Service]\nType=exec\n"), None);
    }

    #[test]
    fn packaged_units_are_found_with_their_program() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(packaged(dir.path()), None);
        std::fs::write(
            dir.path().join(SERVICE),
            "[Service]\nExecStart=/usr/bin/bedprov daemon run\n",
        )
        .unwrap();
        let found = packaged(dir.path()).unwrap();
        assert_eq!(found.units, [SERVICE]);
        assert!(found.runs(Path::new("/usr/bin/bedprov")));
        assert!(!found.runs(Path::new("/home/me/.cargo/bin/bedprov")));
        std::fs::write(dir.path().join(SOCKET), SOCKET_TEMPLATE).unwrap();
        assert_eq!(packaged(dir.path()).unwrap().units, [SERVICE, SOCKET]);
        assert!(packaged(dir.path()).unwrap().provides(SOCKET));
    }

    #[test]
    fn commands_enable_the_entry_point_and_restart_only_after_a_change() {
        let lines = |commands: Vec<FollowUp>| {
            commands.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        };
        assert_eq!(
            lines(install_commands(false, true, true)),
            "systemctl --user daemon-reload; systemctl --user enable --now bedprov.service; systemctl --user try-restart bedprov.service"
        );
        assert_eq!(
            lines(install_commands(true, false, false)),
            "systemctl --user enable --now bedprov.socket"
        );
        assert_eq!(
            lines(install_commands(false, true, false)),
            "systemctl --user daemon-reload; systemctl --user enable --now bedprov.service"
        );
        assert_eq!(
            lines(uninstall_first(&[SERVICE, SOCKET, SANDBOX])),
            "systemctl --user disable --now bedprov.socket bedprov.service"
        );
        assert!(uninstall_first(&[SANDBOX]).is_empty());
        assert_eq!(
            lines(uninstall_after(&[SERVICE], false)),
            "systemctl --user stop bedprov.service; systemctl --user daemon-reload"
        );
        assert_eq!(lines(uninstall_after(&[SERVICE], true)), "systemctl --user daemon-reload");
    }

    #[test]
    fn show_output_is_parsed_per_unit() {
        let text = "MainPID=812\nId=bedprov.service\nLoadState=loaded\nActiveState=active\nSubState=running\nUnitFileState=enabled\n\nMainPID=0\nId=bedprov.socket\nLoadState=not-found\nActiveState=inactive\nSubState=dead\nUnitFileState=\n";
        let units = parse_show(text);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].id, "bedprov.service");
        assert_eq!(units[0].main_pid, Some(812));
        assert_eq!((units[0].active.as_str(), units[0].sub.as_str()), ("active", "running"));
        assert_eq!(units[1].load, "not-found");
        assert_eq!(units[1].main_pid, None);
    }

    #[test]
    fn enablement_links_are_found_in_wants_directories() {
        let dir = tempfile::tempdir().unwrap();
        assert!(enablement_links(dir.path()).is_empty());
        let wants = dir.path().join("default.target.wants");
        std::fs::create_dir(&wants).unwrap();
        std::os::unix::fs::symlink("../bedprov.service", wants.join(SERVICE)).unwrap();
        std::os::unix::fs::symlink("../other.service", wants.join("other.service")).unwrap();
        assert_eq!(enablement_links(dir.path()), vec![wants.join(SERVICE)]);
    }
}
