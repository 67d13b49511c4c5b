//! The daemon's config file, `~/.config/bedprov/config.toml` (optional):
//!
//! ```toml
//! # Slots warmed at start and kept fresh even when unused.
//! [[slot]]
//! profile = "work"        # default: the daemon's AWS_DEFAULT_PROFILE / AWS_PROFILE, else `default`
//! region = "us-west-2"    # default: the profile's region, else us-east-1
//! ttl = "12h"             # default: 12h
//!
//! # The local Bedrock proxy (read at start; the table alone turns it on, like --proxy).
//! [proxy]
//! listen = "127.0.0.1:8239"                  # default; loopback addresses only
//! upstream = "https://gateway.example/{region}"   # default: AWS's regional endpoints
//! ```
//!
//! Unknown keys are errors, so a typo never silently does nothing. SIGHUP re-reads the
//! slots; the proxy's settings take effect at the next start.

use crate::creds::Target;
use crate::region::Region;
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
    /// `[proxy]`: present (even empty), the daemon runs the local Bedrock proxy.
    #[serde(default)]
    pub proxy: Option<ProxyConfig>,
}

/// `[proxy]`: where the local Bedrock proxy listens and where it sends requests. The
/// command line's `--proxy ADDR` and `--proxy-upstream URL` win over these.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyConfig {
    pub listen: Option<String>,
    pub upstream: Option<String>,
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
                // A bad value here is the file's, not a flag's: say so, and where to fix it.
                let in_file = |setting: &str, error: &dyn std::fmt::Display| {
                    crate::Error::usage(
                        format!("the `{setting}` of a [[slot]] in the config file: {error}"),
                        format!("fix that `{setting}` in the config file, then send SIGHUP or restart the daemon"),
                    )
                };
                if let Some(region) = &slot.region {
                    Region::parse(region).map_err(|error| in_file("region", &error))?;
                }
                let target = Target::new(slot.profile.as_deref(), slot.region.as_deref(), env)?;
                let ttl = slot.ttl.as_deref().map(Ttl::parse).transpose();
                let ttl = ttl.map_err(|error| in_file("ttl", &error))?.unwrap_or_default();
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
    fn the_proxy_table_turns_the_proxy_on_and_refuses_typos() {
        assert!(Config::parse("").unwrap().proxy.is_none());
        let on = Config::parse("[proxy]\n").unwrap().proxy.unwrap();
        assert!(on.listen.is_none() && on.upstream.is_none());
        let set = Config::parse(
            "[proxy]\nlisten = \"127.0.0.1:9000\"\nupstream = \"http://x/{region}\"\n",
        )
        .unwrap()
        .proxy
        .unwrap();
        assert_eq!(set.listen.as_deref(), Some("127.0.0.1:9000"));
        assert_eq!(set.upstream.as_deref(), Some("http://x/{region}"));
        assert!(Config::parse("[proxy]\nlisen = \"x\"\n").unwrap_err().contains("lisen"));
    }

    #[test]
    fn refuses_typos_and_bad_values() {
        assert!(Config::parse("[[slot]]\nprofle = \"x\"\n").unwrap_err().contains("profle"));
        let bad_ttl = Config::parse("[[slot]]\nttl = \"2d\"\n").unwrap();
        let error = bad_ttl.slot_keys(&AwsEnv::default()).unwrap_err();
        assert!(error.message().contains("`ttl` of a [[slot]] in the config file"), "{error}");
        assert!(error.hint().contains("in the config file") && !error.hint().contains("--ttl"));
        let bad_region = Config::parse("[[slot]]\nregion = \"Mars 1\"\n").unwrap();
        let error = bad_region.slot_keys(&AwsEnv::default()).unwrap_err();
        assert!(error.message().contains("`region` of a [[slot]]"), "{error}");
        assert!(!error.hint().contains("--region"), "{}", error.hint());
        assert!(Config::parse("").unwrap().slots.is_empty());
    }
}
