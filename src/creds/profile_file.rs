//! The AWS shared config and credentials file format, read as the AWS SDKs read it: sections,
//! `key = value` properties, indented continuation and sub-property lines, `#`/`;` comments,
//! and the rules that merge the two files into profiles and `[sso-session]` sections.
//!
//! aws-config parses these files too, for the credential providers it runs; it offers no
//! public way to load them for the questions bedprov asks first (which profiles exist, how
//! each gets credentials), so this module follows the same rules, and its tests hold it to
//! aws-config's answers on the same texts.

use std::collections::HashMap;

/// Which of the two files a text comes from: they name sections differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileKind {
    /// `~/.aws/config`: `[default]`, `[profile NAME]`, `[sso-session NAME]`, …
    Config,
    /// `~/.aws/credentials`: `[NAME]` only.
    Credentials,
}

/// One section's properties: lower-case names to values (a continued value joins its lines
/// with `\n`).
pub(crate) type Properties = HashMap<String, String>;

/// Profiles and SSO sessions, merged from the files in the order they were added: a later
/// file's value for the same property wins (the credentials file over the config file).
#[derive(Debug, Default)]
pub(crate) struct ProfileSet {
    profiles: HashMap<String, Properties>,
    sso_sessions: HashMap<String, Properties>,
}

/// A line that breaks the format: its 1-based number and what is wrong, never its text (the
/// credentials file holds secret keys, and this error reaches the terminal and the log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) line: usize,
    pub(crate) message: &'static str,
}

impl ProfileSet {
    /// Parses `text` as a file of `kind` and merges it in. Sections the SDKs ignore (a
    /// config-file section without a prefix other than `[default]`, a name with characters
    /// outside `[A-Za-z0-9_-/.%@:+]`, …) are skipped as they skip them.
    pub(crate) fn add(&mut self, kind: FileKind, text: &str) -> Result<(), ParseError> {
        let sections = parse(text)?;
        // `[profile default]` in the config file replaces `[default]` in it entirely.
        let has_prefixed_default =
            sections.iter().any(|(header, _)| split_header(header) == (Some("profile"), "default"));
        for (header, properties) in sections {
            let Some(section) = self.section_for(kind, &header, has_prefixed_default) else {
                continue;
            };
            for (name, value) in properties {
                if is_identifier(&name) {
                    section.insert(name, value);
                }
            }
        }
        Ok(())
    }

    /// The merged section a header names, or `None` for a section the SDKs ignore.
    fn section_for(
        &mut self,
        kind: FileKind,
        header: &str,
        has_prefixed_default: bool,
    ) -> Option<&mut Properties> {
        let (prefix, name) = split_header(header);
        if !is_identifier(name) {
            return None;
        }
        let sections = match (kind, prefix) {
            (FileKind::Config, None) if name == "default" && !has_prefixed_default => {
                &mut self.profiles
            }
            (FileKind::Config, Some("profile")) | (FileKind::Credentials, None) => {
                &mut self.profiles
            }
            (FileKind::Config, Some("sso-session")) => &mut self.sso_sessions,
            // `[services …]` and other sections say nothing bedprov asks about.
            _ => return None,
        };
        Some(sections.entry(name.to_owned()).or_default())
    }

    /// Every profile's name, in no particular order.
    pub(crate) fn profile_names(&self) -> impl Iterator<Item = &str> {
        self.profiles.keys().map(String::as_str)
    }

    pub(crate) fn profile(&self, name: &str) -> Option<&Properties> {
        self.profiles.get(name)
    }

    pub(crate) fn sso_session(&self, name: &str) -> Option<&Properties> {
        self.sso_sessions.get(name)
    }
}

/// A header's text split into its prefix and name: `profile  dev` → (`profile`, `dev`),
/// `default` → (none, `default`).
fn split_header(header: &str) -> (Option<&str>, &str) {
    let header = header.trim_matches(WHITESPACE);
    match header.split_once(WHITESPACE) {
        Some((prefix, name)) => (Some(prefix), name.trim_matches(WHITESPACE)),
        None => (None, header),
    }
}

/// The SDKs' rule for section and property names.
fn is_identifier(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

const WHITESPACE: &[char] = &[' ', '\t'];
const COMMENT: &[char] = &['#', ';'];

/// One file's sections in order, each a header's text and its properties in order.
type Sections = Vec<(String, Vec<(String, String)>)>;

/// Splits a file into sections and properties, line by line.
fn parse(text: &str) -> Result<Sections, ParseError> {
    let mut sections: Sections = Vec::new();
    // The property the next indented line continues, and whether it opened sub-properties
    // (its own value was empty).
    let mut open: Option<(usize, bool)> = None;
    for (index, line) in text.lines().enumerate() {
        let error = |message| ParseError { line: index + 1, message };
        if line.trim_matches(WHITESPACE).is_empty() || line.starts_with(COMMENT) {
            continue;
        }
        if line.starts_with('[') {
            let header = without_comment(line, false)
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .ok_or(error("a section header must end with ']'"))?;
            sections.push((header.to_owned(), Vec::new()));
            open = None;
            continue;
        }
        let Some((_, properties)) = sections.last_mut() else {
            return Err(error("a property comes before any [section] header"));
        };
        if line.starts_with(WHITESPACE) {
            let Some((at, sub_properties)) = open else {
                return Err(error("an indented line continues no property"));
            };
            if sub_properties {
                property(line).map_err(error)?;
            }
            let value = &mut properties[at].1;
            value.push('\n');
            value.push_str(line.trim_matches(WHITESPACE));
        } else {
            let (name, value) = property(line).map_err(error)?;
            let opens_sub_properties = value.is_empty();
            // A name given twice in a section keeps its last value, in the first one's place.
            let at = if let Some(at) = properties.iter().position(|(known, _)| *known == name) {
                properties[at].1 = value;
                at
            } else {
                properties.push((name, value));
                properties.len() - 1
            };
            open = Some((at, opens_sub_properties));
        }
    }
    Ok(sections)
}

/// A `name = value` line: the name trimmed and lower-cased, the value trimmed, a comment
/// (`#` or `;` after whitespace) cut off.
fn property(line: &str) -> Result<(String, String), &'static str> {
    let (name, value) =
        without_comment(line, true).split_once('=').ok_or("a property line has no '='")?;
    let name = name.trim_matches(WHITESPACE);
    if name.is_empty() {
        return Err("a property has no name before '='");
    }
    Ok((name.to_ascii_lowercase(), value.trim_matches(WHITESPACE).to_owned()))
}

/// The line, trimmed, up to its comment: in a header any `#` or `;` starts one; in a
/// property only one that follows whitespace does (`key=a#b` keeps `a#b`).
fn without_comment(line: &str, after_whitespace_only: bool) -> &str {
    let line = line.trim_matches(WHITESPACE);
    let mut previous_is_space = false;
    for (at, c) in line.char_indices() {
        if COMMENT.contains(&c) && (previous_is_space || !after_whitespace_only) {
            return line[..at].trim_matches(WHITESPACE);
        }
        previous_is_space = c.is_whitespace();
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(config: &str, credentials: &str) -> ProfileSet {
        let mut set = ProfileSet::default();
        set.add(FileKind::Config, config).unwrap();
        set.add(FileKind::Credentials, credentials).unwrap();
        set
    }

    fn value<'a>(set: &'a ProfileSet, profile: &str, key: &str) -> Option<&'a str> {
        set.profile(profile)?.get(key).map(String::as_str)
    }

    #[test]
    fn properties_comments_and_continuations() {
        let set = set(
            "# comment\n; comment\n[default]\nRegion = eu-west-1 # comment\n\
             key=a#b;c\nempty =\nlong = one\n  two\n\tthree\n",
            "",
        );
        assert_eq!(value(&set, "default", "region"), Some("eu-west-1"));
        assert_eq!(value(&set, "default", "key"), Some("a#b;c"));
        assert_eq!(value(&set, "default", "empty"), Some(""));
        assert_eq!(value(&set, "default", "long"), Some("one\ntwo\nthree"));
    }

    #[test]
    fn section_names_follow_each_file_s_rules() {
        let set = set(
            "[profile a]\nx = 1\n[b]\nx = 1\n[profile bad name!]\nx = 1\n\
             [sso-session s] # comment\nsso_region = us-east-1\n[services s]\nx = 1\n",
            "[c]\nx = 1\n[profile d]\nx = 1\n",
        );
        let mut names: Vec<_> = set.profile_names().collect();
        names.sort_unstable();
        assert_eq!(names, ["a", "c"]);
        assert_eq!(set.sso_session("s").unwrap()["sso_region"], "us-east-1");
    }

    #[test]
    fn the_credentials_file_wins_and_prefixed_default_replaces_default() {
        let set = set(
            "[default]\nregion = a\nonly_plain = x\n[profile default]\nregion = b\n",
            "[default]\nregion = c\n",
        );
        assert_eq!(value(&set, "default", "region"), Some("c"));
        assert_eq!(value(&set, "default", "only_plain"), None);
    }

    #[test]
    fn broken_lines_name_their_line() {
        let parse_error = |text| ProfileSet::default().add(FileKind::Config, text).unwrap_err();
        assert_eq!(parse_error("x = 1\n").line, 1);
        assert_eq!(parse_error("[default]\n\nnot a property\n").line, 3);
        assert_eq!(parse_error("[default\n").line, 1);
        assert_eq!(parse_error("[default]\n  indented\n").line, 2);
        assert_eq!(parse_error("[default]\n= value\n").line, 2);
        // After an empty value, indented lines are sub-properties and need their own '='.
        assert_eq!(parse_error("[default]\ns3 =\n  no equals\n").line, 3);
    }

    /// Section headers and lines files may hold, the tricky ones included; sections set a
    /// `region`, so aws-config's region lookup tells which sections it kept and what it read.
    const HEADERS: &[&str] = &[
        "[default]",
        "[profile default]",
        "[profile a]",
        "[ profile  a ] ; note",
        "[a]",
        "[profile b!]",
        "[Profile a]",
        "[sso-session a]",
        "[services a]",
        "[profile c",
        "[c] # note",
    ];
    const LINES: &[&str] = &[
        "region = r1",
        "REGION=r2 # note",
        "region = r3#not-a-note",
        "region =",
        "  continued",
        "\tmore = x",
        "s3 =",
        "# comment",
        "; comment",
        "",
        "key: value",
        "=",
    ];

    /// A file: sections, each a header and some lines.
    fn file() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let section = (0..HEADERS.len(), proptest::collection::vec(0..LINES.len(), 0..4));
        proptest::collection::vec(section, 0..5).prop_map(|sections| {
            let mut text = String::new();
            for (header, lines) in sections {
                text.push_str(HEADERS[header]);
                for line in lines {
                    text.push('\n');
                    text.push_str(LINES[line]);
                }
                text.push('\n');
            }
            text
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Whatever two files hold, each profile's region is what aws-config reads, and a file
        /// this parser refuses leaves aws-config with nothing either.
        #[test]
        fn agrees_with_aws_config(config in file(), credentials in file()) {
            let mut ours = ProfileSet::default();
            let parsed = ours
                .add(FileKind::Config, &config)
                .and_then(|()| ours.add(FileKind::Credentials, &credentials));
            for profile in ["default", "a", "b!", "c"] {
                let theirs = aws_config_region(&config, &credentials, profile);
                let expected = match parsed {
                    Ok(()) => value(&ours, profile, "region").map(str::to_owned),
                    Err(_) => None,
                };
                proptest::prop_assert_eq!(theirs, expected, "profile {}", profile);
            }
        }
    }

    /// The region aws-config's own profile reader finds for `profile` in the two texts.
    fn aws_config_region(config: &str, credentials: &str, profile: &str) -> Option<String> {
        use aws_config::meta::region::ProvideRegion as _;
        use aws_runtime::env_config::file::{EnvConfigFileKind, EnvConfigFiles};
        let files = EnvConfigFiles::builder()
            .include_default_config_file(false)
            .include_default_credentials_file(false)
            .with_contents(EnvConfigFileKind::Config, config)
            .with_contents(EnvConfigFileKind::Credentials, credentials)
            .build();
        let provider = aws_config::profile::ProfileFileRegionProvider::builder()
            .profile_files(files)
            .profile_name(profile)
            .build();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(provider.region()).map(|region| region.to_string())
    }
}
