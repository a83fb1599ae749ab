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
//! `tessera user` commands). On a file in WAL mode the rows it found are
//! kept while the file is unchanged (`walcache.rs`: one `pread` of the WAL
//! index header per read decides).
//!
//! A read in WAL mode does not wait for writers. The rare case where it
//! would (SQLite busy: a checkpoint resetting the log, recovery) is not
//! waited out on the caller's thread: the connections have no busy
//! timeout, and the caller falls back to the pool's read (sqlx, which waits
//! up to 5 s on its own thread).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, OpenFlags, Row};
use tessera_core::mfa::Amr;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::StoreError;
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};

use crate::codec::{from_ts, roles_from_json, uuid};
use crate::walcache::{Lookup, WalCache};

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
    /// Held open while the cache is in use: the `-shm` file the cache reads
    /// is then the one SQLite keeps (see `walcache.rs`).
    anchor: Mutex<Option<Connection>>,
    pub(crate) cache: Option<WalCache>,
    /// Set by [`DirectReads::close`]: nothing more is read or kept here.
    closed: AtomicBool,
    /// A statement another connection runs between a read and its
    /// keeping (a commit in that window, for a test).
    #[cfg(test)]
    pub(crate) after_read: Mutex<Option<String>>,
}

/// What a direct read answered.
pub(crate) enum Direct<T> {
    Read(T),
    /// SQLite was busy, no connection could be opened, or the reads are
    /// closed: read through the pool instead.
    Busy,
}

impl DirectReads {
    pub(crate) fn new(path: &Path, keep: usize) -> Self {
        let mut reads = Self {
            path: path.to_owned(),
            idle: Mutex::new(Vec::with_capacity(keep)),
            keep,
            anchor: Mutex::new(None),
            cache: None,
            closed: AtomicBool::new(false),
            #[cfg(test)]
            after_read: Mutex::new(None),
        };
        // `pread` sees SQLite's writes through its mapping at once only
        // where the two share one page cache, as on Linux.
        if !cfg!(target_os = "linux") {
            return reads;
        }
        match reads.anchor() {
            Ok(Some((anchor, cache))) => {
                reads.anchor = Mutex::new(Some(anchor));
                reads.cache = Some(cache);
            }
            Ok(None) => tracing::debug!("sqlite: not in WAL mode, no read cache"),
            Err(e) => tracing::warn!(error = %e, "sqlite: no read cache"),
        }
        reads
    }

    /// A connection that has read the file (so its WAL index is mapped and
    /// the `-shm` file exists), and the cache over that file; none unless
    /// the file is in WAL mode.
    fn anchor(&self) -> Result<Option<(Connection, WalCache)>, Box<dyn std::error::Error>> {
        let conn = self.open()?;
        let mode: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Ok(None);
        }
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))?;
        let cache = WalCache::open(&self.path)?;
        Ok(Some((conn, cache)))
    }

    /// Closes every connection; every read after it answers busy (the
    /// store then asks its pool, closed too: unavailable).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        if let Some(cache) = &self.cache {
            cache.clear();
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
        if let Ok(mut anchor) = self.anchor.lock() {
            anchor.take();
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
            && !self.closed.load(Ordering::SeqCst)
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
        if self.closed.load(Ordering::SeqCst) {
            return Ok(Direct::Busy);
        }
        let before = match self.cache.as_ref().map(|cache| cache.find(hash)) {
            Some(Lookup::Hit(session)) => return Ok(Direct::Read(Some(session))),
            Some(Lookup::Miss(header)) => Some(header),
            Some(Lookup::Unknown) | None => None,
        };
        let read = self.with(|conn| {
            let mut stmt = conn.prepare_cached(FIND_SESSION).map_err(|e| error(&e))?;
            let mut rows = stmt.query([&hash.0[..]]).map_err(|e| error(&e))?;
            match rows.next().map_err(|e| error(&e))? {
                Some(row) => session_from(row).map(Some),
                None => Ok(None),
            }
        })?;
        #[cfg(test)]
        if let Some(sql) = self.after_read.lock().unwrap().take() {
            Connection::open(&self.path)
                .and_then(|c| c.execute_batch(&sql))
                .unwrap();
        }
        if let (Some(cache), Some(before), Direct::Read(Some(session))) =
            (&self.cache, before, &read)
        {
            cache.keep(before, session);
        }
        Ok(read)
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
        assert_eq!(
            hits(&serving),
            2,
            "the reads after the first were kept rows"
        );
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

    fn hits(store: &SqliteStore) -> u64 {
        let cache = store.direct.as_ref().unwrap().cache.as_ref();
        cache
            .expect("a file in WAL mode has a read cache")
            .hits
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn kept(store: &SqliteStore) -> usize {
        store.direct.as_ref().unwrap().cache.as_ref().unwrap().len()
    }

    /// A found session is kept and served again while nothing is written;
    /// any commit to the file, by this store or another connection, even
    /// one that touches another row, clears every kept row: the next read
    /// is SQLite's again.
    #[tokio::test]
    async fn kept_rows_are_served_only_until_the_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let serving = store(&path).await;
        let other = SqliteStore::open(&path).await.unwrap();
        let s = session("kept@example.com", Some("Kept"));
        serving.insert_session(&s).await.unwrap();
        let read = || async { serving.find_session(&s.token_hash).await.unwrap() };
        assert_eq!(read().await.as_ref(), Some(&s));
        assert_eq!((hits(&serving), kept(&serving)), (0, 1));
        assert_eq!(read().await.as_ref(), Some(&s));
        assert_eq!(hits(&serving), 1);

        // Another session, written by the other connection.
        other
            .insert_session(&session("unrelated@example.com", None))
            .await
            .unwrap();
        assert_eq!(read().await.as_ref(), Some(&s));
        assert_eq!(
            hits(&serving),
            1,
            "a commit elsewhere in the file clears the rows"
        );
        assert_eq!(read().await.as_ref(), Some(&s));
        assert_eq!(hits(&serving), 2);

        // This store's own write (a touch) clears them too, and the read
        // after it has the new expiry.
        let later = s.last_seen_at + time::Duration::minutes(5);
        assert!(
            serving
                .touch_session(&s, later, s.idle_expires_at + time::Duration::minutes(5))
                .await
                .unwrap()
        );
        assert_eq!(read().await.unwrap().last_seen_at, later);
        assert_eq!(hits(&serving), 2);

        // An unknown token is never kept (random tokens cannot fill it).
        let unknown = tessera_core::SessionToken::generate().hash();
        for _ in 0..3 {
            assert_eq!(serving.find_session(&unknown).await.unwrap(), None);
        }
        assert_eq!(kept(&serving), 1);
        assert_eq!(hits(&serving), 2);

        // Ended by the other connection: never served again.
        assert_eq!(read().await.as_ref().map(|x| x.id), Some(s.id));
        assert_eq!(hits(&serving), 3);
        assert!(other.delete_user_session(s.user.id, s.id).await.unwrap());
        assert_eq!(read().await, None);
        assert_eq!(kept(&serving), 0);
    }

    /// The writer of `a_write_by_another_process_clears_the_kept_rows`, run
    /// by it as a second process (this test binary again): one statement on
    /// the file, through SQLite's own connection.
    #[test]
    #[ignore = "run by another test as a second process"]
    fn second_process_writes() {
        // Run without its parent (`--include-ignored`): nothing to write.
        let (Some(path), Ok(sql)) = (
            std::env::var_os("TESSERA_TEST_WRITER_DB"),
            std::env::var("TESSERA_TEST_WRITER_SQL"),
        ) else {
            return;
        };
        let conn = Connection::open(path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .unwrap();
        assert_eq!(conn.execute(&sql, []).unwrap(), 1, "{sql}");
    }

    /// A session this store has just served from its kept rows is ended,
    /// or its user's snapshot changed, by another process writing the file
    /// (as `tessera user disable` does): the very next read sees it.
    #[tokio::test]
    async fn a_write_by_another_process_clears_the_kept_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.db");
        let serving = store(&path).await;
        let s = session("process@example.com", None);
        serving.insert_session(&s).await.unwrap();
        let write = |sql: String| {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--ignored",
                    "--exact",
                    "direct::tests::second_process_writes",
                    "--nocapture",
                ])
                .env("TESSERA_TEST_WRITER_DB", &path)
                .env("TESSERA_TEST_WRITER_SQL", sql)
                .output()
                .unwrap();
            assert!(
                out.status.success() && String::from_utf8_lossy(&out.stdout).contains("1 passed"),
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let id = s.id.0.to_string();
        for _ in 0..3 {
            assert!(serving.find_session(&s.token_hash).await.unwrap().is_some());
        }
        assert_eq!(hits(&serving), 2);
        write(format!(
            "UPDATE sessions SET user_roles = '[\"suspended\"]' WHERE id = '{id}'"
        ));
        let read = serving.find_session(&s.token_hash).await.unwrap().unwrap();
        assert_eq!(read.user.roles, ["suspended"]);
        assert_eq!(hits(&serving), 2);
        assert!(serving.find_session(&s.token_hash).await.unwrap().is_some());
        assert_eq!(hits(&serving), 3);
        write(format!("DELETE FROM sessions WHERE id = '{id}'"));
        assert_eq!(serving.find_session(&s.token_hash).await.unwrap(), None);
    }

    /// The kept rows are bounded: past [`CAPACITY`] nothing more is kept,
    /// and the sessions beyond it are still read, from the file.
    #[tokio::test]
    async fn the_kept_rows_are_bounded() {
        use crate::walcache::CAPACITY;
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir.path().join("tessera.db")).await;
        let template = session("many@example.com", None);
        store.insert_session(&template).await.unwrap();
        let hashes: Vec<_> = (0..CAPACITY + 10)
            .map(|_| tessera_core::SessionToken::generate().hash())
            .collect();
        // Copies of one row with their own id and hash, in one transaction
        // (a commit per row would take seconds).
        let mut tx = store.pool.begin().await.unwrap();
        for hash in &hashes {
            sqlx::query(
                "INSERT INTO sessions (id, token_hash, user_id, user_email, user_name, \
                 user_email_verified, user_roles, user_created_at, created_at, last_seen_at, \
                 idle_expires_at, absolute_expires_at, user_agent, ip, amr) \
                 SELECT ?, ?, user_id, user_email, user_name, user_email_verified, user_roles, \
                 user_created_at, created_at, last_seen_at, idle_expires_at, absolute_expires_at, \
                 user_agent, ip, amr FROM sessions WHERE id = ?",
            )
            .bind(uuid::Uuid::new_v4().to_string())
            .bind(&hash.0[..])
            .bind(template.id.0.to_string())
            .execute(&mut *tx)
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
        for round in 0..2 {
            for hash in &hashes {
                let found = store.find_session(hash).await.unwrap().unwrap();
                assert_eq!(&found.token_hash, hash);
                assert_eq!(found.user, template.user);
            }
            assert_eq!(kept(&store), CAPACITY);
            assert_eq!(hits(&store), round * CAPACITY as u64);
        }
        // A full cache is emptied by the next write.
        store
            .insert_session(&session("next@example.com", None))
            .await
            .unwrap();
        assert!(store.find_session(&hashes[0]).await.unwrap().is_some());
        assert_eq!(kept(&store), 1);
    }

    /// A read that a commit follows before the row is kept: the row is kept
    /// under the header read before the read, which the commit changed, so
    /// the next read is the file's (here: the session is gone).
    #[tokio::test]
    async fn a_row_followed_by_a_commit_before_it_is_kept_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir.path().join("tessera.db")).await;
        let s = session("window@example.com", None);
        store.insert_session(&s).await.unwrap();
        let direct = store.direct.as_ref().unwrap();
        *direct.after_read.lock().unwrap() =
            Some(format!("DELETE FROM sessions WHERE id = '{}'", s.id.0));
        assert!(store.find_session(&s.token_hash).await.unwrap().is_some());
        assert_eq!(kept(&store), 1);
        assert_eq!(store.find_session(&s.token_hash).await.unwrap(), None);
    }

    /// Closing the store forgets the kept rows and keeps no connection.
    #[tokio::test]
    async fn closing_forgets_the_kept_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir.path().join("tessera.db")).await;
        let s = session("close@example.com", None);
        store.insert_session(&s).await.unwrap();
        for _ in 0..2 {
            assert!(store.find_session(&s.token_hash).await.unwrap().is_some());
        }
        assert_eq!((kept(&store), hits(&store)), (1, 1));
        store.close().await;
        assert_eq!(kept(&store), 0);
        let direct = store.direct.as_ref().unwrap();
        assert!(matches!(
            direct.find_session(&s.token_hash).unwrap(),
            Direct::Busy
        ));
        assert!(direct.idle.lock().unwrap().is_empty());
        assert!(direct.anchor.lock().unwrap().is_none());
    }
}
