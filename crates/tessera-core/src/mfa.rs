//! Second factors: TOTP (RFC 6238), recovery codes, the sign-in challenge
//! that stands between a first factor and a session, and what a session
//! says of how it was signed in (RFC 8176 `amr` values).
//!
//! - TOTP: SHA-1, 6 digits, 30 s steps, one step either side accepted
//!   (`totp-rs`). A used step is recorded per user and never accepted
//!   again, whichever of login, enrolment or disabling used it. The secret
//!   (160 bits) is kept sealed with the deployment key.
//! - Recovery codes: 10, each 120 bits from the OS CSPRNG, written as six
//!   groups of four base32 letters; only their SHA-256 is kept, each works
//!   once. At 112 bits or more a plain hash is enough (ASVS 6.5.2): an
//!   offline search of the hashes is hopeless.
//! - The challenge: an opaque 256-bit value, 5 minutes, single use, bound
//!   to the user and to what the first factor proved. It is kept in the
//!   session store (Redis in production), so any instance completes what
//!   another began.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use totp_rs::{Algorithm, Builder, Secret};

use crate::token::{TokenHash, random_bytes};
use crate::user::UserId;

/// One way a sign-in was proven (RFC 8176).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// A password.
    Pwd,
    /// A one-time password (TOTP, or a recovery code).
    Otp,
    /// Proof of possession of a hardware-bound key (a passkey).
    Hwk,
    /// A federated provider (GitHub, OIDC).
    Fed,
    /// More than one factor.
    Mfa,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pwd => "pwd",
            Self::Otp => "otp",
            Self::Hwk => "hwk",
            Self::Fed => "fed",
            Self::Mfa => "mfa",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pwd" => Self::Pwd,
            "otp" => Self::Otp,
            "hwk" => Self::Hwk,
            "fed" => Self::Fed,
            "mfa" => Self::Mfa,
            _ => return None,
        })
    }
}

/// How a session was signed in: the `amr` of whoami and access tokens.
/// Each method at most once, in the order they were proven.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Amr(Vec<Method>);

impl Amr {
    pub fn of(methods: &[Method]) -> Self {
        methods.iter().fold(Self::default(), |a, m| a.with(*m))
    }

    /// Adds `method` unless it is there already.
    #[must_use]
    pub fn with(mut self, method: Method) -> Self {
        if !self.0.contains(&method) {
            self.0.push(method);
        }
        self
    }

    pub fn methods(&self) -> &[Method] {
        &self.0
    }

    /// Whether more than one factor was proven (a passkey with user
    /// verification counts as such by itself).
    pub fn is_mfa(&self) -> bool {
        self.0.contains(&Method::Mfa)
    }

    /// Space-separated, for a text column or a record field.
    pub fn to_field(&self) -> String {
        let words: Vec<&str> = self.0.iter().map(|m| m.as_str()).collect();
        words.join(" ")
    }

    /// The inverse of [`Self::to_field`]; unknown words are skipped (a
    /// newer version's value read by an older one).
    pub fn parse_field(s: &str) -> Self {
        Self(s.split_whitespace().filter_map(Method::parse).collect())
    }
}

/// TOTP parameters (RFC 6238's defaults, which every authenticator app
/// takes).
pub const TOTP_DIGITS: usize = 6;
pub const TOTP_STEP_SECONDS: u64 = 30;
const TOTP_SKEW: u16 = 1;
/// 160 bits, as RFC 4226 recommends.
pub const TOTP_SECRET_BYTES: usize = 20;

/// What the secret is sealed for (the sealing key's associated data).
pub const TOTP_SEAL_PURPOSE: &[u8] = b"tessera-totp-secret-v1";

/// A fresh TOTP secret.
pub fn new_totp_secret() -> Vec<u8> {
    random_bytes::<TOTP_SECRET_BYTES>().to_vec()
}

fn totp(secret: &[u8], issuer: &str, account: &str) -> Option<totp_rs::Totp> {
    // A colon separates issuer and account in the label: neither may hold one.
    let clean = |s: &str| s.replace(':', " ").trim().to_owned();
    let issuer = clean(issuer);
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(u8::try_from(TOTP_DIGITS).unwrap_or(6))
        .with_skew(TOTP_SKEW)
        .with_step_duration(TOTP_STEP_SECONDS)
        .with_secret(secret.to_vec())
        .with_account_name(clean(account))
        .with_issuer((!issuer.is_empty()).then_some(issuer))
        .build()
        .ok()
}

/// The secret in base32 (what a person types into an app by hand).
pub fn totp_secret_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The `otpauth://totp/…` URI an authenticator app scans from a QR code.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> Option<String> {
    totp(secret, issuer, account)?.to_url().ok()
}

/// The time step `code` is valid for at `now`, within one step either
/// side; `None` if it matches none (or is not six digits). Spaces are
/// ignored (apps show "123 456").
pub fn totp_step(secret: &[u8], code: &str, now: OffsetDateTime) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = u64::try_from(now.unix_timestamp()).ok()?;
    let step = totp(secret, "", "user")?.check(&code, now)?;
    i64::try_from(step).ok()
}

/// The code for `at` (tests, and the CLI's own checks).
pub fn totp_code(secret: &[u8], at: OffsetDateTime) -> Option<String> {
    let at = u64::try_from(at.unix_timestamp()).ok()?;
    Some(totp(secret, "", "user")?.generate(at).to_string())
}

/// How many recovery codes a user gets at a time.
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_CODE_BYTES: usize = 15;
/// Base32 letters in a code (120 bits).
const RECOVERY_CODE_CHARS: usize = 24;

/// A fresh set of recovery codes, as shown to the user once:
/// `abcd-efgh-ijkl-mnop-qrst-uvwx`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let letters = Secret::from(random_bytes::<RECOVERY_CODE_BYTES>().to_vec())
                .to_base32()
                .to_ascii_lowercase();
            let groups: Vec<&str> = (0..RECOVERY_CODE_CHARS / 4)
                .map(|i| &letters[i * 4..i * 4 + 4])
                .collect();
            groups.join("-")
        })
        .collect()
}

/// What is stored of a recovery code: the SHA-256 of its letters, lower
/// case, without separators. `None` for input that cannot be a code.
pub fn recovery_code_hash(presented: &str) -> Option<TokenHash> {
    use sha2::{Digest, Sha256};
    let letters: String = presented
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let base32 = |c: char| c.is_ascii_lowercase() || ('2'..='7').contains(&c);
    if letters.len() != RECOVERY_CODE_CHARS || !letters.chars().all(base32) {
        return None;
    }
    let mut hasher = Sha256::new();
    hasher.update(b"tessera-recovery-code-v1:");
    hasher.update(letters.as_bytes());
    Some(TokenHash(hasher.finalize().into()))
}

/// How long a sign-in challenge lasts (the `__Host-tessera_mfa` cookie's
/// `Max-Age`).
pub const CHALLENGE_TTL: Duration = Duration::minutes(5);
/// Wrong codes that end a challenge.
pub const CHALLENGE_MAX_FAILURES: u64 = 5;

/// What the session store keeps under a challenge's hash: a sign-in that
/// proved its first factor and waits for the second, or a passkey
/// ceremony under way. Tagged, so a value of one kind never serves as the
/// other.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Pending {
    /// A sign-in waiting for its second factor.
    SignIn {
        user: UserId,
        /// What the first factor proved (`pwd` or `fed`).
        amr: Amr,
    },
    /// A passkey being registered by a signed-in user.
    PasskeyRegistration {
        user: UserId,
        state: serde_json::Value,
    },
    /// A passkey sign-in under way.
    PasskeySignIn { state: serde_json::Value },
}

impl Pending {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A user's TOTP as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TotpRecord {
    pub user_id: UserId,
    /// The secret, sealed with the deployment key.
    pub sealed_secret: Vec<u8>,
    /// `None` while enrolment waits for its first code.
    pub enabled_at: Option<OffsetDateTime>,
    /// The last time step accepted, never accepted again.
    pub last_step: Option<i64>,
    pub created_at: OffsetDateTime,
}

/// A registered passkey as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyRecord {
    pub id: uuid::Uuid,
    pub user_id: UserId,
    /// The WebAuthn credential id.
    pub credential_id: Vec<u8>,
    /// `webauthn-rs`'s `Passkey`, as JSON (public key, counter, flags).
    pub data: String,
    pub name: String,
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created_at: OffsetDateTime,
    pub last_used_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(secs).unwrap()
    }

    #[test]
    fn rfc_6238_sha1_test_vectors() {
        // RFC 6238 appendix B, SHA-1, with the last six of its eight digits.
        let secret = b"12345678901234567890";
        for (t, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (1_111_111_111, "050471"),
            (1_234_567_890, "005924"),
            (2_000_000_000, "279037"),
        ] {
            assert_eq!(totp_code(secret, at(t)).unwrap(), code, "t={t}");
            assert_eq!(totp_step(secret, code, at(t)), Some(t / 30), "t={t}");
        }
    }

    #[test]
    fn one_step_either_side_and_no_further() {
        let secret = new_totp_secret();
        let now = at(1_800_000_015);
        let code = |dt: i64| totp_code(&secret, now + Duration::seconds(dt)).unwrap();
        let step = now.unix_timestamp() / 30;
        assert_eq!(totp_step(&secret, &code(-30), now), Some(step - 1));
        assert_eq!(totp_step(&secret, &code(30), now), Some(step + 1));
        assert_eq!(totp_step(&secret, &code(0), now), Some(step));
        assert_eq!(totp_step(&secret, &code(-60), now), None);
        assert_eq!(totp_step(&secret, &code(60), now), None);
        let spaced = format!("{} {}", &code(0)[..3], &code(0)[3..]);
        assert_eq!(totp_step(&secret, &spaced, now), Some(step));
        for junk in ["", "12345", "1234567", "abcdef", "١٢٣٤٥٦"] {
            assert_eq!(totp_step(&secret, junk, now), None, "{junk:?}");
        }
    }

    #[test]
    fn otpauth_uri_names_issuer_account_and_secret() {
        let secret = new_totp_secret();
        let uri = otpauth_uri(&secret, "Acme: Inc", "ada@example.com").unwrap();
        assert!(
            uri.starts_with("otpauth://totp/Acme%20%20Inc:ada%40example.com?"),
            "{uri}"
        );
        assert!(uri.contains(&format!("secret={}", totp_secret_base32(&secret))));
        assert!(uri.contains("issuer=Acme%20%20Inc"), "{uri}");
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_however_typed() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let hashes: std::collections::HashSet<_> = codes
            .iter()
            .map(|c| recovery_code_hash(c).unwrap().0)
            .collect();
        assert_eq!(hashes.len(), RECOVERY_CODES);
        let c = &codes[0];
        assert_eq!(c.len(), 29, "six groups of four, five dashes");
        let typed = c.replace('-', " ").to_uppercase();
        assert_eq!(recovery_code_hash(&typed), recovery_code_hash(c));
        assert_eq!(recovery_code_hash("abcd-efgh"), None);
        assert_eq!(
            recovery_code_hash("abcd-efgh-ijkl-mno1"),
            None,
            "1 is not base32"
        );
    }

    #[test]
    fn amr_keeps_each_method_once_and_round_trips() {
        let amr = Amr::of(&[Method::Pwd, Method::Otp, Method::Pwd]).with(Method::Mfa);
        assert_eq!(amr.to_field(), "pwd otp mfa");
        assert_eq!(Amr::parse_field("pwd otp mfa future"), amr);
        assert!(amr.is_mfa());
        assert_eq!(
            serde_json::to_string(&amr).unwrap(),
            r#"["pwd","otp","mfa"]"#
        );
    }
}
