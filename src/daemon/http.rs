//! The connection layer: accept on the local socket, check the peer's uid before reading a
//! byte, cap concurrent connections, and serve HTTP/1.1 with hyper (with a timer, so the
//! header timeout closes slow and idle clients). Shutdown drains in-flight requests.

use super::routes::{self, After};
use super::state::Daemon;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use interprocess::local_socket::tokio::Listener;
use interprocess::local_socket::traits::StreamCommon as _;
use interprocess::local_socket::traits::tokio::Listener as _;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Semaphore, watch};

/// Connections served at once; more are closed on accept.
pub const MAX_CONNECTIONS: usize = 2048;
/// A client must send a complete request head within this time (also closes idle keep-alive).
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line plus headers), in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// How long shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves until `shutdown` turns true, then drains.
pub async fn serve(listener: Listener, daemon: Arc<Daemon>, shutdown: watch::Sender<bool>) {
    let our_uid = nix::unistd::getuid().as_raw();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut stop = shutdown.subscribe();
    let builder = connection_builder();

    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(stream) => stream,
                Err(error) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
                continue;
            }
        };
        match stream.peer_creds().map(|creds| creds.euid()) {
            Ok(Some(uid)) if uid == our_uid => {}
            other => {
                tracing::warn!(peer_uid = ?other.ok().flatten(), "refused a connection from another user");
                continue;
            }
        }
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            tracing::warn!("connection limit reached; closing a new connection");
            continue;
        };
        let service = service(Arc::clone(&daemon), shutdown.clone());
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _permit = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still open after {} s", DRAIN_TIMEOUT.as_secs());
    }
}

/// The HTTP/1.1 settings of every connection: a timer (without one the header timeout does
/// nothing), the header timeout, and the caps on the request head. Public so the fuzz target
/// feeds bytes through exactly these settings.
#[must_use]
pub fn connection_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_HEADER_BYTES.max(8192))
        .max_headers(64)
        .keep_alive(true);
    builder
}

/// The service one connection runs: every request to [`routes::handle`]; a shutdown request
/// also flips `shutdown`.
pub fn service(
    daemon: Arc<Daemon>,
    shutdown: watch::Sender<bool>,
) -> impl Service<
    Request<Incoming>,
    Response = Response<routes::Body>,
    Error = Infallible,
    Future: Send + 'static,
> + Send
+ 'static {
    service_fn(move |request: Request<Incoming>| {
        let daemon = Arc::clone(&daemon);
        let shutdown = shutdown.clone();
        async move {
            let (response, after) = routes::handle(&daemon, &request).await;
            if after == After::Shutdown {
                let _ = shutdown.send(true);
            }
            Ok::<_, Infallible>(response)
        }
    })
}
