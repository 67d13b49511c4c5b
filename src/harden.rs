//! Process hardening for every `bedprov` process that holds secrets: files we create are
//! private (`umask 077`), and the process can neither dump core nor be ptrace-attached or
//! read through `/proc/<pid>/mem` by other same-uid processes (`PR_SET_DUMPABLE` 0).

/// Applies the hardening. Failures are logged, not fatal: a missing prctl on some platform
/// must not stop a user from getting a token.
pub fn harden_process() {
    use nix::sys::resource::{Resource, setrlimit};
    use nix::sys::stat::{Mode, umask};

    umask(Mode::from_bits_truncate(0o077));
    if let Err(e) = setrlimit(Resource::RLIMIT_CORE, 0, 0) {
        tracing::warn!("could not disable core dumps: {e}");
    }
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_dumpable(false) {
        tracing::warn!("could not mark the process non-dumpable: {e}");
    }
}
