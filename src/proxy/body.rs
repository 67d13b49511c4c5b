//! The bodies the proxy relays, streamed frame by frame and counted: a request body that
//! keeps a copy of itself while it is small enough to send again, and an answer body that
//! notices a client that leaves before the end. Neither holds more than the frame in hand
//! (and the copy, at most [`KEEP_LIMIT`]): backpressure is hyper's, both ways.

use super::stats::{Failure, Open, Stats};
use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

/// Request bodies up to this size are kept while they stream, so a request the upstream
/// refused for its token can be sent again with a fresh one.
pub const KEEP_LIMIT: usize = 1024 * 1024;

/// A copy of a request body: `None` once it outgrew [`KEEP_LIMIT`].
#[derive(Debug, Default)]
pub struct Kept {
    bytes: Option<Vec<u8>>,
    complete: bool,
}

impl Kept {
    /// The whole body, if it was read to its end and kept.
    #[must_use]
    pub fn whole(&self) -> Option<Bytes> {
        self.bytes.as_ref().filter(|_| self.complete).map(|b| Bytes::copy_from_slice(b))
    }
}

/// The client's request body on its way upstream.
#[derive(Debug)]
pub struct Tee {
    inner: Incoming,
    kept: Arc<Mutex<Kept>>,
    stats: Arc<Stats>,
}

impl Tee {
    /// `body`, kept as it goes unless `declared` (its Content-Length) is over the limit.
    #[must_use]
    pub fn new(
        body: Incoming,
        declared: Option<u64>,
        stats: Arc<Stats>,
    ) -> (Self, Arc<Mutex<Kept>>) {
        let keep = declared.is_none_or(|n| n <= KEEP_LIMIT as u64);
        // An empty body is never polled: it is complete as it is.
        let kept = Arc::new(Mutex::new(Kept {
            bytes: keep.then(|| Vec::with_capacity(declared.unwrap_or(0) as usize)),
            complete: body.is_end_stream(),
        }));
        (Self { inner: body, kept: Arc::clone(&kept), stats }, kept)
    }
}

impl Body for Tee {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.stats.bytes_from_client(data.len());
                    let mut kept =
                        self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let fits =
                        kept.bytes.as_ref().is_some_and(|b| b.len() + data.len() <= KEEP_LIMIT);
                    if fits {
                        kept.bytes.as_mut().expect("checked").extend_from_slice(data);
                    } else {
                        kept.bytes = None;
                    }
                    // hyper stops polling a body of known length once it has all of it:
                    // the end is seen here, not as a final `None`.
                    if self.inner.is_end_stream() {
                        kept.complete = true;
                    }
                }
            }
            Poll::Ready(None) => {
                self.kept.lock().unwrap_or_else(std::sync::PoisonError::into_inner).complete = true;
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The upstream's answer body on its way to the client.
#[derive(Debug)]
pub struct Relay {
    inner: Incoming,
    stats: Arc<Stats>,
    _open: Open,
    ended: bool,
}

impl Relay {
    #[must_use]
    pub fn new(body: Incoming, stats: &Arc<Stats>) -> Self {
        Self { inner: body, _open: stats.stream(), stats: Arc::clone(stats), ended: false }
    }
}

impl Body for Relay {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    self.stats.bytes_to_client(data.len());
                }
            }
            Poll::Ready(Some(Err(error))) => {
                tracing::debug!(%error, "the upstream broke off an answer");
                self.stats.failed(Failure::UpstreamUnreachable);
                self.ended = true;
            }
            Poll::Ready(None) => self.ended = true,
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        // Dropping the upstream body closes its connection: the upstream request is cancelled.
        if !self.ended && !self.inner.is_end_stream() {
            self.stats.failed(Failure::ClientGone);
        }
    }
}
