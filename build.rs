//! Sets `BEDPROV_VERSION` for `--version`: the package version, and the git commit when built
//! from a checkout of this repository ("0.1.0 (1a2b3c4d5e6f)"). Without git, or from a copy
//! that is not a checkout of its own (a crate tarball, a vendored copy inside another
//! repository), it is the package version alone, and the build never fails for it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    println!("cargo:rerun-if-changed=build.rs");
    let full = match commit(&manifest_dir) {
        Some(commit) => format!("{version} ({commit})"),
        None => version,
    };
    println!("cargo:rustc-env=BEDPROV_VERSION={full}");
}

/// The abbreviated commit checked out in `dir`, when `dir` is the top of a git checkout; and
/// asks cargo to run this again when HEAD moves (a commit, a checkout, a rebase).
fn commit(dir: &Path) -> Option<String> {
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if std::fs::canonicalize(top).ok()? != std::fs::canonicalize(dir).ok()? {
        return None;
    }
    let commit = git(dir, &["rev-parse", "--short=12", "HEAD"])?;
    // HEAD names the branch; the branch's own ref file (or packed-refs) names its commit.
    // Only paths that exist: cargo reruns a build script on every build for a missing one.
    // A branch whose ref is packed gets a ref file at its next commit: then refs/heads (a
    // directory, which cargo scans) is watched instead.
    let path = |name: &str| git(dir, &["rev-parse", "--git-path", name]).map(|p| dir.join(p));
    let branch = git(dir, &["symbolic-ref", "-q", "HEAD"]).and_then(|name| path(&name));
    let branch = match branch {
        Some(file) if file.exists() => Some(file),
        Some(_) => path("refs/heads"),
        None => None,
    };
    let watched = [path("HEAD"), path("packed-refs"), branch];
    for file in watched.into_iter().flatten().filter(|file| file.exists()) {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Some(commit)
}

/// `git ARGS` in `dir`: its first line of output, if it ran and succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let output = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    let line = text.lines().next()?.trim();
    (output.status.success() && !line.is_empty()).then(|| line.to_owned())
}
