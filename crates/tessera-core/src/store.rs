//! The storage ports.
//!
//! The flows in [`crate::auth`] call these traits; backends implement them
//! (SQLite and PostgreSQL in `tessera-store-sql`, sessions and rate limits
//! in Redis in `tessera-store-redis`, rate limits in memory in
//! `tessera-store`) and prove it by passing the conformance suite in
//! `tessera-store` (feature `testing`). They live here, beside the flows
//! that call them, so the domain depends on no backend.
//!
//! Backends store what they are given and filter nothing by time except in
//! [`SessionStore::sweep_expired`] and where a method takes `now`: expiry is
//! decided by the domain.

use std::time::Duration;

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditQuery};
use crate::identity::Identity;
use crate::mail::{MailJob, MailToken, QueuedMail, TokenPurpose};
use crate::mfa::{PasskeyRecord, TotpRecord};
use crate::session::{Session, SessionId};
use crate::token::TokenHash;
use crate::user::{NewUser, User, UserId, UserRecord};
use crate::webhook::{OutboxMessage, QueuedWebhook, WebhookState};
use uuid::Uuid;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken (e.g. the email is taken).
    #[error("conflict on {0}")]
    Conflict(&'static str),
    /// The store cannot be reached or timed out; worth retrying.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// Anything else the backend reported.
    #[error("store error: {0}")]
    Backend(String),
}

#[async_trait]
pub trait UserStore: Send + Sync + std::fmt::Debug {
    /// Fails with [`StoreError::Conflict`]`("email")` when the email exists.
    async fn insert_user(&self, user: &NewUser) -> Result<(), StoreError>;
    async fn find_user_by_email(&self, email: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn find_user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;
    async fn set_password_hash(&self, id: UserId, phc: &str) -> Result<bool, StoreError>;
    /// Sets the password hash only if it still is `current`: a rehash on
    /// sign-in must never undo a password change that landed meanwhile.
    /// Whether it was replaced.
    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &str,
        phc: &str,
    ) -> Result<bool, StoreError>;
    async fn set_disabled(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError>;
    /// Marks the user's address verified, if it still is `email`.
    async fn set_email_verified(&self, id: UserId, email: &str) -> Result<bool, StoreError>;
    /// Moves the user from `from` to `to` (verified), if their address
    /// still is `from`. Fails with [`StoreError::Conflict`]`("email")` when
    /// `to` belongs to someone.
    async fn change_email(&self, id: UserId, from: &str, to: &str) -> Result<bool, StoreError>;
    /// Sets the password hash and marks the address verified (a reset
    /// proves control of it), if the user's address still is `email`.
    async fn reset_password(&self, id: UserId, email: &str, phc: &str) -> Result<bool, StoreError>;
    async fn set_name(&self, id: UserId, name: Option<&str>) -> Result<bool, StoreError>;
    async fn set_roles(&self, id: UserId, roles: &[String]) -> Result<bool, StoreError>;
    /// Deletes the user and everything of theirs this store holds
    /// (identities, refresh families, mail tokens, queued mail), all or
    /// nothing. Sessions are the session store's: end them separately.
    async fn delete_user(&self, id: UserId) -> Result<bool, StoreError>;
    /// Users whose email or name contains `query` (lower case; `%`, `_`
    /// and `\\` match themselves), created after `after` (a `(created_at,
    /// id)` position), oldest first, at most `limit`.
    async fn search_users(
        &self,
        query: Option<&str>,
        after: Option<(OffsetDateTime, UserId)>,
        limit: u32,
    ) -> Result<Vec<UserRecord>, StoreError>;
    /// Ordered by creation time, oldest first.
    async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, StoreError>;
    async fn ping(&self) -> Result<(), StoreError>;
}

#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError>;
    /// One read: the hot path of every authenticated request.
    async fn find_session(&self, token_hash: &TokenHash) -> Result<Option<Session>, StoreError>;
    /// Slides the idle expiry. A session deleted meanwhile stays deleted.
    async fn touch_session(
        &self,
        session: &Session,
        last_seen_at: OffsetDateTime,
        idle_expires_at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Replaces the token of a session (password change). `session` is the
    /// record as read, old token hash included.
    async fn rotate_session_token(
        &self,
        session: &Session,
        new_hash: &TokenHash,
    ) -> Result<bool, StoreError>;
    /// The user's sessions that are live at `now`, newest first.
    async fn list_user_sessions(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError>;
    /// Deletes the session only if it belongs to `user`.
    async fn delete_user_session(&self, user: UserId, id: SessionId) -> Result<bool, StoreError>;
    /// Ends the session whose record the caller holds (its own, on sign-out
    /// or when a sign-in replaces it). Stores that find sessions by id
    /// through an index also delete the presented token's record directly,
    /// so a session the index lost still ends.
    async fn end_presented_session(&self, session: &Session) -> Result<bool, StoreError> {
        self.delete_user_session(session.user.id, session.id).await
    }
    /// Deletes all of the user's sessions but `except`; returns how many.
    async fn delete_user_sessions(
        &self,
        user: UserId,
        except: Option<SessionId>,
    ) -> Result<u64, StoreError>;
    /// Rewrites the user snapshot of every session of that user.
    async fn update_user_snapshot(&self, user: &User) -> Result<u64, StoreError>;
    /// Removes sessions expired at `now`; returns how many. Stores that
    /// expire records on their own (Redis key TTLs) may do nothing here:
    /// see [`SessionStore::expires_on_its_own`].
    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// The store drops a session by itself at its expiry (the earlier of
    /// the idle and absolute expiry), so no sweep is needed.
    fn expires_on_its_own(&self) -> bool {
        false
    }
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Named server secrets shared by every instance (the CSRF key, later the
/// OAuth sealing key). Created once, by whichever instance comes first.
#[async_trait]
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    /// Returns the stored value of `name`, storing `candidate` first if there
    /// is none. Every caller gets the same bytes.
    async fn get_or_create_secret(
        &self,
        name: &str,
        candidate: &[u8],
    ) -> Result<Vec<u8>, StoreError>;
}

/// A window counter. Fixed windows keep each step one atomic operation in
/// any backend (`INCR` + `EXPIRE` in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub hits: u64,
    /// When this window ends and the count drops to zero.
    pub resets_at: OffsetDateTime,
}

#[async_trait]
pub trait RateLimitStore: Send + Sync + std::fmt::Debug {
    /// Adds one hit to `key`'s current window (opening a window of length
    /// `window` if none is open at `now`) and returns the new count.
    async fn hit(
        &self,
        key: &str,
        window: Duration,
        now: OffsetDateTime,
    ) -> Result<Count, StoreError>;
    /// The current count without adding to it.
    async fn peek(&self, key: &str, now: OffsetDateTime) -> Result<Option<Count>, StoreError>;
    async fn clear(&self, key: &str) -> Result<(), StoreError>;
    /// Takes back one hit from the current window, if it is still open and
    /// above zero.
    async fn release(&self, key: &str, now: OffsetDateTime) -> Result<(), StoreError>;
    /// How many counters the store holds, where it knows without a round
    /// trip (the in-process store); for metrics and tests.
    fn counters(&self) -> Option<usize> {
        None
    }
}

/// A signing key as stored. The private part (PKCS#8 DER) stays in the
/// store and in memory; only `public_jwk` is ever published.
#[derive(Clone)]
pub struct StoredKey {
    pub kid: String,
    /// `EdDSA` or `ES256`.
    pub alg: String,
    pub private_der: Vec<u8>,
    /// The public JWK, as published in JWKS.
    pub public_jwk: String,
    pub created_at: OffsetDateTime,
    /// No longer signs from this time on; published until every token it
    /// signed has expired.
    pub retired_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_der", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

#[async_trait]
pub trait KeyStore: Send + Sync + std::fmt::Debug {
    async fn insert_signing_key(&self, key: &StoredKey) -> Result<(), StoreError>;
    /// Oldest first.
    async fn list_signing_keys(&self) -> Result<Vec<StoredKey>, StoreError>;
    async fn retire_signing_key(&self, kid: &str, at: OffsetDateTime) -> Result<bool, StoreError>;
}

/// A chain of refresh tokens from one sign-in; reuse of a spent token
/// revokes the whole chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshFamily {
    pub id: Uuid,
    pub user_id: UserId,
    pub created_at: OffsetDateTime,
    /// No token of the family works past this, however it was rotated.
    pub absolute_expires_at: OffsetDateTime,
    pub revoked_at: Option<OffsetDateTime>,
    /// How the sign-in that began the family was proven; its access tokens
    /// carry it.
    pub amr: crate::mfa::Amr,
}

impl RefreshFamily {
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && now < self.absolute_expires_at
    }
}

/// One refresh token (by hash) and its family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshRecord {
    pub hash: TokenHash,
    pub family: RefreshFamily,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    pub spent_at: Option<OffsetDateTime>,
    pub successor: Option<TokenHash>,
    /// The family's user as the same read saw it; `None` if it no longer
    /// exists. Read with the token, so a refresh costs one round trip.
    pub holder: Option<RefreshHolder>,
}

/// Who a refresh family belongs to, and whether they are disabled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshHolder {
    pub user: User,
    pub disabled_at: Option<OffsetDateTime>,
}

/// What [`RefreshStore::spend_refresh`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spend {
    /// This call spent the token and stored its successor.
    Rotated(RefreshRecord),
    /// Nothing changed: the token as it stands (spent, expired, revoked
    /// family), or `None` if unknown.
    Unchanged(Option<RefreshRecord>),
}

/// A family that holds its live refresh token in its own row (tokens
/// that name their family and generation, see [`crate::tokens`]): a
/// rotation rewrites this one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LiveFamily {
    pub family: RefreshFamily,
    /// The live token's generation: 0 for the first, one more per rotation.
    pub generation: i64,
    /// The live token's hash.
    pub live: TokenHash,
    pub live_expires_at: OffsetDateTime,
    /// The hash of the token spent to store the live one (generation − 1);
    /// `None` for the first.
    pub previous: Option<TokenHash>,
    /// When the live token and those before it were stored (each: when its
    /// predecessor was spent), newest first: `created[k]` is generation
    /// `generation − k`'s. The newest [`CREATED_LOG_LEN`] are kept.
    pub created: Vec<OffsetDateTime>,
    /// The family's user as the same read saw it; `None` if it no longer
    /// exists.
    pub holder: Option<RefreshHolder>,
}

/// How many creation times a [`LiveFamily`] keeps.
pub const CREATED_LOG_LEN: usize = 32;

impl LiveFamily {
    /// When generation `generation` was stored, if the family still
    /// remembers.
    pub fn created_at(&self, generation: i64) -> Option<OffsetDateTime> {
        let back = usize::try_from(self.generation.checked_sub(generation)?).ok()?;
        self.created.get(back).copied()
    }
}

/// What [`RefreshStore::spend_live`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LiveSpend {
    /// This call spent the token: the family as it now stands.
    Rotated(LiveFamily),
    /// Nothing changed: the family as it stands, or `None` if it does not
    /// exist or does not hold its live token (a family of the older token
    /// format).
    Unchanged(Option<LiveFamily>),
}

#[async_trait]
pub trait RefreshStore: Send + Sync + std::fmt::Debug {
    async fn create_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Atomically, whatever the concurrency: if `presented` is unspent,
    /// unexpired at `now` and its family live, marks it spent at `now` with
    /// `successor`, stores the successor (expiring at `successor_expires_at`)
    /// and answers [`Spend::Rotated`]. Exactly one of any number of
    /// concurrent calls for the same token rotates it.
    async fn spend_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Spend, StoreError>;
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError>;
    async fn revoke_family(&self, id: Uuid, at: OffsetDateTime) -> Result<bool, StoreError>;
    /// Revokes every live family of the user; returns how many.
    async fn revoke_user_families(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// A new family holding its first token (generation 0) in its own row.
    async fn create_live_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Atomically, whatever the concurrency: if family `id` is live at
    /// `now` and its live token is `presented` at `generation`, unexpired,
    /// makes `successor` (expiring at `successor_expires_at`) the live token
    /// at `generation + 1`, stored at `now` (first in the creation log),
    /// with `presented` as its previous, and answers
    /// [`LiveSpend::Rotated`]. One write of one row; exactly one of any
    /// number of concurrent calls for the same token rotates it.
    async fn spend_live(
        &self,
        id: Uuid,
        generation: i64,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<LiveSpend, StoreError>;
    /// The family, if it exists and holds its live token.
    async fn find_live_family(&self, id: Uuid) -> Result<Option<LiveFamily>, StoreError>;
    /// Deletes every family whose absolute expiry is at or before `now`
    /// (none of its tokens can rotate any more, revoked or not) with its
    /// tokens of the older format, and tokens of the older format without
    /// a family that expired by `now`; returns how many families. A token
    /// whose family exists and is not at its cap stays, expired or not.
    /// Rows another transaction holds may be left to the next sweep.
    async fn sweep_families(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Marks a provider token (by hash) as exchanged until `until`, if it
    /// is not marked already (a mark that expired by `now` counts as none).
    /// Whether this call marked it: of any number of concurrent calls for
    /// one hash, exactly one does.
    async fn claim_exchanged(
        &self,
        hash: &TokenHash,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Deletes marks expired at `now`; returns how many.
    async fn sweep_exchanged(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Provider identities linked to users (see [`crate::identity`]).
#[async_trait]
pub trait IdentityStore: Send + Sync + std::fmt::Debug {
    /// Fails with [`StoreError::Conflict`]`("identity")` when the
    /// (provider, subject) pair is linked already, or when the user has an
    /// identity at that provider already.
    async fn insert_identity(&self, identity: &Identity) -> Result<(), StoreError>;
    async fn find_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<Identity>, StoreError>;
    /// A new user and their first identity, both or neither. Fails with
    /// [`StoreError::Conflict`]`("email")` or `("identity")`.
    async fn insert_user_with_identity(
        &self,
        user: &crate::user::NewUser,
        identity: &Identity,
    ) -> Result<(), StoreError>;
    /// Oldest first.
    async fn list_identities(&self, user: UserId) -> Result<Vec<Identity>, StoreError>;
    /// Deletes the user's identity at `provider` unless it is their last
    /// way to sign in (no password and no other identity), deciding
    /// atomically: two concurrent unlinks cannot both pass the check.
    async fn delete_identity(&self, user: UserId, provider: &str) -> Result<Unlink, StoreError>;
}

/// What [`IdentityStore::delete_identity`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unlink {
    Deleted,
    NotLinked,
    /// Refused: the user would have no way left to sign in.
    LastWayIn,
}

/// Mail tokens and the mail queue (see [`crate::mail`]).
#[async_trait]
pub trait MailStore: Send + Sync + std::fmt::Debug {
    /// Queues a mail, due at `now`.
    async fn enqueue_mail(&self, job: &MailJob, now: OffsetDateTime) -> Result<(), StoreError>;
    /// Claims up to `limit` mails due at `now` that nobody holds, holding
    /// them until `hold_until` and counting an attempt on each. Of any
    /// number of concurrent claims, exactly one gets each mail.
    async fn claim_mail(
        &self,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError>;
    /// Delivered (or dropped for good): the mail leaves the queue.
    async fn mail_done(&self, id: Uuid) -> Result<(), StoreError>;
    /// Not delivered: released, due again at `retry_at`.
    async fn mail_failed(
        &self,
        id: Uuid,
        retry_at: OffsetDateTime,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Mails still queued, and the oldest one's queueing time.
    async fn mail_backlog(&self) -> Result<(u64, Option<OffsetDateTime>), StoreError>;
    /// Stores a token. With `replace`, the user's other tokens of the same
    /// purpose are deleted first, in the same transaction (a new reset
    /// link voids the older ones).
    async fn insert_mail_token(&self, token: &MailToken, replace: bool) -> Result<(), StoreError>;
    /// Removes and returns the token with this hash, if it has this
    /// purpose; a token of another purpose stays. Of any number of
    /// concurrent takes, one gets it. Expiry is the caller's to check.
    async fn take_mail_token(
        &self,
        hash: &TokenHash,
        purpose: TokenPurpose,
    ) -> Result<Option<MailToken>, StoreError>;
    /// Deletes the user's tokens of `purpose` (all of them with `None`).
    async fn delete_mail_tokens(
        &self,
        user: UserId,
        purpose: Option<TokenPurpose>,
    ) -> Result<u64, StoreError>;
    /// Deletes tokens expired at `now`; returns how many.
    async fn sweep_mail_tokens(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// Second factors: TOTP and recovery codes, and passkeys (see
/// [`crate::mfa`]). Kept with the users (SQL).
#[async_trait]
pub trait MfaStore: Send + Sync + std::fmt::Debug {
    async fn find_totp(&self, user: UserId) -> Result<Option<TotpRecord>, StoreError>;
    /// Stores a pending (not yet enabled) secret, replacing a pending one.
    /// `false`, and nothing changes, when TOTP is enabled already.
    async fn put_pending_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Enables the pending secret if it still is `sealed_secret`, records
    /// `step` as used and stores the recovery codes (replacing any), all
    /// or nothing. Whether it was enabled.
    async fn enable_totp(
        &self,
        user: UserId,
        sealed_secret: &[u8],
        step: i64,
        recovery_codes: &[TokenHash],
        now: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    /// Records `step` as used if it is later than the last one used.
    /// Of any number of concurrent calls with the same step, one succeeds.
    async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError>;
    /// Removes TOTP (pending or enabled) and the recovery codes.
    async fn delete_totp(&self, user: UserId) -> Result<bool, StoreError>;
    /// Replaces the user's recovery codes.
    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[TokenHash],
        now: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// Removes the code if the user has it: of any number of concurrent
    /// uses, one succeeds.
    async fn use_recovery_code(&self, user: UserId, code: &TokenHash) -> Result<bool, StoreError>;
    async fn recovery_codes_left(&self, user: UserId) -> Result<u64, StoreError>;

    /// Fails with [`StoreError::Conflict`]`("passkey")` when the credential
    /// id is registered already.
    async fn insert_passkey(&self, passkey: &PasskeyRecord) -> Result<(), StoreError>;
    /// Oldest first.
    async fn list_passkeys(&self, user: UserId) -> Result<Vec<PasskeyRecord>, StoreError>;
    async fn find_passkey(&self, credential_id: &[u8])
    -> Result<Option<PasskeyRecord>, StoreError>;
    /// After a sign-in: the credential's new state, counter and backup
    /// flag.
    async fn passkey_used(
        &self,
        id: Uuid,
        data: &str,
        sign_count: u32,
        backup_state: bool,
        at: OffsetDateTime,
    ) -> Result<bool, StoreError>;
    async fn rename_passkey(&self, user: UserId, id: Uuid, name: &str) -> Result<bool, StoreError>;
    /// Deletes the user's passkey unless it is their last way to sign in
    /// (no password, no identity, no other passkey), deciding atomically
    /// like [`IdentityStore::delete_identity`].
    async fn delete_passkey(&self, user: UserId, id: Uuid) -> Result<Unlink, StoreError>;
}

/// Short-lived values a sign-in step leaves for the next request, which
/// may reach another instance: the second-factor challenge and passkey
/// ceremonies ([`crate::mfa::Pending`]). Kept with the sessions (Redis in
/// production), keyed by the hash of the value the client holds.
#[async_trait]
pub trait ChallengeStore: Send + Sync + std::fmt::Debug {
    async fn put_challenge(
        &self,
        key: &TokenHash,
        value: &[u8],
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError>;
    /// The value, if present and not expired at `now`.
    async fn find_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes the value and returns it if it had not expired at `now`. Of
    /// any number of concurrent takes, one gets it.
    async fn take_challenge(
        &self,
        key: &TokenHash,
        now: OffsetDateTime,
    ) -> Result<Option<Vec<u8>>, StoreError>;
    /// Deletes values expired at `now`; returns how many.
    async fn sweep_challenges(&self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// The audit log (see [`crate::audit`]): appended to, read newest first,
/// pruned by age. Kept with the users (SQL).
#[async_trait]
pub trait AuditStore: Send + Sync + std::fmt::Debug {
    /// Appends `event`, and with `webhook` puts its message in the webhook
    /// outbox in the same transaction: both or neither.
    async fn append_event(
        &self,
        event: &AuditEvent,
        webhook: Option<&OutboxMessage>,
    ) -> Result<(), StoreError>;
    /// Newest first, by `(at, id)`, at most `query.limit`.
    async fn list_events(&self, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError>;
    /// Deletes events older than `before`; returns how many.
    async fn prune_events(&self, before: OffsetDateTime) -> Result<u64, StoreError>;
}

/// The webhook outbox (see [`crate::webhook`]): filled by
/// [`AuditStore::append_event`], emptied by the sender. Kept with the users
/// (SQL).
#[async_trait]
pub trait WebhookStore: Send + Sync + std::fmt::Debug {
    /// Takes up to `limit` pending messages due at `now` that nobody else
    /// holds, holds them until `hold_until` (another instance, or this one
    /// after a crash, takes them again after that) and counts an attempt
    /// on each.
    async fn claim_webhooks(
        &self,
        now: OffsetDateTime,
        hold_until: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<QueuedWebhook>, StoreError>;
    /// The endpoint took it.
    async fn webhook_delivered(&self, id: &str, at: OffsetDateTime) -> Result<(), StoreError>;
    /// It was not taken: try again at `retry_at`, or with `None` give up
    /// (state `failed`).
    async fn webhook_failed(
        &self,
        id: &str,
        retry_at: Option<OffsetDateTime>,
        error: &str,
    ) -> Result<(), StoreError>;
    /// Newest first, at most `limit`, in `state` if given.
    async fn list_webhooks(
        &self,
        state: Option<WebhookState>,
        limit: u32,
    ) -> Result<Vec<QueuedWebhook>, StoreError>;
    /// Queues again, due at `now`: the message `id` whatever its state, or
    /// with `None` every failed one. How many.
    async fn retry_webhooks(
        &self,
        id: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Deletes messages delivered before `delivered_before`, and any
    /// message queued before `queued_before` (its event has left the
    /// audit log); how many.
    async fn prune_webhooks(
        &self,
        delivered_before: OffsetDateTime,
        queued_before: OffsetDateTime,
    ) -> Result<u64, StoreError>;
    /// Messages pending and failed, and when the oldest pending one was
    /// queued.
    async fn webhook_backlog(&self) -> Result<(u64, u64, Option<OffsetDateTime>), StoreError>;
}
