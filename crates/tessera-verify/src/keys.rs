//! Turning a JWKS into verification keys.
//!
//! Every key is checked on its own and unusable ones are skipped, so one
//! key of a type we do not know (a future algorithm the issuer starts
//! publishing) cannot take the whole set down. A key is usable when it has a
//! `kid`, is meant for signatures, is Ed25519, P-256 or P-384 with
//! coordinates of the right length, and its `alg` (when given) agrees with
//! its type. The key's algorithm comes from its type, never from a token.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet, KeyOperations, PublicKeyUse};
use serde::Deserialize;

use crate::algorithm::Algorithm;
use crate::error::JwksError;

#[derive(Clone)]
pub(crate) struct VerifyingKey {
    pub(crate) alg: Algorithm,
    pub(crate) key: DecodingKey,
}

/// Usable keys by `kid`.
#[derive(Clone, Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, VerifyingKey>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kids: Vec<_> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeySet").field("kids", &kids).finish()
    }
}

impl KeySet {
    pub(crate) fn from_jwk_set(set: &JwkSet) -> Self {
        Self::from_jwks(set.keys.iter().cloned().map(Ok))
    }

    /// Parses a JWKS document. Only a document that is not `{"keys": [...]}`
    /// at all is an error; bad entries are skipped.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, JwksError> {
        #[derive(Deserialize)]
        struct Document {
            keys: Vec<serde_json::Value>,
        }
        let doc: Document = serde_json::from_slice(body)?;
        Ok(Self::from_jwks(
            doc.keys.into_iter().map(serde_json::from_value::<Jwk>),
        ))
    }

    fn from_jwks(jwks: impl Iterator<Item = Result<Jwk, serde_json::Error>>) -> Self {
        let mut keys = HashMap::new();
        for (index, jwk) in jwks.enumerate() {
            let usable = jwk
                .map_err(|_| "not a JWK")
                .and_then(|jwk| usable_key(&jwk));
            match usable {
                Ok((kid, key)) => match keys.entry(kid) {
                    Entry::Vacant(slot) => {
                        slot.insert(key);
                    }
                    Entry::Occupied(slot) => {
                        tracing::warn!(
                            index,
                            kid = slot.key(),
                            "JWKS: duplicate kid, keeping the first"
                        );
                    }
                },
                Err(reason) => tracing::debug!(index, reason, "JWKS: key skipped"),
            }
        }
        Self { keys }
    }

    pub(crate) fn get(&self, kid: &str) -> Option<&VerifyingKey> {
        self.keys.get(kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}

fn usable_key(jwk: &Jwk) -> Result<(String, VerifyingKey), &'static str> {
    let kid = match jwk.common.key_id.as_deref() {
        Some(kid) if !kid.is_empty() => kid.to_owned(),
        _ => return Err("no kid"),
    };
    if jwk
        .common
        .public_key_use
        .as_ref()
        .is_some_and(|u| *u != PublicKeyUse::Signature)
    {
        return Err("use is not sig");
    }
    if jwk
        .common
        .key_operations
        .as_ref()
        .is_some_and(|ops| !ops.contains(&KeyOperations::Verify))
    {
        return Err("key_ops lacks verify");
    }
    let alg = Algorithm::for_key(jwk).ok_or("unsupported key type or curve")?;
    if let Some(declared) = jwk.common.key_algorithm
        && jsonwebtoken::jwk::KeyAlgorithm::from(alg.to_jsonwebtoken()) != declared
    {
        return Err("alg does not match the key type");
    }
    let coordinates_ok = match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(p) => decoded_len(&p.x) == Some(alg.coordinate_len()),
        AlgorithmParameters::EllipticCurve(p) => {
            decoded_len(&p.x) == Some(alg.coordinate_len())
                && decoded_len(&p.y) == Some(alg.coordinate_len())
        }
        _ => false,
    };
    if !coordinates_ok {
        return Err("public key has the wrong length");
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| "invalid public key")?;
    Ok((kid, VerifyingKey { alg, key }))
}

fn decoded_len(b64: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(b64).ok().map(|bytes| bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn parse(json: &str) -> KeySet {
        KeySet::from_json(json.as_bytes()).unwrap()
    }

    #[test]
    fn accepts_an_ed25519_key_and_derives_its_algorithm() {
        let set = parse(&format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"a","alg":"EdDSA","use":"sig"}}]}}"#
        ));
        assert_eq!(set.get("a").unwrap().alg, Algorithm::EdDSA);
    }

    #[test]
    fn skips_bad_keys_but_keeps_the_good_ones() {
        let set = parse(&format!(
            r#"{{"keys":[
                {{"kty":"oct","k":"c2VjcmV0","kid":"hmac"}},
                {{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"rsa"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"lies","alg":"ES256"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"enc","use":"enc"}},
                {{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"}},
                {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}"}},
                {{"kty":"AKP","alg":"ML-DSA-44","pub":"AAAA","kid":"future"}},
                42,
                {{"kty":"OKP","crv":"Ed25519","x":"{ED_X}","kid":"good"}}
            ]}}"#
        ));
        assert_eq!(set.len(), 1, "{set:?}");
        assert!(set.get("good").is_some());
    }

    #[test]
    fn a_document_without_keys_is_an_error() {
        assert!(KeySet::from_json(br#"{"nope":[]}"#).is_err());
        assert!(KeySet::from_json(b"<html>").is_err());
    }
}
