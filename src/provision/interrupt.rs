//! SIGINT and SIGTERM while `key create` or `key rotate` holds a key whose secret has reached
//! nobody yet. They are caught from the moment that key is about to exist, so the workflow
//! deletes it before exiting instead of dying with it; before that moment the signals keep
//! their default effect, as nothing needs undoing yet.

use crate::wire::api::ErrorCode;
use crate::{Error, Result};
use std::future::Future;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

/// Which signal asked the run to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    Interrupt,
    Terminate,
}

impl Signal {
    #[must_use]
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Interrupt => "SIGINT",
            Self::Terminate => "SIGTERM",
        }
    }

    /// The kind of failure a run it stopped ends with: its exit code is 128 + the signal
    /// number, as shells report a process the signal ended.
    #[must_use]
    pub(crate) fn kind(self) -> ErrorCode {
        match self {
            Self::Interrupt => ErrorCode::Interrupted,
            Self::Terminate => ErrorCode::Terminated,
        }
    }
}

/// A request to stop, observed by the workflow at the points where stopping is safe.
#[derive(Debug)]
pub(crate) struct Interrupt {
    received: watch::Receiver<Option<Signal>>,
}

impl Interrupt {
    /// Starts catching SIGINT and SIGTERM (on the current tokio runtime) for the rest of the
    /// process's life.
    pub(crate) fn catch() -> Result<Self> {
        let mut interrupt =
            signal(SignalKind::interrupt()).map_err(Error::io("cannot catch SIGINT"))?;
        let mut terminate =
            signal(SignalKind::terminate()).map_err(Error::io("cannot catch SIGTERM"))?;
        let (sender, received) = watch::channel(None);
        tokio::spawn(async move {
            loop {
                let got = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                tracing::info!(signal = got.name(), "stopping at the next safe point");
                // The first signal decides the exit code; later ones change nothing.
                sender.send_if_modified(|first| first.is_none() && first.replace(got).is_none());
            }
        });
        Ok(Self { received })
    }

    /// The signal received so far, if any.
    #[must_use]
    pub(crate) fn received(&self) -> Option<Signal> {
        *self.received.borrow()
    }

    /// Waits for a signal.
    pub(crate) async fn arrived(&mut self) -> Signal {
        loop {
            if let Some(signal) = *self.received.borrow_and_update() {
                return signal;
            }
            if self.received.changed().await.is_err() {
                // Nobody can send any more: no signal will ever come.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Runs `work` to its end, unless a signal comes first (then `work` is dropped where it
    /// stands: only for work that is safe to abandon).
    pub(crate) async fn or<F: Future>(
        &mut self,
        work: F,
    ) -> std::result::Result<F::Output, Signal> {
        if let Some(signal) = self.received() {
            return Err(signal);
        }
        tokio::select! {
            biased;
            signal = self.arrived() => Err(signal),
            output = work => Ok(output),
        }
    }
}
