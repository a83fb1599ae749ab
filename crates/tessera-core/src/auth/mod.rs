//! The flows. Each public method of [`Auth`] is one thing a user does; read
//! one to know exactly what happens, in order. One file per flow:
//! `register.rs`, `login.rs` (and what every sign-in shares),
//! `identities.rs` (provider sign-in and linking), `sessions.rs` (whoami,
//! sign-out, devices), `password.rs`, `admin.rs` (operators).

mod admin;
mod identities;
mod login;
mod password;
mod register;
mod sessions;

use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::password::PasswordHasher;
use crate::ratelimit::{LoginGuard, LoginLimits};
use crate::session::{Session, SessionPolicy};
use crate::store::{IdentityStore, RateLimitStore, RefreshStore, SessionStore, UserStore};
use crate::token::SessionToken;
use crate::user::User;

#[derive(Clone, Debug, Default)]
pub struct AuthSettings {
    pub sessions: SessionPolicy,
    pub login_limits: LoginLimits,
    pub registration: RegistrationPolicy,
}

/// Who may sign up, decided here so that no client can go around it (an
/// app's own check in its sign-up form is bypassed by posting to the kit's
/// register route). Applies to password sign-ups and to new users from a
/// provider; `tessera user create` is the operator's and is not limited.
#[derive(Clone, Debug)]
pub struct RegistrationPolicy {
    /// `false`: nobody signs up (identities already linked still sign in).
    pub open: bool,
    /// Lower-case domains a new user's email must be at (exactly; no
    /// subdomains). Empty: any.
    pub email_domains: Vec<String>,
}

impl Default for RegistrationPolicy {
    fn default() -> Self {
        Self {
            open: true,
            email_domains: Vec::new(),
        }
    }
}

impl RegistrationPolicy {
    /// Whether a new user with this (normalised) email may sign up.
    pub fn admits(&self, email: &str) -> Result<(), AuthError> {
        if !self.open {
            return Err(AuthError::RegistrationClosed);
        }
        let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
        if self.email_domains.is_empty() || self.email_domains.iter().any(|d| d == domain) {
            Ok(())
        } else {
            Err(AuthError::EmailDomainNotAllowed)
        }
    }
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

/// Every store the flows use, all required: a flow never finds one missing.
#[derive(Debug, Clone)]
pub struct AuthStores {
    pub users: Arc<dyn UserStore>,
    pub sessions: Arc<dyn SessionStore>,
    /// Login and registration counters.
    pub limits: Arc<dyn RateLimitStore>,
    /// Refresh-token families, revoked on logout, password change and
    /// disable (the token endpoint's store).
    pub refresh: Arc<dyn RefreshStore>,
    /// Where provider identities are linked.
    pub identities: Arc<dyn IdentityStore>,
}

#[derive(Debug, Clone)]
pub struct Auth {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    refresh: Arc<dyn RefreshStore>,
    identities: Arc<dyn IdentityStore>,
    hasher: PasswordHasher,
    clock: Arc<dyn Clock>,
    guard: LoginGuard,
    settings: AuthSettings,
}

impl Auth {
    pub fn new(
        stores: AuthStores,
        hasher: PasswordHasher,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Self {
        let AuthStores {
            users,
            sessions,
            limits,
            refresh,
            identities,
        } = stores;
        Self {
            guard: LoginGuard::new(limits, settings.login_limits),
            users,
            sessions,
            refresh,
            identities,
            hasher,
            clock,
            settings,
        }
    }

    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
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

    /// Readiness: every store answers.
    pub async fn ready(&self) -> Result<(), AuthError> {
        self.users.ping().await?;
        self.sessions.ping().await?;
        Ok(())
    }
}
