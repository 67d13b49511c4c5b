//! The documentation cannot drift from the code: every `bedprov` and `bedprov-helper` command
//! that the README, `docs/` and ARCHITECTURE.md show parses with the real command-line
//! definitions (subcommands, flags and the values clap checks), and every link between those
//! files and every `#anchor` resolves. (`tests/architecture.rs` checks ARCHITECTURE.md's
//! paths and layers.)

#[path = "common/markdown.rs"]
mod markdown;

use clap::CommandFactory as _;
use markdown::{code_spans, parts};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The documents checked, as (path relative to the repository, text).
fn documents() -> Vec<(PathBuf, String)> {
    let mut paths = vec![
        PathBuf::from("README.md"),
        "ARCHITECTURE.md".into(),
        "crates/bedprov-wire/README.md".into(),
    ];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("a docs/ directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "md"))
        .map(|path| path.strip_prefix(root()).unwrap().to_owned())
        .collect();
    docs.sort();
    assert!(docs.len() >= 3, "{docs:?}");
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(root().join(&path))
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, text)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Commands

/// A shell line as words and operators: quotes removed, `$(…)` inner commands collected
/// separately (their outer word becomes `$(…)`), a comment ends the line.
#[derive(Debug, PartialEq)]
enum Piece {
    Word(String),
    /// `|`, `;`, `&`, `(`, `)`: a new command follows.
    Separator,
    /// `<`, `>`: a file name follows, then more of the same command's redirections.
    Redirection,
}

fn pieces(line: &str, inner: &mut Vec<String>) -> Vec<Piece> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut i = 0;
    let end_word = |word: &mut String, in_word: &mut bool, out: &mut Vec<Piece>| {
        if *in_word {
            out.push(Piece::Word(std::mem::take(word)));
            *in_word = false;
        }
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '$' if chars.get(i + 1) == Some(&'(') => {
                let (body, next) = balanced(&chars, i + 2);
                inner.push(body);
                word.push_str("$(…)");
                in_word = true;
                i = next;
                continue;
            }
            '\'' => {
                let close = chars[i + 1..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map_or(chars.len(), |p| i + 1 + p);
                word.extend(&chars[i + 1..close]);
                in_word = true;
                i = close + 1;
                continue;
            }
            '"' => {
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '$' && chars.get(i + 1) == Some(&'(') {
                        let (body, next) = balanced(&chars, i + 2);
                        inner.push(body);
                        word.push_str("$(…)");
                        i = next;
                        continue;
                    }
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        i += 1;
                    }
                    word.push(chars[i]);
                    i += 1;
                }
                in_word = true;
            }
            '#' if !in_word => break,
            '|' | ';' | '&' | '(' | ')' | '`' => {
                end_word(&mut word, &mut in_word, &mut out);
                out.push(Piece::Separator);
            }
            '<' | '>' => {
                end_word(&mut word, &mut in_word, &mut out);
                out.push(Piece::Redirection);
            }
            c if c.is_whitespace() => end_word(&mut word, &mut in_word, &mut out),
            '\\' if i + 1 < chars.len() => {
                word.push(chars[i + 1]);
                in_word = true;
                i += 1;
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
        i += 1;
    }
    end_word(&mut word, &mut in_word, &mut out);
    out
}

/// The text of `$( … )` from `start` (just after the `(`) and the index after its `)`.
fn balanced(chars: &[char], start: usize) -> (String, usize) {
    let mut depth = 1;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return (chars[start..i].iter().collect(), i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    (chars[start..].iter().collect(), chars.len())
}

/// The `bedprov`/`bedprov-helper` command lines in one shell line: each simple command
/// (between `|`, `;`, `&&`, redirections, …) whose program is one of them, as its words up
/// to the first operator. A `$ ` prompt and `VAR=value` assignments before it are skipped;
/// a `…` word ends the command (the rest is left to the reader).
fn commands_in_line(line: &str) -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut pending = vec![line.trim().trim_start_matches("$ ").to_owned()];
    while let Some(line) = pending.pop() {
        let mut inner = Vec::new();
        let pieces = pieces(&line, &mut inner);
        pending.extend(inner);
        let mut start = true;
        let mut current: Option<Vec<String>> = None;
        for piece in pieces {
            match piece {
                Piece::Separator => {
                    found.extend(current.take());
                    start = true;
                }
                Piece::Redirection => {
                    found.extend(current.take());
                    start = false;
                }
                Piece::Word(word) if start && is_assignment(&word) => {}
                Piece::Word(word) if start => {
                    start = false;
                    let program = word.rsplit('/').next().unwrap_or_default();
                    if program == "bedprov" || program == "bedprov-helper" {
                        current = Some(vec![program.to_owned()]);
                    }
                }
                Piece::Word(word) => {
                    if let Some(words) = &mut current {
                        if word == "…" {
                            found.extend(current.take());
                        } else {
                            words.push(word);
                        }
                    }
                }
            }
        }
        found.extend(current);
    }
    found
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// Where a command was shown, and the command.
struct Shown {
    place: String,
    words: Vec<String>,
    /// A whole command line in a code block, not a span of prose that may name only part
    /// of one (`bedprov key create`, without its required unit).
    complete: bool,
}

fn shown_commands(path: &Path, markdown: &str) -> Vec<Shown> {
    let parts = parts(markdown);
    let mut shown = Vec::new();
    // A line ending in `\` goes on in the next.
    let mut joined = Vec::new();
    let mut carry = String::new();
    for line in &parts.code {
        if let Some(head) = line.strip_suffix('\\') {
            carry.push_str(head);
            carry.push(' ');
        } else {
            joined.push(std::mem::take(&mut carry) + line);
        }
    }
    for line in joined {
        for words in commands_in_line(&line) {
            shown.push(Shown {
                place: format!("{} (code block)", path.display()),
                words,
                complete: true,
            });
        }
    }
    for span in code_spans(&parts.prose) {
        // A command names a subcommand or flag after the program (`bedprov 0.1.0 (…)` is
        // what `--version` prints).
        let command = ["bedprov ", "bedprov-helper "].iter().any(|program| {
            span.strip_prefix(program)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_lowercase() || c == '-'))
        });
        if command {
            for words in commands_in_line(&span) {
                shown.push(Shown {
                    place: format!("{} (inline)", path.display()),
                    words,
                    complete: false,
                });
            }
        }
    }
    shown
}

/// Why clap refuses a shown command, if it does. A span of prose may leave out required
/// arguments or the subcommand; nothing may name a subcommand, flag or value that does not
/// exist.
fn refusal(shown: &Shown) -> Option<String> {
    use clap::error::ErrorKind;
    let command = match shown.words[0].as_str() {
        "bedprov" => bedprov::cli::Cli::command(),
        _ => bedprov::cli::helper_command::command(),
    };
    let error = command.try_get_matches_from(&shown.words).err()?;
    // `--business-unit` in prose names the flag without a value.
    let names_a_flag = error.kind() == ErrorKind::InvalidValue
        && shown.words.last().is_some_and(|word| word.starts_with('-'));
    let partial_is_fine = names_a_flag
        || matches!(
            error.kind(),
            ErrorKind::MissingRequiredArgument
                | ErrorKind::MissingSubcommand
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => None,
        _ if partial_is_fine && !shown.complete => None,
        _ => Some(format!("{}: `{}`: {}", shown.place, shown.words.join(" "), error.render())),
    }
}

fn refusals(path: &Path, markdown: &str) -> (usize, Vec<String>) {
    let shown = shown_commands(path, markdown);
    (shown.len(), shown.iter().filter_map(refusal).collect())
}

#[test]
fn every_command_the_documentation_shows_exists() {
    let mut checked = 0;
    let mut helper = 0;
    let mut problems = Vec::new();
    for (path, text) in documents() {
        let (count, found) = refusals(&path, &text);
        helper +=
            shown_commands(&path, &text).iter().filter(|s| s.words[0] == "bedprov-helper").count();
        checked += count;
        problems.extend(found);
    }
    assert!(
        problems.is_empty(),
        "{} commands do not parse:\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The scan saw what it is about: the README alone shows dozens of commands.
    assert!(checked >= 100, "only {checked} commands found");
    assert!(helper >= 5, "only {helper} bedprov-helper commands found");
}

#[test]
fn the_command_check_refuses_what_does_not_exist() {
    let made_up = [
        "```sh\nbedprov token --made-up-flag\n```\n",
        "```sh\neval \"$(bedprov-helper env --made-up-flag)\"\n```\n",
        "```sh\nbedprov daemon made-up-subcommand\n```\n",
        "```console\n$ bedprov token --format made-up-format | jq .\n```\n",
        "```sh\nBEDPROV_SOCKET=/tmp/s ~/.cargo/bin/bedprov service install --made-up \\\n  --now\n```\n",
        "In prose: `bedprov key create --made-up-flag` as well.\n",
        "In prose: `bedprov-helper made-up-command`.\n",
    ];
    for markdown in made_up {
        let (count, problems) = refusals(Path::new("example.md"), markdown);
        assert_eq!((count, problems.len()), (1, 1), "not refused: {markdown}{problems:?}");
    }
    let real = [
        "```sh\nbedprov token --format raw | bedprov decode --format json > out  # a comment\n```\n",
        "```sh\ncurl --unix-socket \"$(bedprov socket-path)\" http://localhost/v1/token\n```\n",
        "```sh\nbedprov-helper exec -- python3 -V --made-up-but-python's\n```\n",
        "Partial in prose: `bedprov key create`, `bedprov service …`, `bedprov daemon`.\n",
        "In prose: `bedprov key create --business-unit` and `bedprov 0.1.0 (1a2b3c4d5e6f)`.\n",
        "```sh\nbedprov completions bash --helper > ~/.local/share/completions/bedprov-helper\n```\n",
    ];
    for markdown in real {
        let (count, problems) = refusals(Path::new("example.md"), markdown);
        assert!(count >= 1 && problems.is_empty(), "{markdown}: {count} {problems:?}");
    }
}

// ---------------------------------------------------------------------------------------
// Links and anchors

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// Every anchor a document defines (repeated headings get `-1`, `-2`, … as on GitHub).
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in parts(markdown).prose.lines() {
        let Some(heading) = line.strip_prefix('#') else { continue };
        let heading = heading.trim_start_matches('#');
        if !heading.starts_with(' ') {
            continue;
        }
        let base = slug(&heading.replace('`', ""));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// The targets of `[text](target)` links in prose (code spans blanked first).
fn links(markdown: &str) -> Vec<String> {
    let prose = parts(markdown).prose;
    let mut blanked = String::new();
    for (i, piece) in prose.split('`').enumerate() {
        blanked.push_str(if i % 2 == 0 { piece } else { "code" });
    }
    let mut targets = Vec::new();
    let mut rest = blanked.as_str();
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let end = after.find(')').unwrap_or(after.len());
        targets.push(after[..end].trim().to_owned());
        rest = &after[end..];
    }
    targets
}

#[test]
fn every_link_and_anchor_between_the_documents_resolves() {
    let documents = documents();
    let mut problems = Vec::new();
    let mut internal = 0;
    for (path, text) in &documents {
        for target in links(text) {
            if target.starts_with("http://")
                || target.starts_with("https://")
                || target.starts_with("mailto:")
            {
                continue;
            }
            internal += 1;
            let (file, anchor) =
                target.split_once('#').map_or((target.as_str(), None), |(f, a)| (f, Some(a)));
            let resolved = if file.is_empty() {
                path.clone()
            } else {
                normalise(&path.parent().unwrap().join(file))
            };
            if !root().join(&resolved).exists() {
                problems.push(format!(
                    "{}: link to {target}: no {}",
                    path.display(),
                    resolved.display()
                ));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            let target_text = std::fs::read_to_string(root().join(&resolved)).unwrap_or_default();
            if !anchors(&target_text).contains(anchor) {
                problems.push(format!(
                    "{}: link to {target}: no such heading in {}",
                    path.display(),
                    resolved.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
    assert!(internal >= 30, "only {internal} links between the documents");
}

/// `docs/../README.md` → `README.md`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn the_anchor_and_link_readers_see_what_github_sees() {
    let markdown = "# A `b`: c/d — e\n## Exit codes\n## Exit codes\n```sh\n# not a heading\n```\n\
                    [x](#a-b-cd--e) [y\nz](docs/x.md#exit-codes-1) `[no](link)` ![i](p.png)\n";
    let found = anchors(markdown);
    assert_eq!(found.into_iter().collect::<Vec<_>>(), ["a-b-cd--e", "exit-codes", "exit-codes-1"]);
    assert_eq!(links(markdown), ["#a-b-cd--e", "docs/x.md#exit-codes-1", "p.png"]);
    assert_eq!(normalise(Path::new("docs/../README.md")), Path::new("README.md"));
}
