//! The flows. Each public method is one thing a user does; read one to know
//! exactly what happens, in order.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{AuthError, FieldError};
use crate::identity::{Identity, LinkPolicy, Resolution, VerifiedIdentity};
use crate::password::PasswordHasher;
use crate::ratelimit::{LoginGuard, LoginLimits};
use crate::session::{Session, SessionId, SessionPolicy};
use crate::store::{
    IdentityStore, RateLimitStore, RefreshStore, SessionStore, StoreError, Unlink, UserStore,
};
use crate::token::SessionToken;
use crate::user::{self, User, UserId, UserRecord};

#[derive(Clone, Copy, Debug, Default)]
pub struct AuthSettings {
    pub sessions: SessionPolicy,
    pub login_limits: LoginLimits,
}

/// Who is asking, as far as the edge could tell.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

/// A session that was just created, with the token to hand to the client.
#[derive(Debug)]
pub struct Started {
    pub user: User,
    pub session: Session,
    pub token: SessionToken,
}

/// Input of [`Auth::register`] and `tessera user create`.
#[derive(Debug)]
pub struct Registration {
    pub email: String,
    pub password: SecretString,
    pub name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Auth {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    hasher: PasswordHasher,
    clock: Arc<dyn Clock>,
    guard: LoginGuard,
    settings: AuthSettings,
    refresh: Option<Arc<dyn RefreshStore>>,
    identities: Option<Arc<dyn IdentityStore>>,
}

impl Auth {
    pub fn new(
        users: Arc<dyn UserStore>,
        sessions: Arc<dyn SessionStore>,
        limits: Arc<dyn RateLimitStore>,
        hasher: PasswordHasher,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            guard: LoginGuard::new(limits, settings.login_limits),
            users,
            sessions,
            hasher,
            clock,
            settings,
            refresh: None,
            identities: None,
        }
    }

    /// Refresh-token families to revoke on logout, password change and
    /// disable (the token endpoint's store).
    #[must_use]
    pub fn with_refresh_store(mut self, refresh: Arc<dyn RefreshStore>) -> Self {
        self.refresh = Some(refresh);
        self
    }

    /// Where provider identities are linked (needed for OAuth sign-in).
    #[must_use]
    pub fn with_identity_store(mut self, identities: Arc<dyn IdentityStore>) -> Self {
        self.identities = Some(identities);
        self
    }

    fn identity_store(&self) -> Result<&Arc<dyn IdentityStore>, AuthError> {
        self.identities
            .as_ref()
            .ok_or_else(|| AuthError::Internal("no identity store configured".into()))
    }

    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Revokes every refresh-token family of the user.
    pub async fn revoke_refresh_families(&self, user: UserId) -> Result<u64, AuthError> {
        match &self.refresh {
            Some(r) => Ok(r.revoke_user_families(user, self.clock.now()).await?),
            None => Ok(0),
        }
    }

    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    pub fn settings(&self) -> &AuthSettings {
        &self.settings
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// Creates a user without starting a session (the `tessera user create`
    /// command; registration calls it too).
    pub async fn create_user(&self, input: Registration) -> Result<User, AuthError> {
        self.create_user_from(input, None).await
    }

    /// Validates, then (for a client with a known address) counts the
    /// registration against its IP, then creates the user. Invalid input is
    /// refused before it counts; a taken email counts, so 409s cannot be
    /// used to scan for accounts.
    async fn create_user_from(
        &self,
        input: Registration,
        ip: Option<&str>,
    ) -> Result<User, AuthError> {
        let mut errors = Vec::new();
        let email = user::normalize_email(&input.email);
        user::check_email(&email, "email", &mut errors);
        user::check_password(input.password.expose_secret(), "password", &mut errors);
        let name = user::normalize_name(input.name.as_deref(), &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        if self.hasher.is_full() {
            return Err(AuthError::HasherBusy);
        }
        self.guard.registration(ip, self.clock.now()).await?;
        // Cheap check first so a taken email costs no hashing.
        if self.users.find_user_by_email(&email).await?.is_some() {
            return Err(AuthError::EmailTaken);
        }
        let phc = self.hasher.hash(input.password).await?;
        let record = UserRecord {
            user: User {
                id: UserId::new(),
                email,
                name,
                email_verified: false,
                roles: Vec::new(),
                created_at: self.clock.now(),
            },
            password_hash: Some(phc),
            disabled_at: None,
        };
        match self.users.insert_user(&record).await {
            Err(StoreError::Conflict(_)) => Err(AuthError::EmailTaken),
            other => other.map_err(AuthError::from),
        }?;
        Ok(record.user)
    }

    /// Creates a user and signs them in, ending any session the client
    /// still presented (as login does).
    pub async fn register(
        &self,
        input: Registration,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let user = self.create_user_from(input, client.ip.as_deref()).await?;
        self.end_presented(presented).await?;
        let started = self.start_session(user, client).await?;
        self.still_allowed(started, None, AuthError::AccountDisabled)
            .await
    }

    async fn end_presented(&self, presented: Option<&SessionToken>) -> Result<(), AuthError> {
        if let Some(old) = presented
            && let Some(old) = self.sessions.find_session(&old.hash()).await?
        {
            self.sessions.end_presented_session(&old).await?;
        }
        Ok(())
    }

    /// Checks credentials and starts a new session. A session the client
    /// still presented is ended: login never reuses or keeps a token it was
    /// handed (no fixation).
    pub async fn login(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let record = self.check_credentials(email, password, client).await?;
        self.end_presented(presented).await?;
        let started = self.start_session(record.user, client).await?;
        self.still_allowed(
            started,
            Some(&record.password_hash),
            AuthError::InvalidCredentials,
        )
        .await
    }

    /// Reads the user again once a new session is stored, and ends that
    /// session if the user was disabled or (with `password`, the hash the
    /// sign-in checked) changed their password since the sign-in checked.
    /// Both `disable-user` and a password change first write the user and
    /// then end sessions, so either this read sees their write, or their
    /// session sweep runs after this session was stored and ends it: a
    /// sign-in that raced them never survives them.
    async fn still_allowed(
        &self,
        started: Started,
        password: Option<&Option<String>>,
        refused: AuthError,
    ) -> Result<Started, AuthError> {
        if !self
            .unchanged_since_check(started.user.id, password)
            .await?
        {
            self.sessions
                .delete_user_session(started.user.id, started.session.id)
                .await?;
            return Err(refused);
        }
        Ok(started)
    }

    /// Whether the user is still enabled and (with `password`, the hash a
    /// sign-in checked) still has that password hash. Read once what the
    /// sign-in created (a session, a refresh family) is stored: see
    /// [`Self::still_allowed`].
    pub async fn unchanged_since_check(
        &self,
        user: UserId,
        password: Option<&Option<String>>,
    ) -> Result<bool, AuthError> {
        Ok(self.users.find_user(user).await?.is_some_and(|now| {
            now.disabled_at.is_none() && password.is_none_or(|p| *p == now.password_hash)
        }))
    }

    /// The password check shared by login and the token endpoint's password
    /// grant: validation, login limits, constant-time answer for unknown
    /// emails, rehash when the parameters changed.
    pub async fn check_credentials(
        &self,
        email: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<UserRecord, AuthError> {
        let email = user::normalize_email(email);
        let mut errors = Vec::new();
        user::check_email(&email, "email", &mut errors);
        if password.expose_secret().is_empty() {
            errors.push(FieldError::new("password", "is required"));
        } else if password.expose_secret().len() > user::PASSWORD_MAX_BYTES {
            errors.push(FieldError::new("password", "must be at most 1024 bytes"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        // Refused at once, before any store call, when it could only end
        // in "busy": a storm's excess costs next to nothing.
        if self.hasher.is_full() {
            return Err(AuthError::HasherBusy);
        }
        let now = self.clock.now();
        let attempt = self
            .guard
            .attempt(&email, client.ip.as_deref(), now)
            .await?;

        let record = self.users.find_user_by_email(&email).await?;
        let stored = record.as_ref().and_then(|r| r.password_hash.clone());
        let verified = self.hasher.verify(password.clone(), stored).await?;
        let mut record = match record {
            Some(r) if verified.matches && r.disabled_at.is_none() => r,
            // The attempt stays counted.
            _ => return Err(AuthError::InvalidCredentials),
        };
        self.guard.succeeded(attempt, now).await?;
        if verified.needs_rehash
            && let Some(checked) = &record.password_hash
            && let Some(phc) = self.rehash(record.user.id, checked, password).await
        {
            record.password_hash = Some(phc);
        }
        Ok(record)
    }

    /// Best effort: a failed rehash leaves the old, still valid, hash.
    /// Replaces only the hash that was checked (`checked`), so a password
    /// change that landed meanwhile stays. The new hash, once stored.
    async fn rehash(&self, id: UserId, checked: &str, password: SecretString) -> Option<String> {
        match self.hasher.hash(password).await {
            Ok(phc) => match self.users.replace_password_hash(id, checked, &phc).await {
                Ok(true) => Some(phc),
                Ok(false) => None,
                Err(e) => {
                    tracing::warn!(user = %id, error = %e, "could not store rehashed password");
                    None
                }
            },
            Err(e) => {
                tracing::info!(user = %id, error = %e, "rehash skipped");
                None
            }
        }
    }

    async fn start_session(&self, user: User, client: &ClientInfo) -> Result<Started, AuthError> {
        let token = SessionToken::generate();
        let session = self.settings.sessions.start(
            user.clone(),
            token.hash(),
            self.clock.now(),
            client.user_agent.as_deref(),
            client.ip.as_deref(),
        );
        self.sessions.insert_session(&session).await?;
        Ok(Started {
            user,
            session,
            token,
        })
    }

    /// Runs `check` (a provider call on something the client sent) under
    /// the per-IP limit of such calls: failures count like failed logins,
    /// successes are given back. 429 once the client has failed too often.
    pub async fn checked_with_provider<T, E, F>(
        &self,
        client: &ClientInfo,
        check: F,
    ) -> Result<Result<T, E>, AuthError>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        let now = self.clock.now();
        let key = self.guard.provider_check(client.ip.as_deref(), now).await?;
        let outcome = check.await;
        if outcome.is_ok() {
            self.guard.provider_check_passed(key, now).await?;
        }
        Ok(outcome)
    }

    /// Signs in with an identity a provider vouched for: the linked user,
    /// else (by the link rules) a user with that email, else a new user.
    pub async fn sign_in_with_identity(
        &self,
        verified: &VerifiedIdentity,
        policy: LinkPolicy,
        client: &ClientInfo,
    ) -> Result<(Started, Resolution), AuthError> {
        let (user, resolution) = self
            .resolve_identity(verified, None, policy, client)
            .await?;
        let started = self.start_session(user, client).await?;
        let started = self
            .still_allowed(started, None, AuthError::AccountDisabled)
            .await?;
        Ok((started, resolution))
    }

    /// Finds or makes the user an identity belongs to. With `link_to` (a
    /// signed-in user started the flow), an unlinked identity is linked to
    /// that user and one linked to someone else is refused.
    ///
    /// Not linked and not linking: an existing user with the provider's
    /// email is refused ([`AuthError::AccountExists`]) unless the policy
    /// allows linking by a verified email and the provider verified it;
    /// otherwise a new user is created, password-less, with
    /// `email_verified` as the provider says. New users count against the
    /// client's registration limit, as registering does.
    pub async fn resolve_identity(
        &self,
        verified: &VerifiedIdentity,
        link_to: Option<UserId>,
        policy: LinkPolicy,
        client: &ClientInfo,
    ) -> Result<(User, Resolution), AuthError> {
        let identities = self.identity_store()?;
        if let Some(known) = identities
            .find_identity(&verified.provider, &verified.subject)
            .await?
        {
            if link_to.is_some_and(|u| u != known.user_id) {
                return Err(AuthError::IdentityTaken);
            }
            let user = self.enabled_user(known.user_id).await?;
            return Ok((user, Resolution::Known));
        }
        if let Some(user) = link_to {
            let user = self.enabled_user(user).await?;
            self.insert_identity(verified, &user).await?;
            return Ok((user, Resolution::Linked));
        }
        let email = usable_email(verified.email.as_deref()).ok_or(AuthError::EmailRequired)?;
        if let Some(existing) = self.users.find_user_by_email(&email).await? {
            // Both sides must have verified the address: otherwise whoever
            // registered it first (perhaps an attacker, before its owner
            // came) would receive the owner's provider account.
            if !(policy.link_verified_email
                && verified.email_verified
                && existing.user.email_verified)
            {
                return Err(AuthError::AccountExists);
            }
            if existing.disabled_at.is_some() {
                return Err(AuthError::AccountDisabled);
            }
            self.insert_identity(verified, &existing.user).await?;
            return Ok((existing.user, Resolution::Linked));
        }
        self.guard
            .registration(client.ip.as_deref(), self.clock.now())
            .await?;
        let mut ignored = Vec::new();
        let name = user::normalize_name(verified.name.as_deref(), &mut ignored)
            .filter(|_| ignored.is_empty());
        let record = UserRecord {
            user: User {
                id: UserId::new(),
                email,
                name,
                email_verified: verified.email_verified,
                roles: Vec::new(),
                created_at: self.clock.now(),
            },
            password_hash: None,
            disabled_at: None,
        };
        let identity = Identity {
            provider: verified.provider.clone(),
            subject: verified.subject.clone(),
            user_id: record.user.id,
            email: Some(record.user.email.clone()),
            created_at: self.clock.now(),
        };
        // User and identity together: never a user without a way in.
        match identities
            .insert_user_with_identity(&record, &identity)
            .await
        {
            Ok(()) => Ok((record.user, Resolution::Created)),
            // The same identity signed in concurrently and won: that user.
            Err(StoreError::Conflict("identity")) => {
                let known = identities
                    .find_identity(&verified.provider, &verified.subject)
                    .await?
                    .ok_or(AuthError::IdentityTaken)?;
                Ok((self.enabled_user(known.user_id).await?, Resolution::Known))
            }
            // Someone registered that email meanwhile.
            Err(StoreError::Conflict(_)) => Err(AuthError::AccountExists),
            Err(e) => Err(e.into()),
        }
    }

    async fn enabled_user(&self, id: UserId) -> Result<User, AuthError> {
        match self.users.find_user(id).await? {
            Some(r) if r.disabled_at.is_none() => Ok(r.user),
            _ => Err(AuthError::AccountDisabled),
        }
    }

    async fn insert_identity(
        &self,
        verified: &VerifiedIdentity,
        user: &User,
    ) -> Result<(), AuthError> {
        let identity = Identity {
            provider: verified.provider.clone(),
            subject: verified.subject.clone(),
            user_id: user.id,
            email: usable_email(verified.email.as_deref()),
            created_at: self.clock.now(),
        };
        let store = self.identity_store()?;
        match store.insert_identity(&identity).await {
            Err(StoreError::Conflict(_)) => {
                // Which rule: the provider account is someone else's, or
                // this user has another account at that provider.
                let theirs = store
                    .find_identity(&verified.provider, &verified.subject)
                    .await?;
                if theirs.is_some_and(|i| i.user_id != user.id) {
                    Err(AuthError::IdentityTaken)
                } else {
                    Err(AuthError::ProviderAlreadyLinked)
                }
            }
            other => Ok(other?),
        }
    }

    /// The caller's linked identities, oldest first.
    pub async fn list_identities(&self, current: &Session) -> Result<Vec<Identity>, AuthError> {
        Ok(self
            .identity_store()?
            .list_identities(current.user.id)
            .await?)
    }

    /// Unlinks the caller's identity at `provider`, unless it is their last
    /// way to sign in (no password and no other identity).
    pub async fn unlink_identity(
        &self,
        current: &Session,
        provider: &str,
    ) -> Result<(), AuthError> {
        match self
            .identity_store()?
            .delete_identity(current.user.id, provider)
            .await?
        {
            Unlink::Deleted => Ok(()),
            Unlink::NotLinked => Err(AuthError::NotFound),
            Unlink::LastWayIn => Err(AuthError::LastSignInMethod),
        }
    }

    /// Whether the session `id` of `user` is still live (an OAuth flow
    /// started signed in links only while that session lasts).
    pub async fn session_is_live(&self, user: UserId, id: SessionId) -> Result<bool, AuthError> {
        Ok(self
            .sessions
            .list_user_sessions(user, self.clock.now())
            .await?
            .iter()
            .any(|s| s.id == id))
    }

    /// Whoami: finds the live session for a token, sliding its idle expiry
    /// when due. One store read in the common case.
    pub async fn authenticate(&self, token: &SessionToken) -> Result<Session, AuthError> {
        let now = self.clock.now();
        let mut session = self
            .sessions
            .find_session(&token.hash())
            .await?
            .filter(|s| s.is_live(now))
            .ok_or(AuthError::Unauthenticated)?;
        let policy = &self.settings.sessions;
        if policy.needs_touch(&session, now) {
            let (last_seen, idle) = policy.touched(&session, now);
            if !self
                .sessions
                .touch_session(&session, last_seen, idle)
                .await?
            {
                // Deleted between the read and the write.
                return Err(AuthError::Unauthenticated);
            }
            session.last_seen_at = last_seen;
            session.idle_expires_at = idle;
        }
        Ok(session)
    }

    /// Ends the session, and revokes the user's refresh-token families (as
    /// the tokens issue asks: signing out stops token clients too).
    pub async fn logout(&self, session: &Session) -> Result<bool, AuthError> {
        let ended = self.sessions.end_presented_session(session).await?;
        self.revoke_refresh_families(session.user.id).await?;
        Ok(ended)
    }

    pub async fn list_sessions(&self, current: &Session) -> Result<Vec<Session>, AuthError> {
        Ok(self
            .sessions
            .list_user_sessions(current.user.id, self.clock.now())
            .await?)
    }

    /// Ends one of the caller's own sessions; someone else's id is
    /// [`AuthError::NotFound`], exactly like an id that does not exist.
    pub async fn revoke_session(&self, current: &Session, id: SessionId) -> Result<(), AuthError> {
        if self
            .sessions
            .delete_user_session(current.user.id, id)
            .await?
        {
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    pub async fn revoke_other_sessions(&self, current: &Session) -> Result<u64, AuthError> {
        Ok(self
            .sessions
            .delete_user_sessions(current.user.id, Some(current.id))
            .await?)
    }

    /// Changes the password, ends every other session and gives the current
    /// one a new token. A wrong current password counts as a login failure.
    pub async fn change_password(
        &self,
        current: &Session,
        current_password: SecretString,
        new_password: SecretString,
        client: &ClientInfo,
    ) -> Result<(Session, SessionToken, u64), AuthError> {
        let mut errors = Vec::new();
        if current_password.expose_secret().is_empty() {
            errors.push(FieldError::new("current_password", "is required"));
        }
        user::check_password(new_password.expose_secret(), "new_password", &mut errors);
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let now = self.clock.now();
        let attempt = self
            .guard
            .attempt(&current.user.email, client.ip.as_deref(), now)
            .await?;
        let record = self
            .users
            .find_user(current.user.id)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or(AuthError::Unauthenticated)?;
        let checked = record.password_hash.clone();
        let verified = self
            .hasher
            .verify(current_password, record.password_hash)
            .await?;
        let incorrect =
            || AuthError::Validation(vec![FieldError::new("current_password", "is incorrect")]);
        let Some(checked) = checked.filter(|_| verified.matches) else {
            return Err(incorrect());
        };
        self.guard.succeeded(attempt, now).await?;
        let phc = self.hasher.hash(new_password).await?;
        // Only over the hash just checked: of two changes at once (the owner
        // and someone who knows the old password), the second finds the
        // password changed and is refused, instead of silently winning.
        if !self
            .users
            .replace_password_hash(current.user.id, &checked, &phc)
            .await?
        {
            return Err(incorrect());
        }
        let ended = self
            .sessions
            .delete_user_sessions(current.user.id, Some(current.id))
            .await?;
        let token = SessionToken::generate();
        if !self
            .sessions
            .rotate_session_token(current, &token.hash())
            .await?
        {
            return Err(AuthError::Unauthenticated);
        }
        self.revoke_refresh_families(current.user.id).await?;
        let mut session = current.clone();
        session.token_hash = token.hash();
        Ok((session, token, ended))
    }

    /// Disables a user and ends all their sessions; returns how many ended.
    pub async fn disable_user(&self, email: &str) -> Result<u64, AuthError> {
        let email = user::normalize_email(email);
        let record = self
            .users
            .find_user_by_email(&email)
            .await?
            .ok_or(AuthError::NotFound)?;
        self.users
            .set_disabled(record.user.id, Some(self.clock.now()))
            .await?;
        self.revoke_refresh_families(record.user.id).await?;
        Ok(self
            .sessions
            .delete_user_sessions(record.user.id, None)
            .await?)
    }

    pub async fn list_users(&self, limit: u32, offset: u32) -> Result<Vec<UserRecord>, AuthError> {
        Ok(self.users.list_users(limit, offset).await?)
    }

    /// Deletes expired sessions.
    pub async fn sweep(&self) -> Result<u64, AuthError> {
        Ok(self.sessions.sweep_expired(self.clock.now()).await?)
    }

    /// Readiness: every store answers.
    pub async fn ready(&self) -> Result<(), AuthError> {
        self.users.ping().await?;
        self.sessions.ping().await?;
        Ok(())
    }
}

/// A provider email fit to store and compare: normalised and valid.
fn usable_email(raw: Option<&str>) -> Option<String> {
    let email = user::normalize_email(raw?);
    let mut errors = Vec::new();
    user::check_email(&email, "email", &mut errors);
    errors.is_empty().then_some(email)
}
