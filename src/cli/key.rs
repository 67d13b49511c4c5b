//! `bedprov key create|list|rotate|delete`: long-term credentials per business unit.
//! `create` and `rotate` print the output that carries a new secret at the workflow's
//! delivery step (see `deliver`); what follows it is printed at exit as usual.

use super::{AwsTarget, Output};
use crate::aws::Aws;
use crate::progress::spin;
use crate::prompt::{Questions, Terminal};
use crate::provision::iam::Kind;
use crate::provision::store::Store;
use crate::provision::unit::{BusinessUnit, Owner};
use crate::provision::{self, CreateRequest, DeleteTarget, Policy, Provisioned, RotateRequest};
use crate::render::Format;
use crate::render::key as render;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create (idempotently) the unit's IAM user, policy and a long-term credential.
    Create(CreateArgs),
    /// List bedprov-managed users and their keys (status, age, last use, store, rotation due).
    List(ListArgs),
    /// Replace the unit's key: create, verify, deliver where the old one is kept, then
    /// deactivate (or delete) the old one.
    Rotate(RotateArgs),
    /// Delete one key, or the whole user with its keys, policies and stored secret.
    Delete(DeleteArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// An IAM access key pair.
    AccessKey,
    /// A long-term Amazon Bedrock API key (IAM service-specific credential).
    ApiKey,
}

impl From<KindArg> for Kind {
    fn from(kind: KindArg) -> Self {
        match kind {
            KindArg::AccessKey => Self::AccessKey,
            KindArg::ApiKey => Self::ApiKey,
        }
    }
}

#[derive(Debug, Args)]
#[allow(clippy::struct_excessive_bools)] // command-line switches are booleans by nature
pub struct CreateArgs {
    /// The business unit, e.g. "Marketing Team" (becomes marketing-team-bedrock-user).
    #[arg(long, value_name = "NAME")]
    pub business_unit: String,
    /// Owner's email, recorded as a tag.
    #[arg(long, value_name = "EMAIL")]
    pub owner: Option<String>,
    /// full (`AmazonBedrockFullAccess`), limited (`AmazonBedrockLimitedAccess`) or a policy ARN.
    #[arg(long, value_name = "POLICY", default_value = "full")]
    pub policy: String,
    #[command(flatten)]
    pub credential: CredentialArgs,
    /// Verify the new key with STS (default: on, except with --store secretsmanager).
    #[arg(long, overrides_with = "no_verify")]
    pub verify: bool,
    #[arg(long, hide = true)]
    pub no_verify: bool,
    /// Manage an existing IAM user that bedprov did not create.
    #[arg(long)]
    pub adopt: bool,
    /// Create another key when the unit already has one (two at most).
    #[arg(long)]
    pub additional: bool,
    /// Answer yes to questions (and remove a key an interrupted run left undelivered).
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub target: AwsTarget,
}

/// What kind of credential a new key is, where its secret goes, how the result is shown
/// (`key create` and `key rotate`).
#[derive(Debug, Args)]
pub struct CredentialArgs {
    #[arg(long, value_enum, default_value_t = KindArg::AccessKey)]
    pub kind: KindArg,
    /// API keys only: days until the key expires (1–36600).
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    pub age_days: u32,
    /// Where the secret goes: printed once, the OS keyring, or AWS Secrets Manager (create:
    /// print unless told; rotate: where the unit's key is kept now, and another is refused).
    #[arg(long, value_enum)]
    pub store: Option<Store>,
    #[arg(long, value_parser = Format::parser(Format::KEY), default_value_t = Format::Human)]
    pub format: Format,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long, value_name = "NAME")]
    pub business_unit: Option<String>,
    #[arg(long, value_parser = Format::parser(Format::KEY), default_value_t = Format::Human)]
    pub format: Format,
    #[command(flatten)]
    pub target: AwsTarget,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[arg(long, value_name = "NAME")]
    pub business_unit: String,
    /// Delete the old key instead of deactivating it (only after the new one is verified).
    #[arg(long)]
    pub delete_old: bool,
    /// Remove a key an interrupted run left undelivered without asking.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub credential: CredentialArgs,
    #[command(flatten)]
    pub target: AwsTarget,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["key_id", "user"])))]
pub struct DeleteArgs {
    #[arg(long, value_name = "NAME")]
    pub business_unit: String,
    /// The access key id or Bedrock API key credential id to delete.
    #[arg(long, value_name = "ID")]
    pub key_id: Option<String>,
    /// Delete the user with all its keys, policy attachments and stored secret.
    #[arg(long)]
    pub user: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    #[command(flatten)]
    pub target: AwsTarget,
}

/// The unit named by `--business-unit`; how the name was read is said on stderr before any
/// AWS call, when it is not the unit as typed ("Sales & Marketing" → sales-marketing).
fn unit(name: &str) -> Result<BusinessUnit> {
    let unit = BusinessUnit::parse(name).map_err(|e| Error::usage(e.to_string(), e.hint()))?;
    if let Some(reading) = unit.reading(name) {
        crate::progress::suspend(|| eprintln!("note: {reading}"));
    }
    Ok(unit)
}

async fn connect(target: &AwsTarget) -> Result<Aws> {
    spin(
        "resolving AWS credentials",
        Aws::connect(target.profile.as_deref(), target.region.as_deref()),
    )
    .await
}

pub(super) async fn run(command: KeyCommand) -> Result<Output> {
    match command {
        KeyCommand::Create(args) => Box::pin(create(args)).await,
        KeyCommand::List(args) => {
            let unit = args.business_unit.as_deref().map(unit).transpose()?;
            let aws = connect(&args.target).await?;
            let listing = spin("listing IAM users", provision::list(&aws, unit.as_ref())).await?;
            Ok(Output::from(match args.format {
                Format::Json => render::list_json(&listing),
                // Human and Markdown (the parser admits no other) list the same way.
                _ => render::list_human(&listing),
            }))
        }
        KeyCommand::Rotate(args) => {
            let request = RotateRequest {
                unit: unit(&args.business_unit)?,
                kind: args.credential.kind.into(),
                age_days: args.credential.age_days,
                store: args.credential.store,
                delete_old: args.delete_old,
                yes: args.yes,
            };
            let aws = connect(&args.target).await?;
            let mut stdout = Stdout { format: args.credential.format };
            let result = Box::pin(spin(
                "rotating",
                provision::rotate(&aws, &request, &mut stdout, &mut Terminal),
            ))
            .await?;
            // A rotation that could not verify its new key fails before this point.
            Ok(render_created(&result, args.credential.format, "", ""))
        }
        KeyCommand::Delete(args) => {
            let unit = unit(&args.business_unit)?;
            let target = match &args.key_id {
                Some(id) => DeleteTarget::Key(id.clone()),
                None => DeleteTarget::User,
            };
            let question = match &target {
                DeleteTarget::Key(id) => format!(
                    "Delete key {id} of {}? Systems using it stop working.",
                    unit.user_name()
                ),
                DeleteTarget::User => format!(
                    "Delete IAM user {} with all its keys, policies and stored secret?",
                    unit.user_name()
                ),
            };
            confirm(&question, args.yes, &mut Terminal)?;
            let aws = connect(&args.target).await?;
            let deleted = spin("deleting", provision::delete(&aws, &unit, &target)).await?;
            Ok(Output::from(render::deleted(&deleted)))
        }
    }
}

async fn create(args: CreateArgs) -> Result<Output> {
    let owner = args.owner.as_deref().map(Owner::parse).transpose().map_err(|e| {
        Error::usage(e.to_string(), "pass --owner with a plain address such as jane@corp.com")
    })?;
    let request = CreateRequest {
        unit: unit(&args.business_unit)?,
        owner,
        policy: Policy::parse(&args.policy)?,
        kind: args.credential.kind.into(),
        age_days: args.credential.age_days,
        store: args.credential.store.unwrap_or(Store::Print),
        verify: if args.no_verify {
            false
        } else {
            args.verify || args.credential.store != Some(Store::Secretsmanager)
        },
        adopt: args.adopt,
        additional: args.additional,
        yes: args.yes,
    };
    let aws = connect(&args.target).await?;
    let mut stdout = Stdout { format: args.credential.format };
    let result = Box::pin(spin(
        "provisioning",
        provision::create(&aws, &request, &mut stdout, &mut Terminal),
    ))
    .await?;
    Ok(render_created(
        &result,
        args.credential.format,
        "the new key was created but could not be verified within 30 s",
        "IAM may still be propagating it: try it in a minute; `bedprov key list` shows it",
    ))
}

/// The delivery step for `--store print`: the output that carries the new secret, rendered
/// and written to stdout before the workflow goes on.
#[derive(Debug)]
struct Stdout {
    format: Format,
}

impl provision::Printer for Stdout {
    async fn print(&mut self, result: &Provisioned) -> std::io::Result<()> {
        let text = render::delivery(result, self.format);
        super::deliver::to_stdout(text.as_bytes()).await
    }
}

/// What is left to print: all of it when the secret was stored (or nothing was made), what
/// came after the printed part otherwise. A key that failed verification also fails the
/// command (exit 5) after its output, which may hold the only copy of the secret.
fn render_created(result: &Provisioned, format: Format, unverified: &str, hint: &str) -> Output {
    let mut output = Output::from(if result.printed_steps.is_some() {
        render::after_delivery(result, format)
    } else {
        render::shown(result, format)
    });
    if result.verified == Some(false) {
        output.failure = Some(Error::new(ErrorCode::Aws, unverified, hint));
    }
    output
}

/// Asks on a terminal unless `yes`; refuses without a terminal and without `yes`.
fn confirm(question: &str, yes: bool, questions: &mut dyn Questions) -> Result<()> {
    if yes {
        return Ok(());
    }
    if !questions.can_ask() {
        return Err(Error::new(
            ErrorCode::Declined,
            "this deletes credentials and needs confirmation",
            "re-run with --yes to confirm without a terminal",
        ));
    }
    match questions.confirm(question, false).map_err(Error::io("cannot read the answer"))? {
        Some(true) => Ok(()),
        _ => Err(Error::new(
            ErrorCode::Declined,
            "nothing was deleted",
            "re-run and answer y, or pass --yes",
        )),
    }
}
