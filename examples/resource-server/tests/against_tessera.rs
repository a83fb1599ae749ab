//! The resource server and tessera-verify against tokens from the real
//! tessera server: password grant, session grant, key rotation (unknown kid
//! refetched), roles, and refusals.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera::{Config, Server};
use tessera_core::ManualClock;
use tessera_verify::{CachePolicy, Verifier};

const PASSWORD: &str = "correct horse battery staple";

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .unwrap();
    });
    format!("http://{addr}")
}

struct World {
    tessera: Server,
    clock: ManualClock,
    api_clock: tessera_verify::ManualClock,
    auth_base: String,
    api_base: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::defaults().unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.argon2 = tessera_core::Argon2Settings {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let clock = ManualClock::starting_now();
    let tessera = Server::build(&config, Arc::new(clock.clone()))
        .await
        .unwrap();
    // tessera as its binary serves it (its own connection handling).
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let auth_base = format!("http://{}", listener.local_addr().unwrap());
    let server = tessera.clone();
    tokio::spawn(async move {
        server
            .serve(listener, std::future::pending())
            .await
            .unwrap();
    });
    // No refetch cooldown here: the test moves tessera's clock past a key
    // activation in an instant, which real time never does.
    let api_clock = tessera_verify::ManualClock::starting_now();
    let verifier = Verifier::builder(config.jwt_issuer.clone(), config.jwt_audience.clone())
        .jwks_url(format!("{auth_base}/.well-known/jwks.json"))
        .clock(api_clock.clone())
        .cache_policy(CachePolicy::default().refresh_cooldown(std::time::Duration::ZERO))
        .build()
        .unwrap();
    let api_base = serve(tessera_resource_server::app(verifier)).await;
    World {
        tessera,
        clock,
        api_clock,
        auth_base,
        api_base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl World {
    async fn token(&self, email: &str) -> String {
        let r = self
            .http
            .post(format!("{}/v1/token", self.auth_base))
            .form(&[
                ("grant_type", "password"),
                ("username", email),
                ("password", PASSWORD),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    async fn register(&self, email: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/v1/register", self.auth_base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap()
    }

    async fn api(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut r = self.http.get(format!("{}{path}", self.api_base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send().await.unwrap()
    }
}

#[tokio::test]
async fn tokens_from_tessera_open_the_api_and_nothing_else_does() {
    let w = world().await;
    let reg: Value = w
        .register("api-user@example.com")
        .await
        .json()
        .await
        .unwrap();
    let token = w.token("api-user@example.com").await;

    let r = w.api("/api/me", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["user_id"], reg["user"]["id"]);

    let r = w.api("/api/me", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["www-authenticate"], "Bearer");
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let r = w.api("/api/me", Some(&tampered)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // A session token is not an access token.
    let session_cookie = w.register("api-user2@example.com").await.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_owned();
    let raw = session_cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap()
        .to_owned();
    assert_eq!(
        w.api("/api/me", Some(&raw)).await.status(),
        StatusCode::UNAUTHORIZED
    );

    // No admin role, no report.
    let r = w.api("/api/admin/report", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// Issue 21: `RequireMfa` opens only for tokens from a sign-in that
/// proved a second factor; tessera puts `amr` in every access token.
#[tokio::test]
async fn payouts_need_a_token_from_a_multi_factor_sign_in() {
    let w = world().await;
    let email = "mfa-api@example.com";
    let session = w.register(email).await;
    let cookies: Vec<String> = session
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect();
    let csrf = cookies
        .iter()
        .find_map(|c| c.strip_prefix("__Host-tessera_csrf="))
        .unwrap()
        .to_owned();
    let signed_in = |path: &str| {
        w.http
            .post(format!("{}{path}", w.auth_base))
            .header("cookie", cookies.join("; "))
            .header("x-csrf-token", &csrf)
            .header("origin", "http://localhost:3000")
    };

    // A password-only token: 401 insufficient_user_authentication.
    let token = w.token(email).await;
    let r = w.api("/api/me", Some(&token)).await;
    assert_eq!(r.json::<Value>().await.unwrap()["amr"], json!(["pwd"]));
    let r = w.api("/api/payouts", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_user_authentication")
    );

    // TOTP on; the password grant stops at the challenge, the MFA grant
    // completes it with a code.
    let enrol: Value = signed_in("/v1/mfa/totp")
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let b32 = enrol["secret"].as_str().unwrap();
    let secret = totp_rs::Secret::try_from_base32(b32)
        .unwrap()
        .as_ref()
        .to_vec();
    let now = || tessera_core::Clock::now(&w.clock);
    let code = tessera_core::mfa::totp_code(&secret, now()).unwrap();
    let r = signed_in("/v1/mfa/totp/confirm")
        .json(&json!({"code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = w
        .http
        .post(format!("{}/v1/token", w.auth_base))
        .form(&[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let challenge = r.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    w.clock.advance(time::Duration::seconds(30));
    let code = tessera_core::mfa::totp_code(&secret, now()).unwrap();
    let r = w
        .http
        .post(format!("{}/v1/token", w.auth_base))
        .form(&[
            ("grant_type", "urn:tessera:params:oauth:grant-type:mfa"),
            ("challenge", &challenge),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let token = r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = w.api("/api/payouts", Some(&token)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["payout"], "scheduled");
}

#[tokio::test]
async fn after_a_key_rotation_new_tokens_verify_through_a_jwks_refetch() {
    let w = world().await;
    w.register("rotate@example.com").await;
    let before = w.token("rotate@example.com").await;
    assert_eq!(
        w.api("/api/me", Some(&before)).await.status(),
        StatusCode::OK,
        "JWKS cached now"
    );
    w.tessera.tokens.keys().rotate().await.unwrap();
    // Both services' clocks move together.
    w.clock.advance(time::Duration::seconds(310));
    w.api_clock.advance(std::time::Duration::from_secs(310));
    w.tessera.tokens.keys().reload().await.unwrap();
    let after = w.token("rotate@example.com").await;
    assert_eq!(
        w.api("/api/me", Some(&after)).await.status(),
        StatusCode::OK,
        "unknown kid refetched"
    );
    assert_eq!(
        w.api("/api/me", Some(&before)).await.status(),
        StatusCode::OK,
        "old key still published"
    );
}
