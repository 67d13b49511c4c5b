//! Rendering: the only module that decides what results look like on stdout.
//!
//! Each submodule turns one kind of result into the formats users share ([`Format`]: human,
//! Markdown, env (shell lines), JSON and raw) and returns a `String`; the CLI prints it (the
//! output carrying a new long-term secret at the workflow's delivery step, before anything
//! irreversible; everything else at exit). Diagnostics never come through here: they go to
//! stderr.

pub(crate) mod check;
pub(crate) mod decode;
pub(crate) mod key;
pub(crate) mod plan;
pub(crate) mod service;
pub(crate) mod status;
pub(crate) mod token;

use std::fmt;

/// `--format`: the forms a result can be shown in. Each command accepts the ones it can show
/// ([`Format::REPORT`], [`Format::TOKEN`], [`Format::KEY`]), checked by its parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For people: plain text, copy-paste ready.
    Human,
    /// The human output as Markdown, for tickets and wikis.
    Markdown,
    /// Shell lines to `eval`.
    Env,
    Json,
    /// The bare value (a token) and a newline.
    Raw,
}

impl Format {
    /// Commands that print a report: `status`, `decode`, `check`, `request`.
    pub const REPORT: &[Self] = &[Self::Human, Self::Json];
    /// `bedprov token`.
    pub const TOKEN: &[Self] = &[Self::Human, Self::Env, Self::Json, Self::Raw];
    /// The `key` commands.
    pub const KEY: &[Self] = &[Self::Human, Self::Markdown, Self::Json];
    const ALL: &[Self] = &[Self::Human, Self::Markdown, Self::Env, Self::Json, Self::Raw];

    /// The name `--format` takes.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Human => "human",
            Self::Markdown => "markdown",
            Self::Env => "env",
            Self::Json => "json",
            Self::Raw => "raw",
        }
    }

    /// The parser for a `--format` that accepts `formats` (and lists them in `--help`).
    #[must_use]
    pub fn parser(formats: &'static [Self]) -> impl clap::builder::TypedValueParser<Value = Self> {
        use clap::builder::TypedValueParser as _;
        clap::builder::PossibleValuesParser::new(formats.iter().map(|f| f.as_str())).map(|name| {
            *Self::ALL
                .iter()
                .find(|f| f.as_str() == name)
                .expect("the parser admits only known names")
        })
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::Format;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Report {
        #[arg(long, value_parser = Format::parser(Format::REPORT), default_value_t = Format::Human)]
        format: Format,
    }

    /// A command takes only the formats it can show, by the names `--help` lists.
    #[test]
    fn each_command_takes_its_own_formats() {
        let parse = |args: &[&str]| {
            Report::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
        };
        assert_eq!(parse(&[]).unwrap().format, Format::Human);
        assert_eq!(parse(&["--format", "json"]).unwrap().format, Format::Json);
        for refused in ["markdown", "env", "raw", "JSON", ""] {
            assert!(parse(&["--format", refused]).is_err(), "{refused}");
        }
        for format in Format::ALL {
            assert_eq!(format.to_string(), format.as_str());
        }
        assert_eq!(
            Format::TOKEN.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            ["human", "env", "json", "raw"]
        );
        assert_eq!(
            Format::KEY.iter().map(|f| f.as_str()).collect::<Vec<_>>(),
            ["human", "markdown", "json"]
        );
    }
}
