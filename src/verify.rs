//! `bedprov check`: who am I (STS GetCallerIdentity), which Claude models can I reach in this
//! region (Bedrock ListFoundationModels, Anthropic), and does a freshly minted token decode
//! to the expected region and expiry. Model ids come only from AWS's answer; when there is
//! no answer, the report says so instead of listing anything.

use crate::aws::{self, Aws};
use crate::timefmt::rfc3339;
use crate::ttl::Ttl;
use crate::wire::api::ErrorCode;
use serde::Serialize;
use std::time::SystemTime;

/// The whole report.
#[derive(Debug, Serialize)]
pub(crate) struct Check {
    pub profile: String,
    /// The key id of the credentials that signed (not a secret: IAM and the token show it).
    pub access_key_id: String,
    pub credential_source: crate::wire::api::CredentialSource,
    pub region: String,
    pub region_source: String,
    pub identity: Result<Identity, Problem>,
    pub models: Result<Vec<Model>, Problem>,
    pub token: Result<TokenCheck, Problem>,
}

#[derive(Debug, Serialize)]
pub(crate) struct Identity {
    pub account: String,
    pub arn: String,
    pub user_id: String,
}

// `model_id` is AWS's name for it, and the field's name in `check --format json`.
#[allow(clippy::struct_field_names)]
#[derive(Debug, Serialize)]
pub(crate) struct Model {
    pub model_id: String,
    pub name: Option<String>,
    /// `ACTIVE` or `LEGACY`, as AWS says.
    pub status: Option<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TokenCheck {
    pub region: String,
    pub expires_at: String,
}

/// A failed part of the check: what went wrong and what to do.
#[derive(Debug, Serialize)]
pub(crate) struct Problem {
    pub message: String,
    pub hint: String,
}

impl From<crate::Error> for Problem {
    fn from(error: crate::Error) -> Self {
        Self { message: error.to_string(), hint: error.hint().to_owned() }
    }
}

impl Check {
    #[must_use]
    pub(crate) fn ok(&self) -> bool {
        self.identity.is_ok() && self.models.is_ok() && self.token.is_ok()
    }
}

/// Runs every part; a failing part is reported, not fatal to the others.
pub(crate) async fn run(aws: &Aws) -> Check {
    let identity = identity(aws).await.map_err(Problem::from);
    let models = models(aws).await.map_err(Problem::from);
    let token = token(aws).map_err(Problem::from);
    Check {
        profile: aws.profile.name.clone(),
        access_key_id: aws.credentials.access_key_id().to_owned(),
        credential_source: aws.credential_source,
        region: aws.region.to_string(),
        region_source: aws.region_source.to_string(),
        identity,
        models,
        token,
    }
}

async fn identity(aws: &Aws) -> crate::Result<Identity> {
    let out = aws
        .sts()
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| aws::error("sts:GetCallerIdentity", &e))?;
    Ok(Identity {
        account: out.account.unwrap_or_default(),
        arn: out.arn.unwrap_or_default(),
        user_id: out.user_id.unwrap_or_default(),
    })
}

async fn models(aws: &Aws) -> crate::Result<Vec<Model>> {
    let out = aws
        .bedrock()
        .list_foundation_models()
        .by_provider("anthropic")
        .send()
        .await
        .map_err(|e| aws::error("bedrock:ListFoundationModels", &e))?;
    let mut models: Vec<Model> = out
        .model_summaries
        .unwrap_or_default()
        .into_iter()
        .map(|m| Model {
            model_id: m.model_id,
            name: m.model_name,
            status: m.model_lifecycle.map(|l| l.status.as_str().to_owned()),
        })
        .collect();
    models.sort_by(|a, b| a.model_id.cmp(&b.model_id));
    Ok(models)
}

/// Mints with the same credentials and checks the token says what it should.
fn token(aws: &Aws) -> crate::Result<TokenCheck> {
    let token =
        crate::token::mint(&aws.credentials, &aws.region, Ttl::default(), SystemTime::now())?;
    let decoded = crate::token::decode(token.expose_secret())?;
    let signed_expiry = token.issued_at() + token.ttl().as_duration();
    if decoded.region != aws.region.as_str() || decoded.expires_at != signed_expiry {
        return Err(crate::Error::new(
            ErrorCode::Internal,
            "a freshly minted token does not decode to its own region and expiry",
            "this is a bug in bedprov: please report it",
        ));
    }
    Ok(TokenCheck { region: decoded.region, expires_at: rfc3339(token.expires_at()) })
}
