//! `export` lines for shells that `eval` them (`bedprov-helper env`, `bedprov token --format
//! env`). For any variable name and value: either a refusal, or exactly one line that, read by
//! a model of the target shell's quoting rules, sets exactly that name to exactly that value,
//! with nothing outside quotes that a shell could expand or run. (Real shells evaluate hostile
//! values in `tests/helper.rs`; this covers the space of inputs.)
#![no_main]

use bedprov::wire::shell::{Shell, export_line};
use libfuzzer_sys::fuzz_target;

/// POSIX sh: `export NAME=` then `'…'` runs (everything literal) and `\'` between them.
fn posix(line: &str) -> Option<(&str, String)> {
    let (name, mut rest) = line.strip_prefix("export ")?.split_once('=')?;
    let mut value = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("\\'") {
            value.push('\'');
            rest = after;
        } else {
            let (quoted, after) = rest.strip_prefix('\'')?.split_once('\'')?;
            value.push_str(quoted);
            rest = after;
        }
    }
    Some((name, value))
}

/// fish: `set -gx NAME '…'`; inside, `\\` is `\`, `\'` is `'`, any other `\x` is literal.
fn fish(line: &str) -> Option<(&str, String)> {
    let (name, quoted) = line.strip_prefix("set -gx ")?.split_once(' ')?;
    let mut chars = quoted.strip_prefix('\'')?.chars();
    let mut value = String::new();
    loop {
        match chars.next()? {
            '\'' => break,
            '\\' => match chars.next()? {
                c @ ('\\' | '\'') => value.push(c),
                c => {
                    value.push('\\');
                    value.push(c);
                }
            },
            c => value.push(c),
        }
    }
    chars.next().is_none().then_some((name, value))
}

/// PowerShell: `$env:NAME = '…'`; `'` ‘ ’ ‚ ‛ all delimit, and two in a row are one literal.
fn pwsh(line: &str) -> Option<(&str, String)> {
    let is_quote = |c: char| matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}');
    let (name, quoted) = line.strip_prefix("$env:")?.split_once(" = ")?;
    let mut chars = quoted.chars().peekable();
    if !is_quote(chars.next()?) {
        return None;
    }
    let mut value = String::new();
    loop {
        let c = chars.next()?;
        if is_quote(c) {
            if chars.peek().copied().is_some_and(is_quote) {
                value.push(c);
                chars.next();
            } else {
                break;
            }
        } else {
            value.push(c);
        }
    }
    chars.next().is_none().then_some((name, value))
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Ok(rest) = std::str::from_utf8(rest) else {
        return;
    };
    // `NAME=value`, or just a value for the real variable name.
    let (name, value) = rest.split_once('=').unwrap_or(("AWS_BEARER_TOKEN_BEDROCK", rest));
    let shell = [Shell::Posix, Shell::Fish, Shell::Pwsh][usize::from(selector % 3)];
    let Ok(line) = export_line(shell, name, value) else {
        return;
    };
    assert!(!value.contains(['\n', '\r', '\0']), "a line break or NUL was let through");
    let body = line.strip_suffix('\n').expect("ends with a newline");
    assert!(!body.contains(['\n', '\r', '\0']), "more than one line: {line:?}");
    let read = match shell {
        Shell::Posix => posix(body),
        Shell::Fish => fish(body),
        Shell::Pwsh => pwsh(body),
    };
    let (read_name, read_value) = read.unwrap_or_else(|| panic!("{shell:?} misreads {line:?}"));
    assert_eq!(read_name, name);
    assert!(
        !name.is_empty()
            && name.bytes().all(|b| b == b'_' || b.is_ascii_uppercase() || b.is_ascii_digit()),
        "name {name:?} accepted"
    );
    assert_eq!(read_value, value, "{shell:?} line {line:?}");
});
