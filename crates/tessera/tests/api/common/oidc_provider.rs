//! A real OpenID Connect provider for tests: `tests/oidc-provider/server.mjs`
//! (the npm `oidc-provider`, a TEST DOUBLE configuration) as a child
//! process, and a browser at it that follows its redirects.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::Jar;
use super::oauth::query_param;

pub const CLIENT_ID: &str = "tessera-test";
pub const CLIENT_SECRET: &str = "tessera-test-secret";

pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
}

pub struct OidcProvider {
    child: Child,
    pub issuer: String,
    http: reqwest::Client,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn script() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    assert!(
        root.join("node_modules/oidc-provider").exists(),
        "the test OIDC provider needs its npm packages: run `npm ci` at the repository root"
    );
    root.join("tests/oidc-provider/server.mjs")
}

impl OidcProvider {
    /// Starts a provider whose one client may redirect to each of
    /// `redirect_uris`; `env` adds settings such as `OIDC_CODE_TTL`.
    pub fn start(redirect_uris: &[&str], env: &[(&str, &str)]) -> Self {
        let mut cmd = Command::new("node");
        cmd.arg(script())
            .env("OIDC_REDIRECT_URIS", redirect_uris.join(","))
            .env("OIDC_CLIENT_ID", CLIENT_ID)
            .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("node runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let issuer = line
            .trim()
            .strip_prefix("oidc-provider listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from the OIDC provider: {line:?}"))
            .to_owned();
        Self {
            child,
            issuer,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    async fn control(&self, path: &str, body: Value) {
        let r = self
            .http
            .post(format!("{}/__test/{path}", self.issuer))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "/__test/{path}");
    }

    /// The account the next logins are.
    pub async fn sign_in_as(&self, sub: &str, email: Option<&str>, verified: bool) {
        self.control(
            "account",
            json!({"sub": sub, "email": email, "email_verified": verified, "name": format!("Name of {sub}")}),
        )
        .await;
    }

    pub async fn deny(&self, deny: bool) {
        self.control("deny", json!({ "deny": deny })).await;
    }

    /// Rewrites the ID tokens it issues (see the provider's README).
    pub async fn misbehave(&self, how: Value) {
        self.control("misbehave", how).await;
    }

    /// A browser at the provider: follows its redirects (keeping its
    /// cookies) until it is sent to a URL starting with `redirect_prefix`,
    /// and returns that URL's query.
    pub async fn browse(&self, url: &str, redirect_prefix: &str) -> String {
        let mut jar = Jar::default();
        let mut url = url.to_owned();
        for _ in 0..10 {
            let r = self
                .http
                .get(&url)
                .header("cookie", jar.header())
                .send()
                .await
                .unwrap();
            assert!(r.status().is_redirection(), "{url}: {}", r.status());
            jar.absorb(r.headers());
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            if let Some(query) = location.strip_prefix(redirect_prefix) {
                return query.trim_start_matches('?').to_owned();
            }
            url = if location.starts_with('/') {
                format!("{}{location}", self.issuer)
            } else {
                location
            };
        }
        panic!("the provider never redirected back");
    }

    /// Tokens for the current account, obtained by a client of its own
    /// (the Auth.js side of the token-exchange bridge).
    pub async fn tokens(&self, redirect_uri: &str) -> Tokens {
        use base64::Engine;
        use sha2::Digest;
        let verifier = "a-verifier-of-enough-length-for-pkce-0123456789-abcdefghij";
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", CLIENT_ID),
            ("redirect_uri", redirect_uri),
            ("scope", "openid email profile"),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ])
        .unwrap();
        let back = self
            .browse(&format!("{}/auth?{query}", self.issuer), redirect_uri)
            .await;
        let code = query_param(&back, "code").unwrap();
        let r = self
            .http
            .post(format!("{}/token", self.issuer))
            .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let body: Value = r.json().await.unwrap();
        Tokens {
            access_token: body["access_token"].as_str().unwrap().to_owned(),
            id_token: body["id_token"].as_str().unwrap().to_owned(),
        }
    }
}
