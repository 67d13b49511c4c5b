//! `POST /v1/proxy`: where the proxy serves the profile and region a client asks for (by
//! flags, else its shell's `AWS_PROFILE` and `AWS_REGION`, as for a token), with the local
//! key: the base URLs `bedprov-helper env --proxy` prints. The slot behind them is made and
//! warmed now, so the first request finds a token.
//!
//! The proxy signs with the daemon's profiles: a shell's own credentials
//! (`AWS_ACCESS_KEY_ID`…) cannot travel in a URL, and a shell that reads other AWS config
//! files than the daemon would name profiles the daemon does not know; both are refused
//! with what to do instead.

use super::info::ProxyInfo;
use super::route;
use crate::creds::{ProfileFiles, Target};
use crate::daemon::state::Daemon;
use crate::wire::Secret;
use crate::wire::api::{ErrorBody, ErrorCode, ProxyBody, ProxyRequest, TokenRequest};
use std::net::SocketAddr;

/// The answer for `request`.
pub async fn describe(daemon: &Daemon, request: &ProxyRequest) -> Result<ProxyBody, ErrorBody> {
    let Some(proxy) = daemon.proxy() else {
        return Err(ErrorBody {
            code: ErrorCode::ProxyDisabled,
            message: "the daemon runs without its local Bedrock proxy".into(),
            hint: "restart it with the proxy: `bedprov daemon stop; bedprov daemon start --proxy` (or add a [proxy] table to ~/.config/bedprov/config.toml; for the user service: `bedprov service install --proxy --now`)".into(),
        });
    };
    let environment = request.environment.as_ref().unwrap_or(daemon.environment());
    let target = Target::new(request.profile.as_deref(), request.region.as_deref(), environment)
        .map_err(|e| e.to_body())?;
    if let Some(credentials) = target.credentials.signing()
        && request.environment.is_some()
    {
        return Err(bad_request(
            format!(
                "the proxy cannot sign with this shell's own AWS credentials (AWS_ACCESS_KEY_ID {}): it signs with the profiles of the AWS config files",
                credentials.access_key_id()
            ),
            "pass --profile NAME (a profile in ~/.aws/config), or unset AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN",
        ));
    }
    if target.files != ProfileFiles::from_env(daemon.environment()) {
        return Err(bad_request(
            "this shell reads other AWS config files (AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE) than the daemon does, and the proxy serves the daemon's profiles".into(),
            "unset those variables here, or start the daemon from a shell that sets them the same way",
        ));
    }
    let profile = target.profile.named().then(|| target.profile.name.clone());
    let requested = TokenRequest {
        profile: profile.clone(),
        region: target.region.map(|(region, _)| region.to_string()),
        ttl: None,
        environment: None,
    };
    let region = daemon.region_for(&requested)?;
    // The URL names the region, so the clients' requests use this slot: make and warm it.
    daemon.warm(&TokenRequest { region: Some(region.clone()), ..requested }).await?;
    let key = proxy.key.current().map_err(|e| e.to_body())?;
    Ok(body(proxy, profile, region, Secret::new(key.expose().to_owned())))
}

/// The base URLs for `profile` and `region` on `proxy`.
fn body(proxy: &ProxyInfo, profile: Option<String>, region: String, key: Secret) -> ProxyBody {
    let path = route::prefix(profile.as_deref(), &region);
    ProxyBody {
        key,
        endpoint_url: format!("https://{}{path}", authority(proxy.listen)),
        base_url: format!("http://{}{path}", authority(proxy.listen)),
        ca_bundle: proxy.ca_bundle.display().to_string(),
        listen: proxy.listen.to_string(),
        profile,
        region,
    }
}

/// `127.0.0.1:8239`, `[::1]:8239`.
fn authority(listen: SocketAddr) -> String {
    listen.to_string()
}

fn bad_request(message: String, hint: &str) -> ErrorBody {
    ErrorBody { code: ErrorCode::BadRequest, message, hint: hint.into() }
}
