//! Instance metadata (IMDS) as the last link of the default credential chain.
//!
//! On a laptop nothing answers at the metadata address and the chain ends in "no AWS
//! credentials found". On cloud VMs and behind corporate proxies something does answer —
//! 403, 404, a page that is not credentials, or nothing until the timeout — and aws-config
//! turns that into a provider error. botocore treats every such answer as "no credentials
//! here", and so does bedprov: the user hears the same message and hint as on a laptop.
//! What the metadata service said is logged for `-v`. The one answer kept as an error is an
//! instance role the metadata service itself calls misconfigured: that is an EC2 instance
//! whose role needs fixing.

use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_credential_types::provider::{self, ProvideCredentials, error::CredentialsError};

/// [`ImdsCredentialsProvider`], with "nothing usable answered" as "no credentials".
#[derive(Debug)]
pub(super) struct InstanceMetadata(pub ImdsCredentialsProvider);

impl ProvideCredentials for InstanceMetadata {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(async move {
            self.0.provide_credentials().await.map_err(none_unless_misconfigured)
        })
    }
}

/// The chain's error for what the metadata service answered.
fn none_unless_misconfigured(error: CredentialsError) -> CredentialsError {
    if matches!(error, CredentialsError::CredentialsNotLoaded(_)) {
        return error;
    }
    if matches!(error, CredentialsError::InvalidConfiguration(_)) {
        return error;
    }
    let said = super::error_chain(&error);
    tracing::info!(answer = %said, "the instance metadata service gave no credentials");
    CredentialsError::not_loaded(format!("no credentials from instance metadata: {said}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_misconfigured_instance_role_stays_an_error() {
        for answer in [
            CredentialsError::provider_error("failed to load IMDS session token: forbidden"),
            CredentialsError::unhandled("invalid JSON from IMDS"),
            CredentialsError::provider_timed_out(std::time::Duration::from_secs(1)),
        ] {
            let mapped = none_unless_misconfigured(answer);
            assert!(matches!(mapped, CredentialsError::CredentialsNotLoaded(_)), "{mapped:?}");
        }
        let role = CredentialsError::invalid_configuration(
            "Incorrect IMDS/IAM configuration: [AssumeRoleUnauthorizedAccess]",
        );
        assert!(matches!(
            none_unless_misconfigured(role),
            CredentialsError::InvalidConfiguration(_)
        ));
    }
}
