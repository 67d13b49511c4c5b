//! `bedprov service`: running the daemon as a user service — systemd user units on Linux, a
//! launchd agent on macOS — installed, removed and inspected for this `bedprov` binary.
//!
//! The unit files are the ones in the repository's `systemd/` and `launchd/` directories,
//! embedded in the binary, so an install writes exactly what the repository ships (with the
//! absolute paths filled in, and a seal line that tells our copies from edited ones).
//!
//! - [`files`]: placeholders, the seal, file states, atomic writes and removal.
//! - [`systemd`], [`launchd`]: each platform's files, follow-up commands and state query.
//! - [`commands`]: follow-up commands, shown as shell lines or run (`--now`).
//!
//! Units a package installed (`/usr/lib/systemd/user`, running the packaged `bedprov`) are
//! used as they are when this is that binary: install enables them and writes no copies.
//!
//! This module decides: which files to write or remove, when to refuse (a file edited by
//! hand, units still enabled, copies that would hide packaged units), and which commands
//! follow. Rendering the reports is
//! `render::service`'s job.

pub mod commands;
pub mod files;
pub mod launchd;
pub mod systemd;

use crate::Error;
use crate::wire::api::ErrorCode;
use commands::{Attempt, FollowUp};
use files::{FileState, Wanted};
use std::path::{Path, PathBuf};

/// A service manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Systemd,
    Launchd,
}

impl Platform {
    /// The service manager of the OS we run on.
    #[must_use]
    pub fn native() -> Option<Self> {
        if cfg!(target_os = "macos") {
            Some(Self::Launchd)
        } else if cfg!(target_os = "linux") {
            Some(Self::Systemd)
        } else {
            None
        }
    }

    /// `--systemd`/`--launchd` if given, else the native one.
    pub fn choose(systemd: bool, launchd: bool) -> crate::Result<Self> {
        match (systemd, launchd) {
            (true, false) => Ok(Self::Systemd),
            (false, true) => Ok(Self::Launchd),
            _ => Self::native().ok_or_else(|| {
                Error::usage(
                    "cannot tell which service manager this OS uses",
                    "pass --systemd or --launchd",
                )
            }),
        }
    }

    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Systemd => "systemd",
            Self::Launchd => "launchd",
        }
    }

    /// The directory the files go to.
    #[must_use]
    pub fn dir(self, ctx: &Context) -> PathBuf {
        match self {
            Self::Systemd => systemd::unit_dir(&ctx.config_home),
            Self::Launchd => launchd::agents_dir(&ctx.home),
        }
    }

    fn parts(self, ctx: &Context) -> crate::Result<Vec<Part>> {
        match self {
            Self::Systemd => systemd::parts(ctx),
            Self::Launchd => launchd::parts(ctx),
        }
    }
}

/// Where things are, for this user and this binary.
#[derive(Debug, Clone)]
pub struct Context {
    /// The absolute path of this `bedprov`, which the service runs.
    pub program: PathBuf,
    pub home: PathBuf,
    /// `$XDG_CONFIG_HOME` (default `~/.config`).
    pub config_home: PathBuf,
    /// The socket path clients of this user resolve (`--socket`, `BEDPROV_SOCKET`, default).
    pub socket: PathBuf,
    pub uid: u32,
    /// What the service passes after `daemon run`: `--proxy` or `--proxy=ADDR`, or nothing.
    pub daemon_args: Vec<String>,
    /// Where a package puts its systemd user units (`paths::packaged_unit_dir`).
    pub packaged_unit_dir: PathBuf,
}

impl Context {
    /// From this process: its executable, `HOME`, `XDG_CONFIG_HOME`, and `socket`.
    pub fn from_env(socket: &Path) -> crate::Result<Self> {
        let program = std::env::current_exe().map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("cannot tell where this bedprov binary is: {e}"),
                "run bedprov by its full path (e.g. ~/.cargo/bin/bedprov service install)",
            )
        })?;
        if !program.is_file() {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("this bedprov binary is no longer at {}", program.display()),
                "it was replaced or removed while running: run the installed bedprov again",
            ));
        }
        let home = crate::paths::home().map(Path::to_path_buf).ok_or_else(|| {
            Error::usage(
                "HOME is not set (or not an absolute path)",
                "run `bedprov service` as the user the service is for, in a login shell",
            )
        })?;
        Ok(Self {
            program,
            config_home: crate::paths::config_home(),
            home,
            socket: socket.to_path_buf(),
            uid: nix::unistd::getuid().as_raw(),
            daemon_args: Vec::new(),
            packaged_unit_dir: crate::paths::packaged_unit_dir(),
        })
    }

    /// The service runs the daemon with the local Bedrock proxy (`service install --proxy
    /// [ADDR]`), on `listen` (checked by the caller: a loopback address) if given.
    #[must_use]
    pub fn with_proxy(mut self, listen: Option<std::net::SocketAddr>) -> Self {
        let arg = match listen {
            Some(addr) => format!("--proxy={addr}"),
            None => "--proxy".to_owned(),
        };
        self.daemon_args = vec![arg];
        self
    }

    /// This context with the daemon arguments the installed service file already has, so
    /// that it is judged against what was installed (`status`, `uninstall`).
    fn as_installed(&self, platform: Platform) -> Self {
        let path = match platform {
            Platform::Systemd => systemd::unit_dir(&self.config_home).join(systemd::SERVICE),
            Platform::Launchd => launchd::agents_dir(&self.home).join(launchd::PLIST),
        };
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let daemon_args = match platform {
            Platform::Systemd => systemd::installed_daemon_args(&text),
            Platform::Launchd => launchd::installed_daemon_args(&text),
        };
        Self { daemon_args, ..self.clone() }
    }

    #[cfg(test)]
    pub(crate) fn for_tests(program: &str) -> Self {
        Self {
            program: program.into(),
            home: "/home/me".into(),
            config_home: "/cfg".into(),
            socket: "/run/me/bedprov.sock".into(),
            uid: 501,
            daemon_args: Vec::new(),
            packaged_unit_dir: "/nonexistent/systemd/user".into(),
        }
    }
}

/// Which install option brings a file in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    Always,
    /// `--socket-activation`.
    SocketActivation,
    /// `--sandbox`.
    Sandbox,
}

/// One file of a platform: its name relative to the platform's directory, the option that
/// brings it in, and what it should contain.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: &'static str,
    pub feature: Feature,
    pub file: Wanted,
}

/// `bedprov service install` options.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    pub platform: Platform,
    /// Optional files to install too.
    pub extras: Vec<Feature>,
    pub now: bool,
    pub force: bool,
}

impl InstallOptions {
    fn wants(&self, feature: Feature) -> bool {
        feature == Feature::Always || self.extras.contains(&feature)
    }
}

/// What happened to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    /// Replaced our own older copy.
    Updated,
    /// Replaced a copy edited by hand (`--force`).
    Replaced,
    Unchanged,
}

/// The outcome of an install.
#[derive(Debug)]
pub struct InstallReport {
    pub platform: Platform,
    pub program: PathBuf,
    pub changes: Vec<(PathBuf, Change)>,
    /// The follow-up commands: run already when `ran`, else for the user to run.
    pub commands: Vec<FollowUp>,
    pub ran: bool,
    pub socket_activation: bool,
    /// Things worth knowing (stderr).
    pub notes: Vec<String>,
    /// The packaged units used instead of copies in the user's directory.
    pub packaged: Option<systemd::Packaged>,
    /// With `--now`: the service manager could not be reached, so the service was not
    /// started.
    pub unreached: Option<Unreached>,
}

/// A `--now` that found no service manager to tell.
#[derive(Debug, Clone)]
pub struct Unreached {
    /// Why, in the manager's own words (`Failed to connect to bus: …`).
    pub reason: String,
    /// The unit that was enabled all the same (systemd links it without a manager), so it
    /// starts at the next login with one; `None` when that failed too.
    pub enabled: Option<&'static str>,
}

impl InstallReport {
    #[must_use]
    pub fn changed(&self) -> bool {
        self.changes.iter().any(|(_, change)| *change != Change::Unchanged)
    }
}

impl Context {
    /// The units a package installed, whichever program they run.
    #[must_use]
    pub fn packaged(&self, platform: Platform) -> Option<systemd::Packaged> {
        match platform {
            Platform::Systemd => systemd::packaged(&self.packaged_unit_dir),
            Platform::Launchd => None,
        }
    }

    /// The units a package installed for this binary: `install` enables them instead of
    /// writing its own copies.
    #[must_use]
    pub fn packaged_for_this(&self, platform: Platform) -> Option<systemd::Packaged> {
        self.packaged(platform).filter(|packaged| packaged.runs(&self.program))
    }
}

/// Installs the service files; see the module docs.
pub fn install(ctx: &Context, options: &InstallOptions) -> crate::Result<InstallReport> {
    if options.platform == Platform::Launchd && !options.extras.is_empty() {
        return Err(Error::usage(
            "--socket-activation and --sandbox are systemd features",
            "drop them for launchd, or pass --systemd",
        ));
    }
    let parts = options.platform.parts(ctx)?;
    let packaged = ctx.packaged_for_this(options.platform);
    if let Some(packaged) = &packaged {
        refuse_hiding(packaged, &parts)?;
        if !ctx.daemon_args.is_empty() {
            // The packaged unit runs `daemon run` as shipped; the config file reaches it.
            return Err(Error::usage(
                format!(
                    "the packaged units in {} run the daemon as shipped: --proxy cannot go into them",
                    packaged.dir.display()
                ),
                format!(
                    "turn the proxy on in the config file instead: add a `[proxy]` table (optionally `listen = \"127.0.0.1:PORT\"`) to {}, then run `bedprov service install` without --proxy",
                    crate::paths::config_file().display()
                ),
            ));
        }
    }
    let mut plan = Vec::new();
    let mut leftovers = Vec::new();
    for part in &parts {
        if packaged.as_ref().is_some_and(|packaged| packaged.provides(part.name)) {
            continue;
        }
        let state = files::state(&part.file.path, &part.file.contents)?;
        if options.wants(part.feature) {
            plan.push((part, state));
        } else if state != FileState::Missing {
            leftovers.push(part);
        }
    }
    // Decide before writing anything: one edited file stops the whole install.
    let edited: Vec<&Path> = plan
        .iter()
        .filter(|(_, state)| *state == FileState::Edited)
        .map(|(part, _)| part.file.path.as_path())
        .collect();
    if !edited.is_empty() && !options.force {
        return Err(refuse_edited(options.platform, &edited, "not overwriting", "install"));
    }
    let mut done = Vec::new();
    for (part, state) in plan {
        let change = match state {
            FileState::Current => Change::Unchanged,
            FileState::Missing => Change::Created,
            FileState::Outdated => Change::Updated,
            FileState::Edited => Change::Replaced,
        };
        if change != Change::Unchanged {
            files::write(&part.file.path, &part.file.contents)?;
        }
        done.push((part.file.path.clone(), change));
    }

    let mut report = InstallReport {
        platform: options.platform,
        program: ctx.program.clone(),
        changes: done,
        commands: Vec::new(),
        ran: false,
        socket_activation: options.wants(Feature::SocketActivation),
        notes: install_notes(ctx, options, &leftovers),
        unreached: None,
        packaged,
    };
    let any_change = report.changed();
    let replaced =
        report.changes.iter().any(|(_, c)| matches!(c, Change::Updated | Change::Replaced));
    report.commands = match options.platform {
        Platform::Systemd => systemd::install_commands(
            options.wants(Feature::SocketActivation),
            any_change,
            replaced,
        ),
        Platform::Launchd => {
            // launchd does not create the log directory.
            let logs = launchd::logs_dir(&ctx.home);
            std::fs::create_dir_all(&logs)
                .map_err(Error::io(format!("cannot create {}", logs.display())))?;
            let loaded = if options.now { launchd::loaded(ctx.uid) } else { None };
            let plist = launchd::agents_dir(&ctx.home).join(launchd::PLIST);
            let reload = if loaded.is_some() { any_change } else { replaced };
            launchd::install_commands(ctx.uid, &plist, reload, loaded)
        }
    };
    if options.now {
        report.unreached = run_install_commands(options, &report.commands)?;
        report.ran = true;
    }
    Ok(report)
}

/// Runs an install's follow-up commands. Without a systemd user manager the files stay
/// installed and the entry point is still enabled (systemctl does that without one), so
/// the report can say exactly what was done and what was not.
fn run_install_commands(
    options: &InstallOptions,
    commands: &[FollowUp],
) -> crate::Result<Option<Unreached>> {
    for command in commands {
        match command.attempt() {
            Attempt::Done(_) => {}
            Attempt::NoManager { reason, error } => {
                if options.platform != Platform::Systemd {
                    return Err(error);
                }
                let unit = systemd::entry_point(options.wants(Feature::SocketActivation));
                let enabled = matches!(systemd::enable(unit).attempt(), Attempt::Done(_));
                return Ok(Some(Unreached { reason, enabled: enabled.then_some(unit) }));
            }
            Attempt::Failed(error) => return Err(error),
        }
    }
    Ok(None)
}

/// Copies in the user's unit directory take precedence over the packaged units: an install
/// that enables the packaged ones must not leave any there (nor remove them unasked: an
/// enabled copy's links point at it).
fn refuse_hiding(packaged: &systemd::Packaged, parts: &[Part]) -> crate::Result<()> {
    let mut hiding = Vec::new();
    for part in parts.iter().filter(|part| packaged.provides(part.name)) {
        if files::state(&part.file.path, &part.file.contents)? != FileState::Missing {
            hiding.push(part.file.path.display().to_string());
        }
    }
    if hiding.is_empty() {
        return Ok(());
    }
    Err(Error::new(
        ErrorCode::Declined,
        format!(
            "{} would hide the units the bedprov package installed in {}",
            hiding.join(", "),
            packaged.dir.display()
        ),
        "they come from an earlier `bedprov service install` (or were written by hand): run `bedprov service uninstall --now` (with --force for files edited by hand), then `bedprov service install` again; keep local changes in a drop-in (`systemctl --user edit bedprov.service`)",
    ))
}

fn install_notes(ctx: &Context, options: &InstallOptions, leftovers: &[&Part]) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(other) =
        ctx.packaged(options.platform).filter(|packaged| !packaged.runs(&ctx.program))
    {
        notes.push(format!(
            "the units installed here hide the ones the bedprov package installed in {}, which run {}: to use those instead, run `bedprov service uninstall --now`, then `{} service install`",
            other.dir.display(),
            other.program.display(),
            other.program.display()
        ));
    }
    for part in leftovers {
        let what = match part.feature {
            Feature::SocketActivation => "socket activation stays on",
            Feature::Sandbox => "the sandboxing drop-in stays on",
            Feature::Always => "it stays",
        };
        notes.push(format!(
            "{} from an earlier install is still there ({what}): to turn it off, run `bedprov service uninstall`, then install again without that option",
            part.file.path.display()
        ));
    }
    let program = ctx.program.to_string_lossy();
    if program.contains("/target/debug/") || program.contains("/target/release/") {
        notes.push(format!(
            "the service will run {program}, a build in a cargo target directory that `cargo clean` removes: prefer `cargo install` and running `bedprov service install` from there"
        ));
    }
    if options.platform == Platform::Systemd {
        let service_socket = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_absolute())
            .map(|d| d.join("bedprov").join(crate::wire::socket_path::SOCKET_FILE));
        if service_socket.as_deref() != Some(ctx.socket.as_path()) {
            notes.push(format!(
                "the service listens on $XDG_RUNTIME_DIR/bedprov/bedprov.sock, but clients here resolve {} (--socket, BEDPROV_SOCKET or no XDG_RUNTIME_DIR): unset BEDPROV_SOCKET so they find the service",
                ctx.socket.display()
            ));
        }
    }
    notes
}

fn refuse_edited(platform: Platform, paths: &[&Path], doing: &str, command: &str) -> Error {
    let list = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    let drop_in = match platform {
        Platform::Systemd => {
            "keep local changes in a drop-in instead (`systemctl --user edit bedprov.service`); "
        }
        Platform::Launchd => "",
    };
    Error::new(
        ErrorCode::Declined,
        format!("{doing} {list}: edited by hand since bedprov wrote it"),
        format!(
            "{drop_in}to {command} anyway, save your edits elsewhere and run `bedprov service {command} --force`"
        ),
    )
}

/// `bedprov service uninstall` options.
#[derive(Debug, Clone, Copy)]
pub struct UninstallOptions {
    pub platform: Platform,
    pub now: bool,
    pub force: bool,
}

/// The outcome of an uninstall.
#[derive(Debug)]
pub struct UninstallReport {
    pub platform: Platform,
    pub dir: PathBuf,
    pub removed: Vec<PathBuf>,
    /// Run already when `ran`, else for the user to run.
    pub commands: Vec<FollowUp>,
    pub ran: bool,
    /// With `--now`: no service manager answered (why), so none was told; the files and
    /// enablement links were removed all the same.
    pub unreached: Option<String>,
    /// Packaged units, which stay.
    pub packaged: Option<systemd::Packaged>,
}

/// Removes what `install` wrote; see the module docs. With `--now` and no systemd user
/// manager to tell, it still finishes — the enablement links and files go — and says that
/// nothing was stopped; any other failure of the first command leaves everything as it was.
pub fn uninstall(ctx: &Context, options: &UninstallOptions) -> crate::Result<UninstallReport> {
    let ctx = &ctx.as_installed(options.platform);
    let dir = options.platform.dir(ctx);
    let mut present = Vec::new();
    for part in options.platform.parts(ctx)? {
        match files::state(&part.file.path, &part.file.contents)? {
            FileState::Missing => {}
            state => present.push((part, state)),
        }
    }
    let edited: Vec<&Path> = present
        .iter()
        .filter(|(_, state)| *state == FileState::Edited)
        .map(|(part, _)| part.file.path.as_path())
        .collect();
    if !edited.is_empty() && !options.force {
        return Err(refuse_edited(options.platform, &edited, "not removing", "uninstall"));
    }
    let names: Vec<&str> = present.iter().map(|(part, _)| part.name).collect();
    // Packaged units stay (they belong to the package), but are disabled and stopped too.
    let packaged = ctx.packaged(options.platform);
    let mut units = names.clone();
    units.extend(packaged.iter().flat_map(|packaged| packaged.units.iter().copied()));

    let mut first = Vec::new();
    let mut after = Vec::new();
    match options.platform {
        Platform::Systemd => {
            let links = systemd::enablement_links(&dir);
            if !options.now && !links.is_empty() {
                return Err(still_enabled(&links));
            }
            if options.now {
                first = systemd::uninstall_first(&units);
            }
            if !units.is_empty() {
                after = systemd::uninstall_after(&units, options.now);
            }
        }
        Platform::Launchd => {
            let command = launchd::uninstall_command(ctx.uid);
            if options.now {
                if launchd::loaded(ctx.uid) == Some(true) {
                    first.push(command);
                }
            } else if !names.is_empty() {
                after.push(command);
            }
        }
    }
    let mut unreached = None;
    for command in options.now.then_some(&first).into_iter().flatten() {
        match command.attempt() {
            Attempt::Done(_) => {}
            Attempt::NoManager { reason, .. } if options.platform == Platform::Systemd => {
                unreached = Some(reason);
                break;
            }
            Attempt::NoManager { error, .. } | Attempt::Failed(error) => return Err(error),
        }
    }
    let mut removed = Vec::new();
    if unreached.is_some() {
        // What `systemctl disable` would have removed (it may have removed some already).
        for link in systemd::enablement_links(&dir) {
            files::remove(&link)?;
            if let Some(wants) = link.parent() {
                files::remove_dir_if_empty(wants);
            }
            removed.push(link);
        }
    }
    for (part, _) in &present {
        files::remove(&part.file.path)?;
        removed.push(part.file.path.clone());
        if let Some(parent) = part.file.path.parent().filter(|p| *p != dir) {
            files::remove_dir_if_empty(parent);
        }
    }
    if options.now && unreached.is_none() {
        for command in &after {
            match command.attempt() {
                Attempt::Done(_) => {}
                Attempt::NoManager { reason, .. } => {
                    unreached = Some(reason);
                    break;
                }
                Attempt::Failed(error) => return Err(after_removal(&removed, &error)),
            }
        }
    }
    let mut commands = first;
    commands.extend(after);
    Ok(UninstallReport {
        platform: options.platform,
        dir,
        removed,
        commands,
        ran: options.now,
        unreached,
        packaged,
    })
}

/// A command that failed once the files were gone: the error says they are.
fn after_removal(removed: &[PathBuf], error: &Error) -> Error {
    let list = removed.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    Error::new(
        error.kind(),
        format!("removed {list}, but then {error}"),
        "the files are gone: fix the cause shown and run the command yourself",
    )
}

fn still_enabled(links: &[PathBuf]) -> Error {
    let list = links.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
    Error::new(
        ErrorCode::Declined,
        format!("the bedprov units are still enabled ({list})"),
        "run `bedprov service uninstall --now` to disable and stop them first, or run `systemctl --user disable --now bedprov.socket bedprov.service` yourself (without a user manager: remove those links)",
    )
}

/// What `status` found about the service manager.
#[derive(Debug)]
pub enum Manager {
    Systemd(Vec<systemd::UnitState>),
    /// `None`: the agent is not loaded.
    Launchd(Option<launchd::AgentState>),
    /// The manager could not be asked (no user systemd, not macOS): why.
    Unavailable(String),
}

/// The outcome of `status`.
#[derive(Debug)]
pub struct StatusReport {
    pub platform: Platform,
    pub dir: PathBuf,
    pub files: Vec<(&'static str, PathBuf, FileState)>,
    pub manager: Manager,
    /// Units a package installed.
    pub packaged: Option<systemd::Packaged>,
}

/// Which files are installed, whether they are what this binary writes, and what the service
/// manager says. Never fails because the manager cannot be reached.
pub fn status(ctx: &Context, platform: Platform) -> crate::Result<StatusReport> {
    let ctx = &ctx.as_installed(platform);
    let files = platform
        .parts(ctx)?
        .into_iter()
        .map(|part| {
            let state = files::state(&part.file.path, &part.file.contents)?;
            Ok((part.name, part.file.path, state))
        })
        .collect::<crate::Result<_>>()?;
    let manager = match platform {
        Platform::Systemd => systemd::query().map_or_else(Manager::Unavailable, Manager::Systemd),
        Platform::Launchd => {
            launchd::query(ctx.uid).map_or_else(Manager::Unavailable, Manager::Launchd)
        }
    };
    let packaged = ctx.packaged(platform);
    Ok(StatusReport { platform, dir: platform.dir(ctx), files, manager, packaged })
}
