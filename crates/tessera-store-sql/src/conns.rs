//! PostgreSQL connections for the store's statements, given back without a
//! round trip.
//!
//! sqlx's pool pings every connection as it comes back (sqlx 0.8.6,
//! `PoolConnection::return_to_pool`, not configurable): a Sync message and
//! the wait for PostgreSQL's answer after every statement, which cost a
//! rotation about a quarter of tessera's CPU and a wake-up of the
//! PostgreSQL backend (docs/performance.md). The ping is how sqlx makes a
//! connection safe to hand out again after a use it cannot see the end
//! of: a future dropped half-way through a statement, a transaction
//! dropped without its commit, a connection that failed.
//!
//! Here the user of a connection says when it is done with it
//! ([`Held::done`]; [`crate::db::Conn`] says so after each statement that
//! completed). Only then does the connection go back, with no round trip.
//! One whose user was dropped first (a cancelled request, an error on the
//! way, a transaction left open) is never handed out again: a task waits,
//! within the statement timeout, for PostgreSQL to finish what it was doing
//! (the statement in flight, the ROLLBACK sqlx queues for a dropped
//! transaction), then closes it. Until then it keeps its place among the
//! `max`, so a burst of cancelled requests cannot leave more backends
//! running on the server than the store may hold. So nothing a half-used
//! connection holds can reach the next user. The rest is what sqlx's pool
//! does with tessera's settings: at most `max` connections, opened on
//! demand within the acquire timeout; one idle for [`CHECK_WHEN_IDLE_FOR`]
//! or more is pinged before use (a database restart may have ended it);
//! idle ones are closed after `idle_timeout`, and every one once it is
//! [`MAX_LIFETIME`] old.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Connection, Database};
use tessera_core::store::StoreError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::codec::err;
use crate::db::CHECK_WHEN_IDLE_FOR;

/// A connection is closed when it comes back this long after it was
/// opened (sqlx's default for its pool), so no backend lives for ever.
pub(crate) const MAX_LIFETIME: Duration = Duration::from_mins(30);

/// How often idle connections are looked at for closing.
const REAP_EVERY: Duration = Duration::from_secs(30);

/// Connections to one database, at most `max` at once.
pub(crate) struct Conns<DB: Database> {
    options: <DB::Connection as Connection>::Options,
    /// Idle connections, the most recently used last (handed out first, so
    /// the others age and are closed when the load drops).
    idle: Mutex<Vec<Idle<DB>>>,
    /// One permit per connection in use or being opened; closed with the
    /// store.
    permits: Arc<Semaphore>,
    acquire_timeout: Duration,
    idle_timeout: Duration,
    /// How long a connection whose use was cut short is given to finish
    /// (see the module's docs) before its socket is simply dropped.
    drain_timeout: Duration,
    /// The task that closes connections idle too long, started on first use
    /// (a runtime is running then).
    reaper: OnceLock<()>,
    max: u32,
    /// Connections opened so far, and the most in use at once: with none
    /// closed, the first is at most the second (a connection is opened only
    /// when none is idle). A use that forgets to say it is done shows as
    /// more opened (`tests/postgres.rs` checks this after each suite).
    opened: AtomicU64,
    peak: AtomicU64,
}

struct Idle<DB: Database> {
    conn: DB::Connection,
    opened: Instant,
    since: Instant,
}

impl<DB: Database> std::fmt::Debug for Conns<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conns")
            .field("idle", &self.idle_count())
            .field("available", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// A connection in use. Dropped without [`Held::done`], it is closed.
pub(crate) struct Held<DB: Database> {
    conn: Option<DB::Connection>,
    opened: Instant,
    done: bool,
    conns: Arc<Conns<DB>>,
    /// Released after the connection is back among the idle ones (fields
    /// drop after `Drop::drop`), so no one waits for a permit, finds none
    /// idle and opens one more than `max`; or by the task that drains a
    /// connection cut short.
    permit: Option<OwnedSemaphorePermit>,
}

impl<DB: Database> Conns<DB> {
    pub(crate) fn new(
        options: <DB::Connection as Connection>::Options,
        max: u32,
        acquire_timeout: Duration,
        idle_timeout: Duration,
        drain_timeout: Duration,
    ) -> Self {
        Self {
            options,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(max as usize)),
            acquire_timeout,
            idle_timeout,
            drain_timeout,
            reaper: OnceLock::new(),
            max,
            opened: AtomicU64::new(0),
            peak: AtomicU64::new(0),
        }
    }

    fn idle(&self) -> std::sync::MutexGuard<'_, Vec<Idle<DB>>> {
        // A panic while the lock was held leaves a list of whole entries.
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn idle_count(&self) -> usize {
        self.idle().len()
    }

    /// Connections opened so far, and the most in use at once.
    #[cfg(feature = "testing")]
    pub(crate) fn counts(&self) -> (u64, u64) {
        (
            self.opened.load(Ordering::Relaxed),
            self.peak.load(Ordering::Relaxed),
        )
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.permits.is_closed()
    }

    /// A connection: an idle one (pinged first if it has been idle for
    /// [`CHECK_WHEN_IDLE_FOR`]), or a new one. Unavailable when none is
    /// had within the acquire timeout, or the store is closed.
    pub(crate) async fn acquire(self: &Arc<Self>) -> Result<Held<DB>, StoreError> {
        self.start_reaper();
        tokio::time::timeout(self.acquire_timeout, self.acquire_now())
            .await
            .unwrap_or_else(|_| {
                Err(StoreError::Unavailable(format!(
                    "postgres: no connection within {:?}",
                    self.acquire_timeout
                )))
            })
    }

    async fn acquire_now(self: &Arc<Self>) -> Result<Held<DB>, StoreError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Unavailable("postgres: the store is closed".into()))?;
        let in_use = self.max as usize - self.permits.available_permits();
        self.peak.fetch_max(in_use as u64, Ordering::Relaxed);
        loop {
            let Some(mut idle) = self.idle().pop() else {
                break;
            };
            if idle.since.elapsed() >= self.idle_timeout || idle.opened.elapsed() >= MAX_LIFETIME {
                retire::<DB>(idle.conn);
                continue;
            }
            if idle.since.elapsed() >= CHECK_WHEN_IDLE_FOR
                && let Err(e) = idle.conn.ping().await
            {
                tracing::debug!(error = %e, "an idle connection failed its check; replaced");
                continue;
            }
            return Ok(self.held(idle.conn, idle.opened, permit));
        }
        let conn = self.options.connect().await.map_err(err)?;
        self.opened.fetch_add(1, Ordering::Relaxed);
        Ok(self.held(conn, Instant::now(), permit))
    }

    fn held(
        self: &Arc<Self>,
        conn: DB::Connection,
        opened: Instant,
        permit: OwnedSemaphorePermit,
    ) -> Held<DB> {
        Held {
            conn: Some(conn),
            opened,
            // Unused yet: nothing to finish.
            done: true,
            conns: Arc::clone(self),
            permit: Some(permit),
        }
    }

    /// Closes the idle connections and refuses new uses; connections in
    /// use are closed as they come back.
    pub(crate) async fn close(&self) {
        // Closed before the idle list is taken, and `Held::drop` checks it
        // under the list's lock: nothing is put back after this.
        self.permits.close();
        let idle = std::mem::take(&mut *self.idle());
        for Idle { conn, .. } in idle {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing an idle connection");
            }
        }
    }

    /// Drops the idle connections unused for the idle timeout (they are at
    /// the front: the list is in order of last use).
    fn reap(&self) {
        let mut idle = self.idle();
        let stale = idle
            .iter()
            .take_while(|i| i.since.elapsed() >= self.idle_timeout)
            .count();
        for Idle { conn, .. } in idle.drain(..stale) {
            retire::<DB>(conn);
        }
    }

    fn start_reaper(self: &Arc<Self>) {
        self.reaper.get_or_init(|| {
            let conns: Weak<Self> = Arc::downgrade(self);
            tokio::spawn(async move {
                let mut every = tokio::time::interval(REAP_EVERY);
                every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    every.tick().await;
                    match conns.upgrade() {
                        Some(conns) if !conns.is_closed() => conns.reap(),
                        _ => break,
                    }
                }
            });
        });
    }
}

impl<DB: Database> Held<DB> {
    /// The connection is back in a state to hand out: its last statement
    /// or transaction completed. Until this is said again, the next use
    /// (`DerefMut`) takes it back.
    pub(crate) fn done(&mut self) {
        self.done = true;
    }
}

impl<DB: Database> std::ops::Deref for Held<DB> {
    type Target = DB::Connection;
    fn deref(&self) -> &DB::Connection {
        self.conn.as_ref().expect("present until dropped")
    }
}

impl<DB: Database> std::ops::DerefMut for Held<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        self.done = false;
        self.conn.as_mut().expect("present until dropped")
    }
}

impl<DB: Database> Drop for Held<DB> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !self.done {
            self.drain(conn);
            return;
        }
        if self.opened.elapsed() >= MAX_LIFETIME {
            retire::<DB>(conn);
            return;
        }
        let mut idle = self.conns.idle();
        if self.conns.is_closed() {
            drop(idle);
            retire::<DB>(conn);
            return;
        }
        idle.push(Idle {
            conn,
            opened: self.opened,
            since: Instant::now(),
        });
    }
}

impl<DB: Database> Held<DB> {
    /// A connection whose use was cut short: PostgreSQL may still be running
    /// its statement (it notices a closed socket only when it next writes),
    /// and sqlx may hold a queued ROLLBACK. A task waits for the connection
    /// to be idle (a `ping`: sqlx sends what it holds, reads every answer
    /// up to the server's `ReadyForQuery`) within the drain timeout, keeping
    /// the permit meanwhile, then closes it. Without a runtime (shutting
    /// down) it is dropped at once.
    fn drain(&mut self, mut conn: DB::Connection) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let permit = self.permit.take();
        let wait = self.conns.drain_timeout;
        runtime.spawn(async move {
            match tokio::time::timeout(wait, conn.ping()).await {
                Ok(Ok(())) => {
                    if let Err(e) = conn.close().await {
                        tracing::debug!(error = %e, "closing a connection cut short");
                    }
                }
                Ok(Err(e)) => tracing::debug!(error = %e, "a connection cut short failed"),
                Err(_) => tracing::debug!("a connection cut short did not finish in time"),
            }
            drop(permit);
        });
    }
}

/// Closes a connection that is idle and in step, politely (PostgreSQL is
/// told, rather than finding the socket gone), in a task of its own when a
/// runtime is running.
fn retire<DB: Database>(conn: DB::Connection) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            if let Err(e) = conn.close().await {
                tracing::debug!(error = %e, "closing a connection");
            }
        });
    }
}

/// Whether a connection may be handed out again after this error: yes when
/// the database answered the statement with an ERROR (a unique violation, a
/// statement timeout: the connection is in step, and sqlx reads the
/// answer's rest before its next statement); no when the connection itself
/// failed, the answer was FATAL, or the server ended it, is shutting down,
/// or is short of resources (classes 08, 57P, 53, 58, XX).
pub(crate) fn usable_after(e: &sqlx::Error) -> bool {
    match e {
        // A FATAL or PANIC ends the session whatever its code (an idle
        // transaction timeout, a recovery conflict on a standby).
        sqlx::Error::Database(db)
            if db
                .try_downcast_ref::<sqlx::postgres::PgDatabaseError>()
                .is_some_and(|pg| {
                    matches!(
                        pg.severity(),
                        sqlx::postgres::PgSeverity::Fatal | sqlx::postgres::PgSeverity::Panic
                    )
                }) =>
        {
            false
        }
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => !["08", "57P", "53", "58", "XX"]
                .iter()
                .any(|class| code.starts_with(class)),
            None => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::time::Duration;

    use tessera_core::store::StoreError;

    use crate::db::{Cols, Stmt};
    use crate::testing::{self, TestDatabase};
    use crate::{PgSettings, PgStore};

    async fn store(max: u32) -> (TestDatabase, PgStore) {
        store_with(PgSettings {
            max_connections: max,
            ..PgSettings::default()
        })
        .await
    }

    async fn store_with(settings: PgSettings) -> (TestDatabase, PgStore) {
        let db = testing::fresh_database().await.unwrap();
        let store = PgStore::connect_lazy(&db.url, settings).unwrap();
        store
            .write(Stmt::new(
                "CREATE TABLE t (id BIGINT PRIMARY KEY, note TEXT NOT NULL)",
            ))
            .await
            .unwrap();
        (db, store)
    }

    /// The PostgreSQL backend a fresh use of the store gets.
    async fn backend(store: &PgStore) -> i64 {
        let row = store
            .reader()
            .await
            .unwrap()
            .fetch_optional(Stmt::new("SELECT pg_backend_pid()::BIGINT AS pid"))
            .await
            .unwrap()
            .unwrap();
        Cols::<sqlx::Postgres>(&row).int("pid").unwrap()
    }

    async fn count(store: &PgStore, sql: &str) -> i64 {
        let row = store
            .reader()
            .await
            .unwrap()
            .fetch_optional(Stmt::new(sql))
            .await
            .unwrap()
            .unwrap();
        Cols::<sqlx::Postgres>(&row).int("n").unwrap()
    }

    /// Backends of the store's own connections still open, as PostgreSQL
    /// sees them (the asking one included).
    async fn open_backends(store: &PgStore) -> i64 {
        count(
            store,
            "SELECT count(*) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND application_name = 'tessera'",
        )
        .await
    }

    /// A statement cut off half-way (its request cancelled) leaves its
    /// connection never to be handed out again: it keeps its place until
    /// PostgreSQL has finished the statement (so the server never runs more
    /// backends than the store may hold), then closes, and the next use
    /// gets another backend.
    #[tokio::test]
    async fn a_connection_cut_off_mid_statement_is_closed_not_reused() {
        let (db, store) = store(1).await;
        let first = backend(&store).await;
        assert_eq!(
            backend(&store).await,
            first,
            "a completed use gives it back"
        );
        let mut conn = store.reader().await.unwrap();
        let cut = tokio::time::timeout(
            Duration::from_millis(100),
            conn.execute(Stmt::new("SELECT pg_sleep(0.8)")),
        )
        .await;
        assert!(cut.is_err(), "the sleep was cut off");
        let cut_at = std::time::Instant::now();
        drop(conn);
        let next = backend(&store).await;
        assert_ne!(next, first, "the cut-off connection was closed");
        assert!(
            cut_at.elapsed() >= Duration::from_millis(500),
            "the only place was kept while the sleep ran on ({:?})",
            cut_at.elapsed()
        );
        assert_eq!(store.connection_counts(), Some((2, 1)));
        store.close().await;
        db.drop_now().await.unwrap();
    }

    /// A transaction dropped without its commit (an error on the way) is
    /// rolled back (sqlx's queued ROLLBACK, sent before the connection
    /// closes) and its connection is not handed out again; a committed one
    /// gives it back.
    #[tokio::test]
    async fn a_transaction_left_open_is_rolled_back_and_its_connection_closed() {
        let (db, store) = store(1).await;
        let first = backend(&store).await;
        {
            let mut conn = store.writer().await.unwrap();
            let mut tx = conn.transaction().await.unwrap();
            Stmt::<sqlx::Postgres>::new("INSERT INTO t VALUES (1, 'left open')")
                .execute(&mut tx)
                .await
                .unwrap();
        }
        let second = backend(&store).await;
        assert_ne!(second, first);
        assert_eq!(count(&store, "SELECT count(*) AS n FROM t").await, 0);
        {
            let mut conn = store.writer().await.unwrap();
            let mut tx = conn.transaction().await.unwrap();
            Stmt::<sqlx::Postgres>::new("INSERT INTO t VALUES (2, 'committed')")
                .execute(&mut tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
            conn.done();
        }
        assert_eq!(backend(&store).await, second, "given back after the commit");
        assert_eq!(count(&store, "SELECT count(*) AS n FROM t").await, 1);
        store.close().await;
        db.drop_now().await.unwrap();
    }

    /// The database's answer to a statement (a unique violation, the
    /// statement timeout) leaves the connection in step: it is given back.
    /// A connection the server ended is not (`tests/postgres.rs` shows the
    /// one failed statement that costs).
    #[tokio::test]
    async fn a_statement_the_database_refused_gives_its_connection_back() {
        let (db, store) = store(1).await;
        store
            .writer()
            .await
            .unwrap()
            .execute(Stmt::new("INSERT INTO t VALUES (1, 'a')"))
            .await
            .unwrap();
        let first = backend(&store).await;
        let dup = store
            .writer()
            .await
            .unwrap()
            .execute(Stmt::new("INSERT INTO t VALUES (1, 'b')").unique("t"))
            .await
            .unwrap_err();
        assert!(matches!(dup, StoreError::Conflict("t")), "{dup:?}");
        assert_eq!(backend(&store).await, first);
        store.close().await;
        db.drop_now().await.unwrap();
    }

    /// The statement timeout's cancel is an answer too: the connection
    /// stays in step and is given back.
    #[tokio::test]
    async fn a_statement_timed_out_gives_its_connection_back() {
        let (db, store) = store_with(PgSettings {
            max_connections: 1,
            statement_timeout: Duration::from_millis(50),
            ..PgSettings::default()
        })
        .await;
        let first = backend(&store).await;
        let slow = store
            .reader()
            .await
            .unwrap()
            .execute(Stmt::new("SELECT pg_sleep(1)"))
            .await
            .unwrap_err();
        assert!(slow.to_string().contains("statement timeout"), "{slow}");
        assert_eq!(backend(&store).await, first);
        store.close().await;
        db.drop_now().await.unwrap();
    }

    /// Many callers at once share at most `max` connections; one that finds
    /// none free within the acquire timeout is told the store is
    /// unavailable.
    #[tokio::test]
    async fn callers_share_at_most_max_connections_and_wait_at_most_the_timeout() {
        let (db, store) = store(3).await;
        // 24 callers at once (on one task: each waits on the database).
        let calls = (0..24).map(|_| store.read_all(Stmt::new("SELECT pg_sleep(0.02)"), |_| Ok(())));
        for call in futures_util::future::join_all(calls).await {
            call.unwrap();
        }
        let (opened, peak) = store.connection_counts().unwrap();
        assert!(
            peak <= 3 && opened <= peak,
            "{opened} opened, {peak} at once"
        );
        assert!(open_backends(&store).await <= 3);
        store.close().await;
        db.drop_now().await.unwrap();

        let (db, store) = store_with(PgSettings {
            max_connections: 1,
            acquire_timeout: Duration::from_millis(500),
            ..PgSettings::default()
        })
        .await;
        let held = store.reader().await.unwrap();
        let started = std::time::Instant::now();
        let waited = store.reader().await.err().unwrap();
        assert!(matches!(waited, StoreError::Unavailable(_)), "{waited:?}");
        assert!(started.elapsed() >= Duration::from_millis(450));
        drop(held);
        store.close().await;
        db.drop_now().await.unwrap();
    }

    /// Closing the store closes its idle connections, refuses new uses, and
    /// closes a connection in use when it comes back.
    #[tokio::test]
    async fn closing_the_store_ends_its_connections() {
        let (db, store) = store(2).await;
        let watcher = {
            let settings = PgSettings::default();
            PgStore::connect_lazy(&db.url, settings).unwrap()
        };
        let mut held = store.reader().await.unwrap();
        held.execute(Stmt::new("SELECT 1")).await.unwrap();
        backend(&store).await;
        assert_eq!(
            open_backends(&watcher).await,
            3,
            "two of the store's and the watcher's"
        );
        store.close().await;
        let refused = store.reader().await.err().unwrap();
        assert!(matches!(refused, StoreError::Unavailable(_)), "{refused:?}");
        drop(held);
        let mut left = open_backends(&watcher).await;
        for _ in 0..250 {
            if left == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            left = open_backends(&watcher).await;
        }
        assert_eq!(left, 1, "only the watcher's own");
        watcher.close().await;
        db.drop_now().await.unwrap();
    }
}
