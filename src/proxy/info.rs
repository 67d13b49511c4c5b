//! What the rest of the daemon sees of a running proxy: where it listens, its key, its CA
//! bundle and its counters, for `/v1/status` and the socket's `POST /v1/proxy`. It needs
//! nothing of the daemon, which holds it.

use super::settings::Upstream;
use super::{key, stats};
use crate::wire::api::ProxyStatus;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

/// What the rest of the daemon sees of the proxy: where it listens, its key, its bundle,
/// its counters.
#[derive(Debug)]
pub struct ProxyInfo {
    /// The bound address (the port the kernel chose, for port 0).
    pub listen: SocketAddr,
    pub upstream: Upstream,
    pub key: key::KeyFile,
    pub ca_bundle: PathBuf,
    pub stats: Arc<stats::Stats>,
}

impl ProxyInfo {
    #[must_use]
    pub fn status(&self) -> ProxyStatus {
        self.stats.status(self.listen.to_string(), self.upstream.label())
    }
}
