//! The claims of a Tessera access token, typed.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Claims of a verified access token.
///
/// Times are Unix seconds. Numbers must be JSON integers: a string or a
/// fraction where a time belongs makes the token `malformed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    /// The user id.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
    /// The session id, for tokens from the `session` grant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// How the user signed in (RFC 8176): `pwd`, `otp`, `hwk`, `fed`, and
    /// `mfa` when more than one factor was proven.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Any other claim, untouched.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Claims {
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the sign-in behind the token proved more than one factor
    /// (`amr` has `mfa`): a password and a TOTP code, or a passkey.
    pub fn has_mfa(&self) -> bool {
        self.amr.iter().any(|m| m == "mfa")
    }
}
