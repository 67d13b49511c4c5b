//! `bedprov-daemon`: the daemon, as `bedprov daemon run` and `bedprov daemon start` run it.
//! It links only what serving tokens needs; see `bedprov::daemon::program`.

fn main() -> std::process::ExitCode {
    bedprov::daemon::program::main()
}

/// The one C math function the daemon's dependencies call (`f64::powf`, in tokio's scheduler
/// statistics and the AWS SDK's adaptive retry), taken from the `libm` crate: the linker then
/// binds `pow` here, and the process never loads the system's libm, whose mapping alone is
/// about 0.5 MB of an idle daemon's resident memory (docs/performance.md).
#[allow(unsafe_code)]
// Exporting a symbol under its C name is `unsafe(no_mangle)`.
// SAFETY: a pure function of two floats, with the C signature and meaning of `pow`; nothing
// else in the process defines it.
#[unsafe(no_mangle)]
extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}
