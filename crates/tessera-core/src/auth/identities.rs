//! Sign-in with a provider (GitHub, OpenID Connect): finding, linking or
//! creating the user an identity belongs to, and the user's linked
//! identities.

use super::{Auth, ClientInfo, Started};
use crate::audit::{Actor, EventKind};
use crate::error::AuthError;
use crate::identity::{Identity, LinkPolicy, Resolution, VerifiedIdentity};
use crate::mfa::{Amr, Method};
use crate::session::Session;
use crate::store::{StoreError, Unlink};
use crate::user::{self, User, UserId, UserRecord};
use serde_json::json;

impl Auth {
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
        let started = self
            .start_session(user, client, Amr::of(&[Method::Fed]))
            .await?;
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
        let identities = &self.identities;
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
            self.record_linked(verified, &user, client).await;
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
            self.record_linked(verified, &existing.user, client).await;
            return Ok((existing.user, Resolution::Linked));
        }
        self.settings.registration.admits(&email)?;
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
            Ok(()) => {
                let detail = json!({"provider": verified.provider});
                self.record_for(
                    EventKind::SignUp,
                    Some(record.user.id),
                    Actor::User,
                    client,
                    detail.clone(),
                )
                .await;
                self.record_for(
                    EventKind::IdentityLinked,
                    Some(record.user.id),
                    Actor::User,
                    client,
                    detail,
                )
                .await;
                Ok((record.user, Resolution::Created))
            }
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

    async fn record_linked(&self, verified: &VerifiedIdentity, user: &User, client: &ClientInfo) {
        self.record_for(
            EventKind::IdentityLinked,
            Some(user.id),
            Actor::User,
            client,
            json!({"provider": verified.provider}),
        )
        .await;
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
        let store = &self.identities;
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
        Ok(self.identities.list_identities(current.user.id).await?)
    }

    /// Unlinks the caller's identity at `provider`, unless it is their last
    /// way to sign in (no password and no other identity).
    pub async fn unlink_identity(
        &self,
        current: &Session,
        provider: &str,
    ) -> Result<(), AuthError> {
        match self
            .identities
            .delete_identity(current.user.id, provider)
            .await?
        {
            Unlink::Deleted => {
                self.record_by(
                    EventKind::IdentityUnlinked,
                    current,
                    json!({"provider": provider}),
                )
                .await;
                Ok(())
            }
            Unlink::NotLinked => Err(AuthError::NotFound),
            Unlink::LastWayIn => Err(AuthError::LastSignInMethod),
        }
    }
}

/// A provider email fit to store and compare: normalised and valid.
fn usable_email(raw: Option<&str>) -> Option<String> {
    let email = user::normalize_email(raw?);
    let mut errors = Vec::new();
    user::check_email(&email, "email", &mut errors);
    errors.is_empty().then_some(email)
}
