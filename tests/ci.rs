//! The README tells the truth about how bedprov is checked and installed: what it says CI
//! runs is what `.ci/run` runs, command for command, and every `cargo install` of this
//! repository it shows builds from `Cargo.lock` (`--locked`), the versions the tests ran
//! against.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The commands `.ci/run` runs, one per line.
fn ci_commands() -> Vec<String> {
    read(".ci/run")
        .lines()
        .map(str::trim)
        .filter(|line| {
            !line.is_empty()
                && !line.starts_with('#')
                && !line.starts_with("set ")
                && !line.starts_with("cd ")
        })
        .map(str::to_owned)
        .collect()
}

/// Each place the README says what CI runs: from the words to the end of that sentence,
/// with line breaks as spaces.
fn ci_statements(readme: &str) -> Vec<String> {
    let flat = readme.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut statements = Vec::new();
    for words in ["CI (`.ci/run`) runs", "CI runs", "as CI does"] {
        for (start, _) in flat.match_indices(words) {
            let rest = &flat[start..];
            let end = rest.find(". ").unwrap_or(rest.len());
            statements.push(rest[..end].to_owned());
        }
    }
    statements
}

/// The commands a statement quotes (`cargo …`, `scripts/…`).
fn quoted_commands(statement: &str) -> Vec<&str> {
    statement
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.starts_with("cargo ") || span.starts_with("scripts/"))
        .collect()
}

#[test]
fn what_the_readme_says_ci_runs_is_what_ci_runs() {
    let commands = ci_commands();
    assert!(commands.iter().any(|c| c.starts_with("scripts/test")), "{commands:?}");
    let readme = read("README.md");
    let statements = ci_statements(&readme);
    assert!(statements.len() >= 2, "{statements:?}");
    for statement in &statements {
        for quoted in quoted_commands(statement) {
            assert!(
                commands.iter().any(|command| command == quoted),
                "the README says CI runs `{quoted}`, but .ci/run runs {commands:?}:\n{statement}"
            );
        }
    }
    let main = statements
        .iter()
        .find(|s| s.starts_with("CI (`.ci/run`) runs"))
        .expect("the README says what .ci/run runs");
    for command in &commands {
        assert!(main.contains(&format!("`{command}`")), "the README leaves out `{command}`");
    }
}

#[test]
fn every_install_from_this_repository_uses_the_lock_file() {
    let readme = read("README.md");
    let installs: Vec<&str> = readme
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("cargo install") && line.contains("--path"))
        .collect();
    assert!(installs.len() >= 2, "{installs:?}");
    for line in installs {
        assert!(line.contains("--locked"), "{line}");
    }
}
