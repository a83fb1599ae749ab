//! The axum extractors end to end: a real router on 127.0.0.1:0, real
//! tokens, a real JWKS server, plain HTTP requests.

use std::time::Duration;

use crate::support::{JwksServer, SigningKey, claims_at, claims_with, jwks, now};
use axum::extract::{FromRef, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::{Value, json};
use tessera_verify::{
    AccessToken, AuthRejection, Claims, ManualClock, RequireMfa, RequireRole, Role, Verifier,
};
use tokio::net::TcpListener;

/// A service's own state, with the verifier inside.
#[derive(Clone)]
struct AppState {
    verifier: Verifier,
}

impl FromRef<AppState> for Verifier {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

struct Admin;
impl Role for Admin {
    const NAME: &'static str = "admin";
}

async fn me(AccessToken(claims): AccessToken) -> Json<Claims> {
    Json(claims)
}

async fn purge(admin: RequireRole<Admin>) -> String {
    format!("purged by {}", admin.claims.sub)
}

async fn transfer(caller: RequireMfa) -> String {
    format!("sent by {}", caller.claims.sub)
}

async fn report(token: AccessToken) -> Result<&'static str, AuthRejection> {
    token.require_role("auditor")?;
    Ok("report")
}

/// Serves the app; returns its base URL.
async fn spawn_app(verifier: Verifier) -> String {
    let app = Router::new()
        .route("/me", get(me))
        .route("/purge", get(purge))
        .route("/report", get(report))
        .route("/transfer", get(transfer))
        .with_state(AppState { verifier });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

struct Answer {
    status: StatusCode,
    challenge: Option<String>,
    content_type: Option<String>,
    body: Value,
}

async fn get_with(url: &str, authorization: Option<&str>) -> Answer {
    let mut request = reqwest::Client::new().get(url);
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let header = |name| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (challenge, content_type) = (header(WWW_AUTHENTICATE), header(CONTENT_TYPE));
    let status = response.status();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        challenge,
        content_type,
        body,
    }
}

fn assert_problem(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status.as_u16(), status, "{:?}", answer.body);
    assert_eq!(
        answer.content_type.as_deref(),
        Some("application/problem+json")
    );
    assert_eq!(answer.body["type"], format!("urn:tessera:error:{code}"));
    assert_eq!(answer.body["status"], status);
    assert_eq!(answer.body["code"], code);
    assert!(answer.body["title"].as_str().is_some_and(|t| !t.is_empty()));
}

#[tokio::test]
async fn extractors_answer_200_401_403_and_503() {
    let key = SigningKey::ed25519("k1");
    let mut issuer = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let base = spawn_app(issuer.verifier(&clock)).await;
    let t = now(&clock);
    let bearer = |claims: &Value| format!("Bearer {}", key.sign(claims));

    // 200: the handler gets the claims.
    let ok = get_with(&format!("{base}/me"), Some(&bearer(&claims_at(t)))).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["sub"], "user-42");
    assert_eq!(ok.body["sid"], "sess-7");
    assert_eq!(ok.body["roles"], json!(["reader"]));

    // No credentials: a bare challenge (RFC 6750 §3.1).
    let none = get_with(&format!("{base}/me"), None).await;
    assert_problem(&none, 401, "missing_token");
    assert_eq!(none.challenge.as_deref(), Some("Bearer"));

    // A header that is not a Bearer token.
    for bad in ["Basic dXNlcjpwYXNz", "Bearer", "Bearer two words"] {
        let answer = get_with(&format!("{base}/me"), Some(bad)).await;
        assert_problem(&answer, 401, "invalid_request");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="invalid_request""#)
        );
    }

    // Tokens that do not verify.
    let expired = claims_with(t, &json!({"iat": t - 1000, "exp": t - 600}));
    let wrong_aud = claims_with(t, &json!({"aud": "billing-api"}));
    for (authorization, code) in [
        (bearer(&expired), "expired"),
        (bearer(&wrong_aud), "wrong_audience"),
        ("Bearer not.a.jwt".to_owned(), "malformed"),
    ] {
        let answer = get_with(&format!("{base}/me"), Some(&authorization)).await;
        assert_problem(&answer, 401, code);
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="invalid_token""#)
        );
    }

    // 403 for a valid token without the role, both ways of asking.
    for path in ["/purge", "/report"] {
        let answer = get_with(&format!("{base}{path}"), Some(&bearer(&claims_at(t)))).await;
        assert_problem(&answer, 403, "insufficient_scope");
        assert_eq!(
            answer.challenge.as_deref(),
            Some(r#"Bearer error="insufficient_scope""#)
        );
    }
    let admin = bearer(&claims_with(t, &json!({"roles": ["reader", "admin"]})));
    let purged = get_with(&format!("{base}/purge"), Some(&admin)).await;
    assert_eq!(purged.status, StatusCode::OK);
    assert_eq!(purged.body, "purged by user-42");

    // RequireMfa: 401 insufficient_user_authentication (RFC 9470) unless
    // the token's amr has mfa.
    for amr in [
        json!(null),
        json!([]),
        json!(["pwd"]),
        json!(["pwd", "otp"]),
        json!(["MFA"]),
    ] {
        let token = bearer(&claims_with(t, &json!({"amr": amr})));
        let answer = get_with(&format!("{base}/transfer"), Some(&token)).await;
        assert_problem(&answer, 401, "insufficient_user_authentication");
        assert!(
            answer.challenge.as_deref().is_some_and(
                |c| c.starts_with(r#"Bearer error="insufficient_user_authentication""#)
            ),
            "{:?}",
            answer.challenge
        );
    }
    for amr in [json!(["pwd", "otp", "mfa"]), json!(["hwk", "mfa"])] {
        let token = bearer(&claims_with(t, &json!({"amr": amr})));
        let answer = get_with(&format!("{base}/transfer"), Some(&token)).await;
        assert_eq!(answer.status, StatusCode::OK, "{amr}");
        assert_eq!(answer.body, "sent by user-42");
    }
    let missing = get_with(&format!("{base}/transfer"), None).await;
    assert_problem(&missing, 401, "missing_token");

    // Issuer unreachable and the kid unknown: 503, not "your token is bad".
    issuer.stop().await;
    clock.advance(Duration::from_secs(31));
    let stranger = SigningKey::ed25519("k2");
    let answer = get_with(
        &format!("{base}/me"),
        Some(&format!(
            "Bearer {}",
            stranger.sign(&claims_at(now(&clock)))
        )),
    )
    .await;
    assert_problem(&answer, 503, "jwks_unavailable");
    assert_eq!(answer.challenge, None);
}

async fn gate(_token: AccessToken, request: Request, next: Next) -> Response {
    next.run(request).await
}

#[tokio::test]
async fn claims_verified_by_one_verifier_are_not_reused_by_another() {
    let key = SigningKey::ed25519("k1");
    let issuer = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    // A gate in front for "gateway-api" tokens; the handler wants support::AUDIENCE.
    let gateway = Verifier::builder(crate::support::ISSUER, "gateway-api")
        .jwks_url(&issuer.url)
        .clock(clock.clone())
        .build()
        .unwrap();
    let app = Router::new()
        .route("/me", get(me))
        .layer(middleware::from_fn_with_state(gateway, gate))
        .with_state(AppState {
            verifier: issuer.verifier(&clock),
        });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let t = now(&clock);

    let for_gateway = claims_with(t, &json!({"aud": "gateway-api"}));
    let answer = get_with(
        &format!("{base}/me"),
        Some(&format!("Bearer {}", key.sign(&for_gateway))),
    )
    .await;
    assert_problem(&answer, 401, "wrong_audience");
}
