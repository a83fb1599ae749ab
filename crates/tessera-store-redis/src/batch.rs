//! Session reads of concurrent requests, sent to Redis together.
//!
//! Under load many requests want their session at the same moment. Sent
//! one by one, each `GET` costs a write to Redis's socket and a read of its
//! answer, system calls that cost more than the command itself (on
//! loopback the sender also runs the receiver's side of TCP). Gathered,
//! one pipeline carries all of them and their answers come back together
//! (docs/performance.md).
//!
//! - A read goes through here only while another read is in flight
//!   ([`Gather::enter`]): alone, it is sent at once as before, so a lone
//!   request never waits for company.
//! - The gathering task yields once before it takes the queue: tokio runs
//!   every task that is ready before it comes back (each may add a read),
//!   then it sends them all as one pipeline and goes on gathering while the
//!   answers are on their way.
//! - Answers come back in order; each read gets its own. A failed pipeline
//!   fails every read in it with the same error; a read whose own answer is
//!   an error (a session of the earlier hash format: `WRONGTYPE`) is read
//!   again alone by its caller ([`Gathered::Alone`]).
//! - Every read keeps its own deadline (the store's op timeout): a Redis
//!   that stops answering fails each read closed at its timeout.
//! - The task ends with the store; if it is gone first (its runtime ended),
//!   reads go alone.
//!
//! Only single-node Redis: a cluster connection routes each command to its
//! slot's node, so there is no one socket to gather on.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use redis::Value;
use redis::aio::ConnectionManager;
use tessera_core::store::StoreError;
use tokio::sync::{Notify, oneshot};

type Answer = Result<Value, StoreError>;
type Waiter = (String, oneshot::Sender<Answer>);

#[derive(Debug, Default)]
struct Shared {
    queue: Mutex<Vec<Waiter>>,
    wake: Notify,
    /// Reads in flight, gathered or alone.
    reads: AtomicUsize,
    /// The gathering task still runs.
    running: AtomicBool,
}

/// The store's handle on its gathering task; dropping it ends the task.
#[derive(Debug)]
pub(crate) struct Gather {
    shared: Arc<Shared>,
}

/// What a read through [`Gather::get`] came to.
pub(crate) enum Gathered {
    /// Redis's answer to this read's `GET`.
    Answer(Value),
    /// Send it alone: the task is gone.
    Alone,
}

/// A read in flight; counted while it lives.
pub(crate) struct Reading<'a> {
    shared: &'a Shared,
    others: usize,
}

impl Reading<'_> {
    /// Other reads were in flight when this one began.
    pub(crate) fn has_company(&self) -> bool {
        self.others > 0 && self.shared.running.load(Ordering::Acquire)
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        self.shared.reads.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Gather {
    /// Starts the gathering task on the current runtime.
    pub(crate) fn start(conn: ConnectionManager) -> Self {
        let shared = Arc::new(Shared::default());
        shared.running.store(true, Ordering::Release);
        tokio::spawn(run(Arc::clone(&shared), conn));
        Self { shared }
    }

    /// Counts a read in flight until the returned guard is dropped.
    pub(crate) fn enter(&self) -> Reading<'_> {
        let others = self.shared.reads.fetch_add(1, Ordering::AcqRel);
        Reading {
            shared: &self.shared,
            others,
        }
    }

    /// `GET key` in the next pipeline.
    pub(crate) async fn get(&self, key: String) -> Result<Gathered, StoreError> {
        let (tx, rx) = oneshot::channel();
        let first = {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if !self.shared.running.load(Ordering::Acquire) {
                return Ok(Gathered::Alone);
            }
            queue.push((key, tx));
            queue.len() == 1
        };
        if first {
            self.shared.wake.notify_one();
        }
        match rx.await {
            Ok(answer) => answer.map(Gathered::Answer),
            // The task went away with this read still queued or in flight.
            Err(_) => Ok(Gathered::Alone),
        }
    }
}

impl Drop for Gather {
    fn drop(&mut self) {
        self.shared.running.store(false, Ordering::Release);
        self.shared.wake.notify_one();
    }
}

/// Marks the task gone however it ends (the store dropped, or the runtime
/// with it): reads still queued are answered `Alone` (their senders drop).
struct Gone(Arc<Shared>);

impl Drop for Gone {
    fn drop(&mut self) {
        let mut queue = self.0.queue.lock().unwrap_or_else(PoisonError::into_inner);
        self.0.running.store(false, Ordering::Release);
        queue.clear();
    }
}

async fn run(shared: Arc<Shared>, conn: ConnectionManager) {
    let gone = Gone(shared);
    let shared = &gone.0;
    let mut sending = FuturesUnordered::new();
    loop {
        tokio::select! {
            () = shared.wake.notified() => {
                if !shared.running.load(Ordering::Acquire) {
                    return;
                }
                // Let every task that is ready add its read first.
                tokio::task::yield_now().await;
                let batch = std::mem::take(&mut *shared.queue.lock().unwrap_or_else(PoisonError::into_inner));
                if !batch.is_empty() {
                    sending.push(send(conn.clone(), batch));
                }
            }
            Some(()) = sending.next(), if !sending.is_empty() => {}
        }
    }
}

/// One pipeline of `GET`s; each waiter gets its own answer.
async fn send(mut conn: ConnectionManager, batch: Vec<Waiter>) {
    let mut pipe = redis::pipe();
    // Per-command errors (WRONGTYPE) come back in place, as values.
    pipe.ignore_errors();
    for (key, _) in &batch {
        pipe.cmd("GET").arg(key);
    }
    match pipe.query_async::<Vec<Value>>(&mut conn).await {
        Ok(values) if values.len() == batch.len() => {
            for ((_, tx), value) in batch.into_iter().zip(values) {
                let _ = tx.send(Ok(value));
            }
        }
        Ok(values) => {
            let e = StoreError::Backend(format!(
                "redis: {} answers to a pipeline of {}",
                values.len(),
                batch.len()
            ));
            for (_, tx) in batch {
                let _ = tx.send(Err(e.clone()));
            }
        }
        Err(e) => {
            let e = crate::conn::store_error(&e);
            for (_, tx) in batch {
                let _ = tx.send(Err(e.clone()));
            }
        }
    }
}
