//! `bedprov-helper`: a fresh Bedrock token from the daemon in about a millisecond. Its logic
//! is `bedprov_wire::helper`, in a crate of std and serde only, so the compiler keeps the
//! helper small; this file only names the version.

/// `--version`: the package version, and the git commit when built from a checkout.
const VERSION: &str = env!("BEDPROV_VERSION");

fn main() -> std::process::ExitCode {
    bedprov_wire::helper::main(VERSION)
}
