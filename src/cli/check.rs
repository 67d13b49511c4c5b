//! `bedprov check`: identity, Claude model access, token self-check.

use super::{AwsTarget, Output};
use crate::aws::Aws;
use crate::progress::spin;
use crate::render::Format;
use crate::wire::api::ErrorCode;
use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: AwsTarget,
    #[arg(long, value_parser = Format::parser(Format::REPORT), default_value_t = Format::Human)]
    pub format: Format,
}

pub(super) async fn run(args: CheckArgs) -> crate::Result<Output> {
    let aws = spin(
        "resolving AWS credentials",
        Aws::connect(args.target.profile.as_deref(), args.target.region.as_deref()),
    )
    .await?;
    let check = spin("checking identity and model access", crate::verify::run(&aws)).await;
    let mut output = Output::from(match args.format {
        Format::Json => crate::render::check::json(&check),
        // The rest is human: the parser admits no other.
        _ => crate::render::check::human(&check),
    });
    if !check.ok() {
        output.failure = Some(crate::Error::new(
            ErrorCode::Aws,
            "some checks failed",
            "see the ✗ lines above and their hints",
        ));
    }
    Ok(output)
}
