//! Watching the AWS files, so `aws sso login` or an edited `~/.aws/config` takes effect at
//! once. Directories are watched, not files (editors replace files by rename, which ends a
//! file watch), and events are filtered by path and debounced. The home directory is watched
//! too, so a deleted and recreated `~/.aws` is picked up again.

use crate::paths::AwsFiles;
use notify::{Event, RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events closer together than this are one change.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Starts watching; `on_change` runs (on the tokio runtime) once per debounced change.
/// Returns the task; dropping the runtime ends it. Errors are logged: without a watch the
/// daemon still works, it only reacts to file changes at the next refresh.
pub fn spawn(
    files: AwsFiles,
    on_change: impl Fn() + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
    tokio::spawn(async move {
        let mut watcher = match notify::recommended_watcher(move |event: notify::Result<Event>| {
            if let Ok(event) = event {
                let _ = tx.send(event);
            }
        }) {
            Ok(watcher) => watcher,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the AWS files; changes are seen at the next refresh");
                return;
            }
        };
        let dirs = watched_dirs(&files);
        rewatch(&mut watcher, &dirs);
        while let Some(first) = rx.recv().await {
            let mut relevant = is_relevant(&first, &files, &dirs);
            // Debounce: gather everything that arrives within the window.
            let deadline = tokio::time::Instant::now() + DEBOUNCE;
            while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                relevant |= is_relevant(&event, &files, &dirs);
            }
            if relevant {
                tracing::info!("AWS files changed; re-resolving credentials");
                // Directories may have been deleted or created: watch what exists now.
                rewatch(&mut watcher, &dirs);
                on_change();
            }
        }
    })
}

/// The directories to watch: those holding the config and credentials files, the SSO
/// cache, `~/.aws` itself, and the parents of all of them (to see them come and go).
fn watched_dirs(files: &AwsFiles) -> BTreeSet<PathBuf> {
    let mut dirs = BTreeSet::new();
    for path in [&files.config, &files.credentials] {
        if let Some(parent) = path.parent() {
            dirs.insert(parent.to_path_buf());
        }
    }
    dirs.insert(files.aws_dir.clone());
    dirs.insert(files.sso_cache.clone());
    let parents: Vec<PathBuf> =
        dirs.iter().filter_map(|d| d.parent().map(Path::to_path_buf)).collect();
    dirs.extend(parents);
    dirs
}

fn rewatch(watcher: &mut notify::RecommendedWatcher, dirs: &BTreeSet<PathBuf>) {
    for dir in dirs {
        let _ = watcher.unwatch(dir);
        if dir.is_dir()
            && let Err(error) = watcher.watch(dir, RecursiveMode::NonRecursive)
        {
            tracing::debug!(dir = %dir.display(), %error, "cannot watch");
        }
    }
}

/// True when the event touches the AWS files, the SSO cache, or one of the watched
/// directories themselves (created, deleted, renamed) — not unrelated files in `$HOME`.
fn is_relevant(event: &Event, files: &AwsFiles, dirs: &BTreeSet<PathBuf>) -> bool {
    if event.kind.is_access() {
        return false;
    }
    event.paths.iter().any(|path| {
        path == &files.config
            || path == &files.credentials
            || path.starts_with(&files.sso_cache)
            || path.starts_with(&files.aws_dir)
            || dirs.contains(path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::EventKind;
    use notify::event::{CreateKind, ModifyKind};

    fn files(home: &Path) -> AwsFiles {
        let aws_dir = home.join(".aws");
        AwsFiles {
            config: aws_dir.join("config"),
            credentials: aws_dir.join("credentials"),
            sso_cache: aws_dir.join("sso/cache"),
            aws_dir,
        }
    }

    #[test]
    fn only_aws_paths_count() {
        let files = files(Path::new("/home/u"));
        let dirs = watched_dirs(&files);
        assert!(
            dirs.contains(Path::new("/home/u")) && dirs.contains(Path::new("/home/u/.aws/sso"))
        );
        let event = |path: &str| {
            Event::new(EventKind::Modify(ModifyKind::Any)).add_path(PathBuf::from(path))
        };
        assert!(is_relevant(&event("/home/u/.aws/config"), &files, &dirs));
        assert!(is_relevant(&event("/home/u/.aws/.config.swp"), &files, &dirs));
        assert!(is_relevant(&event("/home/u/.aws/sso/cache/abc.json"), &files, &dirs));
        assert!(!is_relevant(&event("/home/u/.bash_history"), &files, &dirs));
        let created = Event::new(EventKind::Create(CreateKind::Folder))
            .add_path(PathBuf::from("/home/u/.aws"));
        assert!(is_relevant(&created, &files, &dirs));
    }
}
