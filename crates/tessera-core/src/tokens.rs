//! The token endpoint's flows: access tokens (JWT) and rotating refresh
//! tokens with reuse detection.
//!
//! A refresh token names its family and generation under a MAC (see
//! [`format`]); the family's row holds the live token's hash, so a rotation
//! is one conditional write of that row. Its successor is derived from it
//! (HMAC under a server secret), not drawn at random. Every concurrent or
//! retried request that presents the same token therefore computes the
//! same successor; the store lets exactly one of them spend the token, and
//! the others, within the grace window, answer with that same successor and
//! an access token with the same claims (byte-identical with EdDSA, whose
//! signatures are deterministic). After the grace window a spent token is
//! reuse: the whole family is revoked. So is any older generation of the
//! family, whose MAC shows the server handed it out.
//!
//! Tokens of the older format (32 random bytes) rotate through the store's
//! per-token rows until their chain expires, under the same rules.

mod format;

use format::{Named, RefreshKey};
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::auth::{Auth, ClientInfo, SecondFactor};
use crate::error::AuthError;
use crate::keys::KeyRing;
use crate::mfa::{Amr, Method};
use crate::session::Session;
use crate::store::{
    LiveFamily, LiveSpend, RefreshFamily, RefreshHolder, RefreshRecord, RefreshStore, Spend,
};
use crate::token::{SessionToken, TokenHash};
use crate::user::User;

#[derive(Clone, Debug)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub access_ttl: Duration,
    pub refresh_ttl: Duration,
    /// No refresh token of a family works past this age.
    pub refresh_absolute_ttl: Duration,
    pub reuse_grace: Duration,
    /// The token exchange takes a provider token issued at most this long
    /// ago (when the token says when: an `id_token`'s `iat`).
    pub exchange_max_age: Duration,
}

/// The claims of an access token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    /// The session (session grant) or refresh family (other grants).
    pub sid: String,
    pub roles: Vec<String>,
    /// How the sign-in behind the token was proven (RFC 8176).
    #[serde(default, skip_serializing_if = "amr_is_empty")]
    pub amr: Amr,
}

fn amr_is_empty(amr: &Amr) -> bool {
    amr.methods().is_empty()
}

/// What the token endpoint hands out.
#[derive(Debug)]
pub struct Issued {
    pub access_token: String,
    pub expires_in: i64,
    pub refresh_token: Option<SecretString>,
}

/// Why a grant was refused, in OAuth terms.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    /// Unknown, expired, spent, revoked or reused refresh token; wrong
    /// password; ended session.
    #[error("invalid grant: {0}")]
    InvalidGrant(&'static str),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

pub struct Tokens {
    auth: Auth,
    keys: Arc<KeyRing>,
    store: Arc<dyn RefreshStore>,
    key: RefreshKey,
    settings: TokenSettings,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn refresh_hash(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

impl Tokens {
    pub fn new(
        auth: Auth,
        keys: Arc<KeyRing>,
        store: Arc<dyn RefreshStore>,
        successor_key: [u8; 32],
        settings: TokenSettings,
    ) -> Self {
        Self {
            auth,
            keys,
            store,
            key: RefreshKey::new(successor_key),
            settings,
        }
    }

    pub fn keys(&self) -> &Arc<KeyRing> {
        &self.keys
    }

    pub fn settings(&self) -> &TokenSettings {
        &self.settings
    }

    /// An access token for `user`, issued at `iat`. `jti` is derived from
    /// `nonce` so that a replayed rotation yields the same token.
    fn access_token(
        &self,
        user: &User,
        sid: &str,
        amr: &Amr,
        iat: OffsetDateTime,
        nonce: &[u8],
        not_after: Option<OffsetDateTime>,
    ) -> Result<Issued, AuthError> {
        let exp = not_after.map_or(iat + self.settings.access_ttl, |cap| {
            cap.min(iat + self.settings.access_ttl)
        });
        let claims = Claims {
            iss: self.settings.issuer.clone(),
            sub: user.id.to_string(),
            aud: self.settings.audience.clone(),
            exp: exp.unix_timestamp(),
            iat: iat.unix_timestamp(),
            jti: hex::encode(&Sha256::digest(nonce)[..16]),
            sid: sid.to_owned(),
            roles: user.roles.clone(),
            amr: amr.clone(),
        };
        let remaining = (exp - self.auth.now()).whole_seconds().max(0);
        Ok(Issued {
            access_token: self.keys.sign(&claims)?,
            expires_in: remaining,
            refresh_token: None,
        })
    }

    /// `grant_type=password`: a new refresh family and its first pair.
    pub async fn password_grant(
        &self,
        username: &str,
        password: SecretString,
        client: &ClientInfo,
    ) -> Result<Issued, GrantError> {
        let record = match self
            .auth
            .check_credentials(username, password, client)
            .await
        {
            Err(AuthError::InvalidCredentials) => {
                return Err(GrantError::InvalidGrant("invalid username or password"));
            }
            other => other?,
        };
        self.family_grant(
            &record.user,
            Some(&record.password_hash),
            Amr::of(&[Method::Pwd]),
            client,
        )
        .await
    }

    /// The MFA grant: completes a password grant (or token exchange) that
    /// answered `mfa_required`, with the challenge it gave and a second
    /// factor; a new refresh family and its first pair.
    pub async fn mfa_grant(
        &self,
        challenge: &str,
        factor: SecondFactor,
        client: &ClientInfo,
    ) -> Result<Issued, GrantError> {
        let (record, amr) = match self.auth.pass_challenge(challenge, factor, client).await {
            Err(AuthError::MfaChallengeInvalid) => {
                return Err(GrantError::InvalidGrant(
                    "the challenge is unknown, used or expired",
                ));
            }
            other => other?,
        };
        self.family_grant(&record.user, None, amr, client).await
    }

    /// A new refresh family for `user` and its first pair: the end of the
    /// password grant (`checked_password`: the hash it verified) and of the
    /// provider token exchange (`None`).
    ///
    /// Once the family is stored the user is read again: if `disable-user`
    /// or a password change overtook the grant (both write the user, then
    /// revoke families), the new family is revoked and nothing is handed
    /// out; otherwise their revocation runs after the family exists and
    /// finds it.
    ///
    /// A user with a second factor on gets a family only from a sign-in
    /// that proved it (`amr` has `mfa`); otherwise the answer is
    /// [`AuthError::MfaRequired`] with a challenge, which the MFA grant
    /// ([`Self::mfa_grant`]) completes.
    pub async fn family_grant(
        &self,
        user: &User,
        checked_password: Option<&Option<String>>,
        amr: Amr,
        client: &ClientInfo,
    ) -> Result<Issued, GrantError> {
        if !amr.is_mfa() && self.auth.second_factor_on(user.id).await? {
            return Err(AuthError::MfaRequired(self.auth.challenge(user, amr).await?).into());
        }
        let now = self.auth.now();
        let family = RefreshFamily {
            id: Uuid::new_v4(),
            user_id: user.id,
            created_at: now,
            absolute_expires_at: now + self.settings.refresh_absolute_ttl,
            revoked_at: None,
            amr,
        };
        let refresh = self.key.first(family.id);
        let expires = (now + self.settings.refresh_ttl).min(family.absolute_expires_at);
        self.store
            .create_live_family(&family, &refresh_hash(&refresh), expires)
            .await
            .map_err(AuthError::from)?;
        if !self
            .auth
            .unchanged_since_check(user.id, checked_password)
            .await?
        {
            self.store
                .revoke_family(family.id, now)
                .await
                .map_err(AuthError::from)?;
            return Err(match checked_password {
                Some(_) => GrantError::InvalidGrant("invalid username or password"),
                None => AuthError::AccountDisabled.into(),
            });
        }
        self.auth
            .record_for(
                crate::audit::EventKind::SignIn,
                Some(user.id),
                crate::audit::Actor::User,
                client,
                serde_json::json!({"family_id": family.id, "amr": family.amr}),
            )
            .await;
        let mut issued = self.access_token(
            user,
            &family.id.to_string(),
            &family.amr,
            now,
            refresh.as_bytes(),
            Some(family.absolute_expires_at),
        )?;
        issued.refresh_token = Some(refresh.into());
        Ok(issued)
    }

    /// The token exchange's own rules for a provider token the provider
    /// has vouched for: it must be recent (`issued_at` at most
    /// [`TokenSettings::exchange_max_age`] ago, when known) and never
    /// exchanged before. One leaked provider token therefore mints at most
    /// one refresh family. Its hash is remembered until it expires
    /// (`expires_at`; a GitHub token says nothing, so as long as a family
    /// lives at most).
    pub async fn admit_subject_token(
        &self,
        token: &str,
        issued_at: Option<OffsetDateTime>,
        expires_at: Option<OffsetDateTime>,
    ) -> Result<(), GrantError> {
        let now = self.auth.now();
        if issued_at.is_some_and(|iat| now - iat > self.settings.exchange_max_age) {
            return Err(GrantError::InvalidGrant(
                "the subject token is older than the exchange takes",
            ));
        }
        let until = expires_at.unwrap_or(now + self.settings.refresh_absolute_ttl);
        if !self
            .store
            .claim_exchanged(&refresh_hash(token), until, now)
            .await
            .map_err(AuthError::from)?
        {
            return Err(GrantError::InvalidGrant(
                "the subject token was exchanged already",
            ));
        }
        Ok(())
    }

    /// `grant_type=refresh_token`: rotation with reuse detection.
    pub async fn refresh_grant(&self, presented: &str) -> Result<Issued, GrantError> {
        if presented.len() == format::CHARS {
            return self.live_refresh_grant(presented).await;
        }
        self.chain_refresh_grant(presented).await
    }

    /// A token that names its family: one write of the family's row.
    async fn live_refresh_grant(&self, presented: &str) -> Result<Issued, GrantError> {
        let Some(named) = self.key.parse(presented) else {
            return Err(GrantError::InvalidGrant("unknown refresh token"));
        };
        let Some(successor) = self.key.successor(presented, named) else {
            return Err(GrantError::InvalidGrant("refresh token expired"));
        };
        let now = self.auth.now();
        let presented_hash = refresh_hash(presented);
        let successor_hash = refresh_hash(&successor);
        let spend = self
            .store
            .spend_live(
                named.family,
                named.generation,
                &presented_hash,
                &successor_hash,
                now + self.settings.refresh_ttl,
                now,
            )
            .await
            .map_err(AuthError::from)?;
        let (family, issued_at) = match spend {
            LiveSpend::Rotated(family) => (family, now),
            LiveSpend::Unchanged(None) => {
                return Err(GrantError::InvalidGrant("unknown refresh token"));
            }
            LiveSpend::Unchanged(Some(family)) => {
                let at = self
                    .live_replay_time(&family, presented, &presented_hash, named, now)
                    .await?;
                (family, at)
            }
        };
        self.rotated_pair(&family.family, family.holder.as_ref(), issued_at, successor)
            .await
    }

    /// What a rotation (or its replay) hands out: the successor and an
    /// access token issued at `issued_at`, its `jti` derived from the
    /// successor; nothing if the family's user is disabled or gone (which
    /// revokes the family).
    async fn rotated_pair(
        &self,
        family: &RefreshFamily,
        holder: Option<&RefreshHolder>,
        issued_at: OffsetDateTime,
        successor: String,
    ) -> Result<Issued, GrantError> {
        let user = self.live_user(family, holder).await?;
        let mut issued = self.access_token(
            &user,
            &family.id.to_string(),
            &family.amr,
            issued_at,
            successor.as_bytes(),
            Some(family.absolute_expires_at),
        )?;
        issued.refresh_token = Some(successor.into());
        Ok(issued)
    }

    /// A token of the named family that did not rotate now.
    ///
    /// - The live one: expired.
    /// - An older generation was spent when the next one was stored (the
    ///   family's creation log). Within the grace window of that spend, a
    ///   replay gets the pair it was spent for, as then: the same derived
    ///   successor, an access token issued at the spend; only if the chain
    ///   derived from it reaches the hashes the family holds (the previous
    ///   token's and the live one's), so even a holder of the server key
    ///   gets nothing from a token it made up. After the window, or past
    ///   what the log remembers, it is reuse and revokes the family: its
    ///   MAC shows the server handed it out.
    /// - Anything else (a later generation, or the generation before the
    ///   live one with a hash the family never held) only a holder of the
    ///   server key could have made: unknown, and the family is left alone.
    async fn live_replay_time(
        &self,
        family: &LiveFamily,
        presented: &str,
        presented_hash: &TokenHash,
        named: Named,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, GrantError> {
        if !family.family.is_live(now) {
            return Err(GrantError::InvalidGrant("refresh token revoked or expired"));
        }
        let unknown = GrantError::InvalidGrant("unknown refresh token");
        match family.generation.checked_sub(named.generation) {
            Some(0) if *presented_hash == family.live => {
                Err(GrantError::InvalidGrant("refresh token expired"))
            }
            Some(1) if family.previous.as_ref() != Some(presented_hash) => Err(unknown),
            Some(n) if n >= 1 => match family.created_at(named.generation + 1) {
                Some(spent_at) if self.within_grace(spent_at, now) => {
                    if self.chain_reaches(family, presented, named) {
                        Ok(spent_at)
                    } else {
                        Err(unknown)
                    }
                }
                _ => Err(self.reuse(&family.family, now).await),
            },
            _ => Err(unknown),
        }
    }

    /// Whether the tokens derived from `presented` (which names `named`)
    /// are the ones the family holds: the previous and then the live one.
    /// At most [`crate::store::CREATED_LOG_LEN`] steps (a replay within the
    /// window is never further behind).
    fn chain_reaches(&self, family: &LiveFamily, presented: &str, named: Named) -> bool {
        let mut token = presented.to_owned();
        let mut at = named;
        loop {
            if at.generation == family.generation {
                return refresh_hash(&token) == family.live;
            }
            if Some(at.generation) == family.generation.checked_sub(1)
                && family.previous != Some(refresh_hash(&token))
            {
                return false;
            }
            let Some(next) = self.key.successor(&token, at) else {
                return false;
            };
            token = next;
            at.generation += 1;
        }
    }

    /// Times are whole seconds (the clock drops the fraction): a spend
    /// recorded at second s happened in [s, s + 1), a replay at second n in
    /// [n, n + 1), so less than n - s + 1 s apart. A replay is taken only
    /// when even that fits: the window never exceeds its setting (it may
    /// end up to a second early).
    fn within_grace(&self, spent_at: OffsetDateTime, now: OffsetDateTime) -> bool {
        now - spent_at + Duration::SECOND <= self.settings.reuse_grace
    }

    /// Reuse of a spent token: the family is revoked.
    async fn reuse(&self, family: &RefreshFamily, now: OffsetDateTime) -> GrantError {
        tracing::warn!(family = %family.id, user = %family.user_id, "refresh token reuse: family revoked");
        self.auth
            .record_for(
                crate::audit::EventKind::RefreshReuseDetected,
                Some(family.user_id),
                crate::audit::Actor::System,
                &ClientInfo::default(),
                serde_json::json!({"family_id": family.id}),
            )
            .await;
        if let Err(e) = self.store.revoke_family(family.id, now).await {
            return AuthError::from(e).into();
        }
        GrantError::InvalidGrant(
            "refresh token reuse detected; all tokens of this sign-in are revoked",
        )
    }

    /// A token of the older format: its chain rotates through per-token
    /// rows until it expires.
    async fn chain_refresh_grant(&self, presented: &str) -> Result<Issued, GrantError> {
        if SessionToken::parse(presented).is_none() {
            return Err(GrantError::InvalidGrant("unknown refresh token"));
        }
        let now = self.auth.now();
        let successor = self.key.successor_v1(presented);
        let spend = self
            .store
            .spend_refresh(
                &refresh_hash(presented),
                &refresh_hash(&successor),
                now + self.settings.refresh_ttl,
                now,
            )
            .await
            .map_err(AuthError::from)?;
        let (record, issued_at) = match spend {
            Spend::Rotated(record) => (record, now),
            Spend::Unchanged(None) => {
                return Err(GrantError::InvalidGrant("unknown refresh token"));
            }
            Spend::Unchanged(Some(record)) => {
                let at = self.replay_time(&record, &successor, now).await?;
                (record, at)
            }
        };
        self.rotated_pair(&record.family, record.holder.as_ref(), issued_at, successor)
            .await
    }

    /// A token that did not rotate now: a replay within the grace window
    /// gets the rotation it raced with; anything else is refused, and a
    /// spent token past the grace window revokes its family.
    async fn replay_time(
        &self,
        record: &RefreshRecord,
        successor: &str,
        now: OffsetDateTime,
    ) -> Result<OffsetDateTime, GrantError> {
        if !record.family.is_live(now) {
            return Err(GrantError::InvalidGrant("refresh token revoked or expired"));
        }
        let Some(spent_at) = record.spent_at else {
            return Err(GrantError::InvalidGrant("refresh token expired"));
        };
        if self.within_grace(spent_at, now) && record.successor == Some(refresh_hash(successor)) {
            return Ok(spent_at);
        }
        Err(self.reuse(&record.family, now).await)
    }

    /// The family's user, read with the token: a disabled or deleted user
    /// revokes the family.
    async fn live_user(
        &self,
        family: &RefreshFamily,
        holder: Option<&RefreshHolder>,
    ) -> Result<User, GrantError> {
        match holder {
            Some(h) if h.disabled_at.is_none() => Ok(h.user.clone()),
            _ => {
                let now = self.auth.now();
                self.store
                    .revoke_family(family.id, now)
                    .await
                    .map_err(AuthError::from)?;
                Err(GrantError::InvalidGrant("user unknown or disabled"))
            }
        }
    }

    /// `grant_type=session`: an access token bound to this session, no
    /// refresh token; it never outlives the session.
    pub fn session_grant(&self, session: &Session) -> Result<Issued, GrantError> {
        let now = self.auth.now();
        let nonce = crate::token::random_bytes::<16>();
        Ok(self.access_token(
            &session.user,
            &session.id.to_string(),
            &session.amr,
            now,
            &nonce,
            Some(session.expires_at()),
        )?)
    }

    /// RFC 7009: revokes the family of a refresh token. Unknown tokens are
    /// not an error.
    pub async fn revoke(&self, token: &str) -> Result<(), AuthError> {
        if token.len() == format::CHARS {
            // Its MAC shows the server handed it out: revoke the family it
            // names, whichever generation it is.
            if let Some(named) = self.key.parse(token) {
                self.store
                    .revoke_family(named.family, self.auth.now())
                    .await?;
            }
            return Ok(());
        }
        if let Some(record) = self.store.find_refresh(&refresh_hash(token)).await? {
            self.store
                .revoke_family(record.family.id, self.auth.now())
                .await?;
        }
        Ok(())
    }
}
