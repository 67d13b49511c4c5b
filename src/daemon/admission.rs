//! The connection table: how many connections are open, which ones are waiting for a request
//! (a request head still arriving, or an idle keep-alive), and which to close.
//!
//! - **Full table**: new clients are not turned away while old connections sit idle. The
//!   connection that has waited longest without a request in progress is closed and the new
//!   one admitted, so a flood of idle or trickling connections costs at most
//!   [`Connections::cap`] descriptors and cannot lock out a client that sends its request at
//!   once. Only when every connection is mid-request is a new one refused.
//! - **Timeout**: a connection idle for the request timeout is closed, by one sweeper for
//!   the whole table (no timer per connection, so a waiting connection stays small).
//! - **Shutdown**: idle connections close at once, busy ones after their answer; the server
//!   waits for the table to empty.
//!
//! A connection still writing an answer its client does not read counts as idle (no request
//! is being computed for it), so it is evicted and timed out like any idle one; the
//! connection layer bounds how long its close may take.
//!
//! It knows nothing about HTTP.

use futures_util::task::AtomicWaker;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Position of a connection that has a request in progress (not evictable).
const BUSY: u64 = u64::MAX;

/// The open connections and the order they went idle in.
#[derive(Debug)]
pub struct Connections {
    cap: usize,
    /// How long a connection may wait for (the rest of) a request.
    timeout: Duration,
    table: Mutex<Table>,
    /// Signalled when the last connection closes (for the drain).
    empty: Notify,
    /// Wakes the sweeper when the first idle connection arrives.
    sweeper: Notify,
}

#[derive(Debug, Default)]
struct Table {
    /// Idle connections by the sequence number of their last activity (oldest first).
    idle: BTreeMap<u64, Idle>,
    next_seq: u64,
    /// Connections admitted and not yet closed (idle, busy, or closing).
    open: usize,
    /// Connections closed to make room, and connections refused, since the last report.
    shed: u64,
    refused: u64,
    /// Shutting down: close connections as soon as they are idle.
    closing: bool,
}

#[derive(Debug)]
struct Idle {
    since: Instant,
    entry: Arc<Entry>,
}

/// One connection's place in the table. Small on purpose: thousands may exist.
#[derive(Debug)]
struct Entry {
    /// Its key in `idle`, or [`BUSY`].
    seq: AtomicU64,
    /// The table wants the connection closed (gracefully: a response being written is
    /// finished first).
    close: AtomicBool,
    /// Between [`Ticket::busy`] and [`Ticket::idle`]: an answer is being computed.
    serving: AtomicBool,
    /// The connection's task, woken when `close` is set.
    waker: AtomicWaker,
}

impl Entry {
    fn close(&self) {
        self.close.store(true, Ordering::Release);
        self.waker.wake();
    }
}

/// What [`Connections::admit`] decided.
#[derive(Debug)]
pub enum Admission {
    Admitted(Ticket),
    /// Every connection is mid-request, or closing ones have not yet gone: close this one.
    Refused,
}

impl Connections {
    /// A table for at most `cap` connections (a few more while evicted ones close), each
    /// closed after `timeout` without a request in progress.
    #[must_use]
    pub fn new(cap: usize, timeout: Duration) -> Arc<Self> {
        Arc::new(Self {
            cap: cap.max(1),
            timeout,
            table: Mutex::new(Table::default()),
            empty: Notify::new(),
            sweeper: Notify::new(),
        })
    }

    #[must_use]
    pub fn cap(&self) -> usize {
        self.cap
    }

    fn table(&self) -> MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Admits a new connection (idle until it has a request), closing the longest-idle one
    /// if the table is full.
    pub fn admit(self: &Arc<Self>) -> Admission {
        let mut table = self.table();
        if table.closing {
            return Admission::Refused;
        }
        // Evicted connections close within moments; until they have, admit only a few more
        // than the cap, so descriptors stay bounded even under a connect storm.
        if table.open >= self.cap + (self.cap / 8).max(1) {
            table.refused += 1;
            return Admission::Refused;
        }
        if table.open >= self.cap {
            if table.evict_oldest() {
                table.shed += 1;
            } else {
                table.refused += 1;
                return Admission::Refused;
            }
        }
        table.open += 1;
        let entry = Arc::new(Entry {
            seq: AtomicU64::new(BUSY),
            close: AtomicBool::new(false),
            serving: AtomicBool::new(false),
            waker: AtomicWaker::new(),
        });
        self.enqueue(&mut table, &entry);
        Admission::Admitted(Ticket { connections: Arc::clone(self), entry })
    }

    fn enqueue(&self, table: &mut Table, entry: &Arc<Entry>) {
        let seq = table.next_seq;
        table.next_seq += 1;
        entry.seq.store(seq, Ordering::Relaxed);
        if table.idle.is_empty() {
            self.sweeper.notify_one();
        }
        table.idle.insert(seq, Idle { since: Instant::now(), entry: Arc::clone(entry) });
    }

    /// Closes the longest-idle connection, if any (the descriptor limit was hit).
    pub fn shed_one(&self) -> bool {
        let mut table = self.table();
        let evicted = table.evict_oldest();
        if evicted {
            table.shed += 1;
        }
        evicted
    }

    /// Open connections.
    #[must_use]
    pub fn open(&self) -> usize {
        self.table().open
    }

    /// Connections shed and refused since the last call, and resets both counts.
    pub fn take_pressure(&self) -> (u64, u64) {
        let mut table = self.table();
        (std::mem::take(&mut table.shed), std::mem::take(&mut table.refused))
    }

    /// Closes connections that waited longer than the timeout; runs until dropped.
    pub async fn expire_idle(self: Arc<Self>) {
        loop {
            let wake = self.sweeper.notified();
            let next = self.expire(Instant::now());
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = wake => {}
                    }
                }
                None => wake.await,
            }
        }
    }

    /// Closes the connections idle since before `now - timeout`; returns when the next
    /// one will be due.
    fn expire(&self, now: Instant) -> Option<Instant> {
        let mut table = self.table();
        while let Some(oldest) = table.idle.first_entry() {
            let due = oldest.get().since + self.timeout;
            if due > now {
                return Some(due);
            }
            let idle = oldest.remove();
            idle.entry.seq.store(BUSY, Ordering::Relaxed);
            idle.entry.close();
        }
        None
    }

    /// Starts shutting down: idle connections close now, busy ones after their answer, and
    /// no new ones are admitted.
    pub fn close_all(&self) {
        let mut table = self.table();
        table.closing = true;
        while table.evict_oldest() {}
    }

    /// Waits until every connection has closed, or `limit` has passed; false on timeout.
    pub async fn drained(&self, limit: Duration) -> bool {
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.empty.notified();
                if self.open() == 0 {
                    return;
                }
                notified.await;
            }
        })
        .await
        .is_ok()
    }
}

impl Table {
    fn evict_oldest(&mut self) -> bool {
        let Some((_, victim)) = self.idle.pop_first() else { return false };
        victim.entry.seq.store(BUSY, Ordering::Relaxed);
        victim.entry.close();
        true
    }
}

/// A connection's membership in the table; leaving it (drop) frees the place.
#[derive(Debug)]
pub struct Ticket {
    connections: Arc<Connections>,
    entry: Arc<Entry>,
}

impl Ticket {
    /// A request is in progress: not to be evicted until [`Ticket::idle`].
    pub fn busy(&self) {
        self.entry.serving.store(true, Ordering::Relaxed);
        let mut table = self.connections.table();
        let seq = self.entry.seq.swap(BUSY, Ordering::Relaxed);
        if seq != BUSY {
            table.idle.remove(&seq);
        }
    }

    /// Waiting for the next request: evictable again, as the most recently active (or
    /// closed at once when shutting down).
    pub fn idle(&self) {
        self.entry.serving.store(false, Ordering::Relaxed);
        let mut table = self.connections.table();
        if table.closing {
            self.entry.close();
        } else if self.entry.seq.load(Ordering::Relaxed) == BUSY {
            self.connections.enqueue(&mut table, &self.entry);
        }
    }

    /// True between [`Ticket::busy`] and [`Ticket::idle`], even once asked to close.
    #[must_use]
    pub fn serving(&self) -> bool {
        self.entry.serving.load(Ordering::Relaxed)
    }

    /// Ready once the table wants this connection closed (and from then on).
    pub fn poll_closing(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.entry.waker.register(cx.waker());
        if self.entry.close.load(Ordering::Acquire) { Poll::Ready(()) } else { Poll::Pending }
    }

    /// Resolves when the table wants this connection closed.
    pub async fn closing(&self) {
        std::future::poll_fn(|cx| self.poll_closing(cx)).await;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        let seq = self.entry.seq.swap(BUSY, Ordering::Relaxed);
        if seq != BUSY {
            table.idle.remove(&seq);
        }
        table.open -= 1;
        if table.open == 0 {
            self.connections.empty.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future as _;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    const MINUTE: Duration = Duration::from_secs(60);

    fn ticket(admission: Admission) -> Ticket {
        match admission {
            Admission::Admitted(ticket) => ticket,
            Admission::Refused => panic!("refused"),
        }
    }

    fn is_closing(ticket: &Ticket) -> bool {
        let mut closing = pin!(ticket.closing());
        closing.as_mut().poll(&mut Context::from_waker(Waker::noop())) == Poll::Ready(())
    }

    #[tokio::test]
    async fn a_full_table_closes_the_longest_idle_connection() {
        let connections = Connections::new(3, MINUTE);
        let first = ticket(connections.admit());
        let second = ticket(connections.admit());
        let third = ticket(connections.admit());
        // The first becomes active again: the second is now the longest idle.
        first.busy();
        first.idle();
        let fourth = ticket(connections.admit());
        assert!(is_closing(&second) && !is_closing(&first) && !is_closing(&third));
        drop(second);
        assert_eq!(connections.open(), 3);
        assert_eq!(connections.take_pressure(), (1, 0));
        drop((first, third, fourth));
        assert_eq!(connections.open(), 0);
    }

    #[tokio::test]
    async fn busy_connections_are_never_evicted() {
        let connections = Connections::new(2, MINUTE);
        let a = ticket(connections.admit());
        let b = ticket(connections.admit());
        a.busy();
        b.busy();
        assert!(matches!(connections.admit(), Admission::Refused));
        assert!(!is_closing(&a) && !is_closing(&b));
        b.idle();
        let c = ticket(connections.admit());
        assert!(is_closing(&b));
        assert_eq!(connections.take_pressure(), (1, 1));
        drop((a, b, c));
    }

    #[tokio::test]
    async fn serving_lasts_from_busy_to_idle_even_once_asked_to_close() {
        let connections = Connections::new(4, MINUTE);
        let conn = ticket(connections.admit());
        assert!(!conn.serving());
        conn.busy();
        connections.close_all();
        assert!(conn.serving() && !is_closing(&conn));
        conn.idle();
        assert!(!conn.serving() && is_closing(&conn));
    }

    #[tokio::test]
    async fn evictions_in_progress_bound_the_overshoot() {
        let connections = Connections::new(8, MINUTE);
        let mut kept: Vec<Ticket> = (0..8).map(|_| ticket(connections.admit())).collect();
        // Evicted connections that have not closed yet still count: at most cap + cap/8,
        // and a refusal evicts nothing more.
        kept.push(ticket(connections.admit()));
        assert!(matches!(connections.admit(), Admission::Refused));
        assert_eq!(connections.open(), 9);
        assert_eq!(kept.iter().filter(|t| is_closing(t)).count(), 1);
        assert!(connections.shed_one());
        drop(kept);
        assert_eq!(connections.open(), 0);
    }

    #[tokio::test]
    async fn idle_connections_time_out_busy_ones_do_not() {
        let step = Duration::from_millis(150);
        let connections = Connections::new(8, step * 2);
        tokio::spawn(Arc::clone(&connections).expire_idle());
        let idle = ticket(connections.admit());
        let busy = ticket(connections.admit());
        busy.busy();
        tokio::time::sleep(step).await;
        let later = ticket(connections.admit());
        tokio::time::sleep(step + step / 2).await;
        assert!(is_closing(&idle) && !is_closing(&busy) && !is_closing(&later));
        // A request answered restarts the wait.
        busy.idle();
        tokio::time::sleep(step).await;
        assert!(is_closing(&later) && !is_closing(&busy));
        tokio::time::sleep(step * 2).await;
        assert!(is_closing(&busy));
    }

    #[tokio::test]
    async fn shutdown_closes_idle_now_and_busy_after_their_answer() {
        let connections = Connections::new(4, MINUTE);
        let idle = ticket(connections.admit());
        let busy = ticket(connections.admit());
        busy.busy();
        connections.close_all();
        assert!(is_closing(&idle) && !is_closing(&busy));
        assert!(matches!(connections.admit(), Admission::Refused));
        busy.idle();
        assert!(is_closing(&busy));
        drop(idle);
        let waiter = tokio::spawn({
            let connections = Arc::clone(&connections);
            async move { connections.drained(Duration::from_secs(5)).await }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(!waiter.is_finished());
        drop(busy);
        assert!(waiter.await.unwrap());
        assert!(connections.drained(Duration::from_millis(1)).await);
    }
}
