//! Where resolved credentials came from, for the words "signed by …" and the
//! `credential_source` field: read from the feature marks aws-config's providers leave on
//! the credentials (the outermost step wins: a role assumed from SSO is a role), else from
//! what the profile itself says.

use super::profiles::CredentialKind;
use crate::wire::api::CredentialSource;
use aws_credential_types::Credentials;
use aws_credential_types::credential_feature::AwsCredentialFeature as Feature;

/// The kind of source that produced `credentials`; `kind` is what the profile's own keys
/// say, for credentials that carry no marks.
#[must_use]
pub fn of(credentials: &Credentials, kind: &CredentialKind) -> CredentialSource {
    let marks: &[Feature] = credentials.get_property::<Vec<Feature>>().map_or(&[], Vec::as_slice);
    let any = |wanted: &[Feature]| wanted.iter().any(|f| marks.contains(f));
    if any(&[Feature::CredentialsStsAssumeRole]) {
        CredentialSource::AssumeRole
    } else if any(&[
        Feature::CredentialsStsAssumeRoleWebId,
        Feature::CredentialsProfileStsWebIdToken,
        Feature::CredentialsEnvVarsStsWebIdToken,
    ]) {
        CredentialSource::WebIdentity
    } else if any(&[Feature::CredentialsSso, Feature::CredentialsProfileSso]) {
        CredentialSource::Sso
    } else if any(&[Feature::CredentialsProcess, Feature::CredentialsProfileProcess]) {
        CredentialSource::CredentialProcess
    } else if any(&[Feature::CredentialsHttp]) {
        CredentialSource::Container
    } else if any(&[Feature::CredentialsImds]) {
        CredentialSource::InstanceMetadata
    } else if any(&[Feature::CredentialsEnvVars]) {
        CredentialSource::Environment
    } else {
        match kind {
            CredentialKind::Static => CredentialSource::StaticKeys,
            CredentialKind::Process(_) => CredentialSource::CredentialProcess,
            CredentialKind::Sso => CredentialSource::Sso,
            CredentialKind::AssumeRole => CredentialSource::AssumeRole,
            CredentialKind::WebIdentity => CredentialSource::WebIdentity,
            CredentialKind::Login | CredentialKind::Other => CredentialSource::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(features: &[Feature]) -> Credentials {
        let mut credentials = Credentials::new("AKID", "secret", None, None, "test");
        credentials.get_property_mut_or_default::<Vec<Feature>>().extend_from_slice(features);
        credentials
    }

    #[test]
    fn the_outermost_step_names_the_source() {
        let role_from_sso = marked(&[Feature::CredentialsSso, Feature::CredentialsStsAssumeRole]);
        assert_eq!(of(&role_from_sso, &CredentialKind::AssumeRole), CredentialSource::AssumeRole);
        let sso = marked(&[Feature::CredentialsSso, Feature::CredentialsProfile]);
        assert_eq!(of(&sso, &CredentialKind::Sso), CredentialSource::Sso);
        assert_eq!(
            of(&marked(&[Feature::CredentialsImds]), &CredentialKind::Other),
            CredentialSource::InstanceMetadata
        );
    }

    #[test]
    fn unmarked_credentials_fall_back_to_the_profile() {
        let static_keys = marked(&[Feature::CredentialsProfile]);
        assert_eq!(of(&static_keys, &CredentialKind::Static), CredentialSource::StaticKeys);
        let process = marked(&[]);
        let kind = CredentialKind::Process("x".into());
        assert_eq!(of(&process, &kind), CredentialSource::CredentialProcess);
    }
}
