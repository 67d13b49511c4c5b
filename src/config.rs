//! The daemon's config file, `~/.config/bedprov/config.toml` (optional):
//!
//! ```toml
//! # Slots warmed at start and kept fresh even when unused.
//! [[slot]]
//! profile = "work"        # default: the daemon's AWS_DEFAULT_PROFILE / AWS_PROFILE, else `default`
//! region = "us-west-2"    # default: the profile's region, else us-east-1
//! ttl = "12h"             # default: 12h
//! ```
//!
//! Unknown keys are errors, so a typo never silently does nothing. SIGHUP re-reads it.

use crate::creds::Target;
use crate::slot::SlotKey;
use crate::ttl::Ttl;
use crate::wire::aws_env::AwsEnv;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default, rename = "slot")]
    pub slots: Vec<SlotConfig>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlotConfig {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub ttl: Option<String>,
}

impl Config {
    /// Reads the file; a missing file is an empty config.
    pub fn load(path: &Path) -> crate::Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(crate::Error::io(format!("cannot read {}", path.display()))(e)),
        };
        Self::parse(&text).map_err(|message| {
            crate::Error::usage(
                format!("invalid config file {}: {message}", path.display()),
                "fix the file (see the README's \"Config file\" section) and send SIGHUP, or restart the daemon",
            )
        })
    }

    pub fn parse(text: &str) -> Result<Self, String> {
        toml::from_str(text).map_err(|e| e.message().to_owned())
    }

    /// The slots to warm, validated; what a slot leaves out comes from `env` (the daemon's
    /// own environment), as for a client that sends none.
    pub fn slot_keys(&self, env: &AwsEnv) -> crate::Result<Vec<SlotKey>> {
        self.slots
            .iter()
            .map(|slot| {
                let target = Target::new(slot.profile.as_deref(), slot.region.as_deref(), env)?;
                let ttl = slot.ttl.as_deref().map(Ttl::parse).transpose()?.unwrap_or_default();
                Ok(SlotKey::new(target, ttl))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slots_with_defaults() {
        let config = Config::parse(
            "[[slot]]\nprofile = \"work\"\nregion = \"us-west-2\"\n\n[[slot]]\nttl = \"1h\"\n",
        )
        .unwrap();
        let keys = config.slot_keys(&AwsEnv::default()).unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0].profile.as_deref(), Some("work"));
        assert_eq!(keys[0].ttl, Ttl::default());
        assert_eq!(keys[1].ttl.as_secs(), 3600);
        assert!(keys[1].region.is_none());
    }

    #[test]
    fn refuses_typos_and_bad_values() {
        assert!(Config::parse("[[slot]]\nprofle = \"x\"\n").unwrap_err().contains("profle"));
        let bad_ttl = Config::parse("[[slot]]\nttl = \"2d\"\n").unwrap();
        assert!(bad_ttl.slot_keys(&AwsEnv::default()).is_err());
        assert!(Config::parse("").unwrap().slots.is_empty());
    }
}
