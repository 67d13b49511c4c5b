//! The login that fixes a [`super::CredsError::NeedsLogin`], and how it is said: `aws sso
//! login --profile P` naming the profile that holds the SSO settings, or `bedprov login
//! --profile P` for a role that needs an MFA code nobody could type.

use std::time::SystemTime;

/// The login that would fix a [`super::CredsError::NeedsLogin`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// `aws sso login --profile {profile}`, naming the profile that holds the SSO settings
    /// (the one asked for, or the profile it takes its credentials from).
    Sso { profile: String },
    /// `bedprov login --profile P`: a role needs an MFA code nobody could type here.
    Mfa(MfaWhy),
}

/// Why no MFA code or session was at hand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MfaWhy {
    /// No terminal to ask on.
    NoTerminal,
    /// The prompt got no answer (end of input).
    NoCode,
    /// The daemon has no session from `bedprov login` for it.
    NoSession,
    /// The daemon's session from `bedprov login` ended at this time.
    Expired(SystemTime),
}

impl Login {
    /// The error message, for the profile the credentials were asked for.
    pub(super) fn describe(&self, profile: &str) -> String {
        let mfa = format!("profile `{profile}` assumes a role that needs an MFA code (mfa_serial)");
        match self {
            Self::Sso { profile: holder } if holder == profile => {
                format!(
                    "the AWS SSO session for profile `{profile}` has expired or was never started"
                )
            }
            Self::Sso { profile: holder } => format!(
                "the AWS SSO session of profile `{holder}`, which profile `{profile}` takes its credentials from, has expired or was never started"
            ),
            Self::Mfa(MfaWhy::NoTerminal) => {
                format!("{mfa}, and there is no terminal to type it on")
            }
            Self::Mfa(MfaWhy::NoCode) => format!("{mfa}, and none was entered"),
            Self::Mfa(MfaWhy::NoSession) => format!(
                "{mfa}; the daemon cannot ask for one and has no session from `bedprov login`"
            ),
            Self::Mfa(MfaWhy::Expired(at)) => format!(
                "{mfa}; the session from `bedprov login` expired at {}",
                crate::timefmt::rfc3339(*at)
            ),
        }
    }

    /// The command to run.
    pub(super) fn hint(&self, profile: &str) -> String {
        match self {
            Self::Sso { profile: holder } => format!("run `aws sso login --profile {holder}`"),
            Self::Mfa(MfaWhy::NoTerminal | MfaWhy::NoCode) => format!(
                "run it on a terminal to be asked for the code, or run `bedprov login --profile {profile}` once and take tokens from the daemon"
            ),
            Self::Mfa(MfaWhy::NoSession | MfaWhy::Expired(_)) => format!(
                "run `bedprov login --profile {profile}` (it asks for the code once and hands the session to the daemon)"
            ),
        }
    }
}
