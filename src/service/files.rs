//! The service's files on disk: filling in a template's placeholders, the install seal that
//! tells our own copies from copies edited by hand, each file's state, and writing and
//! removing them.
//!
//! The seal is a last comment line with a checksum of everything above it. A file whose seal
//! matches was written by bedprov and not touched since, so a newer bedprov may replace it
//! freely (an upgrade, a moved binary); a file whose seal is missing or wrong was edited by
//! hand and is only replaced with `--force`. The checksum detects edits; it is no defence
//! against someone forging one, and needs none: the files are the user's own.
//!
//! This module does not decide which files a platform has, nor talks to service managers.

use crate::Error;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

/// Mode of the unit files: not secret, and what service managers expect.
pub const FILE_MODE: u32 = 0o644;

/// How a file format writes a comment line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comment {
    /// `# …` (systemd units).
    Hash,
    /// `<!-- … -->` (property lists).
    Xml,
}

impl Comment {
    fn line(self, text: &str) -> String {
        match self {
            Self::Hash => format!("# {text}\n"),
            Self::Xml => format!("<!-- {text} -->\n"),
        }
    }

    fn parse(self, line: &str) -> Option<&str> {
        match self {
            Self::Hash => line.strip_prefix("# "),
            Self::Xml => line.strip_prefix("<!-- ")?.strip_suffix(" -->"),
        }
    }
}

const SEAL_PREFIX: &str = "bedprov-checksum: fnv1a64:";

/// A file we want on disk, ready to write (placeholders filled in, sealed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub path: PathBuf,
    pub contents: String,
}

/// What a file on disk is, compared with what we would write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileState {
    Missing,
    /// Exactly what this binary writes.
    Current,
    /// Written by bedprov (sealed, untouched), but not what this binary writes: an older
    /// template or another binary path. Replaced without asking.
    Outdated,
    /// Changed by hand since bedprov wrote it (or not written by bedprov at all).
    Edited,
}

/// Fills in `@NAME@` placeholders. Every placeholder must be given and used.
#[must_use]
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (name, value) in values {
        debug_assert!(text.contains(name), "{name} is not in the template");
        text = text.replace(name, value);
    }
    text
}

/// `text` with its one line ending in `line_end` extended to end in `replacement` instead
/// (an argument added to the command a template runs).
#[must_use]
pub fn extend_line(text: &str, line_end: &str, replacement: &str) -> String {
    debug_assert_eq!(text.matches(line_end).count(), 1, "{line_end:?} is not in the template once");
    text.replacen(line_end, replacement, 1)
}

/// A daemon argument a service file may carry: plain characters only (an address such as
/// `--proxy=[::1]:8239`), nothing a unit file or a plist would read as syntax.
pub fn check_daemon_arg(arg: &str) -> crate::Result<()> {
    if arg.chars().all(|c| c.is_ascii_alphanumeric() || "-=.:[]".contains(c)) {
        Ok(())
    } else {
        Err(crate::Error::usage(
            format!("`{}` cannot go into a service file", crate::quote::shown(arg)),
            "pass a plain loopback address such as 127.0.0.1:8239",
        ))
    }
}

/// Appends the seal line to `contents` (which ends with a newline).
#[must_use]
pub fn seal(contents: &str, comment: Comment) -> String {
    let mut text = contents.to_owned();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let checksum = fnv1a64(text.as_bytes());
    text.push_str(&comment.line(&format!("{SEAL_PREFIX}{checksum:016x}")));
    text
}

/// True when `text` ends with a seal that matches the rest of it.
#[must_use]
pub fn is_sealed(text: &str) -> bool {
    let Some(without_newline) = text.strip_suffix('\n') else { return false };
    let (body, last) = match without_newline.rfind('\n') {
        Some(at) => (&text[..=at], &without_newline[at + 1..]),
        None => ("", without_newline),
    };
    [Comment::Hash, Comment::Xml].into_iter().any(|comment| {
        comment
            .parse(last)
            .and_then(|t| t.strip_prefix(SEAL_PREFIX))
            .and_then(|hex| u64::from_str_radix(hex, 16).ok())
            .is_some_and(|sum| sum == fnv1a64(body.as_bytes()))
    })
}

/// FNV-1a, 64 bits: small, stable across versions and platforms, enough to notice an edit.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The state of `path` compared with `wanted` contents.
pub fn state(path: &Path, wanted: &str) -> crate::Result<FileState> {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(e) => return Err(Error::io(format!("cannot read {}", path.display()))(e)),
    };
    if text == wanted.as_bytes() {
        return Ok(FileState::Current);
    }
    Ok(match std::str::from_utf8(&text) {
        Ok(text) if is_sealed(text) => FileState::Outdated,
        _ => FileState::Edited,
    })
}

/// Writes `contents` to `path` atomically (a temporary file in the same directory, then a
/// rename), creating the directory if needed, with mode [`FILE_MODE`].
pub fn write(path: &Path, contents: &str) -> crate::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(Error::io(format!("cannot create {}", dir.display())))?;
    let name = path.file_name().map_or_else(Default::default, |n| n.to_string_lossy());
    let temp = dir.join(format!(".{name}.bedprov-{}.tmp", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents.as_bytes())?;
        // Explicit: the process umask (077) would otherwise make it 0600.
        file.set_permissions(std::fs::Permissions::from_mode(FILE_MODE))?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temp);
        Error::io(format!("cannot write {}", path.display()))(e)
    })
}

/// Removes `path`; a file that is already gone is fine.
pub fn remove(path: &Path) -> crate::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io(format!("cannot remove {}", path.display()))(e))
        }
        _ => Ok(()),
    }
}

/// Removes `dir` if it is empty (a drop-in directory we may have created).
pub fn remove_dir_if_empty(dir: &Path) {
    if std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none()) {
        let _ = std::fs::remove_dir(dir);
    }
}

/// Rejects characters no service file can carry in a value (line breaks, other controls).
pub fn check_value(what: &str, value: &str) -> crate::Result<()> {
    if value.chars().any(char::is_control) {
        return Err(Error::usage(
            format!("{what} contains a line break or another control character: {value:?}"),
            "install bedprov at a plain path (e.g. with `cargo install`) and run it from there",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_every_placeholder() {
        assert_eq!(fill("a=@A@ b=@B@ a=@A@\n", &[("@A@", "1"), ("@B@", "2")]), "a=1 b=2 a=1\n");
    }

    #[test]
    fn a_seal_survives_a_round_trip_and_catches_any_edit() {
        for comment in [Comment::Hash, Comment::Xml] {
            let sealed = seal("[Service]\nExecStart=/bin/x\n", comment);
            assert!(is_sealed(&sealed), "{sealed}");
            assert!(sealed.starts_with("[Service]\nExecStart=/bin/x\n"));
            assert!(!is_sealed(&sealed.replace("/bin/x", "/bin/y")));
            assert!(!is_sealed(&format!("# mine\n{sealed}")));
            assert!(!is_sealed(&format!("{sealed}# appended\n")));
            assert!(!is_sealed(sealed.trim_end()));
        }
        assert!(seal("x\n", Comment::Xml).ends_with(" -->\n"));
        assert!(!is_sealed("[Service]\n"));
        assert!(!is_sealed(""));
    }

    #[test]
    fn fnv_matches_the_published_vectors() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn states_tell_ours_from_edited() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/unit");
        let wanted = seal("new\n", Comment::Hash);
        assert_eq!(state(&path, &wanted).unwrap(), FileState::Missing);
        write(&path, &seal("old\n", Comment::Hash)).unwrap();
        assert_eq!(state(&path, &wanted).unwrap(), FileState::Outdated);
        write(&path, &wanted).unwrap();
        assert_eq!(state(&path, &wanted).unwrap(), FileState::Current);
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, FILE_MODE);
        write(&path, "new\n# my edit\n").unwrap();
        assert_eq!(state(&path, &wanted).unwrap(), FileState::Edited);
        std::fs::write(&path, [0xff, 0xfe]).unwrap();
        assert_eq!(state(&path, &wanted).unwrap(), FileState::Edited);
        remove(&path).unwrap();
        remove(&path).unwrap();
        assert_eq!(std::fs::read_dir(path.parent().unwrap()).unwrap().count(), 0, "no temp left");
    }

    #[test]
    fn control_characters_are_refused() {
        assert!(check_value("path", "/opt/my tools/bedprov").is_ok());
        let error = check_value("path", "/a\nExecStartPre=/bin/evil").unwrap_err();
        assert_eq!(error.exit_code(), crate::wire::exit::USAGE);
    }
}
