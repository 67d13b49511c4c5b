//! A std-only secret string for the wire types: redacted `Debug`, wiped on drop.
//!
//! The library proper uses `zeroize`; the helper may not link it, so this does the same
//! job with `std` alone (overwrite the owned buffer, then keep the write observable).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A secret string (a bearer token). Reach the bytes only through [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    #[must_use]
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself. Every call site is a place the secret leaves its box.
    #[must_use]
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.fill(0);
        // Keep the optimiser from eliding the writes to a buffer about to be freed.
        std::hint::black_box(&bytes);
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted_and_expose_gives_the_value() {
        let secret = Secret::new("bedrock-api-key-abc".into());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "bedrock-api-key-abc");
    }

    #[test]
    fn serde_round_trips_the_plain_string() {
        let json = serde_json::to_string(&Secret::new("x\"y".into())).unwrap();
        assert_eq!(json, r#""x\"y""#);
        let back: Secret = serde_json::from_str(&json).unwrap();
        assert_eq!(back.expose(), "x\"y");
    }
}
