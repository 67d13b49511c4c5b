//! `bedprov request TEXT`: a plain-language request → a plan (shown before anything runs) →
//! the equivalent `bedprov` command, parsed by the same clap definitions and run through the
//! same dispatch as if it had been typed. Questions are asked only on a terminal.

use super::{Cli, Outcome, Output};
use crate::Error;
use crate::intent::{self, KeyType, Plan};
use crate::prompt::{Questions, Terminal};
use crate::render::Format;
use crate::render::plan as render;
use crate::wire::api::ErrorCode;
use clap::{Args, Parser as _};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct RequestArgs {
    /// What you need, in your own words (quotes optional): "Bedrock key for 6 hours",
    /// "Bedrock key for Marketing Team, owner: jane@corp.com, in eu-west-1",
    /// "rotate the key for data-science".
    #[arg(value_name = "TEXT", required = true, num_args = 1..)]
    pub text: Vec<String>,
    /// Run a long-term plan without asking (required when there is no terminal to ask on).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show the plan and stop: nothing runs, nothing is created.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run, the plan's format; otherwise the result's (the plan goes to stderr).
    #[arg(long, value_parser = Format::parser(Format::REPORT), default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) fn run(
    args: &RequestArgs,
    socket: Option<PathBuf>,
    verbose: u8,
) -> crate::Result<Outcome> {
    let text = args.text.join(" ");
    let plan = intent::understand(&text, &mut Terminal)?;
    if args.dry_run {
        let stdout = match args.format {
            Format::Json => render::json(&plan),
            // The rest is human: the parser admits no other.
            _ => render::human(&plan),
        };
        return Ok(Outcome::Done(Output::from(stdout)));
    }
    // The plan is shown before anything runs; stdout stays the command's own output.
    eprintln!("{}", render::human(&plan));
    if plan.key_type() == KeyType::LongTerm && !args.yes {
        confirm(&plan, &mut Terminal)?;
    }
    let mut command = plan.argv();
    if args.format == Format::Json {
        command.extend(["--format".to_owned(), "json".to_owned()]);
    }
    // A yes to the plan is a yes to the command's own questions too (another key; removing
    // a key an interrupted run left undelivered).
    if args.yes && plan.key_type() == KeyType::LongTerm {
        command.push("--yes".to_owned());
    }
    dispatch(&command, socket, verbose)
}

/// Long-term keys are not made without a yes: asked on a terminal, `--yes` otherwise.
fn confirm(plan: &Plan, questions: &mut dyn Questions) -> crate::Result<()> {
    let command = render::command_line(&plan.argv());
    if !questions.can_ask() {
        return Err(Error::new(
            ErrorCode::Declined,
            "a long-term key needs a confirmation, and there is no terminal to ask on",
            format!("add --yes to go ahead (or run: {command} --yes)"),
        ));
    }
    let unit = plan.business_unit.as_ref().map_or("the unit", |u| u.as_str());
    let question = match plan.action {
        intent::Action::RotateKey => format!("Rotate the long-term key of {unit}?"),
        _ => format!("Create a long-term key for {unit}?"),
    };
    match questions.confirm(&question, false).map_err(Error::io("cannot read the answer"))? {
        Some(true) => Ok(()),
        Some(false) | None => Err(declined("declined: nothing was created or changed")),
    }
}

fn declined(message: &str) -> Error {
    Error::new(
        ErrorCode::Declined,
        message,
        "run the request again when you are ready; --dry-run shows the plan",
    )
}

/// Parses `argv` with the `bedprov` parser and runs it through the usual dispatch, keeping
/// the global options (`--socket`, `-v`) of this invocation.
fn dispatch(argv: &[String], socket: Option<PathBuf>, verbose: u8) -> crate::Result<Outcome> {
    let full = std::iter::once("bedprov").chain(argv.iter().map(String::as_str));
    let mut cli = Cli::try_parse_from(full).map_err(|e| refused(&e, argv))?;
    cli.socket = socket;
    cli.verbose = verbose;
    super::run(cli)
}

/// The plan's command line was refused by the parser: a bug in the plan.
fn refused(error: &clap::Error, argv: &[String]) -> Error {
    let command = render::command_line(argv);
    let reason = error.to_string();
    let reason = reason.lines().next().unwrap_or_default().trim_start_matches("error: ");
    Error::new(
        ErrorCode::Internal,
        format!("the plan's command line was refused ({command}): {reason}"),
        "this is a bug in bedprov: please report it with the request text",
    )
}
