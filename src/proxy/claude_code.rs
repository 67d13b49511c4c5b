//! `bedprov setup claude-code`: points Claude Code at the local proxy through the `env`
//! block of its settings file (`CLAUDE_CODE_USE_BEDROCK`, `AWS_REGION`,
//! `ANTHROPIC_BEDROCK_BASE_URL`, and the local key as `AWS_BEARER_TOKEN_BEDROCK`), merged
//! into what is there: nothing else is touched, the previous file is kept as a backup, the
//! result is private (0600), and a second run changes nothing. `--undo` takes out exactly
//! what setup put in: values it replaced come back, values changed since are left alone.
//!
//! What setup changed is kept in a private record (it may hold values it replaced), so undo
//! knows what was there before. This module plans and writes; the CLI shows the plan.

use super::key::private_dir;
use crate::Error;
use crate::wire::Secret;
use crate::wire::api::ErrorCode;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The variable that holds the key: its values are never shown.
pub const KEY_VAR: &str = "AWS_BEARER_TOKEN_BEDROCK";

/// What setup puts into the `env` block.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub region: String,
    /// The proxy's plain-HTTP base URL for the profile and region.
    pub base_url: String,
    pub key: Secret,
}

impl Wanted {
    fn vars(&self) -> [(&'static str, &str); 4] {
        [
            ("CLAUDE_CODE_USE_BEDROCK", "1"),
            ("AWS_REGION", &self.region),
            ("ANTHROPIC_BEDROCK_BASE_URL", &self.base_url),
            (KEY_VAR, self.key.expose()),
        ]
    }
}

/// What setup did to one settings file, for `--undo`.
#[derive(Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Record {
    settings: PathBuf,
    /// The values setup set, by name.
    set: BTreeMap<String, Value>,
    /// What each name held before setup first set it (`null`: nothing).
    before: BTreeMap<String, Option<Value>>,
    /// Whether setup made the `env` block.
    made_env: bool,
}

/// One variable's change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    /// Shown values (the key's redacted); `None`: absent.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A planned change to the settings file.
pub struct Plan {
    pub path: PathBuf,
    pub changes: Vec<Change>,
    /// Names undo leaves alone: changed since setup set them.
    pub left: Vec<String>,
    /// Where the previous file is kept when this is written.
    pub backup: PathBuf,
    original: Option<Vec<u8>>,
    updated: Option<Value>,
    record_path: PathBuf,
    record: Option<Record>,
    /// Undo with nothing left to change still forgets the record.
    forget_record: bool,
}

impl std::fmt::Debug for Plan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plan")
            .field("path", &self.path)
            .field("changes", &self.changes)
            .finish_non_exhaustive()
    }
}

impl Plan {
    /// Whether writing it keeps a backup (there is a previous file).
    #[must_use]
    pub fn backup_needed(&self) -> bool {
        self.original.is_some()
    }

    /// Whether writing it would change the file.
    #[must_use]
    pub fn changes_anything(&self) -> bool {
        self.updated.is_some()
    }

    /// Writes the file (the previous one kept as the backup, the new one 0600), then the
    /// record.
    pub fn write(&self) -> crate::Result<()> {
        let Some(updated) = &self.updated else {
            return if self.forget_record { self.write_record() } else { Ok(()) };
        };
        if let Some(dir) = self.path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(Error::io(format!("cannot create {}", dir.display())))?;
        }
        if let Some(original) = &self.original {
            write_private(&self.backup, original)?;
        }
        let mut text = serde_json::to_string_pretty(updated).expect("JSON serializes");
        text.push('\n');
        write_private(&self.path, text.as_bytes())?;
        self.write_record()
    }

    fn write_record(&self) -> crate::Result<()> {
        match &self.record {
            Some(record) => {
                if let Some(dir) = self.record_path.parent() {
                    private_dir(dir)?;
                }
                let text = serde_json::to_vec_pretty(record).expect("JSON serializes");
                write_private(&self.record_path, &text)
            }
            None => match std::fs::remove_file(&self.record_path) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(Error::io(format!("cannot remove {}", self.record_path.display()))(error))
                }
                _ => Ok(()),
            },
        }
    }
}

/// The settings file as a JSON object (`{}` when missing), and its bytes.
/// A settings file as read: its object, and its bytes (`None`: there was no file).
type Read = (Map<String, Value>, Option<Vec<u8>>);

fn read_settings(path: &Path) -> crate::Result<Read> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Map::new(), None));
        }
        Err(error) => return Err(Error::io(format!("cannot read {}", path.display()))(error)),
    };
    let unusable = |why: String| {
        Error::new(
            ErrorCode::BadRequest,
            format!("Claude Code's settings file {} {why}", path.display()),
            "fix it (it must be a JSON object), or move it away and run this again",
        )
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok((Map::new(), Some(bytes)));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(map)) => Ok((map, Some(bytes))),
        Ok(_) => Err(unusable("is not a JSON object".into())),
        Err(error) => Err(unusable(format!("is not valid JSON ({error})"))),
    }
}

/// The `env` block of `settings`, which must be an object if present.
fn env_block(
    settings: &Map<String, Value>,
    path: &Path,
) -> crate::Result<Option<Map<String, Value>>> {
    match settings.get("env") {
        None => Ok(None),
        Some(Value::Object(env)) => Ok(Some(env.clone())),
        Some(_) => Err(Error::new(
            ErrorCode::BadRequest,
            format!("the `env` entry of {} is not a JSON object", path.display()),
            "make it an object of variable names and values, or remove it, and run this again",
        )),
    }
}

fn read_record(path: &Path) -> Option<Record> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// How a value is shown: the key's never.
fn shown(name: &str, value: Option<&Value>) -> Option<String> {
    let value = value?;
    if name == KEY_VAR {
        return Some(match value.as_str() {
            Some(text) if text.starts_with(super::key::PREFIX) => {
                format!("{}… (the proxy's local key)", super::key::PREFIX)
            }
            _ => "(a token, not shown)".into(),
        });
    }
    Some(match value {
        Value::String(text) => crate::quote::shown_long(text),
        other => crate::quote::shown_long(&other.to_string()),
    })
}

/// Plans setting `wanted` in the settings file at `path`; `record_path` keeps what was
/// there before.
pub fn setup(path: &Path, wanted: &Wanted, record_path: &Path) -> crate::Result<Plan> {
    let (mut settings, original) = read_settings(path)?;
    let existing = env_block(&settings, path)?;
    let previous = read_record(record_path).filter(|r| r.settings == path);
    let mut record = Record {
        settings: path.to_owned(),
        made_env: existing.is_none() || previous.as_ref().is_some_and(|r| r.made_env),
        ..Record::default()
    };
    let mut env = existing.unwrap_or_default();
    let mut changes = Vec::new();
    for (name, value) in wanted.vars() {
        let value = Value::String(value.to_owned());
        let current = env.get(name).cloned();
        // What was there before setup: kept from the last run while the value is still the
        // one it set; otherwise what is there now.
        let before = match previous.as_ref() {
            Some(previous) if previous.set.get(name) == current.as_ref() && current.is_some() => {
                previous.before.get(name).cloned().flatten()
            }
            _ => current.clone(),
        };
        record.before.insert(name.to_owned(), before);
        record.set.insert(name.to_owned(), value.clone());
        if current.as_ref() != Some(&value) {
            changes.push(Change {
                name: name.to_owned(),
                before: shown(name, current.as_ref()),
                after: shown(name, Some(&value)),
            });
            env.insert(name.to_owned(), value);
        }
    }
    let updated = (!changes.is_empty()).then(|| {
        settings.insert("env".into(), Value::Object(env));
        Value::Object(settings)
    });
    Ok(Plan {
        path: path.to_owned(),
        changes,
        left: Vec::new(),
        backup: backup_path(path),
        original,
        record: updated.is_some().then_some(record).or(previous),
        updated,
        record_path: record_path.to_owned(),
        forget_record: false,
    })
}

/// Plans taking out what setup put into `path`, by its record; nothing to do without one.
pub fn undo(path: &Path, record_path: &Path) -> crate::Result<Plan> {
    let (mut settings, original) = read_settings(path)?;
    let mut plan = Plan {
        path: path.to_owned(),
        changes: Vec::new(),
        left: Vec::new(),
        backup: backup_path(path),
        original,
        updated: None,
        record_path: record_path.to_owned(),
        record: None,
        forget_record: false,
    };
    let Some(record) = read_record(record_path).filter(|r| r.settings == path) else {
        return Ok(plan);
    };
    let mut env = env_block(&settings, path)?.unwrap_or_default();
    for (name, set) in &record.set {
        let current = env.get(name).cloned();
        if current.as_ref() != Some(set) {
            if current.is_some() {
                plan.left.push(name.clone());
            }
            continue;
        }
        let before = record.before.get(name).cloned().flatten();
        plan.changes.push(Change {
            name: name.clone(),
            before: shown(name, current.as_ref()),
            after: shown(name, before.as_ref()),
        });
        match before {
            Some(value) => env.insert(name.clone(), value),
            None => env.remove(name),
        };
    }
    if record.made_env && env.is_empty() {
        settings.remove("env");
    } else {
        settings.insert("env".into(), Value::Object(env));
    }
    plan.updated = Some(Value::Object(settings)).filter(|_| !plan.changes.is_empty());
    // Even with nothing to change, the record goes: there is nothing left to undo.
    plan.forget_record = true;
    Ok(plan)
}

/// `settings.json.bedprov-backup`, next to it.
fn backup_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".bedprov-backup");
    path.with_file_name(name)
}

/// Replaces `path` with `bytes`, private to us, atomically.
fn write_private(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    let temporary = path.with_extension(format!("bedprov-{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temporary);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| std::fs::rename(&temporary, path));
    written.map_err(|e| {
        let _ = std::fs::remove_file(&temporary);
        Error::io(format!("cannot write {}", path.display()))(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn wanted(region: &str) -> Wanted {
        Wanted {
            region: region.into(),
            base_url: format!("http://127.0.0.1:8239/region/{region}"),
            key: Secret::new(format!("{}{}", super::super::key::PREFIX, "a".repeat(64))),
        }
    }

    fn read(path: &Path) -> Value {
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    #[test]
    fn merged_backed_up_private_idempotent_and_undone_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".claude/settings.json");
        let record = dir.path().join("state/claude-code.json");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let original = r#"{"model": "opus", "env": {"AWS_REGION": "eu-west-1", "DEBUG": "1"}, "permissions": {"allow": ["Bash(ls)"]}}"#;
        std::fs::write(&path, original).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let plan = setup(&path, &wanted("us-east-1"), &record).unwrap();
        let names: Vec<&str> = plan.changes.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["CLAUDE_CODE_USE_BEDROCK", "AWS_REGION", "ANTHROPIC_BEDROCK_BASE_URL", KEY_VAR]
        );
        assert_eq!(plan.changes[1].before.as_deref(), Some("eu-west-1"));
        assert_eq!(
            plan.changes[3].after.as_deref(),
            Some("bedprov-local-… (the proxy's local key)")
        );
        assert!(!format!("{plan:?}").contains("aaaa"), "no key in Debug");
        plan.write().unwrap();
        let written = read(&path);
        assert_eq!(written["model"], "opus");
        assert_eq!(written["permissions"]["allow"][0], "Bash(ls)");
        assert_eq!(written["env"]["DEBUG"], "1");
        assert_eq!(written["env"]["AWS_REGION"], "us-east-1");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(".claude/settings.json.bedprov-backup"))
                .unwrap(),
            original
        );

        // Again: nothing to change. Another region: only what differs, and undo still
        // brings back the user's own region.
        assert!(!setup(&path, &wanted("us-east-1"), &record).unwrap().changes_anything());
        let plan = setup(&path, &wanted("us-west-2"), &record).unwrap();
        assert_eq!(plan.changes.len(), 2);
        plan.write().unwrap();
        let plan = undo(&path, &record).unwrap();
        assert_eq!(plan.changes.len(), 4);
        plan.write().unwrap();
        let undone = read(&path);
        let expected: Value = serde_json::from_str(original).unwrap();
        assert_eq!(undone, expected);
        assert!(!record.exists());
        assert!(!undo(&path, &record).unwrap().changes_anything(), "nothing left to undo");
        assert_eq!(read(&path), expected);
    }

    #[test]
    fn undo_leaves_what_changed_since_and_removes_an_env_block_it_made() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let record = dir.path().join("state/record.json");
        std::fs::write(&path, r#"{"theme": "dark"}"#).unwrap();
        setup(&path, &wanted("us-east-1"), &record).unwrap().write().unwrap();
        let mut edited = read(&path);
        edited["env"]["AWS_REGION"] = "ap-south-1".into();
        std::fs::write(&path, edited.to_string()).unwrap();
        let plan = undo(&path, &record).unwrap();
        assert_eq!(plan.left, ["AWS_REGION"]);
        plan.write().unwrap();
        assert_eq!(
            read(&path),
            serde_json::json!({"theme": "dark", "env": {"AWS_REGION": "ap-south-1"}})
        );
        // Made from nothing and undone: the env block goes too.
        std::fs::write(&path, r#"{"theme": "dark"}"#).unwrap();
        setup(&path, &wanted("us-east-1"), &record).unwrap().write().unwrap();
        undo(&path, &record).unwrap().write().unwrap();
        assert_eq!(read(&path), serde_json::json!({"theme": "dark"}));
    }

    #[test]
    fn a_file_that_is_not_a_json_object_is_refused_untouched() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings.json");
        let record = dir.path().join("state/record.json");
        for bad in ["{not json", "[1, 2]", r#"{"env": "x"}"#] {
            std::fs::write(&path, bad).unwrap();
            let error = setup(&path, &wanted("us-east-1"), &record).unwrap_err();
            assert_eq!(error.exit_code(), crate::wire::exit::USAGE, "{bad}: {error}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), bad);
        }
        // A missing file is made (with its directory).
        let fresh = dir.path().join("new/.claude/settings.json");
        setup(&fresh, &wanted("us-east-1"), &record).unwrap().write().unwrap();
        assert_eq!(read(&fresh)["env"]["CLAUDE_CODE_USE_BEDROCK"], "1");
    }
}
