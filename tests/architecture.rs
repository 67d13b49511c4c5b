//! ARCHITECTURE.md stays true: every repository path it names exists, its table of layers
//! matches what `src/` imports (nothing goes up but the exceptions it lists, and each listed
//! exception still exists), and the helper links only the wire crate.

#[path = "common/markdown.rs"]
mod markdown;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The code spans of a Markdown text's prose (fenced blocks left out), whitespace folded.
fn code_spans(markdown: &str) -> Vec<String> {
    markdown::code_spans(&markdown::parts(markdown).prose)
}

/// A code span that names a file or directory of this repository: relative, made of path
/// characters, with a `/` or a file extension bedprov uses.
fn repository_path(span: &str) -> Option<&str> {
    let path_like = !span.is_empty()
        && !span.starts_with('/')
        && !span.starts_with('.')
        && span.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'));
    let named = span.contains('/')
        || [".rs", ".md", ".toml", ".py", ".lock"].iter().any(|ext| span.ends_with(ext));
    (path_like && named).then_some(span)
}

#[test]
fn every_path_architecture_md_names_exists() {
    let spans = code_spans(&read("ARCHITECTURE.md"));
    let paths: BTreeSet<&str> = spans.iter().filter_map(|span| repository_path(span)).collect();
    let missing: Vec<&&str> = paths.iter().filter(|path| !root().join(path).exists()).collect();
    assert!(missing.is_empty(), "ARCHITECTURE.md names paths that do not exist: {missing:?}");
    assert!(paths.len() >= 30, "only {} paths found: {paths:?}", paths.len());
    // The reader tells paths from other code.
    assert_eq!(repository_path("src/slot/mod.rs"), Some("src/slot/mod.rs"));
    assert_eq!(repository_path("src/daemon/"), Some("src/daemon/"));
    assert_eq!(repository_path("Cargo.toml"), Some("Cargo.toml"));
    assert_eq!(repository_path("/v1/token"), None);
    assert_eq!(repository_path("crate::slot"), None);
    assert_eq!(repository_path("~/.aws"), None);
}

// ---------------------------------------------------------------------------------------
// Layers

/// The module a path under `src/` belongs to: `src/slot/mod.rs` and `src/slot/` → `slot`,
/// `src/watch.rs` → `watch`, `src/render/time.rs` → `render::time` when `deep`.
fn module_of(path: &str, deep: bool) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    let parts: Vec<&str> = rest
        .trim_end_matches('/')
        .split('/')
        .map(|part| part.trim_end_matches(".rs"))
        .filter(|part| *part != "mod")
        .collect();
    let take = if deep { 2 } else { 1 };
    Some(parts.iter().take(take).copied().collect::<Vec<_>>().join("::"))
}

/// The layers table: module → layer number, from the rows `| N. name | modules | … |`.
fn layers(architecture: &str) -> BTreeMap<String, u32> {
    let mut layers = BTreeMap::new();
    for line in architecture.lines().filter(|line| line.starts_with("| ")) {
        let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
        let Some((number, _)) = cells[0].trim().split_once(". ") else { continue };
        let Ok(number) = number.parse::<u32>() else { continue };
        if cells[1].contains("the wire crate") {
            layers.insert("wire".to_owned(), number);
        }
        for span in code_spans(cells[1]) {
            let module =
                module_of(&span, false).unwrap_or_else(|| panic!("not under src/: {span}"));
            let before = layers.insert(module.clone(), number);
            assert!(before.is_none_or(|layer| layer == number), "{module} is in two layers");
        }
    }
    layers
}

/// The listed exceptions: (target module path such as `render::time`, the modules using it).
fn exceptions(architecture: &str) -> Vec<(String, BTreeSet<String>)> {
    // With none left, the list goes too.
    let Some(start) = architecture.find("**Known exceptions") else { return Vec::new() };
    let section = &architecture[start..];
    let section = &section[..section.find("\n\n").unwrap() + 2];
    let list = &architecture[start + section.len()..];
    let list = &list[..list.find("\n\n").unwrap_or(list.len())];
    let mut found = Vec::new();
    for item in list.split("\n- ").map(|item| item.trim_start_matches("- ")) {
        let spans = code_spans(item);
        let (target, users) = spans.split_first().expect("an exception names its module");
        let target = module_of(target, true).expect("an exception's module is under src/");
        let users = users.iter().filter_map(|user| module_of(user, false)).collect();
        found.push((target, users));
    }
    found
}

/// Every `crate::a::b…` a Rust source names outside comments, as its first two segments
/// (`use crate::{creds::Target, region}` gives `creds::Target` and `region`).
fn crate_paths(source: &str) -> Vec<String> {
    let code: String = source
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut found = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let preceded =
            rest[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        rest = &rest[at + "crate::".len()..];
        if !preceded {
            paths_from(rest, &[], &mut found);
        }
    }
    found
}

/// The paths that start at `text` (just after `crate::` or a `{`), with `prefix` before
/// them; a `{…}` group gives one per item.
fn paths_from(text: &str, prefix: &[String], found: &mut Vec<String>) {
    let mut segments = prefix.to_vec();
    let mut rest = text;
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    depth += match c {
                        '{' => 1,
                        '}' => -1,
                        _ => 0,
                    };
                    depth == 0
                })
                .map_or(group.len(), |(i, _)| i);
            let body = &group[..end];
            let mut item_start = 0;
            let mut depth = 0;
            for (i, c) in body.char_indices().chain(std::iter::once((body.len(), ','))) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        let item = body[item_start..i].trim();
                        if item == "self" {
                            found.push(
                                segments.iter().take(2).cloned().collect::<Vec<_>>().join("::"),
                            );
                        } else if !item.is_empty() {
                            paths_from(item, &segments, found);
                        }
                        item_start = i + 1;
                    }
                    _ => {}
                }
            }
            return;
        }
        let len = rest.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(rest.len());
        if len == 0 {
            break;
        }
        segments.push(rest[..len].to_owned());
        rest = &rest[len..];
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    if !segments.is_empty() {
        found.push(segments.iter().take(2).cloned().collect::<Vec<_>>().join("::"));
    }
}

/// The `.rs` files under a directory, relative to the repository.
fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            out.push(path.strip_prefix(root()).unwrap().to_string_lossy().into_owned());
        }
    }
}

/// The top-level module an item path names: `Error` and `Result` are `error`'s.
fn top_module(path: &str) -> String {
    let first = path.split("::").next().unwrap_or_default();
    match first {
        "Error" | "Result" => "error".to_owned(),
        other => other.to_owned(),
    }
}

#[test]
fn the_layers_match_the_imports() {
    let architecture = read("ARCHITECTURE.md");
    let layers = layers(&architecture);
    assert!(layers.len() >= 20, "{layers:?}");
    let exceptions = exceptions(&architecture);
    assert!(!exceptions.is_empty() || !architecture.contains("**Known exceptions"));
    let mut files = Vec::new();
    sources(&root().join("src"), &mut files);
    files.sort();

    let mut problems = Vec::new();
    let mut used_exceptions = BTreeSet::new();
    let mut edges = 0;
    for file in files.iter().filter(|file| file.as_str() != "src/lib.rs") {
        let from = module_of(file, false).unwrap();
        let Some(&from_layer) = layers.get(&from) else {
            problems.push(format!("{file}: module `{from}` is in no layer of ARCHITECTURE.md"));
            continue;
        };
        for path in crate_paths(&read(file)) {
            let to = top_module(&path);
            if to == from {
                continue;
            }
            edges += 1;
            let Some(&to_layer) = layers.get(&to) else {
                problems
                    .push(format!("{file}: uses `crate::{path}`, in no layer of ARCHITECTURE.md"));
                continue;
            };
            if to_layer <= from_layer {
                continue;
            }
            let listed = exceptions
                .iter()
                .find(|(target, users)| path.starts_with(target.as_str()) && users.contains(&from));
            match listed {
                Some((target, _)) => {
                    used_exceptions.insert((target.clone(), from.clone()));
                }
                None => problems.push(format!(
                    "{file} (layer {from_layer}) uses `crate::{path}` (layer {to_layer}): \
                     a lower layer may not use a higher one"
                )),
            }
        }
    }
    for (target, users) in &exceptions {
        for user in users {
            if !used_exceptions.contains(&(target.clone(), user.clone())) {
                problems.push(format!(
                    "ARCHITECTURE.md lists `{user}` using `{target}` as an exception, but it no \
                     longer does: delete it from the list"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(edges >= 100, "only {edges} imports between modules found");
}

#[test]
fn the_import_reader_sees_groups_and_paths_in_code() {
    let source = "use crate::{creds::{self, Target}, region, Error};\n\
                  // crate::daemon in a comment\n\
                  let x = crate::render::time::rfc3339(t);\n\
                  use crate::slot::SlotKey;\n\
                  mycrate::not_ours();\n";
    assert_eq!(
        crate_paths(source),
        ["creds", "creds::Target", "region", "Error", "render::time", "slot::SlotKey"]
    );
    assert_eq!(module_of("src/slot/mod.rs", false).as_deref(), Some("slot"));
    assert_eq!(module_of("src/watch.rs", false).as_deref(), Some("watch"));
    assert_eq!(module_of("src/render/time.rs", true).as_deref(), Some("render::time"));
}

// ---------------------------------------------------------------------------------------
// The helper

#[test]
fn the_helper_links_only_the_wire_crate() {
    let manifest = read("crates/bedprov-wire/Cargo.toml");
    let dependencies = &manifest[manifest.find("[dependencies]\n").expect("[dependencies]")..];
    let dependencies = &dependencies["[dependencies]\n".len()..];
    let dependencies = &dependencies[..dependencies.find("\n[").unwrap_or(dependencies.len())];
    let names: Vec<&str> = dependencies
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.split([' ', '=']).next().unwrap())
        .collect();
    assert_eq!(names, ["serde", "serde_json", "libc"], "the wire crate's dependencies");
    let helper = read("src/bin/bedprov-helper.rs");
    let code: Vec<&str> =
        helper.lines().filter(|line| !line.trim_start().starts_with("//")).collect();
    assert!(code.iter().any(|line| line.contains("bedprov_wire::helper::main")), "{helper}");
    assert!(
        !code.iter().any(|line| line.contains("bedprov::")),
        "the helper uses bedprov: {helper}"
    );
}
