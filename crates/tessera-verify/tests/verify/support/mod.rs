//! Real keys, real tokens, a real JWKS server on 127.0.0.1:0.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, Ed25519KeyPair, KeyPair,
};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tessera_verify::{Clock, ManualClock, Verifier};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ISSUER: &str = "https://auth.tessera.test";
pub const AUDIENCE: &str = "orders-api";

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A freshly generated signing key and its public JWK.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub encoding: EncodingKey,
    /// The raw public key (Ed25519: 32 bytes; EC: 0x04 || x || y).
    pub public: Vec<u8>,
}

impl SigningKey {
    pub fn ed25519(kid: &str) -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.into(),
            alg: Algorithm::EdDSA,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    pub fn p256(kid: &str) -> Self {
        Self::ecdsa(kid, Algorithm::ES256, &ECDSA_P256_SHA256_FIXED_SIGNING)
    }

    pub fn p384(kid: &str) -> Self {
        Self::ecdsa(kid, Algorithm::ES384, &ECDSA_P384_SHA384_FIXED_SIGNING)
    }

    fn ecdsa(kid: &str, alg: Algorithm, curve: &'static EcdsaSigningAlgorithm) -> Self {
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(curve, &SystemRandom::new()).unwrap();
        let pair = EcdsaKeyPair::from_pkcs8(curve, pkcs8.as_ref()).unwrap();
        Self {
            kid: kid.into(),
            alg,
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            public: pair.public_key().as_ref().to_vec(),
        }
    }

    /// The JWK as the Tessera server publishes it.
    pub fn jwk(&self) -> Value {
        match self.alg {
            Algorithm::EdDSA => json!({
                "kty": "OKP", "crv": "Ed25519", "x": b64(&self.public),
                "kid": self.kid, "alg": "EdDSA", "use": "sig"
            }),
            Algorithm::ES256 | Algorithm::ES384 => {
                let (crv, alg) = if self.alg == Algorithm::ES256 {
                    ("P-256", "ES256")
                } else {
                    ("P-384", "ES384")
                };
                let (x, y) = self.public[1..].split_at((self.public.len() - 1) / 2);
                json!({
                    "kty": "EC", "crv": crv, "x": b64(x), "y": b64(y),
                    "kid": self.kid, "alg": alg, "use": "sig"
                })
            }
            other => panic!("no JWK for {other:?}"),
        }
    }

    pub fn sign(&self, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }

    /// Signs with this key but names another key in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(self.alg);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.encoding).unwrap()
    }
}

/// Valid claims for a token issued now, lifetime 5 minutes.
pub fn claims_at(now: i64) -> Value {
    json!({
        "iss": ISSUER, "sub": "user-42", "aud": AUDIENCE,
        "iat": now, "exp": now + 300, "jti": "jti-1", "sid": "sess-7",
        "roles": ["reader"]
    })
}

pub fn claims_with(now: i64, changes: &Value) -> Value {
    let mut claims = claims_at(now);
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            claims.as_object_mut().unwrap().remove(k);
        } else {
            claims[k] = v.clone();
        }
    }
    claims
}

pub fn jwks(keys: &[&SigningKey]) -> Vec<Value> {
    keys.iter().map(|k| k.jwk()).collect()
}

struct JwksState {
    keys: Mutex<Vec<Value>>,
    cache_control: Mutex<String>,
    /// When set, served instead of the key set.
    broken: Mutex<Option<(StatusCode, String)>>,
    fetches: AtomicUsize,
}

/// A JWKS endpoint that counts its fetches.
pub struct JwksServer {
    pub url: String,
    state: Arc<JwksState>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> Self {
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys),
            cache_control: Mutex::new("public, max-age=300".into()),
            broken: Mutex::new(None),
            fetches: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/.well-known/jwks.json", get(serve_jwks))
            .with_state(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    rx.await.ok();
                })
                .await
                .unwrap();
        });
        Self {
            url: format!("http://{addr}/.well-known/jwks.json"),
            state,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    pub fn set_cache_control(&self, value: &str) {
        *self.state.cache_control.lock().unwrap() = value.into();
    }

    /// Answers with this status and body instead of the key set.
    pub fn break_with(&self, status: u16, body: &str) {
        *self.state.broken.lock().unwrap() =
            Some((StatusCode::from_u16(status).unwrap(), body.into()));
    }

    /// Serves the key set again after [`Self::break_with`].
    pub fn repair(&self) {
        *self.state.broken.lock().unwrap() = None;
    }

    /// Stops the server for good: the port refuses connections afterwards.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).ok();
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }

    pub fn verifier(&self, clock: &ManualClock) -> Verifier {
        Verifier::builder(ISSUER, AUDIENCE)
            .jwks_url(&self.url)
            .clock(clock.clone())
            .build()
            .unwrap()
    }
}

async fn serve_jwks(State(state): State<Arc<JwksState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    if let Some(broken) = state.broken.lock().unwrap().clone() {
        return broken.into_response();
    }
    let body = json!({ "keys": *state.keys.lock().unwrap() }).to_string();
    let cache_control = state.cache_control.lock().unwrap().clone();
    (
        [
            (CONTENT_TYPE, "application/json".to_owned()),
            (CACHE_CONTROL, cache_control),
        ],
        body,
    )
        .into_response()
}

pub fn now(clock: &ManualClock) -> i64 {
    clock.now_unix()
}
