//! Reading the repository's Markdown, for the tests that hold the docs to the code: the
//! prose apart from the fenced code, and the inline code spans of the prose. Included by
//! `tests/readme.rs` and `tests/architecture.rs` on its own (`#[path]`), without the rest of
//! `tests/common`.
#![allow(dead_code, unreachable_pub)]

/// A Markdown text split into its fenced code blocks' lines and its prose (fences removed,
/// prose lines kept in order, so links and code spans that wrap stay whole).
pub struct Parts {
    pub code: Vec<String>,
    pub prose: String,
}

pub fn parts(markdown: &str) -> Parts {
    let mut code = Vec::new();
    let mut prose = String::new();
    let mut fence: Option<String> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &fence {
            None if trimmed.starts_with("```") => {
                fence = Some(trimmed.trim_start_matches('`').trim().to_owned());
            }
            None => {
                prose.push_str(line);
                prose.push('\n');
            }
            Some(_) if trimmed.starts_with("```") => fence = None,
            // Files (TOML, INI, JSON) and Rust hold no command lines.
            Some(language) if ["toml", "ini", "json", "rust"].contains(&language.as_str()) => {}
            Some(_) => code.push(line.to_owned()),
        }
    }
    assert!(fence.is_none(), "a code block is never closed");
    Parts { code, prose }
}

/// The inline code spans of prose, whitespace folded.
pub fn code_spans(prose: &str) -> Vec<String> {
    prose
        .split('`')
        .skip(1)
        .step_by(2)
        .map(|span| span.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}
