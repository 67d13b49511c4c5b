//! Finds suggested shell commands that would put a secret on a command line, where any local
//! user can read it (`ps`, `/proc/PID/cmdline`) for as long as the command runs.
//!
//! A command line is split into simple commands (at `|`, `;`, `&&`, `||`, `&`, and inside
//! `$(…)`). In each, leading `NAME=value` assignments only set the environment (readable by
//! the same user alone) and are skipped; the first other word is the program. Shell
//! builtins that never start a process (`printf`, `echo`, `export`, …) may see a secret;
//! anything else may not: no argument of it may name a secret-bearing variable or hold a
//! literal token or API key.

/// Builtins of sh, dash, bash, zsh and fish that run in the shell itself.
const IN_SHELL: &[&str] = &[
    "printf", "echo", "export", "set", "read", "test", "[", ":", "local", "declare", "typeset",
    "unset", "cd", "source", ".", "alias",
];

/// Variables whose value is a secret (`AWS_BEARER_TOKEN_BEDROCK`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, …).
#[must_use]
pub fn is_secret_variable(name: &str) -> bool {
    ["TOKEN", "SECRET", "PASSWORD", "API_KEY"].iter().any(|part| name.contains(part))
}

/// The simple commands of `text` (one command line per line) that put a secret on a
/// command line, each with the line it is on.
#[must_use]
pub fn secrets_on_command_lines(text: &str) -> Vec<String> {
    text.lines().filter(|line| !line_is_safe(line)).map(str::to_owned).collect()
}

/// True when `line` names a secret-bearing variable at all (so a scan that found nothing
/// can be told from one that saw nothing).
#[must_use]
pub fn mentions_secret_variable(line: &str) -> bool {
    variables(line).iter().any(|name| is_secret_variable(name))
}

fn line_is_safe(line: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("$ ").unwrap_or(line);
    let (line, substitutions) = take_substitutions(line);
    substitutions.iter().all(|inner| line_is_safe(inner))
        && split_commands(&line).iter().all(|command| command_is_safe(command))
}

/// The line with each `$(…)` replaced by a placeholder, and what was inside them.
fn take_substitutions(line: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut inner = Vec::new();
    let mut rest = line;
    while let Some(start) = rest.find("$(") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let mut depth = 1;
        let end = after.char_indices().find_map(|(i, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            (depth == 0).then_some(i)
        });
        let end = end.unwrap_or(after.len());
        inner.push(after[..end].to_owned());
        out.push_str("SUBSTITUTION");
        rest = after.get(end + 1..).unwrap_or("");
    }
    out.push_str(rest);
    (out, inner)
}

/// Splits at unquoted `|`, `;`, `&`; each part is a list of words (quotes removed, `$`
/// references kept). Stops at an unquoted `#` that starts a word.
fn split_commands(line: &str) -> Vec<Vec<String>> {
    let mut commands = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, '\\') => {
                if let Some(next) = chars.next() {
                    word.push(next);
                    in_word = true;
                }
            }
            (None, '#') if !in_word => break,
            (None, '|' | ';' | '&') => {
                if in_word {
                    commands.last_mut().unwrap().push(std::mem::take(&mut word));
                    in_word = false;
                }
                commands.push(Vec::new());
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    commands.last_mut().unwrap().push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        commands.last_mut().unwrap().push(word);
    }
    commands.retain(|words| !words.is_empty());
    commands
}

fn command_is_safe(words: &[String]) -> bool {
    let is_assignment = |word: &String| {
        word.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty()
                && name.chars().all(|c| c == '_' || c.is_ascii_alphanumeric())
                && !name.starts_with(|c: char| c.is_ascii_digit())
        })
    };
    let mut words = words.iter().skip_while(|word| is_assignment(word));
    let Some(program) = words.next() else { return true };
    // PowerShell's `$env:NAME = 'value'` sets the environment.
    if program.starts_with("$env:") || IN_SHELL.contains(&program.as_str()) {
        return true;
    }
    words.all(|word| {
        !mentions_secret_variable(word) && !word.contains("bedrock-api-key-") && !is_api_key(word)
    })
}

/// A long-term Bedrock API key (`ABSK…`).
fn is_api_key(word: &str) -> bool {
    word.split(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '/' && c != '=')
        .any(|part| part.starts_with("ABSK") && part.len() > 20)
}

/// Names referenced as `$NAME`, `${NAME…}` or `$env:NAME`.
fn variables(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        rest = &rest[at + 1..];
        let body = rest.strip_prefix('{').or_else(|| rest.strip_prefix("env:")).unwrap_or(rest);
        let name: String =
            body.chars().take_while(|c| *c == '_' || c.is_ascii_alphanumeric()).collect();
        if !name.is_empty() {
            names.push(name);
        }
    }
    names
}

/// Every command line a Markdown document shows: the lines of its fenced code blocks and
/// each inline code span elsewhere.
#[must_use]
pub fn markdown_commands(markdown: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if fenced {
            commands.push(line.to_owned());
        } else {
            commands.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
        }
    }
    commands
}
