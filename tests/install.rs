//! What an installed bedprov brings besides its commands, as real processes: `--version` with
//! the commit (and the build script that sets it), shell completions that real bash, zsh and
//! fish load and complete with, man pages that man renders, and the clap description of
//! `bedprov-helper` (the source of its completions and man page) checked against the real
//! helper: its `--help`, and every flag and command it is run with.

mod common;

use bedprov::cli::helper_command;
use clap::CommandFactory as _;
use common::{Sandbox, run};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    output.status.success().then(|| text.trim().to_owned())
}

#[test]
fn version_names_the_commit_of_this_checkout() {
    let version = env!("CARGO_PKG_VERSION");
    let top = git(manifest_dir(), &["rev-parse", "--show-toplevel"]);
    let checkout = top.is_some_and(|top| {
        std::fs::canonicalize(top).ok() == std::fs::canonicalize(manifest_dir()).ok()
    });
    let expected = match git(manifest_dir(), &["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) if checkout => format!("{version} ({commit})"),
        _ => version.to_owned(),
    };
    let sandbox = Sandbox::new();
    for (program, args, name) in [
        (common::bedprov_bin(), &["--version"][..], "bedprov"),
        (common::bedprov_bin(), &["token", "--version"][..], "bedprov-token"),
        (common::helper_bin(), &["--version"][..], "bedprov-helper"),
    ] {
        let (code, stdout, stderr) = run(sandbox.command(program).args(args));
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(stdout, format!("{name} {expected}\n"));
    }
}

/// `build.rs`, compiled on its own and run as cargo would run it for a package in `dir`.
struct BuildScript {
    exe: PathBuf,
    _dir: tempfile::TempDir,
}

impl BuildScript {
    fn compile() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let exe = dir.path().join("build-script");
        let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
        let output = Command::new(rustc)
            .args(["--edition", "2024", "-o"])
            .arg(&exe)
            .arg(manifest_dir().join("build.rs"))
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        Self { exe, _dir: dir }
    }

    /// Its output lines for a package in `dir`, with `path` as PATH.
    fn run(&self, dir: &Path, path: &str) -> Vec<String> {
        let output = Command::new(&self.exe)
            .env_clear()
            .env("PATH", path)
            .env("CARGO_PKG_VERSION", "1.2.3")
            .env("CARGO_MANIFEST_DIR", dir)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect()
    }
}

#[test]
fn the_build_script_adds_the_commit_only_in_a_checkout_of_its_own() {
    let script = BuildScript::compile();
    let path = std::env::var("PATH").unwrap();
    let version = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("cargo:rustc-env=BEDPROV_VERSION="))
            .map(ToOwned::to_owned)
    };

    // Not a checkout (a crate tarball): the version alone, watching only itself.
    let plain = tempfile::tempdir().unwrap();
    let lines = script.run(plain.path(), &path);
    assert_eq!(version(&lines).as_deref(), Some("1.2.3"));
    assert_eq!(lines.iter().filter(|l| l.starts_with("cargo:rerun-if-changed=")).count(), 1);

    // A checkout: the commit, and what moves when HEAD does (only paths that exist).
    let repo = tempfile::tempdir().unwrap();
    let in_repo = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-C"])
            .arg(repo.path())
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", repo.path())
            .status()
            .unwrap();
        assert!(status.success(), "git {args:?}");
    };
    in_repo(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.path().join("Cargo.toml"), "").unwrap();
    in_repo(&["add", "Cargo.toml"]);
    in_repo(&["commit", "-q", "-m", "first"]);
    let commit = git(repo.path(), &["rev-parse", "--short=12", "HEAD"]).unwrap();
    let lines = script.run(repo.path(), &path);
    assert_eq!(version(&lines), Some(format!("1.2.3 ({commit})")));
    let watched: Vec<&str> =
        lines.iter().filter_map(|l| l.strip_prefix("cargo:rerun-if-changed=")).collect();
    for file in [".git/HEAD", ".git/refs/heads/main"] {
        assert!(watched.iter().any(|w| w.ends_with(file)), "{file} in {watched:?}");
    }
    assert!(watched.iter().all(|w| *w == "build.rs" || Path::new(w).exists()), "{watched:?}");

    // A copy inside another repository's checkout is not a checkout of its own.
    let vendored = repo.path().join("vendor/bedprov");
    std::fs::create_dir_all(&vendored).unwrap();
    assert_eq!(version(&script.run(&vendored, &path)).as_deref(), Some("1.2.3"));
    // Without git it still builds, without the commit.
    assert_eq!(version(&script.run(repo.path(), "/nonexistent")).as_deref(), Some("1.2.3"));
}

/// The completion script for `shell`, written into `dir`.
fn completions(sandbox: &Sandbox, shell: &str, helper: bool, file: &str) -> PathBuf {
    let mut args = vec!["completions", shell];
    if helper {
        args.push("--helper");
    }
    let (code, stdout, stderr) = run(&mut sandbox.bedprov(&args));
    assert_eq!(code, 0, "{stderr}");
    let path = sandbox.dir.path().join(file);
    std::fs::write(&path, stdout).unwrap();
    path
}

/// What bash offers for the last word of `words`, with `script` sourced as bash-completion
/// would load it.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    let program = words[0];
    let code = format!(
        r#"source '{}'
COMP_WORDS=({}); COMP_CWORD={}; COMP_LINE="${{COMP_WORDS[*]}}"; COMP_POINT=${{#COMP_LINE}}
function=$(complete -p {program} | sed -n 's/.* -F \([^ ]*\) {program}$/\1/p')
"$function" {program} "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        script.display(),
        words.iter().map(|w| format!("'{w}'")).collect::<Vec<_>>().join(" "),
        words.len() - 1,
    );
    let (code, stdout, stderr) = run(Command::new("bash").args(["--norc", "-c", &code]));
    assert_eq!(code, 0, "{stderr}");
    stdout.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn bash_completes_subcommands_options_and_values() {
    let sandbox = Sandbox::new();
    let bedprov = completions(&sandbox, "bash", false, "bedprov.bash");
    assert_eq!(bash_complete(&bedprov, &["bedprov", "tok"]), ["token"]);
    assert_eq!(bash_complete(&bedprov, &["bedprov", "service", "ins"]), ["install"]);
    assert_eq!(bash_complete(&bedprov, &["bedprov", "daemon", "st"]), ["start", "stop", "status"]);
    let shells = bash_complete(&bedprov, &["bedprov", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell"] {
        assert!(shells.iter().any(|s| s == shell), "{shell} in {shells:?}");
    }
    assert!(bash_complete(&bedprov, &["bedprov", "token", "--t"]).contains(&"--ttl".to_owned()));
    assert!(bash_complete(&bedprov, &["bedprov", "nosuch"]).is_empty());

    let helper = completions(&sandbox, "bash", true, "bedprov-helper.bash");
    assert_eq!(bash_complete(&helper, &["bedprov-helper", "e"]), ["env", "exec"]);
    assert_eq!(bash_complete(&helper, &["bedprov-helper", "--shell", "f"]), ["fish"]);
    assert_eq!(
        bash_complete(&helper, &["bedprov-helper", "json", "--pro"]),
        ["--profile", "--proxy"]
    );
    assert_eq!(bash_complete(&helper, &["bedprov-helper", "env", "--prox"]), ["--proxy"]);
}

#[test]
fn fish_and_zsh_load_the_scripts_and_powershell_registers_both_commands() {
    let sandbox = Sandbox::new();
    for (helper, line, expected) in
        [(false, "bedprov tok", "token"), (true, "bedprov-helper env --shell pw", "pwsh")]
    {
        let script = completions(&sandbox, "fish", helper, "completions.fish");
        let code = format!("source '{}'; complete -C '{line}'", script.display());
        let (status, stdout, stderr) =
            run(sandbox.command("fish").args(["--no-config", "-c", &code]));
        assert_eq!(status, 0, "{stderr}");
        let offered: Vec<&str> = stdout.lines().map(|l| l.split('\t').next().unwrap()).collect();
        assert_eq!(offered, [expected], "{line}");
    }
    for (helper, name) in [(false, "bedprov"), (true, "bedprov-helper")] {
        let script = completions(&sandbox, "zsh", helper, &format!("_{name}"));
        let text = std::fs::read_to_string(&script).unwrap();
        assert!(text.starts_with(&format!("#compdef {name}\n")), "{name}");
        // compinit registers the function for the command from a directory on fpath.
        let code = format!(
            "fpath=('{}' $fpath); autoload -Uz compinit; compinit -u -d '{}/zcompdump'; print -r -- $_comps[{name}]",
            sandbox.dir.path().display(),
            sandbox.dir.path().display()
        );
        let (status, stdout, stderr) = run(sandbox.command("zsh").args(["-f", "-c", &code]));
        assert_eq!(status, 0, "{stderr}");
        assert_eq!(stdout.trim(), format!("_{name}"));
        let (status, _, stderr) = run(sandbox.command("zsh").args(["-n"]).arg(&script));
        assert_eq!(status, 0, "zsh -n {name}: {stderr}");

        let script = completions(&sandbox, "powershell", helper, "completions.ps1");
        let text = std::fs::read_to_string(&script).unwrap();
        assert!(
            text.contains(&format!("Register-ArgumentCompleter -Native -CommandName '{name}'")),
            "{text}"
        );
    }
    let (code, _, stderr) = run(&mut sandbox.bedprov(&["completions", "tcsh"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("possible values"), "{stderr}");
}

/// `bedprov-NAME.1` for `command` and each visible subcommand under it.
fn page_names(command: &clap::Command, prefix: &str, names: &mut BTreeSet<String>) {
    let name = format!("{prefix}{}", command.get_name());
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set() && s.get_name() != "help") {
        page_names(sub, &format!("{name}-"), names);
    }
    names.insert(format!("{name}.1"));
}

#[test]
fn man_writes_a_page_per_command_that_man_renders() {
    let sandbox = Sandbox::new();
    let out = sandbox.dir.path().join("man/man1");
    let (code, stdout, stderr) =
        run(&mut sandbox.bedprov(&["man", "--out", out.to_str().unwrap()]));
    assert_eq!(code, 0, "{stderr}");
    let mut expected = BTreeSet::new();
    page_names(&bedprov::cli::Cli::command(), "", &mut expected);
    page_names(&helper_command::command(), "", &mut expected);
    for page in ["bedprov.1", "bedprov-token.1", "bedprov-daemon-run.1", "bedprov-helper.1"] {
        assert!(expected.contains(page), "{page} in {expected:?}");
    }
    let written: BTreeSet<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(written, expected);
    assert!(stdout.starts_with(&format!("Wrote {} man pages to", expected.len())), "{stdout}");

    // Each renders without a warning, and every page it refers to exists.
    for page in &written {
        let mut man = sandbox.command("man");
        man.args(["--warnings", "-l"]).arg(out.join(page)).env("MANWIDTH", "100");
        let (code, text, stderr) = run(&mut man);
        assert_eq!((code, stderr.as_str()), (0, ""), "{page}");
        for word in
            text.split_whitespace().filter(|w| w.starts_with("bedprov") && w.contains("(1)"))
        {
            let name = word.split("(1)").next().unwrap();
            assert!(written.contains(&format!("{name}.1")), "{page} refers to {word}");
        }
    }
    let mut man = sandbox.command("man");
    man.arg("-l").arg(out.join("bedprov-token.1")).env("MANWIDTH", "100");
    let (_, token_page, _) = run(&mut man);
    assert!(token_page.contains("--ttl") && token_page.contains("--profile"), "{token_page}");

    // man finds them by name where its path leads (the directory above man1).
    let mut man = sandbox.command("man");
    man.args(["-w", "bedprov-helper"]).env("MANPATH", sandbox.dir.path().join("man"));
    let (code, found, stderr) = run(&mut man);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(found.trim(), out.join("bedprov-helper.1").to_str().unwrap());
}

/// A command and its description.
type Described = (String, String);
/// An option: its flag, value name and description.
type Flag = (String, String, String);

/// The helper's own `--help`: its commands (from the usage lines) with their descriptions,
/// and its options.
fn helper_help() -> (Vec<Described>, Vec<Flag>) {
    let sandbox = Sandbox::new();
    let (code, text, stderr) = run(&mut sandbox.helper(&["--help"]));
    assert_eq!(code, 0, "{stderr}");
    let section = |title: &str| -> Vec<&str> {
        text.lines()
            .skip_while(|l| !l.starts_with(title))
            .skip(1)
            .take_while(|l| !l.is_empty())
            .collect()
    };
    let mut commands: Vec<(String, String)> = Vec::new();
    let mut alone = false;
    for line in section("Usage:").iter().map(|line| line.trim()) {
        // `bedprov-helper NAME ...   description`, or `eval "$(bedprov-helper NAME)"   …`;
        // a line without it goes on with the description above.
        if let Some((_, rest)) = line.split_once("bedprov-helper ") {
            // `bedprov-helper --help | --version   (alone)`: two flags, not a command.
            if rest.starts_with('-') {
                assert!(
                    rest.starts_with("--help | --version") && rest.ends_with("(alone)"),
                    "{line}"
                );
                alone = true;
                continue;
            }
            let name = rest.split([' ', ')']).next().unwrap().to_owned();
            let about = line.split_once("   ").unwrap().1.trim().to_owned();
            commands.push((name, about));
        } else {
            let about = &mut commands.last_mut().unwrap().1;
            about.push(' ');
            about.push_str(line);
        }
    }
    assert!(alone, "the usage does not say --help and --version work only alone:\n{text}");
    // `  --flag VALUE   description` (VALUE in capitals, absent for a switch), continued on
    // lines indented further; the list ends at the first line that is neither (a note may follow).
    let mut options: Vec<(String, String, String)> = Vec::new();
    for line in section("Options") {
        if let Some(option) = line.strip_prefix("  --") {
            let mut words = option.split_whitespace();
            let flag = format!("--{}", words.next().unwrap());
            let mut rest: Vec<&str> = words.collect();
            let value = if rest[0].chars().all(|c| c.is_ascii_uppercase()) {
                rest.remove(0).to_owned()
            } else {
                String::new()
            };
            options.push((flag, value, rest.join(" ")));
        } else if line.starts_with("     ") {
            let about = &mut options.last_mut().unwrap().2;
            about.push(' ');
            about.push_str(line.trim());
        } else {
            break;
        }
    }
    (commands, options)
}

#[test]
fn the_helper_description_matches_its_help() {
    let (commands, options) = helper_help();
    let description = helper_command::command();
    let described: Vec<(String, String)> = description
        .get_subcommands()
        .map(|sub| (sub.get_name().to_owned(), sub.get_about().unwrap().to_string()))
        .collect();
    assert_eq!(described, commands);
    let described: Vec<(String, String, String)> = description
        .get_arguments()
        .map(|arg| {
            let value = arg.get_value_names().map_or(String::new(), |names| names[0].to_string());
            (format!("--{}", arg.get_long().unwrap()), value, arg.get_help().unwrap().to_string())
        })
        .collect();
    assert_eq!(described, options);
    assert_eq!(commands.len(), 4, "{commands:?}");
    assert_eq!(options.len(), 6, "{options:?}");
}

#[test]
fn the_helper_accepts_every_described_flag_and_command() {
    let sandbox = Sandbox::new();
    // No daemon and no autostart: an accepted command line ends at the daemon (exit 6),
    // a refused one at the arguments (exit 2).
    let unreachable = bedprov::wire::exit::DAEMON_UNREACHABLE;
    let usage = bedprov::wire::exit::USAGE;
    let helper = |args: &[&str]| run(&mut sandbox.helper(args));
    let description = helper_command::command();
    for command in description.get_subcommands().map(clap::Command::get_name) {
        let mut args = vec![command];
        if command == "exec" {
            args.extend(["--", "true"]);
        }
        let (code, _, stderr) = helper(&args);
        assert_eq!(code, unreachable, "{args:?}: {stderr}");
    }
    let socket = sandbox.socket();
    for arg in description.get_arguments() {
        let flag = format!("--{}", arg.get_long().unwrap());
        if matches!(arg.get_action(), clap::ArgAction::SetTrue) {
            // A switch (`--proxy`), before or after the command.
            for args in [vec![flag.as_str(), "env"], vec!["exec", flag.as_str(), "--", "true"]] {
                let (code, _, stderr) = helper(&args);
                assert_eq!(code, unreachable, "{args:?}: {stderr}");
            }
            continue;
        }
        let values: Vec<String> = match arg.get_possible_values() {
            values if !values.is_empty() => {
                values.iter().map(|v| v.get_name().to_owned()).collect()
            }
            _ if flag == "--socket" => vec![socket.to_str().unwrap().to_owned()],
            _ if flag == "--ttl" => vec!["1h".into()],
            _ => vec!["x".into()],
        };
        for value in values {
            for args in [
                vec![flag.clone(), value.clone(), "json".into()],
                vec!["json".into(), format!("{flag}={value}")],
            ] {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let (code, _, stderr) = helper(&args);
                assert_eq!(code, unreachable, "{args:?}: {stderr}");
            }
        }
    }
    // The check has teeth: what the description lacks, the helper refuses.
    for args in [&["--nosuch", "x", "json"][..], &["--shell", "tcsh", "env"], &["nosuch"]] {
        let (code, _, stderr) = helper(args);
        assert_eq!(code, usage, "{args:?}: {stderr}");
    }
    for args in [&["--help"][..], &["-h"], &["help"], &["--version"], &["-V"]] {
        assert_eq!(helper(args).0, 0, "{args:?}");
    }
}
