//! Users and the rules for their input.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::error::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub Uuid);

impl UserId {
    pub fn new() -> Self {
        Self(Uuid::new_v4())
    }
}

impl Default for UserId {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Display for UserId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// The public view of a user; also the snapshot each session carries, so
/// whoami needs no user read.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: Option<String>,
    pub email_verified: bool,
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A user as stored, with what must never leave the server.
#[derive(Clone)]
pub struct UserRecord {
    pub user: User,
    /// PHC string; `None` for users who cannot sign in with a password.
    pub password_hash: Option<String>,
    pub disabled_at: Option<OffsetDateTime>,
}

impl std::fmt::Debug for UserRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRecord")
            .field("user", &self.user)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "[redacted]"),
            )
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

/// What a store inserts.
pub type NewUser = UserRecord;

pub const PASSWORD_MIN_CHARS: usize = 8;
pub const PASSWORD_MAX_BYTES: usize = 1024;
pub const NAME_MAX_CHARS: usize = 200;
const EMAIL_MAX_BYTES: usize = 254;

/// Emails are trimmed and lowercased before they are stored or compared.
pub fn normalize_email(raw: &str) -> String {
    raw.trim().to_lowercase()
}

pub fn check_email(email: &str, field: &str, errors: &mut Vec<FieldError>) {
    if email.is_empty() {
        errors.push(FieldError::new(field, "is required"));
    } else if email.len() > EMAIL_MAX_BYTES
        || !email_address::EmailAddress::is_valid(email)
        || !email.contains('.')
    {
        errors.push(FieldError::new(field, "is not a valid email address"));
    }
}

/// At least 8 characters (not bytes: four 2-byte characters are not a
/// password), at most 1024 bytes (the hashing input bound).
pub fn check_password(password: &str, field: &str, errors: &mut Vec<FieldError>) {
    if password.chars().count() < PASSWORD_MIN_CHARS {
        errors.push(FieldError::new(
            field,
            format!("must be at least {PASSWORD_MIN_CHARS} characters"),
        ));
    } else if password.len() > PASSWORD_MAX_BYTES {
        errors.push(FieldError::new(
            field,
            format!("must be at most {PASSWORD_MAX_BYTES} bytes"),
        ));
    }
}

/// Trims the display name; empty means none.
pub fn normalize_name(raw: Option<&str>, errors: &mut Vec<FieldError>) -> Option<String> {
    let name = raw.map(str::trim).filter(|n| !n.is_empty())?;
    if name.chars().count() > NAME_MAX_CHARS {
        errors.push(FieldError::new(
            "name",
            format!("must be at most {NAME_MAX_CHARS} characters"),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push(FieldError::new(
            "name",
            "must not contain control characters",
        ));
    }
    Some(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_lowercased() {
        assert_eq!(normalize_email("  Ada@Example.COM "), "ada@example.com");
    }

    #[test]
    fn email_syntax() {
        for ok in ["a@example.com", "first.last+tag@sub.example.org"] {
            let mut e = vec![];
            check_email(ok, "email", &mut e);
            assert!(e.is_empty(), "{ok}");
        }
        for bad in ["", "plain", "a@", "@b.com", "a b@c.com", "a@localhost"] {
            let mut e = vec![];
            check_email(bad, "email", &mut e);
            assert_eq!(e.len(), 1, "{bad}");
            assert_eq!(e[0].field, "email");
        }
    }

    #[test]
    fn password_length_min_in_characters_max_in_bytes() {
        let mut e = vec![];
        check_password("1234567", "password", &mut e);
        check_password(&"x".repeat(1025), "password", &mut e);
        check_password("éééé", "password", &mut e);
        check_password(&"é".repeat(513), "password", &mut e);
        assert_eq!(e.len(), 4, "{e:?}");
        let mut e = vec![];
        check_password("12345678", "password", &mut e);
        check_password("éééééééé", "password", &mut e);
        check_password(&"x".repeat(1024), "password", &mut e);
        assert!(e.is_empty());
    }

    #[test]
    fn names() {
        let mut e = vec![];
        assert_eq!(normalize_name(Some("  Ada "), &mut e), Some("Ada".into()));
        assert_eq!(normalize_name(Some("   "), &mut e), None);
        assert_eq!(normalize_name(None, &mut e), None);
        assert!(e.is_empty());
        normalize_name(Some(&"é".repeat(201)), &mut e);
        assert_eq!(e.len(), 1);
        let mut e = vec![];
        normalize_name(Some(&"é".repeat(200)), &mut e);
        assert!(e.is_empty());
    }
}
