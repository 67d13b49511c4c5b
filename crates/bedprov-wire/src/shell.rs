//! Shell quoting, the one place for it: safe `export` lines for shells that `eval` our
//! output, and command lines shown for a person to paste into a POSIX shell.
//!
//! Every exported value is single-quoted in the target shell's own syntax, so nothing in it
//! is ever expanded or executed. Values containing CR, LF or NUL are refused outright: no
//! quoting makes a multi-line value safe to paste, and NUL cannot live in an environment
//! variable.

use std::fmt;

/// A shell syntax for `export` lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// POSIX `sh`, `dash`, `bash`, `zsh`, `ksh`: `export NAME='value'`.
    Posix,
    /// fish: `set -gx NAME 'value'`.
    Fish,
    /// PowerShell: `$env:NAME = 'value'`.
    Pwsh,
}

impl Shell {
    /// Parses a `--shell` value: `sh`, `bash`, `zsh`, `dash`, `ksh`, `fish`, `pwsh`, `powershell`.
    pub fn parse(name: &str) -> Result<Self, String> {
        match name.to_ascii_lowercase().as_str() {
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "posix" => Ok(Self::Posix),
            "fish" => Ok(Self::Fish),
            "pwsh" | "powershell" => Ok(Self::Pwsh),
            _ => Err(format!(
                "unknown shell `{}`: use sh, bash, zsh, fish or pwsh",
                name.chars().take(40).collect::<String>()
            )),
        }
    }

    /// The shell named by `$SHELL` (its file name), or POSIX when unset or unknown.
    #[must_use]
    pub fn from_env() -> Self {
        std::env::var_os("SHELL")
            .and_then(|path| {
                std::path::Path::new(&path).file_name().map(|n| n.to_string_lossy().into_owned())
            })
            .and_then(|name| Self::parse(&name).ok())
            .unwrap_or(Self::Posix)
    }
}

/// A value that cannot be written safely as one shell line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsafeValue {
    /// The variable whose value was refused (never the value itself).
    pub name: String,
    pub reason: &'static str,
}

impl fmt::Display for UnsafeValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "refusing to export {}: its value {}", self.name, self.reason)
    }
}

impl std::error::Error for UnsafeValue {}

/// One line that sets `name` to `value` in `shell`, ending in `\n`.
pub fn export_line(shell: Shell, name: &str, value: &str) -> Result<String, UnsafeValue> {
    let refuse = |reason| UnsafeValue { name: name.to_owned(), reason };
    let valid_name = name
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'_' || b.is_ascii_uppercase() || (i > 0 && b.is_ascii_digit()));
    if name.is_empty() || !valid_name {
        return Err(refuse("has an invalid variable name"));
    }
    if value.contains('\0') {
        return Err(refuse("contains a NUL byte"));
    }
    if value.contains(['\r', '\n']) {
        return Err(refuse("contains a line break (CR or LF)"));
    }
    Ok(match shell {
        Shell::Posix => format!("export {name}={}\n", posix_quoted(value)),
        Shell::Fish => {
            format!("set -gx {name} '{}'\n", value.replace('\\', r"\\").replace('\'', r"\'"))
        }
        Shell::Pwsh => format!("$env:{name} = '{}'\n", pwsh_single_quoted(value)),
    })
}

/// PowerShell's single quotes: `'` and the typographic ‘ ’ ‚ ‛ all open and close a string,
/// and inside one each is escaped by doubling (as `CodeGeneration.EscapeSingleQuotedStringContent`
/// does). Doubling only `'` would let `’` end the string and the rest of the value run.
fn pwsh_single_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        if matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}') {
            out.push(c);
        }
        out.push(c);
    }
    out
}

/// `value` in POSIX single quotes: nothing in it is expanded (a `'` becomes `'\''`).
#[must_use]
pub fn posix_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `words` as one command line to paste into a POSIX shell: a word of characters no shell
/// treats specially stays as it is (easier to read), any other is [`posix_quoted`].
#[must_use]
pub fn posix_command_line<'a>(words: impl IntoIterator<Item = &'a str>) -> String {
    let plain = |word: &str| {
        !word.is_empty()
            && word.chars().all(|c| c.is_ascii_alphanumeric() || "@%+=:,./_-".contains(c))
    };
    let quoted: Vec<String> = words
        .into_iter()
        .map(|word| if plain(word) { word.to_owned() } else { posix_quoted(word) })
        .collect();
    quoted.join(" ")
}

/// All lines for `vars`, or nothing: output is complete valid shell or an error.
pub fn export_lines(shell: Shell, vars: &[(&str, &str)]) -> Result<String, UnsafeValue> {
    vars.iter().map(|(name, value)| export_line(shell, name, value)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn posix_quotes_single_quotes() {
        assert_eq!(export_line(Shell::Posix, "A", "it's").unwrap(), "export A='it'\\''s'\n");
        assert_eq!(export_line(Shell::Posix, "A", "$(x) `y`").unwrap(), "export A='$(x) `y`'\n");
    }

    #[test]
    fn command_lines_quote_only_what_a_shell_would_read() {
        assert_eq!(
            posix_command_line(["bedprov", "key", "it's $(x)", "", "a@b.c", "--ttl=1h,x/y%+:_-"]),
            r"bedprov key 'it'\''s $(x)' '' a@b.c --ttl=1h,x/y%+:_-"
        );
        assert_eq!(posix_command_line(["a b", "~", "*", "x;y"]), "'a b' '~' '*' 'x;y'");
    }

    #[test]
    fn fish_escapes_backslash_and_quote() {
        assert_eq!(export_line(Shell::Fish, "A", r"a\'b").unwrap(), "set -gx A 'a\\\\\\'b'\n");
    }

    #[test]
    fn pwsh_doubles_quotes() {
        assert_eq!(export_line(Shell::Pwsh, "A", "it's").unwrap(), "$env:A = 'it''s'\n");
    }

    #[test]
    fn pwsh_doubles_typographic_quotes_too() {
        // In PowerShell ’ closes a '…' string: undoubled, the rest of the value would run.
        assert_eq!(
            export_line(Shell::Pwsh, "A", "x’; Remove-Item ~ -Recurse; ’").unwrap(),
            "$env:A = 'x’’; Remove-Item ~ -Recurse; ’’'\n"
        );
        assert_eq!(export_line(Shell::Pwsh, "A", "‘‚‛'").unwrap(), "$env:A = '‘‘‚‚‛‛'''\n");
    }

    #[test]
    fn refuses_line_breaks_nul_and_bad_names() {
        for value in ["a\nb", "a\rb", "a\0b"] {
            for shell in [Shell::Posix, Shell::Fish, Shell::Pwsh] {
                assert!(export_line(shell, "A", value).is_err(), "{value:?} {shell:?}");
            }
        }
        assert!(export_line(Shell::Posix, "A B", "x").is_err());
        assert!(export_line(Shell::Posix, "1A", "x").is_err());
        assert!(export_line(Shell::Posix, "", "x").is_err());
    }

    #[test]
    fn export_lines_is_all_or_nothing() {
        let err = export_lines(Shell::Posix, &[("A", "ok"), ("B", "bad\n")]).unwrap_err();
        assert_eq!(err.name, "B");
        assert!(!err.to_string().contains("bad"));
    }

    #[test]
    fn shell_names() {
        assert_eq!(Shell::parse("ZSH").unwrap(), Shell::Posix);
        assert_eq!(Shell::parse("powershell").unwrap(), Shell::Pwsh);
        assert!(Shell::parse("cmd").is_err());
    }
}
