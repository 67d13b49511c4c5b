//! The connection layer, where hyper and tokio stop short of a daemon that must survive
//! floods: accept on the local socket, check the peer's uid before reading a byte, admit
//! into the connection table ([`admission`]: a cap that closes the longest-idle connection,
//! and the one timeout for connections without a request in progress), then serve HTTP/1.1
//! with hyper. Shutdown drains in-flight requests.
//!
//! Until its request head is complete a connection has no task, timer or buffer of its
//! own, about 1.5 KB (hyper's buffers alone are 16 KiB): the head is gathered in a buffer
//! sized to what has arrived, then replayed to hyper. So thousands of clients that say
//! nothing, or trickle bytes, stay cheap.
//!
//! hyper has no write timeout: a write that makes no progress for [`WRITE_TIMEOUT`] ends
//! the connection, and one asked to close (timed out, evicted, shutting down) is dropped if
//! it has not finished writing within [`CLOSE_TIMEOUT`]. A small send buffer keeps what a
//! client that never reads can make the daemon compute to a few answers.
//!
//! [`admission`]: super::admission

use super::admission::{Admission, Connections, Ticket};
use super::routes::{self, After};
use super::state::Daemon;
use futures_util::StreamExt as _;
use futures_util::stream::FuturesUnordered;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{Service, service_fn};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future as _;
use std::io;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;

/// Connections open at once (fewer if the open-file limit is lower). When all are taken,
/// the one idle the longest is closed to make room; only if every one is mid-request is
/// a new connection refused.
pub const MAX_CONNECTIONS: usize = 2048;
/// A client must send a complete request head within this time of connecting (and of its
/// previous answer, on a keep-alive connection), or it is closed.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line plus headers), in bytes.
pub const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Most header fields in a request.
pub const MAX_HEADERS: usize = 64;
/// How long shutdown waits for in-flight requests.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// A response write that makes no progress for this long (the client stopped reading) ends
/// the connection.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection asked to close has this long to finish writing its answer; then it is
/// dropped. (Computing an answer is not cut short: that has bounds of its own.)
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);
/// The kernel's send buffer per connection (it doubles this: 8 KB), instead of its default
/// of about 200 KB: what a client that pipelines requests without reading the answers can
/// make the daemon compute, and the kernel hold, before its writes stall (a few answers; a
/// token answer is under 2 KB, and a longer one is simply written in several rounds).
const SEND_BUFFER: usize = 4 * 1024;
/// Descriptors kept free for everything that is not a client (log, watch, credential
/// processes, the AWS SDK's connections).
const RESERVED_FDS: usize = 64;
/// At most one warning about shed, refused or failed connections per this interval.
const PRESSURE_REPORT: Duration = Duration::from_secs(10);

/// Serves until `shutdown` turns true, then drains.
pub async fn serve(listener: UnixListener, daemon: Arc<Daemon>, shutdown: watch::Sender<bool>) {
    let our_uid = nix::unistd::getuid().as_raw();
    let connections = Connections::new(connection_cap(), HEADER_TIMEOUT);
    let sweeper = tokio::spawn(Arc::clone(&connections).expire_idle());
    let mut stop = shutdown.subscribe();
    let builder = Arc::new(connection_builder());
    let http = |(stream, ticket, head)| {
        tokio::spawn(serve_http(
            stream,
            ticket,
            head,
            Arc::clone(&daemon),
            shutdown.clone(),
            Arc::clone(&builder),
        ));
    };
    // Connections still waiting for their request head: small futures polled by this loop,
    // not tasks (a task per connection would cost several times the memory).
    let mut waiting = FuturesUnordered::new();
    let mut last_report: Option<Instant> = None;
    let mut last_accept_warning: Option<Instant> = None;

    loop {
        tokio::select! {
            // In this order: stopping first; then the connections already admitted (an evicted
            // one closes here, so the table never runs far over its cap during a connect
            // storm); new connections last.
            biased;
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    break;
                }
            }
            Some(ready) = waiting.next(), if !waiting.is_empty() => {
                if let Some(ready) = ready {
                    http(ready);
                }
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(error) => {
                        // Out of descriptors (EMFILE, ENFILE): close the longest-idle connection
                        // so the next accept can succeed; with none to close, pause briefly
                        // instead of spinning.
                        let shed = connections.shed_one();
                        if last_accept_warning.is_none_or(|at| at.elapsed() >= PRESSURE_REPORT) {
                            tracing::warn!(%error, shed, "accept failed");
                            last_accept_warning = Some(Instant::now());
                        }
                        if !shed {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                        continue;
                    }
                };
                match stream.peer_cred().map(|creds| creds.uid()) {
                    Ok(uid) if uid == our_uid => {}
                    other => {
                        tracing::warn!(peer_uid = ?other.ok(), "refused a connection from another user");
                        continue;
                    }
                }
                let admission = connections.admit();
                report_pressure(&connections, &mut last_report);
                if let Admission::Admitted(ticket) = admission {
                    waiting.push(wait_for_head(with_small_send_buffer(stream), ticket));
                }
            }
        }
    }
    drop(listener);
    connections.close_all();
    // Waiting connections close now; one whose head has just arrived is still answered.
    while let Some(ready) = waiting.next().await {
        if let Some(ready) = ready {
            http(ready);
        }
    }
    if !connections.drained(DRAIN_TIMEOUT).await {
        tracing::warn!("some connections were still open after {} s", DRAIN_TIMEOUT.as_secs());
    }
    sweeper.abort();
}

/// [`MAX_CONNECTIONS`], or fewer if the open-file limit would run out first.
fn connection_cap() -> usize {
    use nix::sys::resource::{Resource, getrlimit};
    let limit = getrlimit(Resource::RLIMIT_NOFILE)
        .map_or(1024, |(soft, _)| usize::try_from(soft).unwrap_or(usize::MAX));
    MAX_CONNECTIONS.min(limit.saturating_sub(RESERVED_FDS)).max(16)
}

/// Logs (at most every [`PRESSURE_REPORT`]) how many connections the full table shed.
fn report_pressure(connections: &Connections, last_report: &mut Option<Instant>) {
    if last_report.is_some_and(|at| at.elapsed() < PRESSURE_REPORT) {
        return;
    }
    let (shed, refused) = connections.take_pressure();
    if shed + refused > 0 {
        tracing::warn!(
            cap = connections.cap(),
            closed_idle = shed,
            refused,
            "connection limit reached: closing the longest-idle connections to make room"
        );
        *last_report = Some(Instant::now());
    }
}

/// The stream, with a send buffer of [`SEND_BUFFER`].
fn with_small_send_buffer(stream: UnixStream) -> UnixStream {
    use nix::sys::socket::{setsockopt, sockopt::SndBuf};
    if let Err(error) = setsockopt(&stream, SndBuf, &SEND_BUFFER) {
        tracing::debug!(%error, "cannot shrink a connection's send buffer");
    }
    stream
}

/// Waits for a complete request head: no buffer until bytes arrive, no timer (the table's
/// sweeper closes it at the timeout), and under 200 bytes of state besides the socket.
async fn wait_for_head(
    stream: UnixStream,
    ticket: Ticket,
) -> Option<(UnixStream, Ticket, Vec<u8>)> {
    let mut head = Vec::new();
    std::future::poll_fn(|cx| poll_head(&stream, &ticket, &mut head, cx)).await?;
    Some((stream, ticket, head))
}

/// Reads until `head` holds a complete request head, something hyper will reject (it
/// answers 400, 431 or 505), or more than [`MAX_HEADER_BYTES`]. `None` when the client
/// closes first or the table closes the connection. The buffer grows with what arrives, so
/// a trickle costs a trickle.
fn poll_head(
    stream: &UnixStream,
    ticket: &Ticket,
    head: &mut Vec<u8>,
    cx: &mut Context<'_>,
) -> Poll<Option<()>> {
    if ticket.poll_closing(cx).is_ready() {
        return Poll::Ready(None);
    }
    loop {
        if ready!(stream.poll_read_ready(cx)).is_err() {
            return Poll::Ready(None);
        }
        if head.len() == head.capacity() {
            let wanted = (head.len() * 2).clamp(512, MAX_HEADER_BYTES + 1);
            head.reserve_exact(wanted - head.len());
        }
        match stream.try_read_buf(head) {
            Ok(0) => return Poll::Ready(None),
            Ok(_) => {
                if head.len() > MAX_HEADER_BYTES || !head_incomplete(head) {
                    return Poll::Ready(Some(()));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return Poll::Ready(None),
        }
    }
}

/// Serves HTTP/1.1 on a connection whose first request head has arrived (replayed to hyper).
async fn serve_http(
    stream: UnixStream,
    ticket: Ticket,
    head: Vec<u8>,
    daemon: Arc<Daemon>,
    shutdown: watch::Sender<bool>,
    builder: Arc<http1::Builder>,
) {
    ticket.busy();
    let ticket = Arc::new(ticket);
    let activity = {
        let ticket = Arc::clone(&ticket);
        move |busy: bool| if busy { ticket.busy() } else { ticket.idle() }
    };
    let service = service(daemon, shutdown, activity);
    let io = TokioIo::new(Replay { head, read: 0, stream, stalled: None });
    let mut connection = pin!(builder.serve_connection(io, service));
    let result = tokio::select! {
        result = connection.as_mut() => result,
        // Timed out, evicted or shutting down: an answer being written may be finished,
        // then the connection closes (an idle keep-alive one closes at once).
        () = ticket.closing() => {
            connection.as_mut().graceful_shutdown();
            loop {
                match tokio::time::timeout(CLOSE_TIMEOUT, connection.as_mut()).await {
                    Ok(result) => break result,
                    Err(_) if ticket.serving() => {}
                    Err(_) => {
                        tracing::debug!("dropped a connection that did not finish writing in time");
                        return;
                    }
                }
            }
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "connection ended with an error");
    }
}

/// True while `bytes` could still become a valid request head.
fn head_incomplete(bytes: &[u8]) -> bool {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    matches!(httparse::Request::new(&mut headers).parse(bytes), Ok(httparse::Status::Partial))
}

/// The stream, with the request head already read from it handed back first, and writes
/// that fail once the client has read nothing for [`WRITE_TIMEOUT`].
struct Replay {
    head: Vec<u8>,
    read: usize,
    stream: UnixStream,
    /// Armed while a write waits for the client to read.
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Replay {
    /// A write's outcome, seen by the stall timer: progress disarms it; waiting arms it,
    /// and turns into an error once it has waited [`WRITE_TIMEOUT`].
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if poll.is_ready() {
            self.stalled = None;
            return poll;
        }
        let timer = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_TIMEOUT)));
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client has not read its answer for too long",
            )));
        }
        Poll::Pending
    }
}

impl AsyncRead for Replay {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read < this.head.len() {
            let n = buf.remaining().min(this.head.len() - this.read);
            buf.put_slice(&this.head[this.read..this.read + n]);
            this.read += n;
            if this.read == this.head.len() {
                // A token request's body (a shell's credentials) may have come with the head.
                zeroize::Zeroize::zeroize(&mut this.head);
                this.head = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Replay {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progress(cx, poll)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progress(cx, poll)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_flush(cx);
        this.progress(cx, poll)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.progress(cx, poll)
    }
}

/// The HTTP/1.1 settings of every connection: bounded buffers and header count, keep-alive,
/// and no header timer (the connection table times waiting connections out).
fn connection_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder
        .header_read_timeout(None)
        .max_buf_size(MAX_HEADER_BYTES.max(8192))
        .max_headers(MAX_HEADERS)
        .keep_alive(true);
    builder
}

/// The service one connection runs: every request to [`routes::handle`]; a shutdown request
/// also flips `shutdown`. `activity(true)` / `activity(false)` bracket each request, so the
/// connection table can tell busy connections from idle ones.
fn service(
    daemon: Arc<Daemon>,
    shutdown: watch::Sender<bool>,
    activity: impl Fn(bool) + Clone + Send + Sync + 'static,
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
        let activity = activity.clone();
        async move {
            activity(true);
            let (response, after) = routes::handle(&daemon, request).await;
            if after == After::Shutdown {
                let _ = shutdown.send(true);
            }
            activity(false);
            Ok::<_, Infallible>(response)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_is_handed_on_when_complete_or_hopeless() {
        assert!(head_incomplete(b""));
        assert!(head_incomplete(b"GET /v1/tok"));
        assert!(head_incomplete(b"GET /v1/token HTTP/1.1\r\nHost: x\r\n"));
        assert!(!head_incomplete(b"GET /v1/token HTTP/1.1\r\nHost: x\r\n\r\n"));
        // Garbage, another protocol, HTTP/2's preface, too many headers: hyper answers them.
        assert!(!head_incomplete(b"\x16\x03\x01\x00\xa5\x01\x00"));
        assert!(!head_incomplete(b"SSH-2.0-OpenSSH_9.2\r\n"));
        assert!(!head_incomplete(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
        let many = format!("GET / HTTP/1.1\r\n{}", "A: b\r\n".repeat(MAX_HEADERS + 1));
        assert!(!head_incomplete(many.as_bytes()));
    }

    #[tokio::test]
    async fn a_write_the_client_never_reads_fails_after_the_write_timeout() {
        use tokio::io::AsyncWriteExt as _;
        let (ours, theirs) = UnixStream::pair().unwrap();
        let mut io = Replay { head: Vec::new(), read: 0, stream: ours, stalled: None };
        let chunk = vec![b'x'; 64 * 1024];
        let started = Instant::now();
        let error = loop {
            if let Err(error) = io.write_all(&chunk).await {
                break error;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= WRITE_TIMEOUT);
        drop(theirs);
    }

    #[test]
    fn the_cap_follows_the_open_file_limit() {
        let cap = connection_cap();
        assert!((16..=MAX_CONNECTIONS).contains(&cap));
    }
}
