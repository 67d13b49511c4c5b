//! Watching the AWS files, so `aws sso login` or an edited `~/.aws/config` takes effect at
//! once, and nothing else does. Directories are watched, not files (editors replace files
//! by rename, which ends a file watch), and the home directory too, so a deleted and
//! recreated `~/.aws` is picked up again. Events are filtered by path (only the files bedprov
//! reads, and the watched directories coming and going) and debounced; then the files'
//! contents are compared with what the daemon last acted on ([`contents`]), so a swap file,
//! a save of the same bytes or bedprov's own refresh writing the SSO cache changes nothing.

pub mod contents;

pub use contents::Baseline;

use crate::paths::AwsFiles;
use notify::{Event, RecursiveMode, Watcher as _};
use std::collections::BTreeSet;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events closer together than this are one change.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Starts watching; `on_change` runs (on the tokio runtime, one at a time) with the changed
/// paths once per debounced change to what bedprov reads. Returns the task; dropping the
/// runtime ends it. Errors are logged: without a watch the daemon still works, it only
/// reacts to file changes at the next refresh.
pub fn spawn<F, Fut>(baseline: Arc<Baseline>, on_change: F) -> tokio::task::JoinHandle<()>
where
    F: Fn(Vec<PathBuf>) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
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
        let files = baseline.files().clone();
        let dirs = watched_dirs(&files);
        rewatch(&mut watcher, &dirs);
        while let Some(first) = rx.recv().await {
            let mut relevant = is_relevant(&first, &files, &dirs);
            // Debounce: gather everything that arrives within the window.
            let deadline = tokio::time::Instant::now() + DEBOUNCE;
            while let Ok(Some(event)) = tokio::time::timeout_at(deadline, rx.recv()).await {
                relevant |= is_relevant(&event, &files, &dirs);
            }
            if !relevant {
                continue;
            }
            // Directories may have been deleted or created: watch what exists now (before
            // reading the files, so a file written after this is seen as an event).
            rewatch(&mut watcher, &dirs);
            // Writes by refreshes running now are theirs: let them end and absorb them first.
            baseline.settle().await;
            if let Some(changed) = baseline.take_change() {
                tracing::info!(files = ?changed, "AWS files changed; re-resolving credentials");
                on_change(changed).await;
            } else {
                tracing::debug!("AWS files touched, but nothing bedprov reads changed");
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

/// True when the event touches a file bedprov reads (the config and credentials files, an
/// SSO cache JSON file) or one of the watched directories itself (created, deleted,
/// renamed): not swap files, backups or other tools' caches under `~/.aws`, nor `$HOME`.
fn is_relevant(event: &Event, files: &AwsFiles, dirs: &BTreeSet<PathBuf>) -> bool {
    if event.kind.is_access() {
        return false;
    }
    event.paths.iter().any(|path| {
        path == &files.config
            || path == &files.credentials
            || contents::is_sso_cache_file(path, files)
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
        assert!(is_relevant(&event("/home/u/.aws/credentials"), &files, &dirs));
        assert!(is_relevant(&event("/home/u/.aws/sso/cache/abc.json"), &files, &dirs));
        for unread in [
            "/home/u/.aws/.config.swp",
            "/home/u/.aws/config~",
            "/home/u/.aws/4913",
            "/home/u/.aws/cli/cache/role.json",
            "/home/u/.aws/sso/cache/abc.json.tmp",
            "/home/u/.bash_history",
        ] {
            assert!(!is_relevant(&event(unread), &files, &dirs), "{unread}");
        }
        let created = Event::new(EventKind::Create(CreateKind::Folder))
            .add_path(PathBuf::from("/home/u/.aws"));
        assert!(is_relevant(&created, &files, &dirs));
    }
}
