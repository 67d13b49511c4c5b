//! `bedprov`: the command line. Thin by design: everything lives in the library.

fn main() -> std::process::ExitCode {
    bedprov::cli::main()
}
