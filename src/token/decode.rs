//! Offline introspection of a Bedrock token: which region and key signed it, when, and until
//! when it works. The signature and the session token are never kept, let alone shown.

use super::PREFIX;
use crate::timefmt::parse_amz_date;
use crate::wire::api::percent_decode;
use base64::Engine as _;
use std::time::{Duration, SystemTime};

/// Tokens larger than this are refused before decoding (real ones are 1–4 KB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// What a token says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub region: String,
    pub access_key_id: String,
    pub issued_at: SystemTime,
    /// `X-Amz-Expires`.
    pub ttl: Duration,
    /// `issued_at` + ttl. A token signed with temporary credentials stops working earlier
    /// if they expire first; the token cannot tell when that is.
    pub expires_at: SystemTime,
    pub has_session_token: bool,
}

/// Why a string is not a readable Bedrock token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("no token given")]
    Empty,
    #[error("the token is {0} bytes; real Bedrock tokens are a few KB")]
    TooLarge(usize),
    #[error(
        "this is a long-term Bedrock API key (ABSK…): it carries no expiry or region to decode"
    )]
    LongTermKey,
    #[error("not a short-term Bedrock token: it should start with `bedrock-api-key-`")]
    MissingPrefix,
    #[error("the part after `bedrock-api-key-` is not valid base64")]
    BadBase64,
    #[error("the decoded token is not a presigned bedrock.amazonaws.com URL")]
    NotPresignedUrl,
    #[error("the token lacks `{0}`")]
    Missing(&'static str),
    #[error("the token's `{field}` is malformed: {reason}")]
    Malformed { field: &'static str, reason: &'static str },
}

/// Decodes a token. Surrounding whitespace (and a trailing newline from a file) is ignored.
pub fn decode(input: &str) -> Result<Decoded, DecodeError> {
    let token = input.trim();
    if token.is_empty() {
        return Err(DecodeError::Empty);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(DecodeError::TooLarge(token.len()));
    }
    let Some(encoded) = token.strip_prefix(PREFIX) else {
        return Err(if token.starts_with("ABSK") {
            DecodeError::LongTermKey
        } else {
            DecodeError::MissingPrefix
        });
    };
    let url = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| DecodeError::BadBase64)?;
    let url = String::from_utf8(url).map_err(|_| DecodeError::NotPresignedUrl)?;
    let query = url
        .strip_prefix("bedrock.amazonaws.com/?")
        .or_else(|| url.strip_prefix("https://bedrock.amazonaws.com/?"))
        .ok_or(DecodeError::NotPresignedUrl)?;

    let mut fields = Fields::default();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        fields.take(key, value)?;
    }
    fields.finish()
}

/// The query parameters decode cares about, gathered before validation.
#[derive(Default)]
struct Fields {
    action: Option<String>,
    algorithm: Option<String>,
    credential: Option<String>,
    date: Option<String>,
    expires: Option<String>,
    has_signature: bool,
    has_session_token: bool,
}

impl Fields {
    fn take(&mut self, key: &str, raw: &str) -> Result<(), DecodeError> {
        let decoded = || {
            percent_decode(raw)
                .ok_or(DecodeError::Malformed { field: "query", reason: "bad percent-encoding" })
        };
        match key {
            "Action" => self.action = Some(decoded()?),
            "X-Amz-Algorithm" => self.algorithm = Some(decoded()?),
            "X-Amz-Credential" => self.credential = Some(decoded()?),
            "X-Amz-Date" => self.date = Some(decoded()?),
            "X-Amz-Expires" => self.expires = Some(decoded()?),
            // Only presence is recorded: these two are secrets or derived from them.
            "X-Amz-Signature" => {
                let hex = raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit());
                if !hex {
                    return Err(DecodeError::Malformed {
                        field: "X-Amz-Signature",
                        reason: "expected 64 hex digits",
                    });
                }
                self.has_signature = true;
            }
            "X-Amz-Security-Token" => self.has_session_token = !raw.is_empty(),
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Decoded, DecodeError> {
        if self.action.as_deref() != Some("CallWithBearerToken") {
            return Err(DecodeError::Missing("Action=CallWithBearerToken"));
        }
        if self.algorithm.as_deref() != Some("AWS4-HMAC-SHA256") {
            return Err(DecodeError::Missing("X-Amz-Algorithm=AWS4-HMAC-SHA256"));
        }
        if !self.has_signature {
            return Err(DecodeError::Missing("X-Amz-Signature"));
        }
        let credential = self.credential.ok_or(DecodeError::Missing("X-Amz-Credential"))?;
        let scope: Vec<&str> = credential.split('/').collect();
        let [access_key_id, _date, region, service, terminator] = scope[..] else {
            return Err(DecodeError::Malformed {
                field: "X-Amz-Credential",
                reason: "expected <key>/<date>/<region>/bedrock/aws4_request",
            });
        };
        if service != "bedrock" || terminator != "aws4_request" || access_key_id.is_empty() {
            return Err(DecodeError::Malformed {
                field: "X-Amz-Credential",
                reason: "the scope is not for the bedrock service",
            });
        }
        let date = self.date.ok_or(DecodeError::Missing("X-Amz-Date"))?;
        let issued_at = parse_amz_date(&date).ok_or(DecodeError::Malformed {
            field: "X-Amz-Date",
            reason: "expected YYYYMMDDTHHMMSSZ",
        })?;
        let expires = self.expires.ok_or(DecodeError::Missing("X-Amz-Expires"))?;
        let ttl = expires.parse::<u64>().ok().filter(|s| (1..=604_800).contains(s)).ok_or(
            DecodeError::Malformed {
                field: "X-Amz-Expires",
                reason: "expected a number of seconds",
            },
        )?;
        let ttl = Duration::from_secs(ttl);
        Ok(Decoded {
            region: region.to_owned(),
            access_key_id: access_key_id.to_owned(),
            issued_at,
            ttl,
            expires_at: issued_at + ttl,
            has_session_token: self.has_session_token,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::region::Region;
    use crate::token::mint;
    use crate::ttl::Ttl;
    use aws_credential_types::Credentials;
    use std::time::UNIX_EPOCH;

    fn b64(text: &str) -> String {
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(text))
    }

    #[test]
    fn decodes_what_mint_produces() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let creds = Credentials::new("ASIAEXAMPLE", "secret", Some("tok+/=".into()), None, "t");
        let token =
            mint(&creds, &Region::parse("ap-south-1").unwrap(), Ttl::parse("6h").unwrap(), now)
                .unwrap();
        let decoded = decode(&format!("  {}\n", token.expose_secret())).unwrap();
        assert_eq!(decoded.region, "ap-south-1");
        assert_eq!(decoded.access_key_id, "ASIAEXAMPLE");
        assert_eq!(decoded.issued_at, now);
        assert_eq!(decoded.expires_at, now + Duration::from_secs(21600));
        assert!(decoded.has_session_token);
    }

    #[test]
    fn malformed_input_gets_typed_errors_not_panics() {
        assert_eq!(decode(""), Err(DecodeError::Empty));
        assert_eq!(decode("hello"), Err(DecodeError::MissingPrefix));
        assert_eq!(decode("ABSKQmVkcm9jaw=="), Err(DecodeError::LongTermKey));
        assert_eq!(decode("bedrock-api-key-!!!"), Err(DecodeError::BadBase64));
        assert_eq!(decode(&b64("example.com/?a=b")), Err(DecodeError::NotPresignedUrl));
        assert_eq!(
            decode(&b64("bedrock.amazonaws.com/?Action=CallWithBearerToken")),
            Err(DecodeError::Missing("X-Amz-Algorithm=AWS4-HMAC-SHA256"))
        );
        let sig = "0".repeat(64);
        let bad_scope = format!(
            "bedrock.amazonaws.com/?Action=CallWithBearerToken&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2Fx&X-Amz-Signature={sig}"
        );
        assert!(matches!(
            decode(&b64(&bad_scope)),
            Err(DecodeError::Malformed { field: "X-Amz-Credential", .. })
        ));
        assert!(matches!(decode(&"x".repeat(20_000)), Err(DecodeError::TooLarge(_))));
    }
}
