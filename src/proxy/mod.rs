//! The local Bedrock proxy: long-running apps (boto3, the Anthropic SDKs, Claude Code) send
//! their requests to a loopback port with a local key that never expires, and the daemon
//! forwards them to Bedrock signed with a fresh token from its slot for the request's
//! profile and region. Streams pass through untouched.
//!
//! - [`settings`]: where it listens (loopback only) and where requests go.
//! - [`listen`]: accept, the peer's user ([`peer`]), TLS or plain HTTP, hyper.
//! - [`hygiene`]: what every request must be (origin-form, `Host`, not a browser) and the
//!   local key ([`key`]), the only credential accepted.
//! - [`route`]: the path prefix that picks profile and region, and the operations forwarded.
//! - [`forward`]: one request, signed and sent on, retried once with a fresh token when
//!   the upstream refuses the token; [`body`] streams and counts both ways.
//! - [`upstream`]: the pooled HTTPS client and where each operation goes.
//! - [`tls`]: the listener's certificate authority and the bundle clients verify it with.
//! - [`errors`]: the proxy's own answers, in Bedrock's error shape.
//! - [`stats`]: counters and added latency for `bedprov status`.
//! - [`info`]: what the rest of the daemon sees of a running proxy (needing no `Daemon`).
//! - [`endpoint`]: the socket's `POST /v1/proxy`: base URLs and key for a profile and region.
//! - [`claude_code`]: `bedprov setup claude-code`, Claude Code's settings pointed at the proxy.
//!
//! The proxy never mints: every token comes from the daemon's slots, with their lifetime
//! policy and single-flight refresh. Nothing of it is built unless it is turned on.

pub mod body;
pub mod claude_code;
pub mod endpoint;
pub mod errors;
pub mod forward;
pub mod hygiene;
pub mod info;
pub mod key;
pub mod listen;
pub mod peer;
pub mod route;
pub mod settings;
pub mod stats;
pub mod tls;
pub mod upstream;

use crate::Error;
use crate::daemon::state::Daemon;
use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use info::ProxyInfo;
use settings::Settings;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::watch;

/// Every body the proxy answers with.
pub type Body = UnsyncBoxBody<Bytes, hyper::Error>;

/// The largest buffer hyper keeps per connection, each way: request heads, and what a
/// stream holds while its client is slow to read.
pub const MAX_BUFFER: usize = 16 * 1024;

/// The proxy's serving state.
pub struct Proxy {
    pub info: Arc<ProxyInfo>,
    daemon: Arc<Daemon>,
    upstream: upstream::UpstreamClient,
    tls: tokio_rustls::TlsAcceptor,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("info", &self.info)
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// A proxy that is bound and ready; [`Started::serve`] runs it.
#[derive(Debug)]
pub struct Started {
    listener: tokio::net::TcpListener,
    proxy: Arc<Proxy>,
}

/// Binds the listener and prepares everything a request needs (the key, the TLS
/// certificate, the upstream client), so that every problem fails the start.
pub fn start(settings: &Settings, daemon: &Arc<Daemon>) -> crate::Result<Started> {
    let listener = std::net::TcpListener::bind(settings.listen)
        .map_err(|e| settings::bind_error(settings.listen, &e))?;
    let listen = listener.local_addr().map_err(Error::io("cannot read the proxy's address"))?;
    settings::check_not_self(&settings.upstream, listen)?;
    let key = key::KeyFile::new(crate::paths::proxy_key());
    key.current()?;
    let ca =
        tls::LocalCa::load_or_create(&crate::paths::proxy_ca(), &crate::paths::proxy_ca_key())?;
    let ca_bundle_env =
        std::env::var_os("AWS_CA_BUNDLE").filter(|v| !v.is_empty()).map(PathBuf::from);
    let roots = upstream::trust_roots(ca_bundle_env.as_deref())?;
    let ca_bundle = crate::paths::proxy_ca_bundle();
    tls::write_bundle(&ca_bundle, &ca, &roots)?;
    let tls = tokio_rustls::TlsAcceptor::from(ca.server_config(listen.ip())?);
    let upstream = upstream::UpstreamClient::new(settings.upstream.clone(), &roots)?;
    listener.set_nonblocking(true).map_err(Error::io("cannot set up the proxy's listener"))?;
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(Error::io("cannot set up the proxy's listener"))?;
    let info = Arc::new(ProxyInfo {
        listen,
        upstream: settings.upstream.clone(),
        key,
        ca_bundle,
        stats: Arc::new(stats::Stats::default()),
    });
    tracing::info!(%listen, upstream = %info.upstream.label(), "bedprov proxy listening");
    Ok(Started {
        listener,
        proxy: Arc::new(Proxy { info, daemon: Arc::clone(daemon), upstream, tls }),
    })
}

impl Started {
    #[must_use]
    pub fn info(&self) -> Arc<ProxyInfo> {
        Arc::clone(&self.proxy.info)
    }

    /// Serves until `stop` turns true, then drains.
    pub async fn serve(self, stop: watch::Receiver<bool>) {
        listen::serve(self.listener, self.proxy, stop).await;
    }
}
