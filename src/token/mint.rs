//! Minting: `SigV4` query presigning of `POST bedrock.amazonaws.com/?Action=CallWithBearerToken`.
//!
//! `aws-sigv4` computes the signature; this module only lays the URL out the way botocore's
//! `SigV4QueryAuth` does, because byte parity with AWS's Python generator is part of the
//! contract: operation parameters, then the auth parameters in botocore's order with the
//! session token *before* `X-Amz-Signature`, then `&Version=1` appended after signing.

use super::{PREFIX, Token};
use crate::region::Region;
use crate::ttl::Ttl;
use crate::wire::api::percent_encode_into;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PercentEncodingMode, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine as _;
use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use zeroize::{Zeroize, Zeroizing};

const HOST: &str = "bedrock.amazonaws.com";
const SERVICE: &str = "bedrock";
const SIGNED_URL: &str = "https://bedrock.amazonaws.com/?Action=CallWithBearerToken";

/// Why a token could not be minted.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    #[error("the signing credentials expired at {}", crate::timefmt::human_utc(*.0))]
    CredentialsExpired(SystemTime),
    #[error("SigV4 signing failed: {0}")]
    Signing(String),
}

/// Mints a token for `region`, valid for `ttl` from `now` (capped by the credentials' expiry).
///
/// Pure: the same inputs always give the same bytes. `now` is truncated to whole seconds,
/// as `X-Amz-Date` is.
pub fn mint(
    creds: &Credentials,
    region: &Region,
    ttl: Ttl,
    now: SystemTime,
) -> Result<Token, MintError> {
    let now = truncate_to_seconds(now);
    if let Some(expiry) = creds.expiry()
        && expiry <= now
    {
        return Err(MintError::CredentialsExpired(expiry));
    }
    let identity = Identity::from(creds.clone());
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(ttl.as_duration());
    // The path is always `/` and only `host` is signed: skip work that cannot change a byte.
    settings.excluded_headers = None;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region.as_str())
        .name(SERVICE)
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| MintError::Signing(e.to_string()))?
        .into();
    let request = SignableRequest::new(
        "POST",
        SIGNED_URL,
        std::iter::once(("host", HOST)),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| MintError::Signing(e.to_string()))?;
    let (instructions, signature) =
        sign(request, &params).map_err(|e| MintError::Signing(e.to_string()))?.into_parts();
    let (_, mut query) = instructions.into_parts();

    let url = presigned_url(&query, creds.session_token(), &signature)?;
    for (_, value) in &mut query {
        if let Cow::Owned(owned) = value {
            owned.zeroize();
        }
    }
    let mut secret = Zeroizing::new(String::with_capacity(PREFIX.len() + url.len() * 4 / 3 + 4));
    secret.push_str(PREFIX);
    base64::engine::general_purpose::STANDARD.encode_string(url.as_slice(), &mut secret);

    Ok(Token {
        secret,
        region: region.clone(),
        access_key_id: creds.access_key_id().to_owned(),
        issued_at: now,
        ttl,
        credential_expires_at: creds.expiry(),
    })
}

/// Lays out the presigned URL (without scheme) in botocore's parameter order. Bytes, not
/// a `String`: it only ever feeds base64.
fn presigned_url(
    signed: &[(&str, Cow<'static, str>)],
    session_token: Option<&str>,
    signature: &str,
) -> Result<Zeroizing<Vec<u8>>, MintError> {
    let value = |name: &str| {
        signed
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_bytes())
            .ok_or_else(|| MintError::Signing(format!("aws-sigv4 did not return {name}")))
    };
    let mut url =
        Zeroizing::new(Vec::with_capacity(512 + session_token.map_or(0, |t| t.len() * 3 / 2)));
    url.extend_from_slice(HOST.as_bytes());
    url.extend_from_slice(b"/?Action=CallWithBearerToken");
    for name in [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
    ] {
        url.push(b'&');
        url.extend_from_slice(name.as_bytes());
        url.push(b'=');
        percent_encode_into(&mut url, value(name)?);
    }
    if let Some(token) = session_token {
        url.extend_from_slice(b"&X-Amz-Security-Token=");
        percent_encode_into(&mut url, token.as_bytes());
    }
    url.extend_from_slice(b"&X-Amz-Signature=");
    url.extend_from_slice(signature.as_bytes());
    url.extend_from_slice(b"&Version=1");
    Ok(url)
}

fn truncate_to_seconds(time: SystemTime) -> SystemTime {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + Duration::from_secs(since_epoch.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// Tokens minted by AWS's Python generator (aws-bedrock-token-generator 1.1.0) with frozen
    /// time; `tests/parity.rs` checks hundreds more against the generator itself.
    #[test]
    fn matches_golden_vectors_from_the_python_generator() {
        #[derive(serde::Deserialize)]
        struct Case {
            access_key_id: String,
            secret_access_key: String,
            session_token: Option<String>,
            region: String,
            expires: u64,
            epoch: u64,
            token: String,
        }
        let golden = include_str!("../../tests/golden/tokens.jsonl");
        let mut count = 0;
        for line in golden.lines() {
            let case: Case = serde_json::from_str(line).unwrap();
            let creds = Credentials::new(
                &case.access_key_id,
                &case.secret_access_key,
                case.session_token.clone(),
                None,
                "golden",
            );
            let region = Region::parse(&case.region).unwrap();
            let ttl = Ttl::new(Duration::from_secs(case.expires)).unwrap();
            let token = mint(&creds, &region, ttl, at(case.epoch)).unwrap();
            assert_eq!(token.expose_secret(), case.token, "golden case {line}");
            count += 1;
        }
        assert_eq!(count, 5);
    }

    #[test]
    fn refuses_expired_credentials() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, Some(at(100)), "test");
        let err = mint(&creds, &Region::parse("us-east-1").unwrap(), Ttl::default(), at(100))
            .unwrap_err();
        assert!(matches!(err, MintError::CredentialsExpired(_)));
    }

    #[test]
    fn truncates_subsecond_time() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let region = Region::parse("us-east-1").unwrap();
        let a = mint(&creds, &region, Ttl::default(), at(1000)).unwrap();
        let b =
            mint(&creds, &region, Ttl::default(), at(1000) + Duration::from_millis(999)).unwrap();
        assert_eq!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.issued_at(), at(1000));
    }
}
