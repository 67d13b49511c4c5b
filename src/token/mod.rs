//! Bedrock short-term tokens: the redacted [`Token`] type, [`mint`](mint::mint) (pure `SigV4`
//! query presigning, byte-identical to AWS's Python generator) and [`decode`](decode::decode)
//! (offline introspection that never reveals the signature or session token).
//!
//! This module does no I/O: credentials come in, a token comes out.

pub mod decode;
pub mod mint;

use crate::region::Region;
use crate::timefmt::rfc3339;
use crate::ttl::Ttl;
use crate::wire::Secret;
use crate::wire::api::{CredentialSource, TokenBody};
use std::fmt;
use std::time::SystemTime;
use zeroize::Zeroizing;

pub use decode::{DecodeError, Decoded, decode};
pub use mint::{MintError, mint};

/// The prefix of every short-term Bedrock token.
pub const PREFIX: &str = "bedrock-api-key-";

/// A minted Bedrock bearer token and the facts needed to serve it safely.
///
/// The secret is zeroized on drop; `Debug` and `Display` redact it. The only way to the bytes
/// is [`Token::expose_secret`], so every place a token leaves memory is easy to find.
pub struct Token {
    secret: Zeroizing<String>,
    region: Region,
    access_key_id: String,
    /// The signing time (`X-Amz-Date`), whole seconds.
    issued_at: SystemTime,
    ttl: Ttl,
    /// When the signing credentials expire: a token is worthless after that, whatever its TTL.
    credential_expires_at: Option<SystemTime>,
}

impl Token {
    /// The bearer token itself (`bedrock-api-key-…`). Handle with care.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.secret
    }

    #[must_use]
    pub fn region(&self) -> &Region {
        &self.region
    }

    /// The signing access key id (not a secret; shown by `aws sts get-caller-identity`).
    #[must_use]
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    #[must_use]
    pub fn issued_at(&self) -> SystemTime {
        self.issued_at
    }

    #[must_use]
    pub fn ttl(&self) -> Ttl {
        self.ttl
    }

    #[must_use]
    pub fn credential_expires_at(&self) -> Option<SystemTime> {
        self.credential_expires_at
    }

    /// When the token stops working: `min(issued_at` + TTL, credential expiry).
    #[must_use]
    pub fn expires_at(&self) -> SystemTime {
        let signed_expiry = self.issued_at + self.ttl.as_duration();
        self.credential_expires_at.map_or(signed_expiry, |creds| creds.min(signed_expiry))
    }

    /// True when the credentials, not the TTL, decide the expiry.
    #[must_use]
    pub fn capped_by_credentials(&self) -> bool {
        self.expires_at() < self.issued_at + self.ttl.as_duration()
    }

    /// The wire body for this token (`GET /v1/token`, and `bedprov token --format json`),
    /// signed with `profile`'s settings by credentials from `credential_source`.
    #[must_use]
    pub fn body(&self, profile: &str, credential_source: CredentialSource) -> TokenBody {
        TokenBody {
            token: Secret::new(self.expose_secret().to_owned()),
            region: self.region().to_string(),
            profile: profile.to_owned(),
            issued_at: rfc3339(self.issued_at()),
            expires_at: rfc3339(self.expires_at()),
            credential_expires_at: self.credential_expires_at().map(rfc3339),
            ttl_seconds: self.ttl().as_secs(),
            credential_source: Some(credential_source),
            access_key_id: Some(self.access_key_id().to_owned()),
        }
    }
}

// ttl and credential_expires_at are folded into expires_at; the secret is redacted.
#[allow(clippy::missing_fields_in_debug)]
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("secret", &format_args!("{PREFIX}<redacted>"))
            .field("region", &self.region.as_str())
            .field("access_key_id", &self.access_key_id)
            .field("issued_at", &format_args!("{}", rfc3339(self.issued_at)))
            .field("expires_at", &format_args!("{}", rfc3339(self.expires_at())))
            .finish()
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}<redacted>")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::Credentials;
    use std::time::Duration;

    fn sample() -> Token {
        let creds = Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Some("session+token/EXAMPLE=".into()),
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000 + 1800)),
            "test",
        );
        let region = Region::parse("eu-west-1").unwrap();
        mint(
            &creds,
            &region,
            Ttl::default(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
        )
        .unwrap()
    }

    #[test]
    fn debug_and_display_redact_exactly() {
        let token = sample();
        assert_eq!(
            format!("{token:?}"),
            "Token { secret: bedrock-api-key-<redacted>, region: \"eu-west-1\", access_key_id: \"AKIDEXAMPLE\", issued_at: 2027-01-15T08:00:00Z, expires_at: 2027-01-15T08:30:00Z }"
        );
        assert_eq!(token.to_string(), "bedrock-api-key-<redacted>");
        assert_eq!(format!("{token:#?}").matches("redacted").count(), 1);
        assert!(token.expose_secret().starts_with(PREFIX));
        assert!(
            !format!("{token:#?}")
                .contains(&token.expose_secret()[PREFIX.len()..PREFIX.len() + 20])
        );
    }

    #[test]
    fn expiry_is_capped_by_credentials() {
        let token = sample();
        assert!(token.capped_by_credentials());
        assert_eq!(token.expires_at(), token.issued_at() + Duration::from_secs(1800));
    }
}
