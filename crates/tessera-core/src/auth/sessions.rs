//! A signed-in user's sessions: whoami (with the sliding idle expiry),
//! sign-out, the devices list, and the sweep of expired sessions.

use super::Auth;
use super::audit::session_detail;
use crate::audit::EventKind;
use crate::error::AuthError;
use crate::session::{Session, SessionId};
use crate::token::SessionToken;
use crate::user::UserId;

impl Auth {
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

    /// Ends the session, and revokes the user's refresh-token families (as
    /// the tokens issue asks: signing out stops token clients too).
    pub async fn logout(&self, session: &Session) -> Result<bool, AuthError> {
        let ended = self.sessions.end_presented_session(session).await?;
        self.revoke_refresh_families(session.user.id).await?;
        self.record_by(EventKind::SignOut, session, session_detail(session))
            .await;
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
            self.record_by(
                EventKind::SessionRevoked,
                current,
                serde_json::json!({"session_id": id}),
            )
            .await;
            Ok(())
        } else {
            Err(AuthError::NotFound)
        }
    }

    pub async fn revoke_other_sessions(&self, current: &Session) -> Result<u64, AuthError> {
        let ended = self
            .sessions
            .delete_user_sessions(current.user.id, Some(current.id))
            .await?;
        self.record_by(
            EventKind::SessionRevoked,
            current,
            serde_json::json!({"all_but": current.id, "ended": ended}),
        )
        .await;
        Ok(ended)
    }

    /// Deletes expired sessions (the count), expired marks of exchanged
    /// provider tokens, and refresh-token families past their absolute
    /// expiry.
    pub async fn sweep(&self) -> Result<u64, AuthError> {
        let now = self.clock.now();
        self.refresh.sweep_exchanged(now).await?;
        // Logged, not returned: the other sweeps still run.
        if let Err(e) = self.refresh.sweep_families(now).await {
            tracing::warn!(error = %e, "sweeping refresh families failed");
        }
        self.mail.sweep_mail_tokens(now).await?;
        self.challenges.sweep_challenges(now).await?;
        let retention_cut = now - self.settings.audit_retention.0;
        self.audit.prune_events(retention_cut).await?;
        self.webhooks
            .prune_webhooks(now - crate::webhook::KEEP_DELIVERED, retention_cut)
            .await?;
        Ok(self.sessions.sweep_expired(now).await?)
    }
}
