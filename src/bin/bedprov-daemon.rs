//! `bedprov-daemon`: the daemon, as `bedprov daemon run` and `bedprov daemon start` run it.
//! It links only what serving tokens needs; see `bedprov::daemon::program`.

fn main() -> std::process::ExitCode {
    bedprov::daemon::program::main()
}
