//! Roles that need an MFA code (`mfa_serial`): who may be asked for the code, and the role
//! sessions `bedprov login` obtains with one.
//!
//! On the command line the person at the terminal types the code, as the AWS CLI asks for
//! it. The daemon cannot ask anyone: it serves from a session handed to it by
//! `bedprov login --profile P` (kept in memory only, never written anywhere) until that
//! session expires, and then reports that a login is needed, naming that command.

use super::{CredsError, Login, MfaWhy};
use aws_credential_types::Credentials;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::SystemTime;

/// How a role's MFA code is obtained.
#[derive(Debug, Clone, Copy)]
pub enum Mfa<'a> {
    /// Ask the person at the terminal for each code; without a terminal, say which command
    /// to run instead.
    Ask,
    /// Never ask: use a session `bedprov login` handed over (the daemon).
    Sessions(&'a RoleSessions),
}

/// A role session obtained with an MFA code, for the profile that names the `mfa_serial`.
#[derive(Debug, Clone)]
pub struct RoleSession {
    /// The profile holding `role_arn` and `mfa_serial`.
    pub profile: String,
    pub role_arn: String,
    pub mfa_serial: String,
    /// The role's temporary credentials (redacted in `Debug`, zeroized on drop).
    pub credentials: Credentials,
}

impl RoleSession {
    /// When the session ends (STS always states it; a session without one never expires).
    #[must_use]
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.credentials.expiry()
    }

    /// The wire form, for handing the session to the daemon (`POST /v1/login`).
    #[must_use]
    pub fn to_body(&self) -> crate::wire::api::RoleSessionBody {
        use crate::wire::Secret;
        crate::wire::api::RoleSessionBody {
            profile: self.profile.clone(),
            role_arn: self.role_arn.clone(),
            mfa_serial: self.mfa_serial.clone(),
            access_key_id: self.credentials.access_key_id().to_owned(),
            secret_access_key: Secret::new(self.credentials.secret_access_key().to_owned()),
            session_token: Secret::new(
                self.credentials.session_token().unwrap_or_default().to_owned(),
            ),
            expiration: self.expires_at().map(crate::timefmt::rfc3339).unwrap_or_default(),
        }
    }

    /// Back from the wire form. Errors never quote the body's values.
    pub fn from_body(body: crate::wire::api::RoleSessionBody) -> Result<Self, String> {
        let expiry = crate::timefmt::parse_rfc3339(&body.expiration)
            .ok_or("the role session's expiration is not an RFC 3339 time")?;
        if body.access_key_id.is_empty() || body.secret_access_key.expose().is_empty() {
            return Err("the role session lacks its access key id or secret".into());
        }
        let session_token =
            Some(body.session_token.expose()).filter(|t| !t.is_empty()).map(str::to_owned);
        Ok(Self {
            credentials: Credentials::new(
                body.access_key_id,
                body.secret_access_key.expose(),
                session_token,
                Some(expiry),
                "bedprov login",
            ),
            profile: body.profile,
            role_arn: body.role_arn,
            mfa_serial: body.mfa_serial,
        })
    }

    fn expired(&self, now: SystemTime) -> bool {
        self.expires_at().is_some_and(|at| at <= now)
    }
}

/// The daemon's MFA role sessions, one per profile holding an `mfa_serial`.
#[derive(Debug, Default)]
pub struct RoleSessions {
    sessions: Mutex<HashMap<String, RoleSession>>,
}

impl RoleSessions {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, RoleSession>> {
        self.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Keeps `session` for its profile, replacing any earlier one.
    pub fn insert(&self, session: RoleSession) {
        self.sessions().insert(session.profile.clone(), session);
    }

    /// The credentials of the session for `profile`, if one was handed over for the same
    /// role and MFA device as the profile names now and it has not expired. Otherwise the
    /// login error that names `bedprov login --profile {asked}` (`asked` is the profile the
    /// token is for: `profile` or one that gets its credentials through it).
    pub fn credentials(
        &self,
        profile: &str,
        role_arn: &str,
        mfa_serial: &str,
        asked: &str,
        now: SystemTime,
    ) -> Result<Credentials, CredsError> {
        let mut sessions = self.sessions();
        let why = match sessions.get(profile) {
            Some(session) if session.role_arn != role_arn || session.mfa_serial != mfa_serial => {
                // The profile was edited since: that session is for another role or device.
                sessions.remove(profile);
                MfaWhy::NoSession
            }
            // Kept (its keys are dead anyway), so every slot using it says when it ended.
            Some(session) if session.expired(now) => {
                MfaWhy::Expired(session.expires_at().unwrap_or(now))
            }
            Some(session) => return Ok(session.credentials.clone()),
            None => MfaWhy::NoSession,
        };
        Err(CredsError::NeedsLogin { profile: asked.to_owned(), login: Login::Mfa(why) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn session(expires_in: Duration) -> RoleSession {
        RoleSession {
            profile: "admin".into(),
            role_arn: "arn:aws:iam::123456789012:role/admin".into(),
            mfa_serial: "arn:aws:iam::123456789012:mfa/me".into(),
            credentials: Credentials::new(
                "ASIAEXAMPLE",
                "secret",
                Some("token".into()),
                Some(SystemTime::now() + expires_in),
                "test",
            ),
        }
    }

    #[test]
    fn a_session_serves_until_it_expires_then_names_the_login_command() {
        let store = RoleSessions::default();
        let (arn, serial) =
            ("arn:aws:iam::123456789012:role/admin", "arn:aws:iam::123456789012:mfa/me");
        let missing = store.credentials("admin", arn, serial, "work", SystemTime::now());
        let err = missing.unwrap_err();
        assert!(err.needs_login());
        assert_eq!(
            err.hint(),
            "run `bedprov login --profile work` (it asks for the code once and hands the session to the daemon)"
        );

        store.insert(session(Duration::from_secs(3600)));
        let now = SystemTime::now();
        let creds = store.credentials("admin", arn, serial, "work", now).unwrap();
        assert_eq!(creds.access_key_id(), "ASIAEXAMPLE");

        let later = now + Duration::from_secs(3601);
        let err = store.credentials("admin", arn, serial, "work", later).unwrap_err();
        assert!(err.to_string().contains("expired at"), "{err}");
        assert!(err.hint().contains("bedprov login --profile work"));
        let again = store.credentials("admin", arn, serial, "other", later).unwrap_err();
        assert!(again.to_string().contains("expired at"), "every user of it hears why");
    }

    #[test]
    fn a_session_for_another_role_or_device_is_not_used() {
        let store = RoleSessions::default();
        store.insert(session(Duration::from_secs(3600)));
        let now = SystemTime::now();
        let other_role = "arn:aws:iam::123456789012:role/other";
        assert!(
            store
                .credentials("admin", other_role, "arn:aws:iam::123456789012:mfa/me", "admin", now)
                .is_err()
        );
    }

    #[test]
    fn debug_output_redacts_the_secret() {
        let text = format!("{:?}", session(Duration::from_secs(60)));
        assert!(!text.contains("\"secret\"") && !text.contains("\"token\""), "{text}");
    }
}
