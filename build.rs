//! Link flags for the binaries.
//!
//! On Linux with glibc, relative relocations are packed (`DT_RELR`, glibc 2.36 and later):
//! a position-independent executable otherwise carries 24 bytes per pointer to relocate,
//! about 600 KB for the daemon, which the loader reads whole at every start and which
//! then stays in the resident set.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo::rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
