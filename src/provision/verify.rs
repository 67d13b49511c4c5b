//! Proving a new credential works before anything depends on it. Access keys: STS
//! GetCallerIdentity signed with the new key, retried while IAM propagates it (bounded).
//! API keys cannot sign STS calls: IAM listing the new key as active is the check.

use super::iam::{Iam, Kind, NewCredential};
use crate::aws::Aws;
use aws_credential_types::Credentials;
use std::time::{Duration, Instant};

/// How long a new key may take to propagate before verification gives up.
pub(super) const PROPAGATION: Duration = Duration::from_secs(30);

pub(super) async fn new_credential(
    aws: &Aws,
    iam: &Iam,
    user_name: &str,
    credential: &NewCredential,
) -> bool {
    match credential.kind {
        Kind::AccessKey => {
            let creds = Credentials::new(
                &credential.id,
                credential.secret.expose(),
                None,
                None,
                "bedprov-new-key",
            );
            let sts = aws_sdk_sts::Client::new(&aws.with_credentials(creds).await);
            let deadline = Instant::now() + PROPAGATION;
            let mut wait = Duration::from_millis(500);
            loop {
                match sts.get_caller_identity().send().await {
                    Ok(identity) => {
                        tracing::info!(
                            arn = identity.arn().unwrap_or_default(),
                            "new key verified"
                        );
                        return true;
                    }
                    Err(error) if Instant::now() + wait < deadline => {
                        tracing::debug!(error = %crate::creds::error_chain(&error), "new key not usable yet; retrying");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(Duration::from_secs(4));
                    }
                    Err(error) => {
                        tracing::warn!(error = %crate::creds::error_chain(&error), "new key could not be verified");
                        return false;
                    }
                }
            }
        }
        Kind::ApiKey => iam
            .credentials(user_name, Kind::ApiKey)
            .await
            .is_ok_and(|list| list.iter().any(|c| c.id == credential.id && c.active)),
    }
}
