//! The flows. Each public method of [`Auth`] is one thing a user does; read
//! one to know exactly what happens, in order. One file per flow:
//! `register.rs`, `login.rs` (and what every sign-in shares),
//! `identities.rs` (provider sign-in and linking), `sessions.rs` (whoami,
//! sign-out, devices), `password.rs`, `admin.rs` (operators), and the
//! account flows that go through mail: `verification.rs`, `recovery.rs`
//! (forgot and reset password), `email_change.rs`, `profile.rs` (name,
//! deleting the account), `mail.rs` (what the queue worker sends); second
//! factors: `mfa.rs` (TOTP, recovery codes, and the sign-in challenge every
//! session start goes through), `passkeys.rs`.

mod admin;
mod admin_api;
mod audit;
mod email_change;
mod identities;
mod login;
mod mail;
mod mfa;
mod passkeys;
mod password;
mod profile;
mod recovery;
mod register;
mod sessions;
mod verification;

pub use admin::{Imported, ImportedUser};
pub use admin_api::{MAX_PAGE, UserPage, UserPatch};
pub use audit::ACTIVITY_EVENTS;
pub use mfa::{Confirmation, MfaStatus, SecondFactor, TotpEnrolment};
pub use passkeys::PasskeyCeremony;
pub use register::SignedUp;

use std::sync::Arc;

use secrecy::SecretString;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::AuthError;
use crate::mail::{MailLimits, Verification};
use crate::password::PasswordHasher;
use crate::ratelimit::{LoginGuard, LoginLimits};
use crate::seal::Sealer;
use crate::session::{Session, SessionPolicy};
use crate::store::{
    AuditStore, ChallengeStore, IdentityStore, MailStore, MfaStore, RateLimitStore, RefreshStore,
    SessionStore, UserStore, WebhookStore,
};
use crate::token::SessionToken;
use crate::user::User;

#[derive(Clone, Debug, Default)]
pub struct AuthSettings {
    pub sessions: SessionPolicy,
    pub login_limits: LoginLimits,
    pub registration: RegistrationPolicy,
    pub mail: MailPolicy,
    /// Audit events older than this are pruned (`TESSERA_AUDIT_RETENTION`).
    pub audit_retention: AuditRetention,
    /// Whether each audit event is queued for the webhook
    /// (`TESSERA_WEBHOOK_URL` is set).
    pub webhooks: bool,
}

/// How long audit events are kept; 400 days by default.
#[derive(Clone, Copy, Debug)]
pub struct AuditRetention(pub time::Duration);

impl Default for AuditRetention {
    fn default() -> Self {
        Self(time::Duration::days(400))
    }
}

/// What the account flows that go through mail may do.
#[derive(Clone, Copy, Debug, Default)]
pub struct MailPolicy {
    pub verification: Verification,
    pub limits: MailLimits,
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
        self.admits_domain(email)
    }

    /// Whether the (normalised) email is at an allowed domain; also
    /// checked for a changed address, or a change would walk around it.
    pub fn admits_domain(&self, email: &str) -> Result<(), AuthError> {
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
    /// Mail tokens and the mail queue.
    pub mail: Arc<dyn MailStore>,
    /// TOTP, recovery codes, passkeys (with the users).
    pub mfa: Arc<dyn MfaStore>,
    /// Sign-in challenges and passkey ceremonies (with the sessions).
    pub challenges: Arc<dyn ChallengeStore>,
    /// The audit log.
    pub audit: Arc<dyn AuditStore>,
    /// The webhook outbox (pruned by the sweep).
    pub webhooks: Arc<dyn WebhookStore>,
}

/// What second factors need besides stores.
#[derive(Clone)]
pub struct SecondFactors {
    /// Seals TOTP secrets at rest: the deployment key.
    pub sealer: Arc<Sealer>,
    /// The WebAuthn relying party: RP ID and origins from the public
    /// origin. `None` when that origin is an IP address (WebAuthn allows
    /// only domain names): passkeys are off, everything else works.
    pub webauthn: Option<Arc<webauthn_rs::Webauthn>>,
    /// The issuer authenticator apps show (`TESSERA_APP_NAME`).
    pub issuer: String,
}

impl SecondFactors {
    /// TOTP secrets sealed with `seal_key` (32 bytes); passkeys for the
    /// first public origin's host (the RP ID), from any of the origins, or
    /// none (with a warning) when that host is an IP address.
    pub fn new(seal_key: &[u8], public_origins: &[String], issuer: &str) -> Result<Self, String> {
        use webauthn_rs::prelude::Url;
        let sealer = Sealer::new(seal_key).ok_or("the TOTP sealing key is not 32 bytes")?;
        let origins = public_origins
            .iter()
            .map(|o| Url::parse(o).map_err(|e| format!("public origin {o:?}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let first = origins.first().ok_or("no public origin")?;
        let rp_id = first
            .host_str()
            .ok_or_else(|| format!("the public origin {first} has no host"))?;
        let sealer = Arc::new(sealer);
        if rp_id
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok()
        {
            tracing::warn!(origin = %first, "passkeys are off: WebAuthn needs the public origin to be a domain name (such as localhost), not an IP address");
            return Ok(Self {
                sealer,
                webauthn: None,
                issuer: issuer.to_owned(),
            });
        }
        let mut builder = webauthn_rs::WebauthnBuilder::new(rp_id, first)
            .map_err(|e| format!("passkeys for {first}: {e}"))?
            .rp_name(issuer);
        for origin in &origins[1..] {
            builder = builder.append_allowed_origin(origin);
        }
        let webauthn = builder
            .build()
            .map_err(|e| format!("passkeys for {rp_id}: {e}"))?;
        Ok(Self {
            sealer,
            webauthn: Some(Arc::new(webauthn)),
            issuer: issuer.to_owned(),
        })
    }
}

impl std::fmt::Debug for SecondFactors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactors")
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct Auth {
    users: Arc<dyn UserStore>,
    sessions: Arc<dyn SessionStore>,
    refresh: Arc<dyn RefreshStore>,
    identities: Arc<dyn IdentityStore>,
    mail: Arc<dyn MailStore>,
    mfa: Arc<dyn MfaStore>,
    challenges: Arc<dyn ChallengeStore>,
    audit: Arc<dyn AuditStore>,
    webhooks: Arc<dyn WebhookStore>,
    limits: Arc<dyn RateLimitStore>,
    second: SecondFactors,
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
        second: SecondFactors,
    ) -> Self {
        let AuthStores {
            users,
            sessions,
            limits,
            refresh,
            identities,
            mail,
            mfa,
            challenges,
            audit,
            webhooks,
        } = stores;
        Self {
            guard: LoginGuard::new(limits.clone(), settings.login_limits),
            users,
            sessions,
            refresh,
            identities,
            mail,
            mfa,
            challenges,
            audit,
            webhooks,
            limits,
            second,
            hasher,
            clock,
            settings,
        }
    }

    pub fn users(&self) -> &Arc<dyn UserStore> {
        &self.users
    }

    pub fn mail(&self) -> &Arc<dyn MailStore> {
        &self.mail
    }

    /// The webhook outbox, for its sender and the command line.
    pub fn webhooks(&self) -> &Arc<dyn WebhookStore> {
        &self.webhooks
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
