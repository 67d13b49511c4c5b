//! `bedprov man --out DIR`: man pages generated from the clap definitions: bedprov(1), one
//! page per subcommand (bedprov-token(1), bedprov-daemon-run(1), …), and bedprov-helper(1)
//! with one per command (bedprov-helper-env(1), …).

use super::Output;
use clap::{Args, CommandFactory as _};
use std::fmt::Write as _;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The directory to write the pages to (created if missing), e.g. ~/.local/share/man/man1.
    #[arg(long, value_name = "DIR", value_hint = clap::ValueHint::DirPath)]
    pub out: PathBuf,
}

/// Every page: its file name (`bedprov-token.1`) and its roff source.
#[must_use]
pub fn pages() -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for command in [super::Cli::command(), super::helper_command::command()] {
        let mut command = command.disable_help_subcommand(true);
        // Names subcommands by their path (bedprov-daemon-run), as their pages are named.
        command.build();
        collect(&command, &mut pages);
    }
    pages
}

fn collect(command: &clap::Command, pages: &mut Vec<(String, String)>) {
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        collect(sub, pages);
    }
    let man = clap_mangen::Man::new(command.clone())
        .manual("bedprov")
        .source(format!("bedprov {}", super::VERSION));
    let mut roff = Vec::new();
    man.render(&mut roff).expect("rendering into memory cannot fail");
    pages.push((man.get_filename(), String::from_utf8_lossy(&roff).into_owned()));
}

pub fn run(args: &ManArgs) -> crate::Result<Output> {
    let mut pages = pages();
    pages.sort();
    for (name, roff) in &pages {
        crate::service::files::write(&args.out.join(name), roff)?;
    }
    let mut out = format!("Wrote {} man pages to {}:\n", pages.len(), args.out.display());
    for (name, _) in &pages {
        let _ = writeln!(out, "  {name}");
    }
    let _ = writeln!(
        out,
        "Read one with `man {}`. `man bedprov` finds them in a man1 directory on man's \
         path: ~/.local/share/man/man1 is on it when ~/.local/bin is on PATH.",
        args.out.join("bedprov.1").display()
    );
    Ok(Output::from(out))
}
