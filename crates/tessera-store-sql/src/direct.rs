//! SQLite's whoami read on the calling thread.
//!
//! sqlx runs every SQLite statement on its connection's worker thread and
//! hands rows back over channels: a whoami paid two thread switches, the
//! channel and sqlx's statement handling around a lookup that SQLite itself
//! answers in a few microseconds (docs/performance.md has the counts). The
//! session lookup runs here instead, with rusqlite on the same file, on the
//! thread that asks: a few connections kept idle with their statement
//! prepared, each read its own autocommit transaction, so it sees every
//! write committed before it, by this process or another one (the
//! `tessera user` commands). Nothing is cached but the prepared statement.
//!
//! A read in WAL mode does not wait for writers. The rare case where it
//! would (SQLite busy: a checkpoint resetting the log, recovery) is not
//! waited out on the caller's thread: the connections have no busy
//! timeout, and the caller falls back to the pool's read (sqlx, which waits
//! up to 5 s on its own thread).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};
use tessera_core::mfa::Amr;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::StoreError;
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};

use crate::codec::{from_ts, roles_from_json, uuid};

/// The columns [`session_from`] reads, in its order.
const FIND_SESSION: &str = "SELECT id, token_hash, user_id, user_email, user_name, user_email_verified, \
     user_roles, user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, \
     user_agent, ip, amr FROM sessions WHERE token_hash = ?1";

/// Idle connections to one SQLite file, for reads on the calling thread.
#[derive(Debug)]
pub(crate) struct DirectReads {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    /// How many idle connections are kept (one per thread that reads at once).
    keep: usize,
}

/// What a direct read answered.
pub(crate) enum Direct<T> {
    Read(T),
    /// SQLite was busy (or no connection could be opened): read through the
    /// pool instead.
    Busy,
}

impl DirectReads {
    pub(crate) fn new(path: &Path, keep: usize) -> Self {
        Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::with_capacity(keep)),
            keep,
        }
    }

    fn open(&self) -> rusqlite::Result<Connection> {
        // Read-write so that WAL's shared memory can be set up as any
        // reader needs; `query_only` refuses every write through it.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::ZERO)?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// Runs `read` on an idle connection (opening one if none is idle).
    fn with<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<Direct<T>, StoreError> {
        let idle = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match idle {
            Some(conn) => conn,
            None => match self.open() {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::debug!(error = %e, "sqlite: no direct read connection");
                    return Ok(Direct::Busy);
                }
            },
        };
        let answer = read(&conn);
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.keep
        {
            idle.push(conn);
        }
        match answer {
            Err(StoreError::Unavailable(_)) => Ok(Direct::Busy),
            other => other.map(Direct::Read),
        }
    }

    /// The session whose token hashes to `hash`.
    pub(crate) fn find_session(
        &self,
        hash: &TokenHash,
    ) -> Result<Direct<Option<Session>>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn.prepare_cached(FIND_SESSION).map_err(|e| error(&e))?;
            let mut rows = stmt.query([&hash.0[..]]).map_err(|e| error(&e))?;
            match rows.next().map_err(|e| error(&e))? {
                Some(row) => session_from(row).map(Some),
                None => Ok(None),
            }
        })
    }
}

/// Busy or locked is [`StoreError::Unavailable`] (the caller reads through
/// the pool instead); anything else is a backend error.
fn error(e: &rusqlite::Error) -> StoreError {
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
    }
}

fn column<'r>(row: &'r Row<'_>, i: usize) -> Result<ValueRef<'r>, StoreError> {
    row.get_ref(i).map_err(|e| error(&e))
}

fn bad(i: usize, e: &rusqlite::types::FromSqlError) -> StoreError {
    StoreError::Backend(format!("sessions column {i}: {e}"))
}

fn text<'r>(row: &'r Row<'_>, i: usize) -> Result<&'r str, StoreError> {
    column(row, i)?.as_str().map_err(|e| bad(i, &e))
}

fn opt_text(row: &Row<'_>, i: usize) -> Result<Option<String>, StoreError> {
    Ok(column(row, i)?
        .as_str_or_null()
        .map_err(|e| bad(i, &e))?
        .map(str::to_owned))
}

fn int(row: &Row<'_>, i: usize) -> Result<i64, StoreError> {
    column(row, i)?.as_i64().map_err(|e| bad(i, &e))
}

fn time(row: &Row<'_>, i: usize) -> Result<time::OffsetDateTime, StoreError> {
    from_ts(int(row, i)?)
}

/// A session from the columns of [`FIND_SESSION`]; the same values as the
/// pool's `session_from_row` (`sessions.rs`), which a test holds it to.
fn session_from(row: &Row<'_>) -> Result<Session, StoreError> {
    let hash = column(row, 1)?.as_blob().map_err(|e| bad(1, &e))?;
    Ok(Session {
        id: SessionId(uuid(text(row, 0)?)?),
        token_hash: TokenHash::from_slice(hash)
            .ok_or_else(|| StoreError::Backend("bad hash in token_hash".into()))?,
        user: User {
            id: UserId(uuid(text(row, 2)?)?),
            email: text(row, 3)?.to_owned(),
            name: opt_text(row, 4)?,
            email_verified: int(row, 5)? != 0,
            roles: roles_from_json(text(row, 6)?)?,
            created_at: time(row, 7)?,
        },
        created_at: time(row, 8)?,
        last_seen_at: time(row, 9)?,
        idle_expires_at: time(row, 10)?,
        absolute_expires_at: time(row, 11)?,
        user_agent: opt_text(row, 12)?,
        ip: opt_text(row, 13)?,
        amr: Amr::parse_field(text(row, 14)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SqliteStore;
    use crate::db::Stmt;
    use tessera_core::session::SessionPolicy;
    use tessera_core::store::SessionStore;
    use time::OffsetDateTime;

    async fn store(path: &Path) -> SqliteStore {
        let store = SqliteStore::open(path).await.unwrap();
        store.migrate().await.unwrap();
        store
    }

    fn session(email: &str, agent: Option<&str>) -> Session {
        let now = tessera_core::clock::whole_seconds(OffsetDateTime::now_utc());
        let mut user = tessera_store::conformance::sample_user(email, now).user;
        user.roles = vec!["admin".into(), "quote\"s and ünïcode".into()];
        let token = tessera_core::SessionToken::generate();
        let mut s = SessionPolicy::default().start(user, token.hash(), now, agent, None);
        s.amr = Amr::parse_field("pwd otp mfa");
        s
    }

    /// The direct read decodes a row exactly as the pool's read does.
    #[tokio::test]
    async fn the_direct_read_is_the_pools_read() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir.path().join("tessera.db")).await;
        assert!(store.direct.is_some(), "a file store reads directly");
        for (email, agent) in [
            ("a@example.com", Some("Firefox ü")),
            ("b@example.com", None),
        ] {
            let mut s = session(email, agent);
            if agent.is_none() {
                s.user.name = None;
                s.user.roles.clear();
                s.amr = Amr::default();
            }
            store.insert_session(&s).await.unwrap();
            let Direct::Read(direct) = store
                .direct
                .as_ref()
                .unwrap()
                .find_session(&s.token_hash)
                .unwrap()
            else {
                panic!("not busy")
            };
            let sql = "SELECT id, token_hash, user_id, user_email, user_name, user_email_verified, user_roles, \
                 user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, user_agent, ip, amr \
                 FROM sessions WHERE token_hash = $1";
            let pooled = store
                .read_one(
                    Stmt::new(sql).hash(&s.token_hash),
                    crate::sessions::session_from_row::<sqlx::Sqlite>,
                )
                .await
                .unwrap();
            assert_eq!(direct.as_ref(), Some(&s));
            assert_eq!(direct, pooled);
        }
        let unknown = tessera_core::SessionToken::generate().hash();
        assert!(matches!(
            store
                .direct
                .as_ref()
                .unwrap()
                .find_session(&unknown)
                .unwrap(),
            Direct::Read(None)
        ));
    }

    /// Another store on the same file (its own pool: as another process
    /// would write) ends a session, changes its user's snapshot: the very
    /// next read of the first store sees it, with its connection and
    /// statement kept from the read before.
    #[tokio::test]
    async fn writes_by_another_connection_are_seen_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let serving = store(&path).await;
        let other = SqliteStore::open(&path).await.unwrap();
        let s = session("seen@example.com", None);
        serving.insert_session(&s).await.unwrap();
        for _ in 0..3 {
            assert_eq!(
                serving.find_session(&s.token_hash).await.unwrap().as_ref(),
                Some(&s)
            );
        }
        let mut renamed = s.user.clone();
        renamed.roles = vec!["support".into()];
        assert_eq!(other.update_user_snapshot(&renamed).await.unwrap(), 1);
        assert_eq!(
            serving
                .find_session(&s.token_hash)
                .await
                .unwrap()
                .unwrap()
                .user
                .roles,
            ["support"]
        );
        assert_eq!(
            other.delete_user_sessions(s.user.id, None).await.unwrap(),
            1
        );
        assert_eq!(serving.find_session(&s.token_hash).await.unwrap(), None);
    }

    /// A closed store answers unavailable, as its pool does: the direct
    /// read does not outlive it.
    #[tokio::test]
    async fn a_closed_store_reads_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir.path().join("tessera.db")).await;
        let s = session("closed@example.com", None);
        store.insert_session(&s).await.unwrap();
        assert!(store.find_session(&s.token_hash).await.unwrap().is_some());
        store.close().await;
        assert!(matches!(
            store.find_session(&s.token_hash).await,
            Err(StoreError::Unavailable(_))
        ));
    }

    /// A read that SQLite would make wait does not wait on the caller's
    /// thread: it is busy at once, and the store reads through the pool
    /// instead (which waits on its own thread, and gets the row once the
    /// lock is gone). A WAL reader waits only in rare moments (recovery, a
    /// log reset), so this file keeps a rollback journal instead,
    /// where another connection's exclusive lock blocks readers.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_direct_read_falls_back_to_the_pool() {
        use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Delete)
            .busy_timeout(std::time::Duration::from_secs(5));
        let store = SqliteStore {
            pool: SqlitePoolOptions::new()
                .connect_with(options)
                .await
                .unwrap(),
            own: None,
            writes: Some(std::sync::Arc::default()),
            direct: Some(std::sync::Arc::new(DirectReads::new(&path, 2))),
        };
        store.migrate().await.unwrap();
        let s = session("busy@example.com", None);
        store.insert_session(&s).await.unwrap();
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn({
            let path = path.clone();
            move || {
                let conn = Connection::open(&path).unwrap();
                conn.execute_batch("BEGIN EXCLUSIVE; UPDATE sessions SET ip = ip;")
                    .unwrap();
                locked.send(()).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(300));
                conn.execute_batch("COMMIT").unwrap();
            }
        });
        is_locked.recv().unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(
            store
                .direct
                .as_ref()
                .unwrap()
                .find_session(&s.token_hash)
                .unwrap(),
            Direct::Busy
        ));
        assert!(
            started.elapsed() < std::time::Duration::from_millis(100),
            "no wait on this thread"
        );
        assert_eq!(store.find_session(&s.token_hash).await.unwrap(), Some(s));
        holder.join().unwrap();
    }
}
