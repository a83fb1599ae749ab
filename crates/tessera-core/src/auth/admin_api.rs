//! What the admin API does (`/v1/admin/*`): find users, look at one,
//! change them, sign them out, mail them a reset link, delete them. Every
//! change is recorded with its actor (an administrator, or the admin key).

use serde_json::json;
use time::OffsetDateTime;

use super::{Auth, ClientInfo};
use crate::audit::{Actor, EventKind};
use crate::error::{AuthError, FieldError};
use crate::user::{self, UserId, UserRecord};

/// A page of users, oldest first.
#[derive(Debug)]
pub struct UserPage {
    pub users: Vec<UserRecord>,
    /// Where the next page starts; `None` on the last.
    pub next_cursor: Option<String>,
}

/// What `PATCH /v1/admin/users/{id}` may change; absent fields stay.
#[derive(Debug, Default)]
pub struct UserPatch {
    pub disabled: Option<bool>,
    pub roles: Option<Vec<String>>,
    /// `Some(None)` clears the name.
    pub name: Option<Option<String>>,
    /// Only `true`: marking an address unverified would need a new link.
    pub email_verified: Option<bool>,
}

/// Longest search text.
const QUERY_MAX_CHARS: usize = 200;
/// Largest page.
pub const MAX_PAGE: u32 = 100;

fn user_cursor(r: &UserRecord) -> String {
    format!("u{}.{}", r.user.created_at.unix_timestamp(), r.user.id)
}

fn parse_user_cursor(s: &str) -> Option<(OffsetDateTime, UserId)> {
    let (at, id) = s.strip_prefix('u')?.split_once('.')?;
    Some((
        OffsetDateTime::from_unix_timestamp(at.parse().ok()?).ok()?,
        UserId(uuid::Uuid::parse_str(id).ok()?),
    ))
}

impl Auth {
    /// Users whose email or name contains `query` (any case), oldest
    /// first, `limit` (1 to 100) at a time after `cursor`.
    pub async fn admin_users(
        &self,
        query: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<UserPage, AuthError> {
        let mut errors = Vec::new();
        let query = query.map(str::trim).filter(|q| !q.is_empty());
        if query.is_some_and(|q| q.chars().count() > QUERY_MAX_CHARS) {
            errors.push(FieldError::new("query", "must be at most 200 characters"));
        }
        let after = cursor.filter(|c| !c.is_empty()).and_then(|c| {
            let after = parse_user_cursor(c);
            if after.is_none() {
                errors.push(FieldError::new("cursor", "is not a cursor this API gave"));
            }
            after
        });
        if !(1..=MAX_PAGE).contains(&limit) {
            errors.push(FieldError::new("limit", "must be 1 to 100"));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let query = query.map(str::to_lowercase);
        let mut users = self
            .users
            .search_users(query.as_deref(), after, limit + 1)
            .await?;
        let next_cursor = if users.len() > limit as usize {
            users.truncate(limit as usize);
            users.last().map(user_cursor)
        } else {
            None
        };
        Ok(UserPage { users, next_cursor })
    }

    /// One user, enabled or not.
    pub async fn admin_user(&self, id: UserId) -> Result<UserRecord, AuthError> {
        self.users.find_user(id).await?.ok_or(AuthError::NotFound)
    }

    /// One user with their identities, live sessions and second factors.
    pub async fn admin_user_detail(
        &self,
        id: UserId,
    ) -> Result<
        (
            UserRecord,
            Vec<crate::identity::Identity>,
            Vec<crate::session::Session>,
            super::MfaStatus,
        ),
        AuthError,
    > {
        let record = self.admin_user(id).await?;
        let identities = self.identities.list_identities(id).await?;
        let sessions = self
            .sessions
            .list_user_sessions(id, self.clock.now())
            .await?;
        let factors = self.mfa_status_of(id).await?;
        Ok((record, identities, sessions, factors))
    }

    /// Changes a user; the changes every session of theirs shows at once.
    /// Disabling also ends their sessions and refresh families.
    pub async fn admin_update_user(
        &self,
        id: UserId,
        patch: UserPatch,
        actor: Actor,
        client: &ClientInfo,
    ) -> Result<UserRecord, AuthError> {
        let mut errors = Vec::new();
        let name = patch
            .name
            .as_ref()
            .map(|n| user::normalize_name(n.as_deref(), &mut errors));
        if patch.email_verified == Some(false) {
            errors.push(FieldError::new(
                "email_verified",
                "can only be set to true (the user verifies again by a new link)",
            ));
        }
        if !errors.is_empty() {
            return Err(AuthError::Validation(errors));
        }
        let record = self.admin_user(id).await?;
        if let Some(roles) = patch.roles {
            self.set_user_roles(&record, roles, actor.clone(), client)
                .await?;
        }
        if let Some(name) = name {
            self.users.set_name(id, name.as_deref()).await?;
        }
        if patch.email_verified == Some(true) {
            self.users
                .set_email_verified(id, &record.user.email)
                .await?;
        }
        match patch.disabled {
            Some(true) if record.disabled_at.is_none() => {
                self.users.set_disabled(id, Some(self.clock.now())).await?;
                self.revoke_refresh_families(id).await?;
                let ended = self.sessions.delete_user_sessions(id, None).await?;
                self.record_for(
                    EventKind::UserDisabled,
                    Some(id),
                    actor,
                    client,
                    json!({"sessions_ended": ended}),
                )
                .await;
            }
            Some(false) if record.disabled_at.is_some() => {
                self.users.set_disabled(id, None).await?;
                self.record_for(EventKind::UserEnabled, Some(id), actor, client, json!({}))
                    .await;
            }
            _ => {}
        }
        self.refresh_snapshots(id).await?;
        self.admin_user(id).await
    }

    /// Ends every session and refresh family of the user.
    pub async fn admin_revoke_sessions(
        &self,
        id: UserId,
        actor: Actor,
        client: &ClientInfo,
    ) -> Result<u64, AuthError> {
        self.admin_user(id).await?;
        let ended = self.sessions.delete_user_sessions(id, None).await?;
        self.revoke_refresh_families(id).await?;
        self.record_for(
            EventKind::SessionRevoked,
            Some(id),
            actor,
            client,
            json!({"all": true, "ended": ended}),
        )
        .await;
        Ok(ended)
    }

    /// Mails the user a reset link (audited as `password_reset` with
    /// `{"link_sent": true}`: the reset itself is the user's later event).
    pub async fn admin_password_reset(
        &self,
        id: UserId,
        actor: Actor,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        let record = self.admin_user(id).await?;
        self.mail
            .enqueue_mail(
                &crate::mail::MailJob::Reset {
                    address: record.user.email,
                },
                self.clock.now(),
            )
            .await?;
        self.record_for(
            EventKind::PasswordReset,
            Some(id),
            actor,
            client,
            json!({"link_sent": true}),
        )
        .await;
        Ok(())
    }

    /// Deletes the user and all that is theirs, then every session.
    pub async fn admin_delete_user(
        &self,
        id: UserId,
        actor: Actor,
        client: &ClientInfo,
    ) -> Result<(), AuthError> {
        if !self.users.delete_user(id).await? {
            return Err(AuthError::NotFound);
        }
        self.sessions.delete_user_sessions(id, None).await?;
        self.record_for(EventKind::UserDeleted, Some(id), actor, client, json!({}))
            .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_cursors_round_trip_and_refuse_junk() {
        let r = UserRecord {
            user: crate::user::User {
                id: UserId::new(),
                email: "a@example.com".into(),
                name: None,
                email_verified: false,
                roles: vec![],
                created_at: OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap(),
            },
            password_hash: None,
            disabled_at: None,
        };
        assert_eq!(
            parse_user_cursor(&user_cursor(&r)),
            Some((r.user.created_at, r.user.id))
        );
        for junk in [
            "",
            "u",
            "u1.",
            "x1.00000000-0000-0000-0000-000000000000",
            "u1.nope",
        ] {
            assert_eq!(parse_user_cursor(junk), None, "{junk}");
        }
    }
}
