//! Signing keys: generated at first start, kept in the store, rotated by
//! `tessera keys rotate`. The newest key that is not retired signs; every
//! key is published in JWKS until the tokens it signed have all expired.

use std::sync::{Arc, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::AuthError;
use crate::store::{KeyStore, StoredKey};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigningAlg {
    /// Ed25519: the default.
    EdDsa,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl SigningAlg {
    pub fn name(self) -> &'static str {
        match self {
            Self::EdDsa => "EdDSA",
            Self::Es256 => "ES256",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "EdDSA" => Some(Self::EdDsa),
            "ES256" => Some(Self::Es256),
            _ => None,
        }
    }

    fn jwt(self) -> Algorithm {
        match self {
            Self::EdDsa => Algorithm::EdDSA,
            Self::Es256 => Algorithm::ES256,
        }
    }

    fn encoding_key(self, der: &[u8]) -> EncodingKey {
        match self {
            Self::EdDsa => EncodingKey::from_ed_der(der),
            Self::Es256 => EncodingKey::from_ec_der(der),
        }
    }
}

fn internal(e: impl std::fmt::Display) -> AuthError {
    AuthError::Internal(e.to_string())
}

/// Makes a new key pair and its public JWK.
pub fn generate(alg: SigningAlg, now: OffsetDateTime) -> Result<StoredKey, AuthError> {
    let rng = SystemRandom::new();
    let der = match alg {
        SigningAlg::EdDsa => Ed25519KeyPair::generate_pkcs8v1(&rng)
            .map_err(internal)?
            .as_ref()
            .to_vec(),
        SigningAlg::Es256 => EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(internal)?
            .as_ref()
            .to_vec(),
    };
    let kid = hex::encode(crate::token::random_bytes::<12>());
    let mut jwk = Jwk::from_encoding_key(&alg.encoding_key(&der), alg.jwt()).map_err(internal)?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(match alg {
        SigningAlg::EdDsa => KeyAlgorithm::EdDSA,
        SigningAlg::Es256 => KeyAlgorithm::ES256,
    });
    Ok(StoredKey {
        kid,
        alg: alg.name().to_owned(),
        private_der: der,
        public_jwk: serde_json::to_string(&jwk).map_err(internal)?,
        created_at: now,
        retired_at: None,
    })
}

/// The active key, parsed once. `jsonwebtoken::encode` re-parses its key
/// from PKCS#8 on every call (for Ed25519 that includes deriving the public
/// key), so the ring keeps the parsed pair and the encoded header instead
/// (docs/performance.md; the tests below pin the output to jsonwebtoken's).
struct Signer {
    /// The JOSE header, base64url-encoded as `jsonwebtoken` encodes it.
    header: String,
    pair: KeyPair,
}

enum KeyPair {
    Ed(Ed25519KeyPair),
    Es(EcdsaKeyPair),
}

impl Signer {
    fn new(kid: &str, alg: SigningAlg, der: &[u8]) -> Result<Self, AuthError> {
        let mut header = Header::new(alg.jwt());
        header.kid = Some(kid.to_owned());
        let header = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).map_err(internal)?);
        let pair = match alg {
            SigningAlg::EdDsa => KeyPair::Ed(Ed25519KeyPair::from_pkcs8(der).map_err(internal)?),
            SigningAlg::Es256 => KeyPair::Es(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(internal)?,
            ),
        };
        Ok(Self { header, pair })
    }

    /// A JWS in compact serialization, as `jsonwebtoken::encode` writes it:
    /// `header.claims.signature`, each part base64url without padding.
    fn sign<C: Serialize>(&self, claims: &C) -> Result<String, AuthError> {
        let claims = serde_json::to_vec(claims).map_err(internal)?;
        let mut token = String::with_capacity(self.header.len() + claims.len() * 4 / 3 + 100);
        token.push_str(&self.header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&claims, &mut token);
        let signature = match &self.pair {
            KeyPair::Ed(pair) => pair.sign(token.as_bytes()).as_ref().to_vec(),
            KeyPair::Es(pair) => pair
                .sign(&SystemRandom::new(), token.as_bytes())
                .map_err(internal)?
                .as_ref()
                .to_vec(),
        };
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&signature, &mut token);
        Ok(token)
    }
}

#[derive(Default)]
struct Loaded {
    signer: Option<Signer>,
    jwks: JwkSet,
}

/// The keys in use, reloaded from the store now and then so every instance
/// follows a rotation made anywhere.
pub struct KeyRing {
    store: Arc<dyn KeyStore>,
    clock: Arc<dyn Clock>,
    alg: SigningAlg,
    /// How long a retired key stays published: the access token lifetime.
    publish_after_retire: Duration,
    /// How long a new key is published before it signs: longer than JWKS
    /// caches keep a copy, so no verifier meets a kid it has not seen.
    activation_delay: Duration,
    loaded: RwLock<Loaded>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// How a key stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// Published, not signing yet: resource servers get to see it first.
    Pending,
    /// Signs new tokens.
    Active,
    /// Superseded by a newer key, still published.
    Published,
    /// Retired and no longer published.
    Unpublished,
}

impl KeyRing {
    /// Loads the keys, making the first one if the store has none.
    pub async fn open(
        store: Arc<dyn KeyStore>,
        clock: Arc<dyn Clock>,
        alg: SigningAlg,
        access_ttl: Duration,
        activation_delay: Duration,
    ) -> Result<Self, AuthError> {
        let ring = Self {
            store,
            clock,
            alg,
            publish_after_retire: access_ttl,
            activation_delay,
            loaded: RwLock::new(Loaded::default()),
        };
        ring.reload().await?;
        if ring.read().signer.is_none() {
            ring.store
                .insert_signing_key(&generate(alg, ring.clock.now())?)
                .await?;
            ring.reload().await?;
        }
        Ok(ring)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Loaded> {
        self.loaded
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The state of each stored key at `now`, oldest first.
    pub async fn states(&self) -> Result<Vec<(StoredKey, KeyState)>, AuthError> {
        let keys = self.store.list_signing_keys().await?;
        Ok(classify(
            keys,
            self.clock.now(),
            self.activation_delay,
            self.publish_after_retire,
        ))
    }

    /// Rereads the store.
    pub async fn reload(&self) -> Result<(), AuthError> {
        let mut next = Loaded::default();
        for (key, state) in self.states().await? {
            if state == KeyState::Unpublished {
                continue;
            }
            let jwk: Jwk = serde_json::from_str(&key.public_jwk).map_err(internal)?;
            next.jwks.keys.push(jwk);
            if state == KeyState::Active {
                let alg = SigningAlg::parse(&key.alg)
                    .ok_or_else(|| internal(format!("unknown key alg {}", key.alg)))?;
                next.signer = Some(Signer::new(&key.kid, alg, &key.private_der)?);
            }
        }
        *self
            .loaded
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = next;
        Ok(())
    }

    /// Adds a new key. It is published at once and takes over signing
    /// after the activation delay; the keys it replaces retire then, and
    /// stay published until the tokens they signed have expired.
    pub async fn rotate(&self) -> Result<StoredKey, AuthError> {
        let now = self.clock.now();
        let previous: Vec<String> = self
            .states()
            .await?
            .into_iter()
            .filter(|(k, _)| k.retired_at.is_none())
            .map(|(k, _)| k.kid)
            .collect();
        let key = generate(self.alg, now)?;
        self.store.insert_signing_key(&key).await?;
        for kid in previous {
            self.store
                .retire_signing_key(&kid, now + self.activation_delay)
                .await?;
        }
        self.reload().await?;
        Ok(key)
    }

    /// Retires a key that no longer signs. Retiring the active key needs
    /// another key to take over: rotate first.
    pub async fn retire(&self, kid: &str) -> Result<(), AuthError> {
        let states = self.states().await?;
        match states.iter().find(|(k, _)| k.kid == kid) {
            None => Err(AuthError::NotFound),
            Some((_, KeyState::Active))
                if states
                    .iter()
                    .filter(|(k, _)| k.retired_at.is_none())
                    .count()
                    < 2 =>
            {
                Err(AuthError::Validation(vec![crate::error::FieldError::new(
                    "kid",
                    "is the only active key: run `tessera keys rotate` first",
                )]))
            }
            Some(_) => {
                self.store.retire_signing_key(kid, self.clock.now()).await?;
                self.reload().await
            }
        }
    }

    /// The public keys, for `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        self.read().jwks.clone()
    }

    /// Signs `claims` with the active key.
    pub fn sign<C: Serialize>(&self, claims: &C) -> Result<String, AuthError> {
        let loaded = self.read();
        loaded
            .signer
            .as_ref()
            .ok_or_else(|| internal("no active signing key"))?
            .sign(claims)
    }
}

/// The state of each key at `now` (see [`KeyState`]).
///
/// Candidates are keys not retired at `now`. The newest candidate that has
/// been published for `activation_delay` signs; with none that old (a fresh
/// deployment, or a rotation soon after the first start), the key being
/// replaced (a candidate with a retirement scheduled) keeps signing, else
/// the oldest candidate. A candidate that is neither is pending. Other candidates are
/// pending (newer) or still active-published (older, until their retirement
/// time); retired keys stay published for `publish_after_retire`.
fn classify(
    keys: Vec<StoredKey>,
    now: OffsetDateTime,
    activation_delay: Duration,
    publish_after_retire: Duration,
) -> Vec<(StoredKey, KeyState)> {
    let candidate = |k: &StoredKey| k.retired_at.is_none_or(|at| now < at);
    let active = keys
        .iter()
        .rev()
        .find(|k| candidate(k) && k.created_at + activation_delay <= now)
        .or_else(|| keys.iter().find(|k| candidate(k) && k.retired_at.is_some()))
        .or_else(|| keys.iter().find(|k| candidate(k)))
        .map(|k| k.kid.clone());
    keys.into_iter()
        .map(|k| {
            let state = if Some(&k.kid) == active.as_ref() {
                KeyState::Active
            } else if candidate(&k) && k.retired_at.is_none() {
                KeyState::Pending
            } else if k
                .retired_at
                .is_none_or(|at| now < at + publish_after_retire)
            {
                KeyState::Published
            } else {
                KeyState::Unpublished
            };
            (k, state)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, created: i64, retired: Option<i64>) -> StoredKey {
        StoredKey {
            kid: kid.into(),
            alg: "EdDSA".into(),
            private_der: vec![],
            public_jwk: String::new(),
            created_at: OffsetDateTime::from_unix_timestamp(created).unwrap(),
            retired_at: retired.map(|r| OffsetDateTime::from_unix_timestamp(r).unwrap()),
        }
    }

    fn states(keys: Vec<StoredKey>, now: i64) -> Vec<KeyState> {
        classify(
            keys,
            OffsetDateTime::from_unix_timestamp(now).unwrap(),
            Duration::seconds(100),
            Duration::seconds(50),
        )
        .into_iter()
        .map(|(_, s)| s)
        .collect()
    }

    #[test]
    fn the_first_key_signs_at_once() {
        assert_eq!(
            states(vec![key("a", 1000, None)], 1000),
            vec![KeyState::Active]
        );
    }

    #[test]
    fn a_rotated_key_is_published_before_it_signs_and_the_old_one_after() {
        use KeyState::{Active, Pending, Published, Unpublished};
        // Rotation at 2000: b created, a retires at 2100.
        let keys = || vec![key("a", 1000, Some(2100)), key("b", 2000, None)];
        assert_eq!(states(keys(), 2000), vec![Active, Pending]);
        assert_eq!(states(keys(), 2099), vec![Active, Pending]);
        assert_eq!(states(keys(), 2100), vec![Published, Active]);
        assert_eq!(states(keys(), 2149), vec![Published, Active]);
        assert_eq!(states(keys(), 2150), vec![Unpublished, Active]);
    }

    #[derive(Debug, Serialize, serde::Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: i64,
        roles: Vec<String>,
    }

    fn claims() -> Claims {
        Claims {
            sub: "user \u{e9}\"quoted\"".into(),
            exp: 4_000_000_000,
            roles: vec!["admin".into()],
        }
    }

    fn decode(token: &str, jwk: &str, alg: Algorithm) -> jsonwebtoken::errors::Result<Claims> {
        let jwk: Jwk = serde_json::from_str(jwk).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|t| t.claims)
    }

    /// A fresh key of `alg`, and the same claims signed by the ring's
    /// signer (ours) and by `jsonwebtoken::encode` (theirs).
    fn ours_and_theirs(alg: SigningAlg) -> (StoredKey, String, String) {
        let stored = generate(alg, OffsetDateTime::now_utc()).unwrap();
        let ours = Signer::new(&stored.kid, alg, &stored.private_der)
            .unwrap()
            .sign(&claims())
            .unwrap();
        let mut header = Header::new(alg.jwt());
        header.kid = Some(stored.kid.clone());
        let theirs =
            jsonwebtoken::encode(&header, &claims(), &alg.encoding_key(&stored.private_der))
                .unwrap();
        (stored, ours, theirs)
    }

    #[test]
    fn an_ed25519_token_is_byte_for_byte_what_jsonwebtoken_encodes() {
        // Ed25519 signatures are deterministic, so the whole token must match.
        let (stored, ours, theirs) = ours_and_theirs(SigningAlg::EdDsa);
        assert_eq!(ours, theirs);
        assert_eq!(
            decode(&ours, &stored.public_jwk, Algorithm::EdDSA).unwrap(),
            claims()
        );
    }

    #[test]
    fn an_es256_token_verifies_and_carries_jsonwebtokens_header() {
        // ECDSA signatures are randomised: compare the signed part, verify the rest.
        let (stored, ours, theirs) = ours_and_theirs(SigningAlg::Es256);
        let signed = |t: &str| t.rsplit_once('.').unwrap().0.to_owned();
        assert_eq!(signed(&ours), signed(&theirs));
        assert_eq!(
            decode(&ours, &stored.public_jwk, Algorithm::ES256).unwrap(),
            claims()
        );
        // The same signature over other claims does not verify.
        let (head, rest) = ours.split_once('.').unwrap();
        let signature = rest.split_once('.').unwrap().1;
        let other =
            URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory","exp":4000000000,"roles":["admin"]}"#);
        let tampered = format!("{head}.{other}.{signature}");
        assert!(decode(&tampered, &stored.public_jwk, Algorithm::ES256).is_err());
    }

    #[test]
    fn a_key_that_does_not_parse_is_refused_when_loaded() {
        assert!(Signer::new("k", SigningAlg::EdDsa, b"not a key").is_err());
        assert!(Signer::new("k", SigningAlg::Es256, b"not a key").is_err());
    }
}
