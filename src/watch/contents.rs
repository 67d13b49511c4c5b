//! What bedprov reads under `~/.aws`, as digests, and which changes to it are bedprov's own.
//!
//! The files are the config and credentials files (wherever `AWS_CONFIG_FILE` and
//! `AWS_SHARED_CREDENTIALS_FILE` put them) and the SSO token cache's JSON files. Only a
//! keyed digest of each is kept, never the bytes: the SSO cache holds access tokens.
//!
//! [`Baseline`] is what the daemon last acted on. A refresh marks its run with
//! [`Baseline::own_writes`]: what changes in the files between its start and its end is
//! taken as its own doing (aws-config refreshing the SSO cache, a `credential_process`
//! caching into the credentials file) and absorbed, so it never sets off another refresh.
//! A file the user changed before the refresh began is left for the watch to report.

use crate::paths::AwsFiles;
use std::collections::BTreeMap;
use std::hash::BuildHasher as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;
use tokio::time::Instant;

/// A refresh running longer than this is taken as stuck: changes seen after this much of
/// its run are the user's, not its own (so a hung source cannot hide an `aws sso login`).
pub const OWN_WRITES_WINDOW: Duration = Duration::from_secs(10);

/// One file as read: unreadable (with why), or a digest of its bytes. A missing file is
/// absent from [`Contents`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Unreadable(std::io::ErrorKind),
    Digest(u64),
}

/// The files bedprov reads, as digests, by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents(BTreeMap<PathBuf, Seen>);

/// Keyed per process, so the digests say nothing about the contents outside it.
fn digest(bytes: &[u8]) -> u64 {
    static KEYS: OnceLock<std::hash::RandomState> = OnceLock::new();
    KEYS.get_or_init(std::hash::RandomState::new).hash_one(bytes)
}

impl Contents {
    /// Reads the files now.
    #[must_use]
    pub fn read(files: &AwsFiles) -> Self {
        let mut contents = Self::default();
        contents.add(&files.config);
        contents.add(&files.credentials);
        if let Ok(entries) = std::fs::read_dir(&files.sso_cache) {
            for entry in entries.flatten() {
                let path = entry.path();
                if is_sso_cache_file(&path, files) {
                    contents.add(&path);
                }
            }
        }
        contents
    }

    fn add(&mut self, path: &Path) {
        let seen = match std::fs::read(path) {
            Ok(bytes) => Seen::Digest(digest(&bytes)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return,
            Err(error) => Seen::Unreadable(error.kind()),
        };
        self.0.insert(path.to_path_buf(), seen);
    }

    /// The paths whose state differs between `self` and `other`.
    #[must_use]
    pub fn changed(&self, other: &Self) -> Vec<PathBuf> {
        let mut paths: Vec<PathBuf> = self
            .0
            .keys()
            .chain(other.0.keys())
            .filter(|path| self.0.get(*path) != other.0.get(*path))
            .cloned()
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Takes in what changed from `before` to `after` (a refresh's run), file by file, where
    /// `self` still matched `before`: a file that had already changed when the run began is
    /// someone else's change and is left as it is.
    fn absorb(&mut self, before: &Self, after: &Self) {
        for path in before.changed(after) {
            if self.0.get(&path) == before.0.get(&path) {
                match after.0.get(&path) {
                    Some(seen) => self.0.insert(path, *seen),
                    None => self.0.remove(&path),
                };
            }
        }
    }
}

/// A JSON file directly in the SSO token cache.
#[must_use]
pub fn is_sso_cache_file(path: &Path, files: &AwsFiles) -> bool {
    path.parent() == Some(files.sso_cache.as_path())
        && path.extension().is_some_and(|ext| ext == "json")
}

/// What the daemon last acted on, and the refreshes running now.
#[derive(Debug)]
pub struct Baseline {
    files: AwsFiles,
    inner: Mutex<Inner>,
    /// Signalled when a refresh's run ends.
    ended: tokio::sync::Notify,
}

#[derive(Debug)]
struct Inner {
    acted_on: Contents,
    /// Running refreshes, by id, with when they began.
    running: BTreeMap<u64, Instant>,
    next_id: u64,
}

impl Baseline {
    /// Reads the files now: the starting point.
    #[must_use]
    pub fn new(files: AwsFiles) -> Arc<Self> {
        let acted_on = Contents::read(&files);
        Arc::new(Self {
            files,
            inner: Mutex::new(Inner { acted_on, running: BTreeMap::new(), next_id: 0 }),
            ended: tokio::sync::Notify::new(),
        })
    }

    #[must_use]
    pub fn files(&self) -> &AwsFiles {
        &self.files
    }

    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Marks a refresh's run; hold the guard until the refresh is over.
    #[must_use]
    pub fn own_writes(self: &Arc<Self>) -> OwnWrites {
        let before = Contents::read(&self.files);
        let mut inner = self.inner();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.running.insert(id, Instant::now());
        OwnWrites { baseline: Arc::clone(self), id, before }
    }

    /// Waits while refreshes that began less than [`OWN_WRITES_WINDOW`] ago are running, so
    /// their writes are absorbed before the watch compares (at most that long in all).
    pub async fn settle(&self) {
        self.settle_within(OWN_WRITES_WINDOW).await;
    }

    async fn settle_within(&self, window: Duration) {
        let give_up = Instant::now() + window;
        loop {
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let now = Instant::now();
            let Some(young_until) = self
                .inner()
                .running
                .values()
                .map(|began| *began + window)
                .filter(|until| *until > now)
                .max()
            else {
                return;
            };
            if now >= give_up {
                return;
            }
            tokio::select! {
                () = ended => {}
                () = tokio::time::sleep_until(young_until.min(give_up)) => {}
            }
        }
    }

    /// Reads the files; when they differ from what was last acted on, they become the new
    /// baseline and the changed paths are returned.
    #[must_use]
    pub fn take_change(&self) -> Option<Vec<PathBuf>> {
        let now = Contents::read(&self.files);
        let mut inner = self.inner();
        let changed = inner.acted_on.changed(&now);
        if changed.is_empty() {
            return None;
        }
        inner.acted_on = now;
        Some(changed)
    }
}

/// A refresh's run (see [`Baseline::own_writes`]); its end absorbs what it wrote.
#[derive(Debug)]
pub struct OwnWrites {
    baseline: Arc<Baseline>,
    id: u64,
    before: Contents,
}

impl Drop for OwnWrites {
    fn drop(&mut self) {
        let after = Contents::read(&self.baseline.files);
        {
            let mut inner = self.baseline.inner();
            inner.acted_on.absorb(&self.before, &after);
            inner.running.remove(&self.id);
        }
        self.baseline.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;

    fn sandbox() -> (tempfile::TempDir, AwsFiles) {
        let dir = tempfile::tempdir().unwrap();
        let aws_dir = dir.path().join(".aws");
        let files = AwsFiles {
            config: aws_dir.join("config"),
            credentials: aws_dir.join("credentials"),
            sso_cache: aws_dir.join("sso/cache"),
            aws_dir,
        };
        std::fs::create_dir_all(&files.sso_cache).unwrap();
        std::fs::write(&files.config, "[default]\nregion = us-east-1\n").unwrap();
        (dir, files)
    }

    #[test]
    fn only_the_bytes_of_what_bedprov_reads_count() {
        let (_dir, files) = sandbox();
        let first = Contents::read(&files);
        // Swap files, backups, other caches: not read, not counted.
        std::fs::write(files.aws_dir.join(".config.swp"), "x").unwrap();
        std::fs::write(files.aws_dir.join("config~"), "x").unwrap();
        std::fs::write(files.sso_cache.join("notes.txt"), "x").unwrap();
        // The same bytes written again.
        std::fs::write(&files.config, "[default]\nregion = us-east-1\n").unwrap();
        assert!(first.changed(&Contents::read(&files)).is_empty());
        std::fs::write(files.sso_cache.join("abc.json"), "{}").unwrap();
        std::fs::write(&files.config, "[default]\nregion = eu-west-1\n").unwrap();
        assert_eq!(
            first.changed(&Contents::read(&files)),
            [files.config.clone(), files.sso_cache.join("abc.json")]
        );
        let shown = format!("{:?}", Contents::read(&files));
        assert!(!shown.contains("eu-west-1"), "digests, never bytes: {shown}");
    }

    #[tokio::test]
    async fn a_refresh_absorbs_its_own_writes_but_not_a_change_from_before_it() {
        let (_dir, files) = sandbox();
        let baseline = Baseline::new(files.clone());
        // A user's change, not yet reported by the watch, then a refresh that writes the
        // SSO cache and the credentials file.
        std::fs::write(&files.config, "[default]\nregion = eu-west-1\n").unwrap();
        let run = baseline.own_writes();
        std::fs::write(files.sso_cache.join("abc.json"), "{}").unwrap();
        std::fs::write(&files.credentials, "[x]\n").unwrap();
        drop(run);
        assert_eq!(baseline.take_change(), Some(vec![files.config.clone()]));
        assert_eq!(baseline.take_change(), None);
    }

    #[tokio::test]
    async fn settle_waits_for_young_refreshes_only() {
        let (_dir, files) = sandbox();
        let baseline = Baseline::new(files);
        assert!(baseline.settle().now_or_never().is_some(), "nothing running, nothing to wait for");
        let run = baseline.own_writes();
        let waiting = tokio::spawn({
            let baseline = Arc::clone(&baseline);
            async move { baseline.settle().await }
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished(), "a young run is waited for");
        drop(run);
        waiting.await.unwrap();
        // A run that never ends holds the watch up for the window, then no longer.
        let window = Duration::from_millis(200);
        let _stuck = baseline.own_writes();
        let started = Instant::now();
        baseline.settle_within(window).await;
        assert!(started.elapsed() >= window);
        assert!(
            baseline.settle_within(window).now_or_never().is_some(),
            "a stuck run is no longer young: nothing to wait for"
        );
    }
}
