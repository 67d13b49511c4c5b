//! `bedprov service` as real processes against a private HOME: the generated systemd units
//! pass `systemd-analyze verify`, the launchd plist parses with the required keys, installs
//! write exactly what the repository ships, are idempotent and keep hand edits unless
//! `--force`, uninstall removes exactly what was installed, `--now` runs the right commands,
//! and `status` degrades gracefully where there is no user systemd.

mod common;

use bedprov::service::files::{Comment, seal};
use common::{Sandbox, run};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

fn unit_dir(sandbox: &Sandbox) -> PathBuf {
    sandbox.home().join(".config/systemd/user")
}

fn service(sandbox: &Sandbox, args: &[&str]) -> (i32, String, String) {
    run(&mut sandbox.bedprov(&[&["service"], args].concat()))
}

fn repo_file(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path)).unwrap()
}

/// Every file under `dir` with its modification time.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, SystemTime> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let meta = std::fs::symlink_metadata(entry.path()).unwrap();
            if meta.is_dir() {
                pending.push(entry.path());
            } else {
                files.insert(entry.path(), meta.modified().unwrap());
            }
        }
    }
    files
}

/// The line of `service status` about `name`, with the padding squeezed out.
fn status_line(stdout: &str, name: &str) -> String {
    let line = stdout
        .lines()
        .find(|line| line.trim_start().starts_with(&format!("{name} ")))
        .unwrap_or_else(|| panic!("no line for {name}: {stdout}"));
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `systemd-analyze verify --user` on `files`: exit code and the lines about our units.
fn verify(sandbox: &Sandbox, files: &[PathBuf]) -> (i32, String) {
    let mut command = sandbox.command("systemd-analyze");
    command.args(["verify", "--user"]).args(files);
    let (code, stdout, stderr) = run(&mut command);
    let ours = format!("{stdout}{stderr}")
        .lines()
        .filter(|line| line.contains("bedprov"))
        .collect::<Vec<_>>()
        .join("\n");
    (code, ours)
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation", "--sandbox"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = unit_dir(&sandbox);
    let units = [dir.join("bedprov.service"), dir.join("bedprov.socket")];
    let (code, complaints) = verify(&sandbox, &units);
    assert_eq!(code, 0, "{complaints}");
    assert!(complaints.is_empty(), "systemd-analyze complained:\n{complaints}");

    // The check has teeth: a unit whose ExecStart does not exist, or a bad drop-in, fails.
    let broken = sandbox.dir.path().join("broken");
    std::fs::create_dir_all(broken.join("bedprov.service.d")).unwrap();
    let text = std::fs::read_to_string(&units[0]).unwrap();
    std::fs::write(
        broken.join("bedprov.service"),
        text.replace(common::bedprov_bin(), "/nonexistent/bedprov"),
    )
    .unwrap();
    let (code, complaints) = verify(&sandbox, &[broken.join("bedprov.service")]);
    assert_ne!(code, 0);
    assert!(complaints.contains("/nonexistent/bedprov"), "{complaints}");
    std::fs::write(broken.join("bedprov.service"), &text).unwrap();
    std::fs::write(broken.join("bedprov.service.d/x.conf"), "[Service]\nProtectSystem=sideways\n")
        .unwrap();
    let (_, complaints) = verify(&sandbox, &[broken.join("bedprov.service")]);
    assert!(complaints.contains("sideways"), "drop-ins are read: {complaints}");
}

#[test]
fn exec_start_survives_spaces_percent_dollar_and_semicolons_in_the_binary_path() {
    // A copy of bedprov at an awkward path; systemd must resolve ExecStart to exactly it.
    let base = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let dir = base.path().join("my tools 100%$HOME;x#y");
    std::fs::create_dir(&dir).unwrap();
    let program = dir.join("bedprov");
    if std::fs::hard_link(common::bedprov_bin(), &program).is_err() {
        std::fs::copy(common::bedprov_bin(), &program).unwrap();
    }
    let sandbox = Sandbox::new();
    let (code, _, stderr) =
        run(sandbox.command(&program).args(["service", "install", "--systemd"]));
    assert_eq!(code, 0, "{stderr}");
    let unit = unit_dir(&sandbox).join("bedprov.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    assert!(text.contains("ExecStart=\"") && text.contains("100%%$HOME"), "{text}");
    let (code, complaints) = verify(&sandbox, &[unit]);
    assert_eq!(code, 0, "{complaints}");
    assert!(complaints.is_empty(), "{complaints}");
}

#[test]
fn install_writes_exactly_what_the_repository_ships() {
    let sandbox = Sandbox::new();
    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation", "--sandbox"]);
    assert_eq!(code, 0, "{stderr}");
    let dir = unit_dir(&sandbox);
    for (installed, shipped) in [
        ("bedprov.service", "systemd/bedprov.service"),
        ("bedprov.socket", "systemd/bedprov.socket"),
        ("bedprov.service.d/sandbox.conf", "systemd/bedprov.service.d/sandbox.conf"),
    ] {
        let path = dir.join(installed);
        let expected = repo_file(shipped).replace("@BEDPROV@", common::bedprov_bin());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), seal(&expected, Comment::Hash));
        assert_eq!(mode(&path), 0o644, "{installed}");
        assert!(stdout.contains(&format!("created    {}", path.display())), "{stdout}");
    }
    let service = std::fs::read_to_string(dir.join("bedprov.service")).unwrap();
    assert!(service.contains(&format!("\nExecStart={} daemon run\n", common::bedprov_bin())));
    for follow_up in [
        "systemctl --user daemon-reload",
        "systemctl --user enable --now bedprov.socket",
        "loginctl enable-linger $USER",
    ] {
        assert!(stdout.contains(follow_up), "{follow_up}: {stdout}");
    }
    assert!(!stdout.contains("try-restart"), "nothing to restart on a first install");
    assert!(stderr.contains("cargo target directory"), "{stderr}");
}

#[test]
fn install_twice_changes_nothing_and_says_so() {
    let sandbox = Sandbox::new();
    assert_eq!(service(&sandbox, &["install", "--systemd", "--socket-activation"]).0, 0);
    let before = snapshot(&sandbox.home());
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Nothing changed: the bedprov user service (systemd) is already installed and up to date."), "{stdout}");
    assert!(!stdout.contains("daemon-reload"), "{stdout}");
    assert_eq!(snapshot(&sandbox.home()), before, "same files, same mtimes");
}

#[test]
fn xdg_config_home_is_honoured() {
    let sandbox = Sandbox::new();
    let config = sandbox.dir.path().join("cfg");
    let (code, stdout, _) =
        run(sandbox.bedprov(&["service", "install", "--systemd"]).env("XDG_CONFIG_HOME", &config));
    assert_eq!(code, 0);
    assert!(config.join("systemd/user/bedprov.service").is_file(), "{stdout}");
    assert!(!unit_dir(&sandbox).exists());
}

#[test]
fn a_hand_edited_unit_is_kept_unless_forced_and_our_old_copy_is_updated() {
    let sandbox = Sandbox::new();
    assert_eq!(service(&sandbox, &["install", "--systemd", "--socket-activation"]).0, 0);
    let socket_unit = unit_dir(&sandbox).join("bedprov.socket");
    let shipped = std::fs::read_to_string(&socket_unit).unwrap();
    let edited = shipped.replace("SocketMode=0600", "SocketMode=0660");
    std::fs::write(&socket_unit, &edited).unwrap();

    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(socket_unit.to_str().unwrap()) && stderr.contains("edited by hand"),
        "{stderr}"
    );
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&socket_unit).unwrap(), edited, "the edit is kept");
    let (_, status, _) = service(&sandbox, &["status", "--systemd"]);
    assert_eq!(status_line(&status, "bedprov.socket"), "bedprov.socket installed, edited by hand");

    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation", "--force"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("replaced") && stdout.contains("unchanged"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&socket_unit).unwrap(), shipped);

    // A copy an older bedprov wrote (sealed, untouched) is ours: updated without --force.
    let service_unit = unit_dir(&sandbox).join("bedprov.service");
    std::fs::write(
        &service_unit,
        seal("[Service]\nExecStart=/old/bedprov daemon run\n", Comment::Hash),
    )
    .unwrap();
    let (_, status, _) = service(&sandbox, &["status", "--systemd"]);
    assert!(
        status_line(&status, "bedprov.service")
            .starts_with("bedprov.service installed by another bedprov version"),
        "{status}"
    );
    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("updated    {}", service_unit.display())), "{stdout}");
    assert!(stdout.contains("systemctl --user try-restart bedprov.service"), "{stdout}");
}

#[test]
fn uninstall_removes_exactly_what_install_wrote() {
    let sandbox = Sandbox::new();
    let dir = unit_dir(&sandbox);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("other.service"), "[Service]\nExecStart=/bin/true\n").unwrap();
    let before = snapshot(&sandbox.home());

    let (code, _, stderr) =
        service(&sandbox, &["install", "--systemd", "--socket-activation", "--sandbox"]);
    assert_eq!(code, 0, "{stderr}");
    // The user's own drop-in next to ours stays.
    let own_drop_in = dir.join("bedprov.service.d/override.conf");
    std::fs::write(&own_drop_in, "[Service]\nEnvironment=AWS_PROFILE=work\n").unwrap();

    // Enabled units must be disabled first: refused without --now.
    let wants = dir.join("default.target.wants");
    std::fs::create_dir_all(&wants).unwrap();
    std::os::unix::fs::symlink(dir.join("bedprov.service"), wants.join("bedprov.service")).unwrap();
    let (code, _, stderr) = service(&sandbox, &["uninstall", "--systemd"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stderr.contains("still enabled") && stderr.contains("--now"), "{stderr}");
    assert!(dir.join("bedprov.service").exists());
    std::fs::remove_dir_all(&wants).unwrap();

    let (code, stdout, stderr) = service(&sandbox, &["uninstall", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout.matches("  removed  ").count(), 3, "{stdout}");
    assert!(stdout.contains("systemctl --user stop bedprov.socket bedprov.service"), "{stdout}");
    assert!(stdout.contains("systemctl --user daemon-reload"));
    let mut after = snapshot(&sandbox.home());
    assert!(after.remove(&own_drop_in).is_some(), "the user's drop-in is kept");
    assert_eq!(after.keys().collect::<Vec<_>>(), before.keys().collect::<Vec<_>>());

    let (code, stdout, _) = service(&sandbox, &["uninstall", "--systemd"]);
    assert_eq!(code, 0);
    assert!(stdout.starts_with("Nothing to remove"), "{stdout}");
}

#[test]
fn uninstall_keeps_an_edited_unit_unless_forced() {
    let sandbox = Sandbox::new();
    assert_eq!(service(&sandbox, &["install", "--systemd"]).0, 0);
    let unit = unit_dir(&sandbox).join("bedprov.service");
    std::fs::write(&unit, "[Service]\nExecStart=/mine\n").unwrap();
    let (code, _, stderr) = service(&sandbox, &["uninstall", "--systemd"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stderr.contains("not removing") && stderr.contains("--force"), "{stderr}");
    assert!(unit.exists());
    assert_eq!(service(&sandbox, &["uninstall", "--systemd", "--force"]).0, 0);
    assert!(!unit.exists());
}

/// A fake service-manager command on PATH that records its arguments (one call per line)
/// and answers with `body` (shell).
fn fake(sandbox: &Sandbox, program: &str, body: &str) -> (PathBuf, PathBuf) {
    let bin = sandbox.dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let calls = sandbox.dir.path().join(format!("{program}.calls"));
    let path = bin.join(program);
    std::fs::write(&path, format!("#!/bin/sh\necho \"$*\" >> '{}'\n{body}\n", calls.display()))
        .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (bin, calls)
}

fn with_path(mut command: Command, bin: &Path) -> Command {
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    command.env("PATH", path);
    command
}

fn calls(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).unwrap_or_default().lines().map(str::to_owned).collect()
}

#[test]
fn now_runs_the_systemctl_commands_in_order() {
    let sandbox = Sandbox::new();
    let (bin, log) = fake(&sandbox, "systemctl", "exit 0");
    let mut install =
        with_path(sandbox.bedprov(&["service", "install", "--systemd", "--now"]), &bin);
    let (code, stdout, stderr) = run(&mut install);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(calls(&log), ["--user daemon-reload", "--user enable --now bedprov.service"]);
    assert!(stdout.contains("Ran:\n  systemctl --user daemon-reload"), "{stdout}");

    let (code, _, _) = run(&mut install);
    assert_eq!(code, 0);
    assert_eq!(calls(&log)[2..], ["--user enable --now bedprov.service"], "nothing to reload");

    let mut uninstall =
        with_path(sandbox.bedprov(&["service", "uninstall", "--systemd", "--now"]), &bin);
    let (code, stdout, stderr) = run(&mut uninstall);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(calls(&log)[3..], ["--user disable --now bedprov.service", "--user daemon-reload"]);
    assert!(stdout.contains("removed"), "{stdout}");
    assert!(!unit_dir(&sandbox).join("bedprov.service").exists());
}

#[test]
fn now_without_a_user_manager_fails_with_a_hint_and_leaves_the_files() {
    let sandbox = Sandbox::new();
    let (bin, log) =
        fake(&sandbox, "systemctl", "echo 'Failed to connect to bus: No medium found' >&2; exit 1");
    let (code, stdout, stderr) =
        run(&mut with_path(sandbox.bedprov(&["service", "install", "--systemd", "--now"]), &bin));
    assert_eq!(code, 1, "{stderr}");
    // stdout says what was done and what was not (this systemctl cannot even enable).
    assert!(stdout.contains("  created    "), "{stdout}");
    assert!(stdout.contains("(Failed to connect to bus: No medium found), so the service was not started.\nIt was not enabled either."), "{stdout}");
    assert!(stderr.contains("Failed to connect to bus"), "{stderr}");
    assert!(stderr.contains("loginctl enable-linger"), "{stderr}");
    assert!(unit_dir(&sandbox).join("bedprov.service").exists());
    assert_eq!(calls(&log), ["--user daemon-reload", "--user enable bedprov.service"]);

    // Uninstalling finishes without a manager to tell, and says so.
    let (code, stdout, stderr) =
        run(&mut with_path(sandbox.bedprov(&["service", "uninstall", "--systemd", "--now"]), &bin));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("none was told: nothing was stopped or reloaded"), "{stdout}");
    assert!(!unit_dir(&sandbox).join("bedprov.service").exists());
    assert_eq!(calls(&log)[2..], ["--user disable --now bedprov.service"]);
}

/// This machine's own systemctl where no user manager answers — without a session bus (a
/// container, an SSH session) and with one that has no manager behind it: `--now` does
/// what it can, says what it could not, and one uninstall removes everything.
#[test]
fn now_with_the_real_systemctl_and_no_user_manager_finishes_and_says_what_it_did() {
    if Command::new("systemctl").arg("--version").output().is_err() {
        eprintln!("SKIPPED: no systemctl here");
        return;
    }
    let mut buses = vec![None];
    buses.extend(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").map(Some));
    for bus in buses {
        let sandbox = Sandbox::new();
        let command = |args: &[&str]| {
            let mut command = sandbox.bedprov(&[&["service"], args].concat());
            command.env_remove("DBUS_SESSION_BUS_ADDRESS");
            if let Some(bus) = &bus {
                command.env("DBUS_SESSION_BUS_ADDRESS", bus);
            }
            command
        };
        let dir = unit_dir(&sandbox);
        let link = dir.join("default.target.wants/bedprov.service");
        let before = snapshot(&sandbox.home());

        let (code, stdout, stderr) = run(&mut command(&["install", "--systemd", "--now"]));
        assert_eq!(code, 1, "bus {bus:?}: {stderr}");
        assert!(stdout.contains("so the service was not started."), "bus {bus:?}: {stdout}");
        assert!(stdout.contains("bedprov.service is enabled: it starts at your next login"));
        assert!(stderr.contains("installed but not started: no user manager answers here"));
        assert!(dir.join("bedprov.service").exists() && link.exists(), "enabled, as it says");

        // Again: nothing to write, the same truth.
        let (code, stdout, _) = run(&mut command(&["install", "--systemd", "--now"]));
        assert_eq!(code, 1);
        assert!(stdout.starts_with("Nothing changed") && stdout.contains("not started"));

        let (code, stdout, stderr) = run(&mut command(&["uninstall", "--systemd", "--now"]));
        assert_eq!(code, 0, "bus {bus:?}: {stderr}");
        assert!(stdout.contains(&format!("  removed  {}", dir.join("bedprov.service").display())));
        assert!(stdout.contains("none was told: nothing was stopped or reloaded"), "{stdout}");
        assert!(!link.exists() && !dir.join("bedprov.service").exists());
        assert_eq!(
            snapshot(&sandbox.home()).keys().collect::<Vec<_>>(),
            before.keys().collect::<Vec<_>>(),
            "everything install wrote is gone"
        );
        let (code, stdout, _) = run(&mut command(&["uninstall", "--systemd"]));
        assert_eq!(code, 0);
        assert!(stdout.starts_with("Nothing to remove"), "one uninstall was enough: {stdout}");
    }
}

#[test]
fn status_reports_files_and_degrades_without_a_user_manager() {
    let sandbox = Sandbox::new();
    // Whatever systemctl this machine has (CI containers have no user manager).
    let (code, stdout, stderr) = service(&sandbox, &["status", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(status_line(&stdout, "bedprov.service"), "bedprov.service not installed");
    assert!(stdout.contains("run `bedprov service install`"), "{stdout}");

    assert_eq!(service(&sandbox, &["install", "--systemd"]).0, 0);
    let (bin, _) = fake(
        &sandbox,
        "systemctl",
        "printf 'MainPID=812\\nId=bedprov.service\\nLoadState=loaded\\nActiveState=active\\nSubState=running\\nUnitFileState=enabled\\n\\nMainPID=0\\nId=bedprov.socket\\nLoadState=not-found\\nActiveState=inactive\\nSubState=dead\\nUnitFileState=\\n'",
    );
    let (code, stdout, _) =
        run(&mut with_path(sandbox.bedprov(&["service", "status", "--systemd"]), &bin));
    assert_eq!(code, 0);
    assert_eq!(status_line(&stdout, "bedprov.service"), "bedprov.service installed, up to date");
    assert!(
        stdout.contains("systemd: bedprov.service enabled, active (running), pid 812"),
        "{stdout}"
    );
    assert!(stdout.contains("systemd: bedprov.socket not loaded"), "{stdout}");

    let (bin, _) =
        fake(&sandbox, "systemctl", "echo 'Failed to connect to bus: No medium found' >&2; exit 1");
    let (code, stdout, _) =
        run(&mut with_path(sandbox.bedprov(&["service", "status", "--systemd"]), &bin));
    assert_eq!(code, 0);
    assert!(stdout.contains("systemd: cannot be asked here (Failed to connect to bus"), "{stdout}");
}

/// Loads a plist with Python's plistlib and returns it as JSON.
fn plist(path: &Path) -> serde_json::Value {
    let output = Command::new(common::python())
        .args([
            "-c",
            "import json, plistlib, sys; print(json.dumps(plistlib.load(open(sys.argv[1], 'rb'))))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    common::json(&String::from_utf8_lossy(&output.stdout))
}

#[test]
fn the_launchd_plist_parses_and_carries_the_required_keys() {
    let sandbox = Sandbox::new();
    let socket = sandbox.dir.path().join("odd <&> dir/bedprov.sock");
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&[
        "--socket",
        socket.to_str().unwrap(),
        "service",
        "install",
        "--launchd",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let path = sandbox.home().join("Library/LaunchAgents/com.bedprov.daemon.plist");
    assert_eq!(mode(&path), 0o644);
    assert!(
        stdout.contains(&format!(
            "launchctl bootstrap gui/{} {}",
            nix::unistd::getuid(),
            path.display()
        )),
        "{stdout}"
    );
    assert!(sandbox.home().join("Library/Logs").is_dir(), "launchd does not create it");

    let agent = plist(&path);
    let home = sandbox.home().display().to_string();
    assert_eq!(agent["Label"], "com.bedprov.daemon");
    assert_eq!(
        agent["ProgramArguments"],
        serde_json::json!([common::bedprov_bin(), "daemon", "run"])
    );
    assert_eq!(agent["RunAtLoad"], true);
    assert_eq!(agent["KeepAlive"], serde_json::json!({"SuccessfulExit": false}));
    assert_eq!(agent["Umask"], 63, "0077 in decimal");
    assert_eq!(agent["StandardOutPath"], format!("{home}/Library/Logs/bedprov.log"));
    assert_eq!(agent["StandardErrorPath"], format!("{home}/Library/Logs/bedprov.log"));
    let path_var = agent["EnvironmentVariables"]["PATH"].as_str().unwrap();
    for dir in ["/opt/homebrew/bin", "/usr/local/bin", "/usr/bin", "/bin"] {
        assert!(path_var.split(':').any(|d| d == dir), "{dir} in {path_var}");
    }
    assert_eq!(agent["EnvironmentVariables"]["BEDPROV_SOCKET"], socket.to_str().unwrap());

    // Idempotent too, and the shipped template is what was written.
    let (_, stdout, _) = run(&mut sandbox.bedprov(&[
        "--socket",
        socket.to_str().unwrap(),
        "service",
        "install",
        "--launchd",
    ]));
    assert!(stdout.starts_with("Nothing changed"), "{stdout}");
    let text = std::fs::read_to_string(&path).unwrap();
    let expected = repo_file("launchd/com.bedprov.daemon.plist")
        .replace("@BEDPROV@", common::bedprov_bin())
        .replace("@HOME@", &home)
        .replace(
            "@SOCKET@",
            &socket
                .to_str()
                .unwrap()
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;"),
        );
    assert_eq!(text, seal(&expected, Comment::Xml));
}

#[test]
fn launchd_now_bootstraps_once_and_uninstall_boots_out() {
    let sandbox = Sandbox::new();
    // Not loaded until bootstrapped, then loaded.
    let state = sandbox.dir.path().join("loaded");
    let (bin, log) = fake(
        &sandbox,
        "launchctl",
        &format!(
            "case \"$1\" in print) [ -e '{0}' ] || exit 113; echo 'state = running'; echo 'pid = 77';; bootstrap) touch '{0}';; bootout) rm -f '{0}';; esac",
            state.display()
        ),
    );
    let uid = nix::unistd::getuid().to_string();
    let plist = sandbox.home().join("Library/LaunchAgents/com.bedprov.daemon.plist");
    let mut install =
        with_path(sandbox.bedprov(&["service", "install", "--launchd", "--now"]), &bin);
    let (code, _, stderr) = run(&mut install);
    assert_eq!(code, 0, "{stderr}");
    let target = format!("gui/{uid}/com.bedprov.daemon");
    assert_eq!(
        calls(&log),
        [format!("print {target}"), format!("bootstrap gui/{uid} {}", plist.display())]
    );

    let (code, stdout, _) = run(&mut install);
    assert_eq!(code, 0);
    assert_eq!(calls(&log)[2..], [format!("print {target}")], "already loaded and current");
    assert!(stdout.contains("nothing to run"), "{stdout}");

    let (_, status, _) =
        run(&mut with_path(sandbox.bedprov(&["service", "status", "--launchd"]), &bin));
    assert!(status.contains("launchd: com.bedprov.daemon running, pid 77"), "{status}");

    let (code, _, stderr) =
        run(&mut with_path(sandbox.bedprov(&["service", "uninstall", "--launchd", "--now"]), &bin));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(calls(&log)[4..], [format!("print {target}"), format!("bootout {target}")]);
    assert!(!plist.exists());
}

#[test]
fn options_that_do_not_fit_the_platform_are_refused() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) = service(&sandbox, &["install", "--launchd", "--socket-activation"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = service(&sandbox, &["install", "--systemd", "--launchd"]);
    assert_eq!(code, 2, "{stderr}");
    let (code, _, stderr) = run(sandbox.bedprov(&["service", "install"]).env_remove("HOME"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("HOME is not set"), "{stderr}");
}

/// Units as the Debian package installs them (`scripts/package` renders the same templates),
/// in the directory the sandbox points `BEDPROV_PACKAGED_UNIT_DIR` at, running `program`.
fn package_units(sandbox: &Sandbox, program: &str) -> PathBuf {
    let dir = sandbox.dir.path().join("packaged-units");
    std::fs::create_dir_all(&dir).unwrap();
    let service = repo_file("systemd/bedprov.service").replace("@BEDPROV@", program);
    std::fs::write(dir.join("bedprov.service"), service).unwrap();
    std::fs::write(dir.join("bedprov.socket"), repo_file("systemd/bedprov.socket")).unwrap();
    dir
}

#[test]
fn install_enables_the_packaged_units_instead_of_writing_copies() {
    let sandbox = Sandbox::new();
    let packaged = package_units(&sandbox, common::bedprov_bin());
    let shipped = snapshot(&packaged);
    let (code, stdout, stderr) = service(&sandbox, &["install", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "Using the units the bedprov package installed for {}:\n  packaged   {}\n",
            common::bedprov_bin(),
            packaged.join("bedprov.service").display()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("  systemctl --user enable --now bedprov.service\n"), "{stdout}");
    assert!(!stdout.contains("daemon-reload"), "nothing written, nothing to reload: {stdout}");
    assert!(snapshot(&sandbox.home()).is_empty(), "no copy in ~/.config");

    let (_, status, _) = service(&sandbox, &["status", "--systemd"]);
    assert_eq!(
        status_line(&status, "bedprov.service"),
        format!(
            "bedprov.service from the package: {} (runs {})",
            packaged.join("bedprov.service").display(),
            common::bedprov_bin()
        )
    );
    assert!(!status.contains("Not installed"), "{status}");

    // --now enables the packaged socket; the sandboxing drop-in is the one file written.
    let (bin, log) = fake(&sandbox, "systemctl", "exit 0");
    let mut install = with_path(
        sandbox.bedprov(&[
            "service",
            "install",
            "--systemd",
            "--socket-activation",
            "--sandbox",
            "--now",
        ]),
        &bin,
    );
    let (code, stdout, stderr) = run(&mut install);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(calls(&log), ["--user daemon-reload", "--user enable --now bedprov.socket"]);
    assert!(stdout.contains(&format!("packaged   {}", packaged.join("bedprov.socket").display())));
    let written: Vec<PathBuf> = snapshot(&sandbox.home()).into_keys().collect();
    assert_eq!(written, [unit_dir(&sandbox).join("bedprov.service.d/sandbox.conf")]);

    // Uninstall disables the packaged units and removes only what install wrote.
    let mut uninstall =
        with_path(sandbox.bedprov(&["service", "uninstall", "--systemd", "--now"]), &bin);
    let (code, stdout, stderr) = run(&mut uninstall);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        calls(&log)[2..],
        ["--user disable --now bedprov.socket bedprov.service", "--user daemon-reload"]
    );
    assert!(stdout.contains("stay: they go with the package"), "{stdout}");
    assert!(snapshot(&sandbox.home()).is_empty());
    assert_eq!(snapshot(&packaged), shipped, "the package's files are untouched");
}

#[test]
fn an_earlier_copy_that_would_hide_the_packaged_units_is_not_left_in_place() {
    let sandbox = Sandbox::new();
    assert_eq!(service(&sandbox, &["install", "--systemd"]).0, 0);
    let copy = unit_dir(&sandbox).join("bedprov.service");
    let before = std::fs::read_to_string(&copy).unwrap();
    package_units(&sandbox, common::bedprov_bin());

    let (code, stdout, stderr) = service(&sandbox, &["install", "--systemd"]);
    assert_eq!(code, 10, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(&format!("{} would hide the units", copy.display())), "{stderr}");
    assert!(stderr.contains("bedprov service uninstall --now"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&copy).unwrap(), before, "nothing removed unasked");

    let (bin, _) = fake(&sandbox, "systemctl", "exit 0");
    let uninstall =
        &mut with_path(sandbox.bedprov(&["service", "uninstall", "--systemd", "--now"]), &bin);
    assert_eq!(run(uninstall).0, 0);
    let (code, stdout, stderr) = service(&sandbox, &["install", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Using the units the bedprov package installed"), "{stdout}");
    assert!(!copy.exists());
}

#[test]
fn packaged_units_for_another_binary_leave_this_one_its_own_copy() {
    let sandbox = Sandbox::new();
    let packaged = package_units(&sandbox, "/usr/bin/bedprov");
    let (code, stdout, stderr) = service(&sandbox, &["install", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with("Installed the bedprov user service"), "{stdout}");
    assert!(unit_dir(&sandbox).join("bedprov.service").is_file());
    assert!(
        stderr.contains(&format!(
            "hide the ones the bedprov package installed in {}, which run /usr/bin/bedprov",
            packaged.display()
        )),
        "{stderr}"
    );
    let (_, status, _) = service(&sandbox, &["status", "--systemd"]);
    assert_eq!(
        status_line(&status, "bedprov.service"),
        "bedprov.service installed, up to date, hiding the packaged unit"
    );
}

#[test]
fn install_with_the_proxy_runs_the_daemon_with_it_and_the_package_is_told_to_use_the_config() {
    let sandbox = Sandbox::new();
    let (code, _, stderr) = service(&sandbox, &["install", "--systemd", "--proxy=127.0.0.1:9000"]);
    assert_eq!(code, 0, "{stderr}");
    let unit = unit_dir(&sandbox).join("bedprov.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    let exec_start =
        format!("\nExecStart={} daemon run --proxy=127.0.0.1:9000\n", common::bedprov_bin());
    assert!(text.contains(&exec_start), "{text}");
    let (code, complaints) = verify(&sandbox, std::slice::from_ref(&unit));
    assert_eq!(code, 0, "{complaints}");
    // Installing it again with the proxy is no change; status reads the installed unit as ours.
    let (code, stdout, stderr) =
        service(&sandbox, &["install", "--systemd", "--proxy=127.0.0.1:9000"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stdout.contains("updated"), "{stdout}");
    let (_, status, _) = service(&sandbox, &["status", "--systemd"]);
    assert!(!status.contains("edited"), "{status}");
    let (code, _, stderr) = service(&sandbox, &["uninstall", "--systemd"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!unit.exists());
    // Anywhere but loopback is refused before anything is written.
    let (code, _, stderr) = service(&sandbox, &["install", "--systemd", "--proxy=0.0.0.0:9000"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("only on loopback"), "{stderr}");
    assert!(!unit.exists());
    // The packaged units run the daemon as shipped: the config file's [proxy] table is the way.
    package_units(&sandbox, common::bedprov_bin());
    let (code, stdout, stderr) = service(&sandbox, &["install", "--systemd", "--proxy"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("--proxy cannot go into them") && stderr.contains("[proxy]"),
        "{stderr}"
    );
}
