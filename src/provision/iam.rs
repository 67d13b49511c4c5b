//! The IAM calls provisioning needs, each mapped to domain types and to errors that name the
//! IAM action (`iam:CreateUser`) when AWS denies it. No workflow logic here: the steps live
//! in `create`, `rotate`, `remove` and `list`.

use crate::aws;
use crate::wire::Secret;
use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use aws_sdk_iam::types::{StatusType, Tag};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The service name IAM uses for long-term Amazon Bedrock API keys.
pub(crate) const BEDROCK_SERVICE: &str = "bedrock.amazonaws.com";

/// Which kind of long-term credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Kind {
    /// An IAM access key pair (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    AccessKey,
    /// A long-term Amazon Bedrock API key (an IAM service-specific credential).
    ApiKey,
}

impl Kind {
    #[must_use]
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::AccessKey => "access-key",
            Self::ApiKey => "api-key",
        }
    }

    #[must_use]
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::AccessKey => "IAM access key",
            Self::ApiKey => "Bedrock API key",
        }
    }
}

/// An IAM user and its tags.
#[derive(Debug, Clone)]
pub(crate) struct User {
    pub name: String,
    pub tags: BTreeMap<String, String>,
}

impl User {
    /// Made (or adopted) by bedprov.
    #[must_use]
    pub(crate) fn managed(&self) -> bool {
        self.tags.get("created-by").is_some_and(|v| v == "bedprov")
            || self.tags.get("managed-by").is_some_and(|v| v == "bedprov")
    }
}

/// One credential's metadata (never its secret).
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    pub id: String,
    pub kind: Kind,
    pub active: bool,
    pub created: SystemTime,
    pub expires: Option<SystemTime>,
}

/// A credential just created: the only time its secret is known.
#[derive(Debug)]
pub(crate) struct NewCredential {
    pub id: String,
    pub kind: Kind,
    /// Access keys: the secret access key. API keys: the key itself.
    pub secret: Secret,
    pub expires: Option<SystemTime>,
}

/// When and where a key was last used.
#[derive(Debug, Clone)]
pub(crate) struct LastUsed {
    pub at: SystemTime,
    pub service: String,
    pub region: String,
}

fn time(dt: &aws_smithy_types::DateTime) -> SystemTime {
    u64::try_from(dt.secs()).map_or(UNIX_EPOCH, |secs| UNIX_EPOCH + Duration::from_secs(secs))
}

fn tags(map: &BTreeMap<String, String>) -> Result<Vec<Tag>> {
    map.iter()
        .map(|(k, v)| {
            Tag::builder().key(k).value(v).build().map_err(|e| {
                Error::new(ErrorCode::Internal, format!("invalid tag {k}: {e}"), "report this bug")
            })
        })
        .collect()
}

/// Why a user's credentials of one kind could not be listed.
#[derive(Debug)]
pub enum ListError {
    /// The endpoint does not implement the call (an AWS emulator without Bedrock API keys):
    /// commands that only look at that kind in passing go on without it.
    NotImplemented(Error),
    Failed(Error),
}

impl ListError {
    /// `None` for a user that does not exist (yet): it has no credentials.
    fn of<E>(
        action: &'static str,
        err: &aws_smithy_runtime_api::client::result::SdkError<
            E,
            aws_smithy_runtime_api::client::orchestrator::HttpResponse,
        >,
    ) -> Option<Self>
    where
        E: aws_smithy_types::error::metadata::ProvideErrorMetadata + std::error::Error + 'static,
    {
        if aws::code(err) == Some("NoSuchEntity") {
            None
        } else if aws::not_implemented(err) {
            Some(Self::NotImplemented(aws::error(action, err)))
        } else {
            Some(Self::Failed(aws::error(action, err)))
        }
    }
}

impl From<ListError> for Error {
    fn from(error: ListError) -> Self {
        match error {
            ListError::NotImplemented(error) | ListError::Failed(error) => error,
        }
    }
}

/// IAM for provisioning.
#[derive(Debug, Clone)]
pub(crate) struct Iam {
    client: aws_sdk_iam::Client,
}

impl Iam {
    #[must_use]
    pub(crate) fn new(client: aws_sdk_iam::Client) -> Self {
        Self { client }
    }

    /// The user and its tags, or `None` if it does not exist.
    pub(crate) async fn user(&self, name: &str) -> Result<Option<User>> {
        let user = match self.client.get_user().user_name(name).send().await {
            Ok(output) => output.user,
            Err(e) if aws::code(&e) == Some("NoSuchEntity") => return Ok(None),
            Err(e) => return Err(aws::error("iam:GetUser", &e)),
        };
        let Some(user) = user else { return Ok(None) };
        let tags = self
            .client
            .list_user_tags()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| aws::error("iam:ListUserTags", &e))?;
        Ok(Some(User {
            name: user.user_name().to_owned(),
            tags: tags.into_iter().map(|t| (t.key, t.value)).collect(),
        }))
    }

    pub(crate) async fn create_user(
        &self,
        name: &str,
        user_tags: &BTreeMap<String, String>,
    ) -> Result<User> {
        let output = self
            .client
            .create_user()
            .user_name(name)
            .set_tags(Some(tags(user_tags)?))
            .send()
            .await
            .map_err(|e| aws::error("iam:CreateUser", &e))?;
        let user = output.user.ok_or_else(|| {
            Error::new(ErrorCode::Aws, "CreateUser returned no user", "re-run the command")
        })?;
        Ok(User { name: user.user_name().to_owned(), tags: user_tags.clone() })
    }

    pub(crate) async fn tag_user(
        &self,
        name: &str,
        user_tags: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.client
            .tag_user()
            .user_name(name)
            .set_tags(Some(tags(user_tags)?))
            .send()
            .await
            .map_err(|e| aws::error("iam:TagUser", &e))?;
        Ok(())
    }

    pub(crate) async fn untag_user(&self, name: &str, keys: &[String]) -> Result<()> {
        self.client
            .untag_user()
            .user_name(name)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(|e| aws::error("iam:UntagUser", &e))?;
        Ok(())
    }

    /// ARNs of the managed policies attached to the user.
    pub(crate) async fn attached_policies(&self, name: &str) -> Result<Vec<String>> {
        let policies = self
            .client
            .list_attached_user_policies()
            .user_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| aws::error("iam:ListAttachedUserPolicies", &e))?;
        Ok(policies.into_iter().filter_map(|p| p.policy_arn).collect())
    }

    pub(crate) async fn attach_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.client
            .attach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| aws::error("iam:AttachUserPolicy", &e))?;
        Ok(())
    }

    pub(crate) async fn detach_policy(&self, name: &str, arn: &str) -> Result<()> {
        self.client
            .detach_user_policy()
            .user_name(name)
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| aws::error("iam:DetachUserPolicy", &e))?;
        Ok(())
    }

    /// The user's credentials of `kind`, oldest first.
    pub(crate) async fn credentials(&self, name: &str, kind: Kind) -> Result<Vec<Credential>> {
        self.try_credentials(name, kind).await.map_err(Error::from)
    }

    /// The user's credentials of `kind`, oldest first (none for a user that does not exist
    /// yet), telling a call the endpoint does not implement from other failures.
    pub(crate) async fn try_credentials(
        &self,
        name: &str,
        kind: Kind,
    ) -> std::result::Result<Vec<Credential>, ListError> {
        let mut list = match kind {
            Kind::AccessKey => {
                let listed = self
                    .client
                    .list_access_keys()
                    .user_name(name)
                    .into_paginator()
                    .items()
                    .send()
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .await;
                let keys = match listed {
                    Ok(keys) => keys,
                    Err(e) => {
                        return ListError::of("iam:ListAccessKeys", &e).map_or(Ok(Vec::new()), Err);
                    }
                };
                keys.into_iter()
                    .filter_map(|key| {
                        Some(Credential {
                            id: key.access_key_id?,
                            kind,
                            active: key.status == Some(StatusType::Active),
                            created: key.create_date.as_ref().map_or(UNIX_EPOCH, time),
                            expires: None,
                        })
                    })
                    .collect()
            }
            Kind::ApiKey => {
                let listed = self
                    .client
                    .list_service_specific_credentials()
                    .user_name(name)
                    .service_name(BEDROCK_SERVICE)
                    .send()
                    .await;
                let output = match listed {
                    Ok(output) => output,
                    Err(e) => {
                        return ListError::of("iam:ListServiceSpecificCredentials", &e)
                            .map_or(Ok(Vec::new()), Err);
                    }
                };
                output
                    .service_specific_credentials
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| Credential {
                        id: c.service_specific_credential_id,
                        kind,
                        active: c.status == StatusType::Active,
                        created: time(&c.create_date),
                        expires: c.expiration_date.as_ref().map(time),
                    })
                    .collect::<Vec<_>>()
            }
        };
        list.sort_by_key(|c| c.created);
        Ok(list)
    }

    pub(crate) async fn create(
        &self,
        name: &str,
        kind: Kind,
        age_days: u32,
    ) -> Result<NewCredential> {
        match kind {
            Kind::AccessKey => {
                let key = self
                    .client
                    .create_access_key()
                    .user_name(name)
                    .send()
                    .await
                    .map_err(|e| aws::error("iam:CreateAccessKey", &e))?
                    .access_key
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::Aws,
                            "CreateAccessKey returned no key",
                            "list the keys with `bedprov key list` and re-run",
                        )
                    })?;
                Ok(NewCredential {
                    id: key.access_key_id,
                    kind,
                    secret: Secret::new(key.secret_access_key),
                    expires: None,
                })
            }
            Kind::ApiKey => {
                let credential = self
                    .client
                    .create_service_specific_credential()
                    .user_name(name)
                    .service_name(BEDROCK_SERVICE)
                    .credential_age_days(i32::try_from(age_days).unwrap_or(i32::MAX))
                    .send()
                    .await
                    .map_err(|e| aws::error("iam:CreateServiceSpecificCredential", &e))?
                    .service_specific_credential
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::Aws,
                            "CreateServiceSpecificCredential returned nothing",
                            "list the keys with `bedprov key list` and re-run",
                        )
                    })?;
                let secret = credential
                    .service_credential_secret
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| {
                        Error::new(
                            ErrorCode::Aws,
                            "IAM returned no Bedrock API key value",
                            "delete the credential it created (`bedprov key list`) and re-run",
                        )
                    })?;
                Ok(NewCredential {
                    id: credential.service_specific_credential_id,
                    kind,
                    secret: Secret::new(secret),
                    expires: credential.expiration_date.as_ref().map(time),
                })
            }
        }
    }

    /// Activates or deactivates a credential.
    pub(crate) async fn set_active(
        &self,
        name: &str,
        credential: &Credential,
        active: bool,
    ) -> Result<()> {
        let status = if active { StatusType::Active } else { StatusType::Inactive };
        match credential.kind {
            Kind::AccessKey => self
                .client
                .update_access_key()
                .user_name(name)
                .access_key_id(&credential.id)
                .status(status)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws::error("iam:UpdateAccessKey", &e)),
            Kind::ApiKey => self
                .client
                .update_service_specific_credential()
                .user_name(name)
                .service_specific_credential_id(&credential.id)
                .status(status)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws::error("iam:UpdateServiceSpecificCredential", &e)),
        }
    }

    pub(crate) async fn delete(&self, name: &str, credential: &Credential) -> Result<()> {
        match credential.kind {
            Kind::AccessKey => self
                .client
                .delete_access_key()
                .user_name(name)
                .access_key_id(&credential.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws::error("iam:DeleteAccessKey", &e)),
            Kind::ApiKey => self
                .client
                .delete_service_specific_credential()
                .user_name(name)
                .service_specific_credential_id(&credential.id)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| aws::error("iam:DeleteServiceSpecificCredential", &e)),
        }
    }

    /// When an access key was last used (API keys have no such record in IAM).
    pub(crate) async fn last_used(&self, credential: &Credential) -> Result<Option<LastUsed>> {
        if credential.kind != Kind::AccessKey {
            return Ok(None);
        }
        let output = self
            .client
            .get_access_key_last_used()
            .access_key_id(&credential.id)
            .send()
            .await
            .map_err(|e| aws::error("iam:GetAccessKeyLastUsed", &e))?;
        Ok(output.access_key_last_used.and_then(|used| {
            Some(LastUsed {
                at: time(used.last_used_date.as_ref()?),
                service: used.service_name,
                region: used.region,
            })
        }))
    }

    /// Every user whose name ends in `-bedrock-user`, with tags (callers filter on them).
    pub(crate) async fn bedrock_users(&self) -> Result<Vec<User>> {
        let users = self
            .client
            .list_users()
            .into_paginator()
            .items()
            .send()
            .collect::<std::result::Result<Vec<_>, _>>()
            .await
            .map_err(|e| aws::error("iam:ListUsers", &e))?;
        let mut found = Vec::new();
        for user in users.iter().filter(|u| u.user_name().ends_with(super::unit::USER_SUFFIX)) {
            if let Some(user) = self.user(user.user_name()).await? {
                found.push(user);
            }
        }
        Ok(found)
    }

    pub(crate) async fn delete_user(&self, name: &str) -> Result<()> {
        self.client.delete_user().user_name(name).send().await.map(|_| ()).map_err(|e| {
            if aws::code(&e) == Some("DeleteConflict") {
                Error::new(ErrorCode::Aws,
                    format!("IAM will not delete {name}: it still has other attachments (login profile, MFA device, inline policy or group)"),
                    format!("remove them in the IAM console or with the AWS CLI (`aws iam get-user --user-name {name}`), then re-run"),
                )
            } else {
                aws::error("iam:DeleteUser", &e)
            }
        })
    }
}
