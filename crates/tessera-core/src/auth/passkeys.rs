//! Passkeys (WebAuthn, `webauthn-rs`): registering one while signed in,
//! passwordless sign-in with discoverable credentials, and the list.
//!
//! Each ceremony's server half (its challenge) is kept in the challenge
//! store under the hash of an opaque `flow` value the client sends back,
//! so any instance finishes what another began, and each is taken once.
//! The verifier checks the origin against the public origins, the RP ID
//! (the first public origin's host), user verification and the signature
//! counter. A passkey sign-in is a session with `amr` `hwk mfa`: the key
//! is something the user has, unlocked by something they are or know.

use serde_json::Value;
use uuid::Uuid;
use webauthn_rs::prelude::{
    Credential, DiscoverableAuthentication, Passkey, PasskeyRegistration, PublicKeyCredential,
    RegisterPublicKeyCredential,
};

use super::{Auth, ClientInfo, Started};
use crate::audit::EventKind;
use crate::error::{AuthError, FieldError};
use crate::mfa::{Amr, CHALLENGE_TTL, Method, PasskeyRecord, Pending};
use crate::session::Session;
use crate::store::{StoreError, Unlink};
use crate::token::SessionToken;
use crate::user::UserId;

/// The first half of a ceremony: the options for the browser's
/// `navigator.credentials` call (`{publicKey: …}`), and the value that
/// names this ceremony in the second half.
#[derive(Debug)]
pub struct PasskeyCeremony {
    pub flow: SessionToken,
    pub options: Value,
}

/// Longest passkey name, in characters.
const NAME_MAX_CHARS: usize = 100;
/// Passkey sign-ins a client may start per minute (each leaves a
/// challenge in the store for a few minutes).
const SIGN_IN_STARTS_PER_MINUTE: u64 = 30;

impl Auth {
    /// The relying party, or [`AuthError::PasskeysUnavailable`] when the
    /// public origin cannot have passkeys (an IP address).
    fn webauthn(&self) -> Result<&webauthn_rs::Webauthn, AuthError> {
        self.second
            .webauthn
            .as_deref()
            .ok_or(AuthError::PasskeysUnavailable)
    }

    /// Starts registering a passkey for the signed-in user. The options
    /// ask for a discoverable credential with user verification, and
    /// exclude the user's passkeys already registered.
    pub async fn begin_passkey_registration(
        &self,
        session: &Session,
    ) -> Result<PasskeyCeremony, AuthError> {
        let user = self.live_user(session.user.id).await?.user;
        let exclude = self
            .mfa
            .list_passkeys(user.id)
            .await?
            .iter()
            .filter_map(|p| serde_json::from_str::<Passkey>(&p.data).ok())
            .map(|p| p.cred_id().clone())
            .collect::<Vec<_>>();
        let display = user.name.clone().unwrap_or_else(|| user.email.clone());
        let (options, state) = self
            .webauthn()?
            .start_passkey_registration(user.id.0, &user.email, &display, Some(exclude))
            .map_err(|e| AuthError::Internal(format!("passkey registration: {e}")))?;
        let mut options = serde_json::to_value(options)
            .map_err(|e| AuthError::Internal(format!("passkey options: {e}")))?;
        // Discoverable ("resident") credentials, so that the passkey signs
        // in without an email first; webauthn-rs asks for them only as a
        // preference.
        if let Some(selection) = options.pointer_mut("/publicKey/authenticatorSelection")
            && let Some(selection) = selection.as_object_mut()
        {
            selection.insert("residentKey".into(), "required".into());
            selection.insert("requireResidentKey".into(), true.into());
        }
        let pending = Pending::PasskeyRegistration {
            user: user.id,
            state: serde_json::to_value(state)
                .map_err(|e| AuthError::Internal(format!("passkey state: {e}")))?,
        };
        let flow = self.leave(&pending).await?;
        Ok(PasskeyCeremony { flow, options })
    }

    /// Finishes a registration begun by the same user: verifies the
    /// authenticator's answer and stores the passkey.
    pub async fn finish_passkey_registration(
        &self,
        session: &Session,
        flow: &str,
        credential: &RegisterPublicKeyCredential,
        name: Option<&str>,
    ) -> Result<PasskeyRecord, AuthError> {
        let name = passkey_name(name)?;
        let Some(Pending::PasskeyRegistration { user, state }) = self.take(flow).await? else {
            return Err(AuthError::PasskeyInvalid);
        };
        if user != session.user.id {
            return Err(AuthError::PasskeyInvalid);
        }
        self.live_user(user).await?;
        let state: PasskeyRegistration =
            serde_json::from_value(state).map_err(|_| AuthError::PasskeyInvalid)?;
        let passkey = self
            .webauthn()?
            .finish_passkey_registration(credential, &state)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey registration refused");
                AuthError::PasskeyInvalid
            })?;
        let cred: Credential = passkey.clone().into();
        let now = self.clock.now();
        let record = PasskeyRecord {
            id: Uuid::new_v4(),
            user_id: user,
            credential_id: passkey.cred_id().clone(),
            data: serde_json::to_string(&passkey)
                .map_err(|e| AuthError::Internal(format!("passkey: {e}")))?,
            name,
            sign_count: cred.counter,
            backup_eligible: cred.backup_eligible,
            backup_state: cred.backup_state,
            created_at: now,
            last_used_at: None,
        };
        match self.mfa.insert_passkey(&record).await {
            Err(StoreError::Conflict(_)) => Err(AuthError::PasskeyExists),
            Err(e) => Err(e.into()),
            Ok(()) => {
                self.record_by(
                    EventKind::FactorAdded,
                    session,
                    serde_json::json!({"factor": "passkey", "passkey_id": record.id}),
                )
                .await;
                Ok(record)
            }
        }
    }

    /// Starts a passwordless sign-in: options with no credentials listed,
    /// so the authenticator offers the passkeys it holds for this site.
    pub async fn begin_passkey_sign_in(
        &self,
        client: &ClientInfo,
    ) -> Result<PasskeyCeremony, AuthError> {
        if let Some(ip) = &client.ip {
            let count = self
                .limits
                .hit(
                    &format!("passkey-start:{ip}"),
                    std::time::Duration::from_mins(1),
                    self.clock.now(),
                )
                .await?;
            if count.hits > SIGN_IN_STARTS_PER_MINUTE {
                return Err(AuthError::RateLimited {
                    retry_after: std::time::Duration::from_secs(
                        (count.resets_at - self.clock.now())
                            .whole_seconds()
                            .max(1)
                            .unsigned_abs(),
                    ),
                });
            }
        }
        let (options, state) = self
            .webauthn()?
            .start_discoverable_authentication()
            .map_err(|e| AuthError::Internal(format!("passkey sign-in: {e}")))?;
        let mut options = serde_json::to_value(options)
            .map_err(|e| AuthError::Internal(format!("passkey options: {e}")))?;
        // A button starts this sign-in, not an autofill prompt.
        if let Some(options) = options.as_object_mut() {
            options.remove("mediation");
        }
        let pending = Pending::PasskeySignIn {
            state: serde_json::to_value(state)
                .map_err(|e| AuthError::Internal(format!("passkey state: {e}")))?,
        };
        let flow = self.leave(&pending).await?;
        Ok(PasskeyCeremony { flow, options })
    }

    /// Finishes a passwordless sign-in: the passkey's user gets a new
    /// session (ending one the client still presented). No second factor
    /// is asked: the passkey with user verification is two.
    pub async fn finish_passkey_sign_in(
        &self,
        flow: &str,
        credential: &PublicKeyCredential,
        client: &ClientInfo,
        presented: Option<&SessionToken>,
    ) -> Result<Started, AuthError> {
        let Some(Pending::PasskeySignIn { state }) = self.take(flow).await? else {
            return Err(AuthError::PasskeyInvalid);
        };
        let state: DiscoverableAuthentication =
            serde_json::from_value(state).map_err(|_| AuthError::PasskeyInvalid)?;
        let webauthn = self.webauthn()?;
        let (handle, cred_id) = webauthn
            .identify_discoverable_authentication(credential)
            .map_err(|_| AuthError::PasskeyInvalid)?;
        let record = self
            .mfa
            .find_passkey(cred_id)
            .await?
            .filter(|p| p.user_id.0 == handle)
            .ok_or(AuthError::PasskeyInvalid)?;
        let mut passkey: Passkey =
            serde_json::from_str(&record.data).map_err(|_| AuthError::PasskeyInvalid)?;
        let result = webauthn
            .finish_discoverable_authentication_v2(credential, state, &passkey)
            .map_err(|e| {
                tracing::info!(error = %e, "passkey sign-in refused");
                AuthError::PasskeyInvalid
            })?;
        passkey.update_credential(&result);
        let data = serde_json::to_string(&passkey)
            .map_err(|e| AuthError::Internal(format!("passkey: {e}")))?;
        self.mfa
            .passkey_used(
                record.id,
                &data,
                result.counter(),
                result.backup_state(),
                self.clock.now(),
            )
            .await?;
        let user = self
            .users
            .find_user(record.user_id)
            .await?
            .filter(|r| r.disabled_at.is_none())
            .ok_or(AuthError::AccountDisabled)?
            .user;
        self.end_presented(presented).await?;
        let started = self
            .start_session(user, client, Amr::of(&[Method::Hwk, Method::Mfa]))
            .await?;
        self.still_allowed(started, None, AuthError::AccountDisabled)
            .await
    }

    pub async fn list_passkeys(&self, session: &Session) -> Result<Vec<PasskeyRecord>, AuthError> {
        Ok(self.mfa.list_passkeys(session.user.id).await?)
    }

    /// Renames one of the user's passkeys; someone else's is not found.
    pub async fn rename_passkey(
        &self,
        session: &Session,
        id: Uuid,
        name: Option<&str>,
    ) -> Result<PasskeyRecord, AuthError> {
        let name = passkey_name(name)?;
        if !self.mfa.rename_passkey(session.user.id, id, &name).await? {
            return Err(AuthError::NotFound);
        }
        self.own_passkey(session.user.id, id).await
    }

    /// Removes one of the user's passkeys, unless it is their last way to
    /// sign in.
    pub async fn delete_passkey(&self, session: &Session, id: Uuid) -> Result<(), AuthError> {
        match self.mfa.delete_passkey(session.user.id, id).await? {
            Unlink::Deleted => {
                self.record_by(
                    EventKind::FactorRemoved,
                    session,
                    serde_json::json!({"factor": "passkey", "passkey_id": id}),
                )
                .await;
                Ok(())
            }
            Unlink::NotLinked => Err(AuthError::NotFound),
            Unlink::LastWayIn => Err(AuthError::LastSignInMethod),
        }
    }

    async fn own_passkey(&self, user: UserId, id: Uuid) -> Result<PasskeyRecord, AuthError> {
        self.mfa
            .list_passkeys(user)
            .await?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or(AuthError::NotFound)
    }

    /// Keeps `pending` for the next request; the value naming it.
    pub(super) async fn leave(&self, pending: &Pending) -> Result<SessionToken, AuthError> {
        let flow = SessionToken::generate();
        self.challenges
            .put_challenge(
                &flow.hash(),
                &pending.encode(),
                self.clock.now() + CHALLENGE_TTL,
            )
            .await?;
        Ok(flow)
    }

    /// Takes what [`Self::leave`] kept under `flow`, once.
    async fn take(&self, flow: &str) -> Result<Option<Pending>, AuthError> {
        let Some(flow) = SessionToken::parse(flow) else {
            return Ok(None);
        };
        Ok(self
            .challenges
            .take_challenge(&flow.hash(), self.clock.now())
            .await?
            .as_deref()
            .and_then(Pending::decode))
    }
}

/// A passkey's name: trimmed, at most 100 characters, no control
/// characters; none given is "Passkey".
fn passkey_name(name: Option<&str>) -> Result<String, AuthError> {
    let name = name.map(str::trim).unwrap_or_default();
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(AuthError::Validation(vec![FieldError::new(
            "name",
            "must be at most 100 characters",
        )]));
    }
    if name.chars().any(char::is_control) {
        return Err(AuthError::Validation(vec![FieldError::new(
            "name",
            "must not contain control characters",
        )]));
    }
    Ok(if name.is_empty() {
        "Passkey".to_owned()
    } else {
        name.to_owned()
    })
}
