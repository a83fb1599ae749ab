//! Sessions and rate-limit counters in Redis or a Redis Cluster.
//!
//! Key layout (`tessera:` is the default prefix):
//!
//! | key | type | holds | expires |
//! | --- | --- | --- | --- |
//! | `tessera:s:<sha256(token) hex>` | string (see [`record`]; a hash if written by an earlier version) | one session with its user snapshot | at the session's expiry (`PXAT`, the earlier of idle and absolute) |
//! | `tessera:u:<user id>` | hash | the user's index: session id → token hash | at the latest absolute expiry of its sessions |
//! | `tessera:rl:<counter>` | hash | `h` hits, `r` window end (Unix seconds) | when the window ends |
//!
//! Every command and script touches one key, so nothing needs two keys in
//! one slot and the layout works unchanged on a cluster. Whoami is one
//! `GET` by token hash; a due renewal is one more single-key script.
//! Redis expires dead sessions itself; index entries whose session is gone
//! are pruned when the index is read. Steps that span two keys (insert,
//! rotate, revoke) are ordered so a failure in between leaves at worst a
//! stale index entry or a key whose token nobody holds, never a live
//! session missing from its user's index (but see docs/security.md, known
//! gap 26, for races between a rotation and a revocation or a list).

mod conn;
mod record;
mod scripts;
pub mod testing;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::future::try_join_all;
use redis::AsyncCommands;
use tessera_core::session::{Session, SessionId};
use tessera_core::store::{Count, RateLimitStore, SessionStore, StoreError};
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
        })
    }

    /// For tests only: `hook` runs between the steps of an operation that
    /// spans two keys (`inserted`: a new session's key is written, its index
    /// entry not yet), so a test can run another operation there.
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

    fn counter_key(&self, key: &str) -> String {
        format!("{}rl:{}", self.prefix, key)
    }

    /// Replaces the session's value (of any type) and sets its expiry: one
    /// `SET … PXAT`.
    async fn write_session(&self, s: &Session) -> Result<(), StoreError> {
        let key = self.session_key(&s.token_hash);
        let value = record::encode(s);
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

    async fn index_add(&self, s: &Session) -> Result<(), StoreError> {
        let key = self.index_key(s.user.id);
        let (sid, hash, expire) = (
            s.id.to_string(),
            s.token_hash.to_hex(),
            ms(s.absolute_expires_at),
        );
        self.run(|mut c| async move {
            scripts::INDEX_ADD
                .key(key)
                .arg(sid)
                .arg(hash)
                .arg(expire)
                .invoke_async::<i64>(&mut c)
                .await
        })
        .await?;
        Ok(())
    }

    /// The user's index: session id → token hash.
    async fn index(&self, user: UserId) -> Result<HashMap<String, String>, StoreError> {
        let key = self.index_key(user);
        self.run(|mut c| async move { c.hgetall(key).await }).await
    }

    async fn index_remove(&self, user: UserId, sids: Vec<String>) -> Result<(), StoreError> {
        if sids.is_empty() {
            return Ok(());
        }
        let key = self.index_key(user);
        self.run(|mut c| async move { c.hdel::<_, _, i64>(key, sids).await })
            .await?;
        Ok(())
    }

    async fn delete_key(&self, key: String) -> Result<bool, StoreError> {
        self.run(|mut c| async move { c.del::<_, i64>(key).await })
            .await
            .map(|n| n == 1)
    }

    /// One `GET` (see [`record`]). A session of the earlier format answers
    /// `WRONGTYPE` and is read from its hash instead.
    async fn read(&self, hash: &TokenHash) -> Result<Option<Session>, StoreError> {
        let key = self.session_key(hash);
        let got = self
            .attempt(|mut c| async move {
                redis::cmd("GET")
                    .arg(key)
                    .query_async::<Option<Vec<u8>>>(&mut c)
                    .await
            })
            .await?;
        match got {
            Ok(None) => Ok(None),
            Ok(Some(value)) => record::decode(*hash, &value).map(Some),
            Err(e) if e.code() == Some("WRONGTYPE") => self.read_legacy(hash).await,
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
        self.index_add(s).await
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
        let Some(mut current) = self.read(&session.token_hash).await? else {
            return Ok(false);
        };
        current.token_hash = *new_hash;
        self.index_add(&current).await?;
        self.write_session(&current).await?;
        if !self
            .delete_key(self.session_key(&session.token_hash))
            .await?
        {
            // Revoked meanwhile: the revocation wins.
            self.delete_key(self.session_key(new_hash)).await?;
            self.index_remove(current.user.id, vec![current.id.to_string()])
                .await?;
            return Ok(false);
        }
        Ok(true)
    }

    async fn list_user_sessions(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        let index = self.index(user).await?;
        let reads = index.iter().map(|(sid, hash)| async move {
            let session = match TokenHash::from_hex(hash) {
                Some(h) => self.read(&h).await?,
                None => None,
            };
            Ok::<_, StoreError>((sid.clone(), session))
        });
        let mut live = Vec::new();
        let mut stale = Vec::new();
        for (sid, session) in try_join_all(reads).await? {
            match session {
                Some(s) if s.user.id == user => {
                    if s.is_live(now) {
                        live.push(s);
                    }
                }
                _ => stale.push(sid),
            }
        }
        self.index_remove(user, stale).await?;
        live.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.0.cmp(&b.id.0)));
        Ok(live)
    }

    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError> {
        let sid = id.to_string();
        let key = self.index_key(user);
        let field = sid.clone();
        let hash: Option<String> = self
            .run(|mut c| async move { c.hget(key, field).await })
            .await?;
        let Some(hash) = hash.and_then(|h| TokenHash::from_hex(&h)) else {
            return Ok(false);
        };
        let removed = self.delete_key(self.session_key(&hash)).await?;
        self.index_remove(user, vec![sid]).await?;
        Ok(removed)
    }

    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        let keep = except.map(|e| e.to_string());
        let doomed: Vec<(String, String)> = self
            .index(user)
            .await?
            .into_iter()
            .filter(|(sid, _)| Some(sid) != keep.as_ref())
            .collect();
        let deletes = doomed.iter().map(|(_, hash)| async move {
            match TokenHash::from_hex(hash) {
                Some(h) => self.delete_key(self.session_key(&h)).await,
                None => Ok(false),
            }
        });
        let ended = try_join_all(deletes)
            .await?
            .into_iter()
            .filter(|d| *d)
            .count();
        self.index_remove(user, doomed.into_iter().map(|(sid, _)| sid).collect())
            .await?;
        Ok(ended as u64)
    }

    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError> {
        let index = self.index(user.id).await?;
        let roles = serde_json::to_string(&user.roles).unwrap_or_else(|_| "[]".into());
        let snapshot = record::snapshot(user);
        let updates = index
            .values()
            .filter_map(|h| TokenHash::from_hex(h))
            .map(|h| {
                let key = self.session_key(&h);
                let (roles, snapshot) = (roles.clone(), snapshot.clone());
                async move {
                    self.run(|mut c| async move {
                        scripts::SNAPSHOT
                            .key(key)
                            .arg(&user.email)
                            .arg(user.name.as_deref().unwrap_or(""))
                            .arg(i64::from(user.email_verified))
                            .arg(roles)
                            .arg(user.created_at.unix_timestamp())
                            .arg(snapshot)
                            .arg(record::VERSION_STR)
                            .invoke_async::<i64>(&mut c)
                            .await
                    })
                    .await
                }
            });
        Ok(try_join_all(updates)
            .await?
            .into_iter()
            .filter(|n| *n == 1)
            .count() as u64)
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
