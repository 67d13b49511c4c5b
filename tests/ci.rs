//! The README (and the pages under `docs/`) tell the truth about how bedprov is checked and
//! installed: what they say CI runs is what `.ci/run` runs, command for command, and every
//! `cargo install` of this repository they show builds from `Cargo.lock` (`--locked`), the
//! versions the tests ran against.

use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The README and every page under `docs/`, as (name, text).
fn documentation() -> Vec<(String, String)> {
    let mut pages: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs"))
            .expect("docs/")
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
            .map(|path| format!("docs/{}", path.file_name().unwrap().to_string_lossy()))
            .collect();
    pages.sort();
    pages.insert(0, "README.md".to_owned());
    pages
        .into_iter()
        .map(|page| {
            let text = read(&page);
            (page, text)
        })
        .collect()
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
    let mut statements = Vec::new();
    for (page, text) in documentation() {
        for statement in ci_statements(&text) {
            for quoted in quoted_commands(&statement) {
                assert!(
                    commands.iter().any(|command| command == quoted),
                    "{page} says CI runs `{quoted}`, but .ci/run runs {commands:?}:\n{statement}"
                );
            }
            statements.push(statement);
        }
    }
    assert!(statements.len() >= 2, "{statements:?}");
    let readme = ci_statements(&read("README.md"));
    let main = readme
        .iter()
        .find(|s| s.starts_with("CI (`.ci/run`) runs"))
        .expect("the README says what .ci/run runs");
    for command in &commands {
        assert!(main.contains(&format!("`{command}`")), "the README leaves out `{command}`");
    }
}

#[test]
fn every_install_from_this_repository_uses_the_lock_file() {
    let mut installs = Vec::new();
    for (page, text) in documentation() {
        let found = text
            .lines()
            .map(str::trim)
            .filter(|line| line.starts_with("cargo install") && line.contains("--path"))
            .map(|line| format!("{page}: {line}"))
            .collect::<Vec<_>>();
        if page == "README.md" {
            assert!(!found.is_empty(), "the README shows no `cargo install --path`");
        }
        installs.extend(found);
    }
    assert!(installs.len() >= 2, "{installs:?}");
    for line in installs {
        assert!(line.contains("--locked"), "{line}");
    }
}
