//! What the statements need from a database, said once for both backends.
//!
//! The store traits are implemented once, generically, over [`SqlStore<DB>`]
//! (`users.rs`, `sessions.rs`, … one file per trait). The statements use
//! only portable SQL and `$n` placeholders, which SQLite and PostgreSQL both
//! bind by number. What really differs between the backends (how to open
//! one, its migrations, the refresh spend statement) is in `sqlite.rs` and
//! `postgres.rs`, through [`Dialect`].
//!
//! sqlx states what a database can encode and decode as bounds on other
//! types (`i64: Encode<'q, DB>`, …), which a generic function would have to
//! repeat in every `where` clause. [`SqlDb`] states them once, in its one
//! blanket impl, and offers the handful of operations the statements use:
//! bind a value ([`Stmt`]), run it on a connection, read a column
//! ([`Cols`]).

use std::sync::Arc;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::query::Query;
use sqlx::{ColumnIndex, Database, Decode, Encode, Executor, IntoArguments, Pool, Row, Type};
use tessera_core::store::StoreError;
use tessera_core::token::TokenHash;
use time::OffsetDateTime;

use crate::codec::{err, from_ts, roles_from_json, store_error, uuid};
use crate::conns::{Conns, Held};

/// A database the statements can run on: every sqlx database whose driver
/// encodes and decodes the column types used here (text, integers,
/// booleans, blobs, and their `NULL`able forms).
pub(crate) trait SqlDb: Database {
    fn bind_text<'q>(q: SqlQuery<'q, Self>, v: &'q str) -> SqlQuery<'q, Self>;
    fn bind_string(q: SqlQuery<'_, Self>, v: String) -> SqlQuery<'_, Self>;
    fn bind_opt_text<'q>(q: SqlQuery<'q, Self>, v: Option<&'q str>) -> SqlQuery<'q, Self>;
    fn bind_int(q: SqlQuery<'_, Self>, v: Option<i64>) -> SqlQuery<'_, Self>;
    fn bind_bool(q: SqlQuery<'_, Self>, v: bool) -> SqlQuery<'_, Self>;
    fn bind_blob<'q>(q: SqlQuery<'q, Self>, v: &'q [u8]) -> SqlQuery<'q, Self>;

    fn execute<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> impl Future<Output = Result<u64, sqlx::Error>> + Send + 'c;
    fn fetch_optional<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'c;
    fn fetch_all<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c;

    fn get_text(row: &Self::Row, col: &str) -> Result<String, sqlx::Error>;
    fn get_opt_text(row: &Self::Row, col: &str) -> Result<Option<String>, sqlx::Error>;
    /// Reads a text column without copying it (ids, JSON).
    fn with_text<T>(
        row: &Self::Row,
        col: &str,
        f: impl FnOnce(&str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    fn get_int(row: &Self::Row, col: &str) -> Result<Option<i64>, sqlx::Error>;
    fn get_bool(row: &Self::Row, col: &str) -> Result<bool, sqlx::Error>;
    fn get_blob(row: &Self::Row, col: &str) -> Result<Option<Vec<u8>>, sqlx::Error>;
}

/// How many rows a statement changed (each driver's result type has this
/// as its own method, not a trait's).
pub(crate) trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

impl RowsAffected for sqlx::sqlite::SqliteQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl RowsAffected for sqlx::postgres::PgQueryResult {
    fn rows_affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A statement with its arguments, as sqlx builds it.
pub(crate) type SqlQuery<'q, DB> = Query<'q, DB, <DB as Database>::Arguments<'q>>;

impl<DB> SqlDb for DB
where
    DB: Database,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::QueryResult: RowsAffected,
    for<'q> &'q str: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> Vec<u8>: Decode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Decode<'q, DB> + Type<DB>,
    for<'c> &'c str: ColumnIndex<DB::Row>,
{
    fn bind_text<'q>(q: SqlQuery<'q, Self>, v: &'q str) -> SqlQuery<'q, Self> {
        q.bind(v)
    }
    fn bind_string(q: SqlQuery<'_, Self>, v: String) -> SqlQuery<'_, Self> {
        q.bind(v)
    }
    fn bind_opt_text<'q>(q: SqlQuery<'q, Self>, v: Option<&'q str>) -> SqlQuery<'q, Self> {
        q.bind(v)
    }
    fn bind_int(q: SqlQuery<'_, Self>, v: Option<i64>) -> SqlQuery<'_, Self> {
        q.bind(v)
    }
    fn bind_bool(q: SqlQuery<'_, Self>, v: bool) -> SqlQuery<'_, Self> {
        q.bind(v)
    }
    fn bind_blob<'q>(q: SqlQuery<'q, Self>, v: &'q [u8]) -> SqlQuery<'q, Self> {
        q.bind(v)
    }

    async fn execute<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> Result<u64, sqlx::Error> {
        Ok(conn.execute(q).await?.rows_affected())
    }
    fn fetch_optional<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> impl Future<Output = Result<Option<Self::Row>, sqlx::Error>> + Send + 'c {
        conn.fetch_optional(q)
    }
    fn fetch_all<'q: 'c, 'c>(
        q: SqlQuery<'q, Self>,
        conn: &'c mut Self::Connection,
    ) -> impl Future<Output = Result<Vec<Self::Row>, sqlx::Error>> + Send + 'c {
        conn.fetch_all(q)
    }

    fn get_text(row: &Self::Row, col: &str) -> Result<String, sqlx::Error> {
        row.try_get(col)
    }
    fn get_opt_text(row: &Self::Row, col: &str) -> Result<Option<String>, sqlx::Error> {
        row.try_get(col)
    }
    fn with_text<T>(
        row: &Self::Row,
        col: &str,
        f: impl FnOnce(&str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(row.try_get::<&str, _>(col).map_err(err)?)
    }
    fn get_int(row: &Self::Row, col: &str) -> Result<Option<i64>, sqlx::Error> {
        row.try_get(col)
    }
    fn get_bool(row: &Self::Row, col: &str) -> Result<bool, sqlx::Error> {
        row.try_get(col)
    }
    fn get_blob(row: &Self::Row, col: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        row.try_get(col)
    }
}

/// What differs between the two backends, beyond the driver.
pub(crate) trait Dialect: SqlDb {
    /// Spends a refresh token by storing its successor, then reads the
    /// token's record with a `rotated` column (1: this query spent it).
    /// Arguments: `$1` presented hash, `$2` now, `$3` successor hash, `$4`
    /// the successor's expiry. See `refresh.rs`.
    fn spend_sql() -> &'static str;
    /// Spends a family's live token (`SPEND_LIVE_UPDATE` in `refresh.rs`,
    /// same arguments) and reads the family as the call left it, with a
    /// `rotated` column (1: this query spent it). No row: the family must
    /// be read again (PostgreSQL answers only for a rotation; SQLite reads
    /// the family as it stands, so no row means no family).
    fn spend_live_sql() -> &'static str;
    /// The family sweep's statements, each deleting at most
    /// [`SWEEP_BATCH`] rows (`$1` now; see `RefreshStore::sweep_families`
    /// in `refresh.rs`): the older format's tokens of families at their
    /// cap, those families, and expired tokens without a family (`None`
    /// where a foreign key makes them impossible). PostgreSQL's skip rows
    /// another transaction holds (`SKIP LOCKED`): the sweep never waits on
    /// a row lock, so it cannot deadlock with a logout or a user's
    /// deletion; what it skips goes at the next sweep.
    fn sweep_families_sql() -> [Option<&'static str>; 3];
}

/// Rows one statement of the family sweep deletes at most: a sweep of a
/// large backlog (the first after an upgrade) is many short statements,
/// each well within PostgreSQL's statement timeout and SQLite's write turn.
pub(crate) const SWEEP_BATCH: u64 = 1000;

/// A statement being built: `Stmt::new(sql).text(a).int(b)…`, then run on
/// a connection. Values are bound in placeholder order (`$1`, `$2`, …).
pub(crate) struct Stmt<'q, DB: Database> {
    query: SqlQuery<'q, DB>,
    /// What a unique violation means (see [`Self::unique`]).
    unique: &'static str,
}

impl<'q, DB: SqlDb> Stmt<'q, DB> {
    pub(crate) fn new(sql: &'q str) -> Self {
        Self {
            query: sqlx::query(sql),
            unique: "row",
        }
    }
    /// A unique violation is [`StoreError::Conflict`]`(what)` (e.g. `email`).
    pub(crate) fn unique(self, what: &'static str) -> Self {
        Self {
            unique: what,
            ..self
        }
    }
    fn with(self, bind: impl FnOnce(SqlQuery<'q, DB>) -> SqlQuery<'q, DB>) -> Self {
        Self {
            query: bind(self.query),
            ..self
        }
    }
    pub(crate) fn text(self, v: &'q str) -> Self {
        self.with(|q| DB::bind_text(q, v))
    }
    pub(crate) fn opt_text(self, v: Option<&'q str>) -> Self {
        self.with(|q| DB::bind_opt_text(q, v))
    }
    /// An owned string (an id formatted for this statement).
    pub(crate) fn string(self, v: String) -> Self {
        self.with(|q| DB::bind_string(q, v))
    }
    /// An id, as its text form.
    pub(crate) fn id(self, v: impl std::fmt::Display) -> Self {
        self.string(v.to_string())
    }
    pub(crate) fn opt_id(self, v: Option<impl std::fmt::Display>) -> Self {
        match v {
            Some(v) => self.id(v),
            None => self.opt_text(None),
        }
    }
    pub(crate) fn int(self, v: i64) -> Self {
        self.with(|q| DB::bind_int(q, Some(v)))
    }
    pub(crate) fn opt_int(self, v: Option<i64>) -> Self {
        self.with(|q| DB::bind_int(q, v))
    }
    /// A time, as Unix seconds.
    pub(crate) fn time(self, v: OffsetDateTime) -> Self {
        self.int(v.unix_timestamp())
    }
    pub(crate) fn opt_time(self, v: Option<OffsetDateTime>) -> Self {
        self.opt_int(v.map(OffsetDateTime::unix_timestamp))
    }
    pub(crate) fn flag(self, v: bool) -> Self {
        self.with(|q| DB::bind_bool(q, v))
    }
    pub(crate) fn blob(self, v: &'q [u8]) -> Self {
        self.with(|q| DB::bind_blob(q, v))
    }
    pub(crate) fn hash(self, v: &'q TokenHash) -> Self {
        self.blob(&v.0[..])
    }

    /// The query, and how its errors become store errors.
    fn split(self) -> (SqlQuery<'q, DB>, impl Fn(sqlx::Error) -> StoreError) {
        let unique = self.unique;
        (self.query, move |e| store_error(e, unique))
    }
    /// Runs it; how many rows it changed.
    pub(crate) async fn execute(self, conn: &mut DB::Connection) -> Result<u64, StoreError> {
        let (query, error) = self.split();
        DB::execute(query, conn).await.map_err(error)
    }
    pub(crate) async fn fetch_optional(
        self,
        conn: &mut DB::Connection,
    ) -> Result<Option<DB::Row>, StoreError> {
        let (query, error) = self.split();
        DB::fetch_optional(query, conn).await.map_err(error)
    }
    pub(crate) async fn fetch_all(
        self,
        conn: &mut DB::Connection,
    ) -> Result<Vec<DB::Row>, StoreError> {
        let (query, error) = self.split();
        DB::fetch_all(query, conn).await.map_err(error)
    }
}

/// Typed reads of one row's columns, by name.
pub(crate) struct Cols<'r, DB: Database>(pub(crate) &'r DB::Row);

impl<DB: SqlDb> Cols<'_, DB> {
    pub(crate) fn text(&self, col: &str) -> Result<String, StoreError> {
        DB::get_text(self.0, col).map_err(err)
    }
    pub(crate) fn opt_text(&self, col: &str) -> Result<Option<String>, StoreError> {
        DB::get_opt_text(self.0, col).map_err(err)
    }
    pub(crate) fn int(&self, col: &str) -> Result<i64, StoreError> {
        DB::get_int(self.0, col)
            .map_err(err)?
            .ok_or_else(|| StoreError::Backend(format!("{col} is NULL")))
    }
    pub(crate) fn flag(&self, col: &str) -> Result<bool, StoreError> {
        DB::get_bool(self.0, col).map_err(err)
    }
    pub(crate) fn time(&self, col: &str) -> Result<OffsetDateTime, StoreError> {
        from_ts(self.int(col)?)
    }
    pub(crate) fn opt_time(&self, col: &str) -> Result<Option<OffsetDateTime>, StoreError> {
        DB::get_int(self.0, col)
            .map_err(err)?
            .map(from_ts)
            .transpose()
    }
    pub(crate) fn uuid(&self, col: &str) -> Result<uuid::Uuid, StoreError> {
        DB::with_text(self.0, col, uuid)
    }
    pub(crate) fn roles(&self, col: &str) -> Result<Vec<String>, StoreError> {
        DB::with_text(self.0, col, roles_from_json)
    }
    pub(crate) fn blob(&self, col: &str) -> Result<Vec<u8>, StoreError> {
        self.opt_blob(col)?
            .ok_or_else(|| StoreError::Backend(format!("{col} is NULL")))
    }
    pub(crate) fn opt_blob(&self, col: &str) -> Result<Option<Vec<u8>>, StoreError> {
        DB::get_blob(self.0, col).map_err(err)
    }
    pub(crate) fn hash(&self, col: &str) -> Result<TokenHash, StoreError> {
        TokenHash::from_slice(&self.blob(col)?)
            .ok_or_else(|| StoreError::Backend(format!("bad hash in {col}")))
    }
    pub(crate) fn opt_hash(&self, col: &str) -> Result<Option<TokenHash>, StoreError> {
        Ok(self
            .opt_blob(col)?
            .as_deref()
            .and_then(TokenHash::from_slice))
    }
}

/// A SQL store: the pool, and on SQLite the write turn.
#[derive(Debug)]
pub struct SqlStore<DB: Database> {
    /// sqlx's pool: every statement on SQLite; on PostgreSQL only the
    /// migrations, `tessera copy` and `tessera doctor` (the store's own
    /// statements use [`Self::own`]).
    pub(crate) pool: Pool<DB>,
    /// PostgreSQL only: connections given back without sqlx's round trip
    /// (`conns.rs`).
    pub(crate) own: Option<Arc<Conns<DB>>>,
    /// SQLite only: see [`crate::SqliteStore`]'s docs on the write turn.
    pub(crate) writes: Option<Arc<tokio::sync::Mutex<()>>>,
    /// SQLite on a file only: the whoami read on the calling thread
    /// (`direct.rs`).
    pub(crate) direct: Option<Arc<crate::direct::DirectReads>>,
}

/// Where a connection came from.
enum Source<DB: Database> {
    /// sqlx's pool (SQLite).
    Pool(PoolConnection<DB>),
    /// The store's own (PostgreSQL).
    Own(Held<DB>),
}

/// A connection to run statements on; a writer's on SQLite also holds the
/// store's write turn. Dropping it gives both back. On PostgreSQL the
/// connection goes back only if its last use completed (`conns.rs`): the
/// statement methods here say so themselves, and code that runs a
/// transaction on it calls [`Conn::done`] after the commit. A connection
/// whose use was cut short is closed instead.
pub(crate) struct Conn<'a, DB: Database> {
    source: Source<DB>,
    _turn: Option<tokio::sync::MutexGuard<'a, ()>>,
}

impl<DB: Database> Conn<'_, DB> {
    /// The connection, for a use that is not done until said so.
    fn raw(&mut self) -> &mut DB::Connection {
        match &mut self.source {
            Source::Pool(c) => c,
            Source::Own(c) => c,
        }
    }

    /// Begins a transaction. Call [`Self::done`] after its commit, or the
    /// connection is closed rather than given back (PostgreSQL).
    pub(crate) async fn transaction(&mut self) -> Result<sqlx::Transaction<'_, DB>, StoreError> {
        sqlx::Connection::begin(self.raw()).await.map_err(err)
    }

    /// The transaction or statements run on this connection completed
    /// (committed, or answered by the database): it may be handed out again.
    pub(crate) fn done(&mut self) {
        if let Source::Own(held) = &mut self.source {
            held.done();
        }
    }

    fn settle<T>(&mut self, result: Result<T, sqlx::Error>) -> Result<T, sqlx::Error> {
        match &result {
            Ok(_) => self.done(),
            Err(e) if crate::conns::usable_after(e) => self.done(),
            Err(_) => {}
        }
        result
    }
}

/// Ends a transaction by what its statements gave: commits after success;
/// after a refusal rolls back and answers the refusal. `Err` only when the
/// commit or rollback itself failed; otherwise the connection is in step
/// and its [`Conn::done`] may be said, so a refused statement (a taken
/// email, say) does not cost the connection (`conns.rs`).
pub(crate) async fn end<DB: Database, T>(
    tx: sqlx::Transaction<'_, DB>,
    written: Result<T, StoreError>,
) -> Result<Result<T, StoreError>, StoreError> {
    match written {
        Ok(value) => tx.commit().await.map_err(err).map(|()| Ok(value)),
        Err(refused) => tx.rollback().await.map_err(err).map(|()| Err(refused)),
    }
}

// The bound names no outside type.
#[allow(private_bounds)]
impl<DB: SqlDb> Conn<'_, DB> {
    /// Runs a statement; how many rows it changed.
    pub(crate) async fn execute(&mut self, stmt: Stmt<'_, DB>) -> Result<u64, StoreError> {
        let (query, error) = stmt.split();
        let result = DB::execute(query, self.raw()).await;
        self.settle(result).map_err(error)
    }
    pub(crate) async fn fetch_optional(
        &mut self,
        stmt: Stmt<'_, DB>,
    ) -> Result<Option<DB::Row>, StoreError> {
        let (query, error) = stmt.split();
        let result = DB::fetch_optional(query, self.raw()).await;
        self.settle(result).map_err(error)
    }
    pub(crate) async fn fetch_all(
        &mut self,
        stmt: Stmt<'_, DB>,
    ) -> Result<Vec<DB::Row>, StoreError> {
        let (query, error) = stmt.split();
        let result = DB::fetch_all(query, self.raw()).await;
        self.settle(result).map_err(error)
    }
}

/// How long a write waits for its turn (SQLite; see [`SqlStore::writer`]).
const WRITE_TURN_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pooled connection may sit idle and still be handed out
/// without a check. sqlx's default checks every connection it hands out (a
/// `ping`, one round trip to the database and back) before the statement
/// that needed it: under load that is a second round trip per request,
/// about as dear as the statement itself (docs/performance.md). Instead a
/// connection is checked only after a quiet spell, when a database restart,
/// a dropped link or a firewall's idle timeout may have ended it unseen; a
/// connection that breaks while in use fails its statement, which is a 503
/// (fail closed) and takes the connection out of the pool.
pub const CHECK_WHEN_IDLE_FOR: Duration = Duration::from_secs(1);

/// The pools' `before_acquire`: pings a connection that has been idle for
/// [`CHECK_WHEN_IDLE_FOR`] or longer; one that fails the ping is closed and
/// the pool opens another in its place.
#[expect(
    clippy::needless_pass_by_value,
    reason = "sqlx's before_acquire signature"
)]
pub(crate) fn check_when_idle<C: sqlx::Connection>(
    conn: &mut C,
    meta: sqlx::pool::PoolConnectionMetadata,
) -> futures_util::future::BoxFuture<'_, Result<bool, sqlx::Error>> {
    Box::pin(async move {
        if meta.idle_for >= CHECK_WHEN_IDLE_FOR {
            conn.ping().await?;
        }
        Ok(true)
    })
}

impl<DB: Database> SqlStore<DB> {
    /// A connection to read with.
    pub(crate) async fn reader(&self) -> Result<Conn<'_, DB>, StoreError> {
        Ok(Conn {
            source: self.source().await?,
            _turn: None,
        })
    }

    async fn source(&self) -> Result<Source<DB>, StoreError> {
        Ok(match &self.own {
            Some(own) => Source::Own(own.acquire().await?),
            None => Source::Pool(self.pool.acquire().await.map_err(err)?),
        })
    }

    /// The write turn (SQLite), then a connection to write with. Waiting
    /// for the turn is bounded like SQLite's own busy wait (5 s): a write
    /// stuck behind a long one fails as unavailable rather than queueing
    /// forever. PostgreSQL queues writers itself, row by row.
    pub(crate) async fn writer(&self) -> Result<Conn<'_, DB>, StoreError> {
        let turn = match &self.writes {
            Some(writes) => Some(
                tokio::time::timeout(WRITE_TURN_TIMEOUT, writes.lock())
                    .await
                    .map_err(|_| {
                        StoreError::Unavailable("sqlite: no write turn within 5 s".into())
                    })?,
            ),
            None => None,
        };
        Ok(Conn {
            source: self.source().await?,
            _turn: turn,
        })
    }

    /// PostgreSQL: how many connections the store's statements opened so
    /// far, and the most they held at once (see `conns.rs`).
    #[cfg(feature = "testing")]
    pub fn connection_counts(&self) -> Option<(u64, u64)> {
        self.own.as_ref().map(|own| own.counts())
    }

    pub async fn close(&self) {
        // First, so that no direct read outlives the pool's close: a closed
        // direct read answers busy, and the closed pool then unavailable.
        if let Some(direct) = &self.direct {
            direct.close();
        }
        if let Some(own) = &self.own {
            own.close().await;
        }
        self.pool.close().await;
    }
}

// Every method here is crate-private: the bound names no outside type.
#[allow(private_bounds)]
impl<DB: SqlDb> SqlStore<DB> {
    /// Runs a write in its turn; how many rows it changed.
    pub(crate) async fn write(&self, stmt: Stmt<'_, DB>) -> Result<u64, StoreError> {
        self.writer().await?.execute(stmt).await
    }

    /// Runs a write meant for one row; whether it changed one.
    pub(crate) async fn write_one(&self, stmt: Stmt<'_, DB>) -> Result<bool, StoreError> {
        Ok(self.write(stmt).await? == 1)
    }

    /// Runs a read of at most one row, decoded with `decode`.
    pub(crate) async fn read_one<T>(
        &self,
        stmt: Stmt<'_, DB>,
        decode: fn(&DB::Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        let row = self.reader().await?.fetch_optional(stmt).await?;
        row.as_ref().map(decode).transpose()
    }

    /// Runs a read, each row decoded with `decode`.
    pub(crate) async fn read_all<T>(
        &self,
        stmt: Stmt<'_, DB>,
        decode: fn(&DB::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let rows = self.reader().await?.fetch_all(stmt).await?;
        rows.iter().map(decode).collect()
    }
}

impl<DB: Database> Clone for SqlStore<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            own: self.own.clone(),
            writes: self.writes.clone(),
            direct: self.direct.clone(),
        }
    }
}
