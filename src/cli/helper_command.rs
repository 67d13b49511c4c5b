//! The command line of `bedprov-helper`, described for clap so its shell completions and man
//! page come from the same generators as `bedprov`'s. The helper itself parses its arguments
//! by hand (it links no argument-parsing crate); a test runs the real helper with every flag
//! and command listed here and compares this description with its `--help`.

use clap::builder::PossibleValuesParser;
use clap::{Arg, ArgAction, Command, ValueHint};

/// The shells `--shell` names in the helper's help (it also takes dash, ksh, powershell).
pub const SHELLS: [&str; 5] = ["sh", "bash", "zsh", "fish", "pwsh"];

/// `bedprov-helper`'s commands and options, as its `--help` lists them.
#[must_use]
pub fn command() -> Command {
    let option = |name: &'static str, value: &'static str, help: &'static str| {
        Arg::new(name).long(name).value_name(value).help(help).global(true)
    };
    Command::new("bedprov-helper")
        .version(super::VERSION)
        .about("A fresh Amazon Bedrock token from the bedprov daemon, in about a millisecond")
        .long_about(
            "A fresh Amazon Bedrock token from the bedprov daemon, in about a millisecond.\n\n\
             The token is signed with what an AWS SDK in this shell would use: its own \
             credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, until \
             AWS_CREDENTIAL_EXPIRATION), else the profile in AWS_DEFAULT_PROFILE or \
             AWS_PROFILE (else \"default\"), read from AWS_CONFIG_FILE and \
             AWS_SHARED_CREDENTIALS_FILE (else ~/.aws). They go to the daemon over its private \
             socket, for this shell's requests only.\n\n\
             In a shell: eval \"$(bedprov-helper env)\". Options go before or after the \
             command.\n\n\
             If no daemon answers, the helper starts one (`bedprov daemon start`); set \
             BEDPROV_NO_AUTOSTART=1 to turn that off. BEDPROV_HELPER_TIMEOUT (seconds, default \
             20) bounds the wait for an answer.",
        )
        .subcommand_required(true)
        .max_term_width(100)
        .arg(option(
            "profile",
            "NAME",
            "AWS profile; sets the shell's own credentials aside, as aws --profile does",
        ))
        .arg(option(
            "region",
            "REGION",
            "region (default: $AWS_REGION, $AWS_DEFAULT_REGION, else the profile's)",
        ))
        .arg(option("ttl", "DURATION", "token lifetime, 15m to 12h (default 12h)"))
        .arg(
            option("shell", "SHELL", "env syntax: sh, bash, zsh, fish, pwsh (default: from $SHELL)")
                .value_parser(PossibleValuesParser::new(SHELLS)),
        )
        .arg(
            option(
                "socket",
                "PATH",
                "daemon socket (default: $BEDPROV_SOCKET, else $XDG_RUNTIME_DIR/bedprov/bedprov.sock)",
            )
            .value_hint(ValueHint::FilePath),
        )
        .arg(
            Arg::new("proxy")
                .long("proxy")
                .action(ArgAction::SetTrue)
                .global(true)
                .help(
                    "(env, exec) the daemon's local Bedrock proxy instead of a token: a key that \
                     never expires and the proxy's URLs, for apps that outlive tokens",
                ),
        )
        .subcommand(
            Command::new("env")
                .about("export AWS_BEARER_TOKEN_BEDROCK, AWS_REGION and AWS_DEFAULT_REGION"),
        )
        .subcommand(
            Command::new("token")
                .about("print the bare token (for tools that run a key command)"),
        )
        .subcommand(Command::new("json").about("print the token and its expiry as JSON"))
        .subcommand(
            Command::new("exec").about("run CMD with the variables set").arg(
                Arg::new("command")
                    .value_name("CMD")
                    .help("the command and its arguments, after `--`")
                    .num_args(1..)
                    .last(true)
                    .required(true)
                    .action(ArgAction::Append)
                    .value_hint(ValueHint::CommandWithArguments),
            ),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_a_valid_clap_command() {
        command().debug_assert();
        let matches = command()
            .try_get_matches_from(["bedprov-helper", "exec", "--shell", "fish", "--", "env", "-0"])
            .unwrap();
        assert_eq!(matches.get_one::<String>("shell").unwrap(), "fish");
        let (name, exec) = matches.subcommand().unwrap();
        assert_eq!(name, "exec");
        let words: Vec<&String> = exec.get_many("command").unwrap().collect();
        assert_eq!(words, ["env", "-0"]);
    }

    #[test]
    fn every_documented_shell_is_one_the_helper_accepts() {
        for name in SHELLS {
            assert!(crate::wire::shell::Shell::parse(name).is_ok(), "{name}");
        }
    }
}
