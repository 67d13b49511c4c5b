//! The proxy's listener: accepts loopback TCP connections (at most [`MAX_CONNECTIONS`]),
//! sets `TCP_NODELAY`, finds the peer's user before reading a byte, tells TLS from plain
//! HTTP by the first byte (botocore needs HTTPS; the Anthropic SDKs and Claude Code use
//! plain HTTP), and serves HTTP/1.1 with hyper: bounded heads, a header timeout, keep-alive.
//! On shutdown, idle connections close at once and answers in flight get a little time.

use super::forward::{self, Caller};
use super::{MAX_BUFFER, Proxy};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

/// Connections open at once; more are closed as they arrive.
pub const MAX_CONNECTIONS: usize = 1024;
/// A client must finish its TLS handshake, and send each request head, within this time.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most header fields in a request.
pub const MAX_HEADERS: usize = 100;
/// How long shutdown waits for answers in flight (streams are cut after it).
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
/// The first byte of a TLS connection (a handshake record).
const TLS_HANDSHAKE: u8 = 0x16;

/// Serves until `stop` turns true, then drains.
pub async fn serve(listener: TcpListener, proxy: Arc<Proxy>, stop: watch::Receiver<bool>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    let mut stopping = stop.clone();
    let mut last_warning: Option<Instant> = None;
    loop {
        tokio::select! {
            biased;
            changed = stopping.changed() => {
                if changed.is_err() || *stopping.borrow() {
                    break;
                }
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                        proxy.info.stats.failed(super::stats::Failure::TooManyConnections);
                        continue;
                    };
                    let proxy = Arc::clone(&proxy);
                    let stop = stop.clone();
                    connections.spawn(async move {
                        connection(stream, peer, proxy, stop).await;
                        drop(permit);
                    });
                }
                Err(error) => {
                    if last_warning.is_none_or(|at| at.elapsed() >= Duration::from_secs(10)) {
                        tracing::warn!(%error, "the proxy's accept failed");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    }
    drop(listener);
    let drained = tokio::time::timeout(DRAIN_TIMEOUT, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::info!(cut = connections.len(), "cut the proxy's answers still streaming");
        connections.abort_all();
    }
}

/// When the last warning about another user's connection was logged.
static FOREIGN_WARNING: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Whether a warning last logged at `*last` may be logged again now (then it counts as logged).
fn warning_due(last: &std::sync::Mutex<Option<Instant>>) -> bool {
    let mut last = last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let due = last.is_none_or(|at| at.elapsed() >= Duration::from_secs(10));
    if due {
        *last = Some(Instant::now());
    }
    due
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    proxy: Arc<Proxy>,
    stop: watch::Receiver<bool>,
) {
    let _open = proxy.info.stats.connection();
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot set TCP_NODELAY on a proxy connection");
    }
    let Ok(local) = stream.local_addr() else { return };
    let uid = super::peer::uid(local, peer);
    let ours = nix::unistd::geteuid().as_raw();
    let caller = Caller { foreign: (uid != Some(ours)).then_some(uid) };
    if caller.foreign.is_some() {
        // Another user could open connections by the thousand: warn at most every 10 s.
        if warning_due(&FOREIGN_WARNING) {
            tracing::warn!(peer_uid = ?uid, %peer, "refusing a proxy connection from another user");
        } else {
            tracing::debug!(peer_uid = ?uid, %peer, "refusing a proxy connection from another user");
        }
    }
    let mut first = [0u8; 1];
    let tls = match tokio::time::timeout(HEADER_TIMEOUT, stream.peek(&mut first)).await {
        Ok(Ok(1)) => first[0] == TLS_HANDSHAKE,
        _ => return,
    };
    if tls {
        match tokio::time::timeout(HEADER_TIMEOUT, proxy.tls.accept(stream)).await {
            Ok(Ok(stream)) => serve_http(TokioIo::new(stream), proxy, caller, stop).await,
            Ok(Err(error)) => tracing::debug!(%error, "a TLS handshake with the proxy failed"),
            Err(_) => tracing::debug!("a TLS handshake with the proxy timed out"),
        }
    } else {
        serve_http(TokioIo::new(stream), proxy, caller, stop).await;
    }
}

async fn serve_http<I>(io: I, proxy: Arc<Proxy>, caller: Caller, mut stop: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let proxy = Arc::clone(&proxy);
        async move { Ok::<_, Infallible>(forward::handle(&proxy, caller, request).await) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .max_buf_size(MAX_BUFFER)
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    let mut connection = pin!(builder.serve_connection(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = async { let _ = stop.wait_for(|stopping| *stopping).await; } => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "a proxy connection ended with an error");
    }
}
