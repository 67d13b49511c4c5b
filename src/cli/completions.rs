//! `bedprov completions SHELL`: the shell's completion script for `bedprov`, or with
//! `--helper` for `bedprov-helper`, generated from the clap definitions.

use super::Output;
use clap::{Args, CommandFactory as _};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
    /// Print the completions of bedprov-helper instead of bedprov's.
    #[arg(long)]
    pub helper: bool,
}

/// The completion script: `shell`'s code that completes `bedprov` (or `bedprov-helper`).
#[must_use]
pub fn script(shell: clap_complete::Shell, helper: bool) -> String {
    let mut command = if helper { super::helper_command::command() } else { super::Cli::command() };
    let name = command.get_name().to_owned();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, &name, &mut out);
    let script = String::from_utf8_lossy(&out).into_owned();
    if shell == clap_complete::Shell::Bash { bash_labels_fixed(&script, &name) } else { script }
}

/// clap_complete's bash script names a subcommand's `case` label after the program name with
/// each `-` made `__subcmd__`, but sets `cmd` with each `-` made `__`: for `bedprov-helper`
/// no label matched, and its commands completed no options. The labels are made to match.
fn bash_labels_fixed(script: &str, name: &str) -> String {
    let label = format!("{}__subcmd__", name.replace('-', "__subcmd__"));
    let cmd = format!("{}__subcmd__", name.replace('-', "__"));
    script.replace(&label, &cmd)
}

#[must_use]
pub fn run(args: &CompletionsArgs) -> Output {
    Output::from(script(args.shell, args.helper))
}
