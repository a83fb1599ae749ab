//! A software passkey authenticator for the Rust tests: an ES256 key pair
//! (aws-lc-rs) that answers WebAuthn registration ("none" attestation) and
//! assertion requests the way a platform authenticator does, with the
//! client data a browser at `origin` would send. It holds one resident
//! credential and its user handle. (The Playwright suite drives Chromium's
//! own virtual authenticator; this one lets the server's checks be tested
//! here, across instances and with broken answers.)

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub struct Authenticator {
    key: EcdsaKeyPair,
    pub credential_id: Vec<u8>,
    pub user_handle: Option<Vec<u8>>,
    pub counter: u32,
    pub origin: String,
    /// Whether it reports user verification (a PIN or biometric).
    pub verifies_user: bool,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// CBOR (RFC 8949) for the few shapes WebAuthn needs.
mod cbor {
    fn head(major: u8, n: usize, out: &mut Vec<u8>) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | u8::try_from(n).unwrap()),
            24..=255 => out.extend([m | 0x18, u8::try_from(n).unwrap()]),
            _ => {
                out.push(m | 0x19);
                out.extend(u16::try_from(n).unwrap().to_be_bytes());
            }
        }
    }
    pub fn int(v: i64, out: &mut Vec<u8>) {
        if v >= 0 {
            head(0, usize::try_from(v).unwrap(), out);
        } else {
            head(1, usize::try_from(-1 - v).unwrap(), out);
        }
    }
    pub fn bytes(v: &[u8], out: &mut Vec<u8>) {
        head(2, v.len(), out);
        out.extend(v);
    }
    pub fn text(v: &str, out: &mut Vec<u8>) {
        head(3, v.len(), out);
        out.extend(v.as_bytes());
    }
    pub fn map(len: usize, out: &mut Vec<u8>) {
        head(5, len, out);
    }
}

impl Authenticator {
    pub fn new(origin: &str) -> Self {
        Self {
            key: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).unwrap(),
            credential_id: aws_lc_rs::rand::generate::<[u8; 16]>(&SystemRandom::new())
                .unwrap()
                .expose()
                .to_vec(),
            user_handle: None,
            counter: 0,
            origin: origin.to_owned(),
            verifies_user: true,
        }
    }

    fn rp_id_hash(rp_id: &str) -> Vec<u8> {
        Sha256::digest(rp_id.as_bytes()).to_vec()
    }

    fn flags(&self, attested: bool) -> u8 {
        let mut f = 0x01; // user present
        if self.verifies_user {
            f |= 0x04;
        }
        if attested {
            f |= 0x40;
        }
        f
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind,
            "challenge": challenge,
            "origin": self.origin,
            "crossOrigin": false,
        }))
        .unwrap()
    }

    /// The COSE key of the credential (EC2, ES256, P-256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut out = Vec::new();
        cbor::map(5, &mut out);
        cbor::int(1, &mut out);
        cbor::int(2, &mut out);
        cbor::int(3, &mut out);
        cbor::int(-7, &mut out);
        cbor::int(-1, &mut out);
        cbor::int(1, &mut out);
        cbor::int(-2, &mut out);
        cbor::bytes(x, &mut out);
        cbor::int(-3, &mut out);
        cbor::bytes(y, &mut out);
        out
    }

    /// Answers `navigator.credentials.create({publicKey})` for the
    /// server's options (`options.publicKey`): a
    /// `RegistrationResponseJSON`.
    pub fn register(&mut self, public_key: &Value) -> Value {
        let rp_id = public_key["rp"]["id"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap();
        self.user_handle = Some(
            URL_SAFE_NO_PAD
                .decode(public_key["user"]["id"].as_str().unwrap())
                .unwrap(),
        );
        let mut auth_data = Self::rp_id_hash(rp_id);
        auth_data.push(self.flags(true));
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend(
            u16::try_from(self.credential_id.len())
                .unwrap()
                .to_be_bytes(),
        );
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = Vec::new();
        cbor::map(3, &mut attestation);
        cbor::text("fmt", &mut attestation);
        cbor::text("none", &mut attestation);
        cbor::text("attStmt", &mut attestation);
        cbor::map(0, &mut attestation);
        cbor::text("authData", &mut attestation);
        cbor::bytes(&auth_data, &mut attestation);
        let id = b64(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&self.client_data("webauthn.create", challenge)),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
        })
    }

    /// Answers `navigator.credentials.get({publicKey})`: an
    /// `AuthenticationResponseJSON` from the resident credential.
    pub fn sign_in(&mut self, public_key: &Value) -> Value {
        self.counter += 1;
        let rp_id = public_key["rpId"].as_str().unwrap();
        let challenge = public_key["challenge"].as_str().unwrap();
        let mut auth_data = Self::rp_id_hash(rp_id);
        auth_data.push(self.flags(false));
        auth_data.extend(self.counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", challenge);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        let id = b64(&self.credential_id);
        json!({
            "id": id,
            "rawId": id,
            "type": "public-key",
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": self.user_handle.as_deref().map(b64),
            },
            "clientExtensionResults": {},
        })
    }
}
