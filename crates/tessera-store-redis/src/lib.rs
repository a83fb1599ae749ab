//! Sessions and rate-limit counters in Redis or a Redis Cluster.
//!
//! Key layout (`tessera:` is the default prefix):
//!
//! | key | type | holds | expires |
//! | --- | --- | --- | --- |
//! | `tessera:s:<sha256(token) hex>` | string (see [`record`]; a hash if written by an earlier version) | one session with its user snapshot | at the session's expiry (`PXAT`, the earlier of idle and absolute) |
//! | `tessera:u:<user id>` | hash | the user's index: session id → its token hash (two, space-separated, the new first, while a password change rotates it) | at the latest absolute expiry of its sessions |
//! | `tessera:rl:<counter>` | hash | `h` hits, `r` window end (Unix seconds) | when the window ends |
//! | `tessera:c:<sha256(challenge) hex>` | string: expiry (Unix ms, 8 bytes big-endian), then the value | a sign-in challenge or passkey ceremony | at its expiry (`PXAT`) |
//!
//! Every command and script touches one key, so nothing needs two keys in
//! one slot and the layout works unchanged on a cluster. Whoami is one
//! `GET` by token hash (under load, the `GET`s of concurrent requests go
//! out as one pipeline, `batch.rs`); a due renewal is one more single-key
//! script.
//! Redis expires dead sessions itself; index entries whose session is gone
//! are pruned when the index is read. Steps that span two keys (insert,
//! rotate, revoke) are ordered so that at every moment the index names
//! every live session key whose token someone holds: a failure, a crash or
//! a race in between leaves at worst a stale entry or a key whose token
//! nobody holds. Index entries change only by compare-and-set, so a
//! revocation that races a rotation of the same session always wins (it
//! follows the entry to the new token), and a list prunes only an entry
//! that still names what it found dead. Rotation and revocation run on
//! their own task, so a request dropped halfway does not stop them between
//! their steps.

mod batch;
mod conn;
mod record;
mod scripts;
#[cfg(feature = "testing")]
pub mod testing;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::{join_all, try_join_all};
use redis::AsyncCommands;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::{ChallengeStore, Count, RateLimitStore, SessionStore, StoreError};
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};
use time::OffsetDateTime;

pub use conn::RedisSettings;
use conn::{Conn, Connector};

#[derive(Debug, Clone)]
pub struct RedisStore {
    connector: Connector,
    prefix: String,
    op_timeout: Duration,
    step_hook: Option<StepHook>,
    /// Session reads of concurrent requests, gathered (single-node Redis;
    /// started on first use).
    gather: std::sync::Arc<std::sync::OnceLock<batch::Gather>>,
}

fn backend(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(what.to_string())
}

/// Test-only pause points (see [`RedisStore::with_step_hook`]).
#[derive(Clone)]
struct StepHook(std::sync::Arc<dyn Fn(&'static str) -> Paused + Send + Sync>);

type Paused = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

impl std::fmt::Debug for StepHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StepHook")
    }
}

/// A sign-in that brings its user's index to a multiple of this many
/// entries prunes the index (see [`RedisStore::insert_session`]).
const PRUNE_EVERY: i64 = 64;

/// How often a revocation or a snapshot update follows an index entry
/// that moved under it before it gives up (503). Each move is one step of a
/// password change, so this is never reached by honest traffic.
const ROUNDS: usize = 8;

/// The token hashes an index entry names: one, or two while a rotation
/// is under way (the new one first). Anything else in it is ignored.
fn named(entry: &str) -> Vec<TokenHash> {
    entry.split(' ').filter_map(TokenHash::from_hex).collect()
}

/// What [`RedisStore::entry_set`] found.
enum Entry {
    /// It read as expected and now holds the new value.
    Set,
    /// It changed meanwhile: what it holds now (`None`: no entry).
    Moved(Option<String>),
}

fn ms(t: OffsetDateTime) -> i64 {
    t.unix_timestamp().saturating_mul(1000)
}

impl RedisStore {
    /// `redis://host:port[/db]`, `rediss://…`, or
    /// `redis+cluster://host1:port,host2:port,…`. Connects lazily: the server
    /// starts (and answers 503) while Redis is down, and reconnects alone.
    pub fn open(url: &str, settings: &RedisSettings) -> Result<Self, StoreError> {
        Ok(Self {
            op_timeout: settings.op_timeout,
            prefix: settings.key_prefix.clone(),
            connector: Connector::open(url, settings)?,
            step_hook: None,
            gather: std::sync::Arc::default(),
        })
    }

    /// For tests only: `hook` runs between the steps of an operation that
    /// spans two keys, so a test can run another operation there:
    /// `inserted` (a new session's key is written, its index entry not
    /// yet), `rotate:written` (the rotated key is written),
    /// `rotate:moved` (the entry names both tokens), `rotate:taken` (the
    /// old key is deleted), `end:read` (a revocation read the entry, before
    /// it deletes what it names), `list:indexed` (a list read the index,
    /// not the sessions yet), `snapshot:indexed` (a snapshot update read
    /// the index, before it writes).
    #[doc(hidden)]
    #[must_use]
    pub fn with_step_hook<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(&'static str) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.step_hook = Some(StepHook(std::sync::Arc::new(move |point| {
            Box::pin(hook(point))
        })));
        self
    }

    async fn pause(&self, point: &'static str) {
        if let Some(hook) = &self.step_hook {
            (hook.0)(point).await;
        }
    }

    async fn conn(&self) -> Result<Conn, StoreError> {
        tokio::time::timeout(self.op_timeout, self.connector.get())
            .await
            .map_err(|_| StoreError::Unavailable("redis: connect timed out".into()))?
    }

    /// Runs one operation under the store's timeout: a hung Redis is a
    /// quick 503, never a hung request.
    async fn run<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        self.attempt(op).await?.map_err(|e| conn::store_error(&e))
    }

    /// [`Self::run`], leaving Redis's own answer to the caller.
    async fn attempt<T, F, Fut>(&self, op: F) -> Result<redis::RedisResult<T>, StoreError>
    where
        F: FnOnce(Conn) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let conn = self.conn().await?;
        tokio::time::timeout(self.op_timeout, op(conn))
            .await
            .map_err(|_| StoreError::Unavailable("redis: timed out".into()))
    }

    /// The Redis server's clock, in Unix seconds (for `tessera doctor`).
    pub async fn server_time(&self) -> Result<i64, StoreError> {
        let (secs, _micros): (i64, i64) = self
            .run(|mut c| async move { redis::cmd("TIME").query_async(&mut c).await })
            .await?;
        Ok(secs)
    }

    /// The Redis server's version and `maxmemory-policy`, read from `INFO`
    /// (for `tessera doctor`; `CONFIG` is often disabled on managed Redis).
    pub async fn server_facts(&self) -> Result<(String, String), StoreError> {
        let info: String = self
            .run(|mut c| async move {
                redis::cmd("INFO")
                    .arg("server")
                    .arg("memory")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(|v| v.trim().to_owned())
                .unwrap_or_default()
        };
        Ok((field("redis_version"), field("maxmemory_policy")))
    }

    fn session_key(&self, hash: &TokenHash) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 66);
        key.push_str(&self.prefix);
        key.push_str("s:");
        hash.push_hex(&mut key);
        key
    }

    fn index_key(&self, user: UserId) -> String {
        format!("{}u:{}", self.prefix, user)
    }

    fn challenge_key(&self, hash: &TokenHash) -> String {
        let mut key = String::with_capacity(self.prefix.len() + 66);
        key.push_str(&self.prefix);
        key.push_str("c:");
        hash.push_hex(&mut key);
        key
    }

    fn counter_key(&self, key: &str) -> String {
        format!("{}rl:{}", self.prefix, key)
    }

    /// Replaces the session's value (of any type) and sets its expiry: one
    /// `SET … PXAT`.
    async fn write_session(&self, s: &Session) -> Result<(), StoreError> {
        self.write_value(s, record::encode(s)).await
    }

    /// [`Self::write_session`] with the value already encoded.
    async fn write_value(&self, s: &Session, value: Vec<u8>) -> Result<(), StoreError> {
        let key = self.session_key(&s.token_hash);
        let expire = ms(s.expires_at());
        self.run(|mut c| async move {
            redis::cmd("SET")
                .arg(key)
                .arg(value)
                .arg("PXAT")
                .arg(expire)
                .exec_async(&mut c)
                .await
        })
        .await
    }

    /// Adds the session's index entry; how many entries the index holds.
    async fn index_add(&self, s: &Session) -> Result<i64, StoreError> {
        let key = self.index_key(s.user.id);
        let (sid, hash, expire) = (
            s.id.to_string(),
            s.token_hash.to_hex(),
            ms(s.absolute_expires_at),
        );
        let entries = self
            .run(|mut c| async move {
                scripts::INDEX_ADD
                    .key(key)
                    .arg(sid)
                    .arg(hash)
                    .arg(expire)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await?;
        Ok(entries)
    }

    /// The user's index: session id → token hash.
    async fn index(&self, user: UserId) -> Result<HashMap<String, String>, StoreError> {
        let key = self.index_key(user);
        self.run(|mut c| async move { c.hgetall(key).await }).await
    }

    /// One entry of the user's index.
    async fn entry(&self, user: UserId, sid: &str) -> Result<Option<String>, StoreError> {
        let (key, field) = (self.index_key(user), sid.to_owned());
        self.run(|mut c| async move { c.hget(key, field).await })
            .await
    }

    /// Sets the entry of `sid` to `to` (`None` removes it) if it still
    /// reads `expected` (`""`: there is none). An entry that already reads
    /// `to` counts as set: a retried command whose first reply was lost
    /// finds its own write.
    async fn entry_set(
        &self,
        user: UserId,
        sid: &str,
        expected: &str,
        to: Option<&str>,
    ) -> Result<Entry, StoreError> {
        self.entry_set_until(user, sid, expected, to, None).await
    }

    /// [`Self::entry_set`], making the index live at least to `expire`
    /// (ms) when it sets a value.
    async fn entry_set_until(
        &self,
        user: UserId,
        sid: &str,
        expected: &str,
        to: Option<&str>,
        expire: Option<i64>,
    ) -> Result<Entry, StoreError> {
        let key = self.index_key(user);
        let to = to.unwrap_or("").to_owned();
        let (sid, expected, wanted) = (sid.to_owned(), expected.to_owned(), to.clone());
        let (done, now): (i64, String) = self
            .run(|mut c| async move {
                let mut call = scripts::ENTRY_SET.key(key);
                call.arg(sid).arg(expected).arg(wanted);
                if let Some(expire) = expire {
                    call.arg(expire);
                }
                call.invoke_async(&mut c).await
            })
            .await?;
        Ok(if done == 1 || now == to {
            Entry::Set
        } else {
            Entry::Moved(Some(now).filter(|e| !e.is_empty()))
        })
    }

    /// Runs `op` on a task of its own: a caller that goes away (a closed
    /// connection drops its request) cannot stop it between two steps.
    async fn to_the_end<T, F, Fut>(&self, op: F) -> Result<T, StoreError>
    where
        F: FnOnce(Self) -> Fut,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
        T: Send + 'static,
    {
        tokio::spawn(op(self.clone())).await.map_err(backend)?
    }

    /// Ends the session of `sid`, whose entry read `entry`: deletes every
    /// key the entry names, then the entry if it still reads the same. If
    /// a rotation moved it meanwhile (to name the new token), it goes round
    /// again, so the revocation always wins. Whether a key was deleted.
    async fn end_session(
        &self,
        user: UserId,
        sid: &str,
        mut entry: String,
    ) -> Result<bool, StoreError> {
        let mut ended = false;
        for _ in 0..ROUNDS {
            self.pause("end:read").await;
            let deletes = named(&entry)
                .into_iter()
                .map(|h| self.delete_key(self.session_key(&h)));
            ended |= try_join_all(deletes).await?.into_iter().any(|d| d);
            match self.entry_set(user, sid, &entry, None).await? {
                Entry::Set | Entry::Moved(None) => return Ok(ended),
                Entry::Moved(Some(now)) => entry = now,
            }
        }
        Err(StoreError::Unavailable(
            "redis: a session kept changing while it was revoked".into(),
        ))
    }

    /// Reads and deletes a session in one step (`GETDEL`; a hash of the
    /// earlier format is read, then deleted). `None` if it was gone, or
    /// someone else deleted it first.
    async fn take(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.fetch(hash, "GETDEL").await
    }

    /// Rewrites the user snapshot of one session key, if it exists (and,
    /// with `unless_changed`, only if its snapshot still reads that).
    async fn snapshot_one(
        &self,
        key: String,
        user: &User,
        unless_changed: Option<&str>,
    ) -> Result<bool, StoreError> {
        let roles = serde_json::to_string(&user.roles).unwrap_or_else(|_| "[]".into());
        let line = record::snapshot(user);
        let expected = unless_changed.map(str::to_owned);
        let updated: i64 = self
            .run(|mut c| async move {
                let mut call = scripts::SNAPSHOT.key(key);
                call.arg(&user.email)
                    .arg(user.name.as_deref().unwrap_or(""))
                    .arg(i64::from(user.email_verified))
                    .arg(roles)
                    .arg(user.created_at.unix_timestamp())
                    .arg(line)
                    .arg(record::VERSION_STR);
                if let Some(expected) = expected {
                    call.arg(expected);
                }
                call.invoke_async(&mut c).await
            })
            .await?;
        Ok(updated == 1)
    }

    /// [`SessionStore::rotate_session_token`], on its own task. The steps
    /// keep the index naming every key whose token a client may hold: the
    /// new key is written, the entry moved from the old token to both (only
    /// if it still names the old one, or there is none: a session an
    /// earlier version left unlisted; else the session was revoked), the
    /// old key taken (if it is gone, a revocation took it: the new key goes
    /// too), then the entry set to the new token alone (if that fails, a
    /// revocation removed it meanwhile, and the rotation reports so).
    ///
    /// An entry that names the old token beside another one was left by a
    /// rotation cut off after its move (a crash, a Redis timeout): that
    /// rotation never handed its token out, so this one takes the entry
    /// over and deletes that key; otherwise the session could never rotate
    /// again.
    ///
    /// The new key's snapshot line ends with a space (JSON allows it), so
    /// the fix-up after the take can tell the copy from a user update that
    /// wrote the same text to the new key meanwhile: it rewrites only the
    /// marked copy.
    async fn rotate(&self, session: &Session, new_hash: &TokenHash) -> Result<bool, StoreError> {
        let Some(mut current) = self.read(&session.token_hash).await? else {
            return Ok(false);
        };
        let (user, sid) = (current.user.id, current.id.to_string());
        let (old_hex, new_hex) = (session.token_hash.to_hex(), new_hash.to_hex());
        let new_key = self.session_key(new_hash);
        current.token_hash = *new_hash;
        let copied = format!("{} ", record::snapshot(&current.user));
        let mut value = record::encode(&current);
        value.push(b' ');
        self.write_value(&current, value).await?;
        self.pause("rotate:written").await;

        let both = format!("{new_hex} {old_hex}");
        // No entry: a session an earlier version left unlisted (or one a
        // revocation is ending: then the take below finds the old key gone).
        let entry = self.entry(user, &sid).await?.unwrap_or_default();
        let names = named(&entry);
        let mut moved = false;
        if (entry.is_empty() || names.contains(&session.token_hash))
            && matches!(
                self.entry_set_until(
                    user,
                    &sid,
                    &entry,
                    Some(&both),
                    Some(ms(current.absolute_expires_at))
                )
                .await?,
                Entry::Set
            )
        {
            moved = true;
            for abandoned in names.iter().filter(|h| **h != session.token_hash) {
                self.delete_key(self.session_key(abandoned)).await?;
            }
        }
        if !moved {
            self.delete_key(new_key).await?;
            return Ok(false);
        }
        self.pause("rotate:moved").await;

        let Some(taken) = self.take(&session.token_hash).await? else {
            // Revoked (or expired) meanwhile: the revocation wins.
            self.delete_key(new_key).await?;
            self.entry_set(user, &sid, &both, None).await?;
            return Ok(false);
        };
        self.pause("rotate:taken").await;
        if taken.user != current.user {
            // A user update reached the old key after it was copied; it
            // wins unless a later one already reached the new key.
            self.snapshot_one(new_key.clone(), &taken.user, Some(&copied))
                .await?;
        }
        match self.entry_set(user, &sid, &both, Some(&new_hex)).await? {
            Entry::Set => Ok(true),
            Entry::Moved(_) => {
                // A revocation removed the entry (and deleted what it named).
                self.delete_key(new_key).await?;
                Ok(false)
            }
        }
    }

    async fn delete_key(&self, key: String) -> Result<bool, StoreError> {
        self.run(|mut c| async move { c.del::<_, i64>(key).await })
            .await
            .map(|n| n == 1)
    }

    /// One `GET` (see [`record`]). A session of the earlier format answers
    /// `WRONGTYPE` and is read from its hash instead.
    async fn read(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.fetch(hash, "GET").await
    }

    /// The gathering of session reads, on single-node Redis.
    fn gather(&self) -> Option<&batch::Gather> {
        match &self.connector {
            Connector::Single(m) => {
                Some(self.gather.get_or_init(|| batch::Gather::start(m.clone())))
            }
            Connector::Cluster(..) => None,
        }
    }

    /// [`Self::read`] (`GET`) or [`Self::take`] (`GETDEL`).
    async fn fetch(
        &self,
        hash: &TokenHash,
        command: &'static str,
    ) -> Result<Option<Session>, StoreError> {
        let key = self.session_key(hash);
        // Counted until this read ends, whichever way it is sent.
        let gather = if command == "GET" {
            self.gather()
        } else {
            None
        };
        let reading = gather.map(batch::Gather::enter);
        if let (Some(gather), Some(reading)) = (gather, &reading)
            && reading.has_company()
        {
            let gathered = tokio::time::timeout(self.op_timeout, gather.get(key.clone()))
                .await
                .map_err(|_| StoreError::Unavailable("redis: timed out".into()))??;
            match gathered {
                batch::Gathered::Answer(redis::Value::Nil) => return Ok(None),
                batch::Gathered::Answer(redis::Value::BulkString(value)) => {
                    return record::decode(*hash, &value).map(Some);
                }
                // Another answer (WRONGTYPE: a session of the earlier hash
                // format), or the gathering task is gone: read it alone.
                batch::Gathered::Answer(_) | batch::Gathered::Alone => {}
            }
        }
        let got = self
            .attempt(|mut c| async move {
                redis::cmd(command)
                    .arg(key)
                    .query_async::<Option<Vec<u8>>>(&mut c)
                    .await
            })
            .await?;
        match got {
            Ok(None) => Ok(None),
            Ok(Some(value)) => record::decode(*hash, &value).map(Some),
            Err(e) if e.code() == Some("WRONGTYPE") => {
                let session = self.read_legacy(hash).await?;
                if command == "GET" {
                    return Ok(session);
                }
                let deleted = self.delete_key(self.session_key(hash)).await?;
                Ok(session.filter(|_| deleted))
            }
            Err(e) => Err(conn::store_error(&e)),
        }
    }

    /// A session hash of the earlier format: one `HMGET`.
    async fn read_legacy(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let key = self.session_key(hash);
        let values: Vec<Option<String>> = self
            .run(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg(&record::LEGACY_FIELDS[..])
                    .query_async(&mut c)
                    .await
            })
            .await?;
        if values.first().is_none_or(Option::is_none) {
            return Ok(None);
        }
        record::decode_legacy(*hash, &values).map(Some)
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        // The key first: until the index names it nobody holds its token
        // (this call has not returned), so a crash in between leaves only a
        // key no one can present, which expires. Index first let a session
        // list in between see the entry without its key and prune it, and
        // the session then lived on unlisted.
        self.write_session(s).await?;
        self.pause("inserted").await;
        let entries = self.index_add(s).await?;
        // Entries of sessions that expired are otherwise pruned only when
        // the sessions are listed: a client that signs in often and never
        // lists would grow its index without bound. Every PRUNE_EVERY
        // entries, a sign-in prunes (one read per entry, so a read per
        // sign-in on average).
        if entries % PRUNE_EVERY == 0 {
            self.list_user_sessions(s.user.id, s.last_seen_at).await?;
        }
        Ok(())
    }

    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.read(token_hash).await
    }

    async fn touch_session(
        &self,
        session: &Session,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let key = self.session_key(&session.token_hash);
        let expire = ms(idle_expires_at.min(session.absolute_expires_at));
        let touched: i64 = self
            .run(|mut c| async move {
                scripts::TOUCH
                    .key(key)
                    .arg(last_seen_at.unix_timestamp())
                    .arg(idle_expires_at.unix_timestamp())
                    .arg(expire)
                    .arg(record::TIMES_AT)
                    .arg(record::times(last_seen_at, idle_expires_at))
                    .arg(record::VERSION_STR)
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(touched == 1)
    }

    async fn rotate_session_token(
        &self,
        session: &Session,
        new_hash: &TokenHash,
    ) -> Result<bool, StoreError> {
        let (session, new_hash) = (session.clone(), *new_hash);
        self.to_the_end(move |this| async move { this.rotate(&session, &new_hash).await })
            .await
    }

    async fn list_user_sessions(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        let index = self.index(user).await?;
        self.pause("list:indexed").await;
        let reads = index.iter().map(|(sid, entry)| async move {
            for hash in named(entry) {
                if let Some(s) = self.read(&hash).await?
                    && s.user.id == user
                {
                    return Ok::<_, StoreError>((sid, entry, Some(s)));
                }
            }
            Ok((sid, entry, None))
        });
        let mut live = Vec::new();
        let mut stale = Vec::new();
        for (sid, entry, session) in try_join_all(reads).await? {
            match session {
                Some(s) if s.is_live(now) => live.push(s),
                Some(_) => {}
                None => stale.extend([sid.clone(), entry.clone()]),
            }
        }
        if !stale.is_empty() {
            let key = self.index_key(user);
            self.run(|mut c| async move {
                scripts::ENTRY_PRUNE
                    .key(key)
                    .arg(stale)
                    .invoke_async::<i64>(&mut c)
                    .await
            })
            .await?;
        }
        live.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.0.cmp(&b.id.0)));
        Ok(live)
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError> {
        let sid = id.to_string();
        self.to_the_end(move |this| async move {
            match this.entry(user, &sid).await? {
                Some(entry) => this.end_session(user, &sid, entry).await,
                None => Ok(false),
            }
        })
        .await
    }

    /// The presented token's key is deleted first, whatever the index says
    /// (an entry can be missing: an earlier version's leftovers, or an index
    /// evicted under a memory policy other than `noeviction`); then the
    /// session is ended through the index as any revocation is.
    async fn end_presented_session(&self, session: &Session) -> Result<bool, StoreError> {
        let (key, user, sid) = (
            self.session_key(&session.token_hash),
            session.user.id,
            session.id.to_string(),
        );
        self.to_the_end(move |this| async move {
            let direct = this.delete_key(key).await?;
            let indexed = match this.entry(user, &sid).await? {
                Some(entry) => this.end_session(user, &sid, entry).await?,
                None => false,
            };
            Ok(direct || indexed)
        })
        .await
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let keep = except.map(|e| e.to_string());
        self.to_the_end(move |this| async move {
            let index = this.index(user).await?;
            let ends = index
                .into_iter()
                .filter(|(sid, _)| Some(sid) != keep.as_ref())
                .map(|(sid, entry)| {
                    let this = &this;
                    async move { this.end_session(user, &sid, entry).await }
                });
            // Every revocation runs to its end even if one fails.
            let mut ended = 0;
            for outcome in join_all(ends).await {
                ended += u64::from(outcome?);
            }
            Ok(ended)
        })
        .await
    }

    /// Updates every key the index names, then reads the index again and
    /// updates what a rotation moved meanwhile, until nothing moved: a
    /// rotation that copied the old key before this update reached it
    /// gets the update too (the rotation also checks the old key when it
    /// takes it). How many sessions were updated.
    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError> {
        let mut done: HashMap<String, String> = HashMap::new();
        let mut updated: HashSet<String> = HashSet::new();
        for round in 0..ROUNDS {
            let index = self.index(user.id).await?;
            if round == 0 {
                self.pause("snapshot:indexed").await;
            }
            let due: Vec<(&String, TokenHash)> = index
                .iter()
                .filter(|(sid, entry)| done.get(*sid) != Some(*entry))
                .flat_map(|(sid, entry)| named(entry).into_iter().map(move |h| (sid, h)))
                .collect();
            if due.is_empty() {
                return Ok(updated.len() as u64);
            }
            let writes = due
                .iter()
                .map(|(_, h)| self.snapshot_one(self.session_key(h), user, None));
            for ((sid, _), hit) in due.iter().zip(try_join_all(writes).await?) {
                if hit {
                    updated.insert((*sid).clone());
                }
            }
            done = index;
        }
        Err(StoreError::Unavailable(
            "redis: sessions kept changing while their user was updated".into(),
        ))
    }

    /// Redis drops each session key at its expiry; nothing to sweep.
    async fn sweep_expired(&self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(0)
    }

    fn expires_on_its_own(&self) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.run(|mut c| async move { redis::cmd("PING").query_async::<String>(&mut c).await })
            .await?;
        Ok(())
    }
}

#[async_trait]
impl RateLimitStore for RedisStore {
    async fn hit(
        &self,
        key: &str,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<Count, StoreError> {
        let key = self.counter_key(key);
        let (hits, resets): (u64, i64) = self
            .run(|mut c| async move {
                scripts::HIT
                    .key(key)
                    .arg(now.unix_timestamp())
                    .arg(window.as_secs().max(1))
                    .invoke_async(&mut c)
                    .await
            })
            .await?;
        Ok(Count {
            hits,
            resets_at: OffsetDateTime::from_unix_timestamp(resets).map_err(backend)?,
        })
    }

    async fn peek(&self, key: &str, now: OffsetDateTime) -> Result<Option<Count>, StoreError> {
        let key = self.counter_key(key);
        let (hits, resets): (Option<u64>, Option<i64>) = self
            .run(|mut c| async move {
                redis::cmd("HMGET")
                    .arg(key)
                    .arg("h")
                    .arg("r")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match (hits, resets) {
            (Some(hits), Some(r)) if r > now.unix_timestamp() => Ok(Some(Count {
                hits,
                resets_at: OffsetDateTime::from_unix_timestamp(r).map_err(backend)?,
            })),
            _ => Ok(None),
        }
    }

    async fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.delete_key(self.counter_key(key)).await?;
        Ok(())
    }

    async fn release(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        let key = self.counter_key(key);
        self.run(|mut c| async move {
            scripts::RELEASE
                .key(key)
                .arg(now.unix_timestamp())
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await?;
        Ok(())
    }
}

/// A challenge's value as kept: its expiry first, so a read can hold it to
/// the caller's `now` as the SQL store does (Redis also drops it then).
fn challenge_value(value: &[u8], expires_at: OffsetDateTime) -> Vec<u8> {
    let mut v = Vec::with_capacity(8 + value.len());
    v.extend_from_slice(&ms(expires_at).to_be_bytes());
    v.extend_from_slice(value);
    v
}

fn live_challenge(stored: Option<Vec<u8>>, now: OffsetDateTime) -> Option<Vec<u8>> {
    let stored = stored?;
    let (expiry, value) = stored.split_at_checked(8)?;
    let expiry = i64::from_be_bytes(expiry.try_into().ok()?);
    (expiry > ms(now)).then(|| value.to_vec())
}

#[async_trait]
impl ChallengeStore for RedisStore {
    async fn put_challenge(
        &self,
        key: &TokenHash,
        value: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let key = self.challenge_key(key);
        let value = challenge_value(value, expires_at);
        let set: Option<String> = self
            .run(|mut c| async move {
                redis::cmd("SET")
                    .arg(key)
                    .arg(value)
                    .arg("PXAT")
                    .arg(ms(expires_at).max(1))
                    .arg("NX")
                    .query_async(&mut c)
                    .await
            })
            .await?;
        match set {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict("challenge")),
        }
    }

    async fn find_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.challenge_key(key);
        let stored: Option<Vec<u8>> = self.run(|mut c| async move { c.get(key).await }).await?;
        Ok(live_challenge(stored, now))
    }

    async fn take_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let key = self.challenge_key(key);
        let stored: Option<Vec<u8>> = self
            .run(|mut c| async move { redis::cmd("GETDEL").arg(key).query_async(&mut c).await })
            .await?;
        Ok(live_challenge(stored, now))
    }

    /// Redis drops each at its expiry.
    async fn sweep_challenges(&self, _now: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(0)
    }
}
