//! The token endpoint, refresh rotation with reuse detection, the session
//! grant, revocation, JWKS and key rotation: over HTTP against the real app.

use crate::common::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

async fn token_form(app: &TestApp, form: &[(&str, &str)]) -> reqwest::Response {
    app.req(Method::POST, "/v1/token")
        .form(form)
        .send()
        .await
        .unwrap()
}

pub(crate) async fn password_grant(app: &TestApp, email: &str) -> Value {
    let r = token_form(
        app,
        &[
            ("grant_type", "password"),
            ("username", email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    r.json().await.unwrap()
}

pub(crate) async fn refresh(app: &TestApp, token: &str) -> reqwest::Response {
    token_form(
        app,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

pub(crate) async fn oauth_error(r: reqwest::Response, status: StatusCode, error: &str) -> Value {
    assert_eq!(r.status(), status);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body
}

async fn jwks(app: &TestApp) -> JwkSet {
    let r = app
        .req(Method::GET, "/.well-known/jwks.json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "public, max-age=300");
    let text = r.text().await.unwrap();
    for private in ["\"d\"", "\"p\"", "\"q\"", "private"] {
        assert!(!text.contains(private), "JWKS leaks {private}: {text}");
    }
    serde_json::from_str(&text).unwrap()
}

/// Verifies an access token the way a resource server would.
pub(crate) async fn verify(app: &TestApp, token: &str) -> Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    let set = jwks(app).await;
    let kid = header.kid.expect("kid in header");
    let jwk = set.find(&kid).expect("kid published in JWKS");
    let mut v = Validation::new(header.alg);
    v.set_audience(&["tessera"]);
    v.set_issuer(&[ORIGIN]);
    v.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .expect("signature and claims verify")
        .claims
}

#[tokio::test]
async fn password_grant_issues_a_verifiable_eddsa_token_and_a_refresh_token() {
    let app = spawn().await;
    let email = unique("pw");
    let (_, reg) = app.register(&email).await;
    let body = password_grant(&app, &email).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 300);
    assert_eq!(body["refresh_token"].as_str().unwrap().len(), 98);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(
        jsonwebtoken::decode_header(token).unwrap().alg,
        Algorithm::EdDSA
    );
    let claims = verify(&app, token).await;
    assert_eq!(claims["sub"], reg["user"]["id"]);
    assert_eq!(claims["iss"], ORIGIN);
    assert_eq!(claims["aud"], "tessera");
    assert_eq!(claims["roles"], json!([]));
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        300
    );
    assert!(claims["jti"].is_string() && claims["sid"].is_string());

    // JSON works as well as the form encoding.
    let r = app
        .req(Method::POST, "/v1/token")
        .json(&json!({"grant_type": "password", "username": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn bad_token_requests_get_oauth_errors() {
    let app = spawn().await;
    let email = unique("bad");
    app.register(&email).await;
    let wrong = token_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &email),
            ("password", "nope nope"),
        ],
    )
    .await;
    oauth_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let unknown = token_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &unique("x")),
            ("password", "nope nope"),
        ],
    )
    .await;
    oauth_error(unknown, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let missing = token_form(&app, &[("grant_type", "password"), ("username", &email)]).await;
    oauth_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    let grant = token_form(&app, &[("grant_type", "client_credentials")]).await;
    oauth_error(grant, StatusCode::BAD_REQUEST, "unsupported_grant_type").await;
    let none = token_form(&app, &[("username", "x")]).await;
    oauth_error(none, StatusCode::BAD_REQUEST, "invalid_request").await;
    for garbage in ["", "A".repeat(43).as_str(), "not a token", &"é".repeat(30)] {
        oauth_error(
            refresh(&app, garbage).await,
            StatusCode::BAD_REQUEST,
            "invalid_grant",
        )
        .await;
    }
    let r = app
        .req(Method::POST, "/v1/token")
        .header("content-type", "text/plain")
        .body("grant_type=password")
        .send()
        .await
        .unwrap();
    oauth_error(r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_request").await;
    let r = app
        .req(Method::POST, "/v1/token")
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    oauth_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = app
        .req(Method::POST, "/v1/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 70 * 1024])
        .send()
        .await
        .unwrap();
    oauth_error(r, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request").await;
}

#[tokio::test]
async fn refresh_rotates_replays_within_grace_and_revokes_on_reuse() {
    let app = spawn().await;
    let email = unique("rot");
    app.register(&email).await;
    let first = password_grant(&app, &email).await;
    let t1 = first["refresh_token"].as_str().unwrap().to_owned();

    let second: Value = refresh(&app, &t1).await.json().await.unwrap();
    let t2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(t1, t2, "rotation");
    assert_eq!(
        verify(&app, second["access_token"].as_str().unwrap()).await["sid"],
        verify(&app, first["access_token"].as_str().unwrap()).await["sid"],
        "same family"
    );

    // A retry of t1 within the grace window: the very same pair.
    app.clock.advance(Duration::seconds(9));
    let replay: Value = refresh(&app, &t1).await.json().await.unwrap();
    assert_eq!(replay["refresh_token"], second["refresh_token"]);
    assert_eq!(
        replay["access_token"], second["access_token"],
        "EdDSA is deterministic: identical token"
    );

    // t2 rotates on; then t1 again, after the grace window, is reuse.
    let third: Value = refresh(&app, &t2).await.json().await.unwrap();
    let t3 = third["refresh_token"].as_str().unwrap().to_owned();
    app.clock.advance(Duration::seconds(2));
    let reuse = oauth_error(
        refresh(&app, &t1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert!(
        reuse["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse")
    );
    // The whole family is revoked: the latest token is dead too.
    oauth_error(
        refresh(&app, &t3).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // Another sign-in is unaffected.
    let other = password_grant(&app, &email).await;
    assert_eq!(
        refresh(&app, other["refresh_token"].as_str().unwrap())
            .await
            .status(),
        StatusCode::OK
    );
}

async fn twelve_at_once(app: &TestApp) {
    let email = unique("race");
    app.register(&email).await;
    let t1 = password_grant(app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let calls = (0..12).map(|_| {
        let http = app.http.clone();
        let url = app.url("/v1/token");
        let t1 = t1.clone();
        tokio::spawn(async move {
            let r = http
                .post(url)
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", t1.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        })
    });
    let mut successors = std::collections::BTreeSet::new();
    for c in calls {
        let (status, body) = c.await.unwrap();
        assert_eq!(status, StatusCode::OK, "{body}");
        successors.insert(body["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(successors.len(), 1, "all twelve got the same successor");
    let next = successors.into_iter().next().unwrap();
    assert_eq!(
        refresh(app, &next).await.status(),
        StatusCode::OK,
        "and it works"
    );
}

#[tokio::test]
async fn twelve_concurrent_refreshes_get_one_successor_on_sqlite() {
    twelve_at_once(&spawn().await).await;
}

#[tokio::test]
async fn twelve_concurrent_refreshes_get_one_successor_on_postgres() {
    let db = tessera_store_sql::testing::fresh_database()
        .await
        .expect("PostgreSQL reachable");
    let url = db.url.clone();
    let app = spawn_with(|c| c.database_url = Some(url.into())).await;
    twelve_at_once(&app).await;
    drop(app);
    db.drop_now().await.unwrap();
}

/// The reuse grace window never exceeds its setting. Times are whole
/// seconds, so a replay read 2 s after the spend may truly be 2.9 s after
/// it: with a 2 s window it is reuse. It was accepted (a held-out test saw a
/// 1 s window take a replay 1.6 s late). Issue 18 item 6.
async fn grace_window_is_exact(app: &TestApp) {
    let email = unique("grace");
    app.register(&email).await;
    let t1 = password_grant(app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second: Value = refresh(app, &t1).await.json().await.unwrap();
    app.clock.advance(Duration::seconds(1));
    let replay: Value = refresh(app, &t1).await.json().await.unwrap();
    assert_eq!(
        replay["refresh_token"], second["refresh_token"],
        "1 s after (less than 2 s in truth): within the window"
    );
    app.clock.advance(Duration::seconds(1));
    let late = oauth_error(
        refresh(app, &t1).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert!(
        late["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse"),
        "2 s after (up to 3 s in truth) is reuse: {late}"
    );
    oauth_error(
        refresh(app, second["refresh_token"].as_str().unwrap()).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

fn two_second_grace(c: &mut tessera::Config) {
    c.refresh_reuse_grace = std::time::Duration::from_secs(2);
}

#[tokio::test]
async fn the_grace_window_never_exceeds_its_setting_on_sqlite() {
    grace_window_is_exact(&spawn_with(two_second_grace).await).await;
}

#[tokio::test]
async fn the_grace_window_never_exceeds_its_setting_on_postgres() {
    let db = tessera_store_sql::testing::fresh_database()
        .await
        .expect("PostgreSQL reachable");
    let url = db.url.clone();
    let app = spawn_with(|c| {
        two_second_grace(c);
        c.database_url = Some(url.into());
    })
    .await;
    grace_window_is_exact(&app).await;
    drop(app);
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn refresh_tokens_expire_and_families_have_an_absolute_cap() {
    let app = spawn_with(|c| {
        c.refresh_token_ttl = std::time::Duration::from_hours(1);
        c.refresh_absolute_ttl = std::time::Duration::from_hours(3);
    })
    .await;
    let email = unique("cap");
    app.register(&email).await;
    let t = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.clock.advance(Duration::minutes(61));
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let mut t = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        app.clock.advance(Duration::minutes(50));
        let r = refresh(&app, &t).await;
        if r.status() != StatusCode::OK {
            oauth_error(r, StatusCode::BAD_REQUEST, "invalid_grant").await;
            return;
        }
        let body: Value = r.json().await.unwrap();
        let claims = verify(&app, body["access_token"].as_str().unwrap()).await;
        assert!(claims["exp"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap() + 300);
        t = body["refresh_token"].as_str().unwrap().to_owned();
    }
    panic!("kept refreshing past the 3 h absolute cap");
}

#[tokio::test]
async fn revocation_kills_the_family_and_unknown_tokens_are_fine() {
    let app = spawn().await;
    let email = unique("rev");
    app.register(&email).await;
    let t1 = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let t2 = refresh(&app, &t1).await.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .req(Method::POST, "/v1/token/revoke")
        .form(&[("token", t1.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "revoking a spent token revokes its family"
    );
    oauth_error(
        refresh(&app, &t2).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    for unknown in ["nonsense", "A"] {
        let r = app
            .req(Method::POST, "/v1/token/revoke")
            .form(&[("token", unknown)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
    let r = app
        .req(Method::POST, "/v1/token/revoke")
        .form(&[("nothing", "x")])
        .send()
        .await
        .unwrap();
    oauth_error(r, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn the_session_grant_is_bound_to_the_session_and_ends_with_it() {
    let app = spawn().await;
    let email = unique("sess");
    let (jar, reg) = app.register(&email).await;
    let session_grant = |jar: &Jar, csrf: bool| {
        let mut r = app
            .req(Method::POST, "/v1/token")
            .header("cookie", jar.header())
            .header("origin", ORIGIN)
            .form(&[("grant_type", "session")]);
        if csrf {
            r = r.header("x-csrf-token", jar.csrf());
        }
        r.send()
    };
    let r = session_grant(&jar, true).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert!(
        body.get("refresh_token").is_none(),
        "no refresh token for a session grant"
    );
    let claims = verify(&app, body["access_token"].as_str().unwrap()).await;
    assert_eq!(claims["sid"], reg["session"]["id"]);
    assert_eq!(claims["sub"], reg["user"]["id"]);

    oauth_error(
        session_grant(&jar, false).await.unwrap(),
        StatusCode::FORBIDDEN,
        "access_denied",
    )
    .await;
    let bearer = app
        .req(Method::POST, "/v1/token")
        .bearer_auth(jar.session())
        .form(&[("grant_type", "session")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        bearer.status(),
        StatusCode::OK,
        "Bearer session needs no CSRF"
    );

    app.browser(Method::POST, "/v1/logout", &jar)
        .send()
        .await
        .unwrap();
    oauth_error(
        session_grant(&jar, true).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    // Password change: the other session's exchanges fail from then on.
    let a = app.login_jar(&email).await;
    let b = app.login_jar(&email).await;
    let r = app
        .browser(Method::POST, "/v1/password", &a)
        .json(&json!({"current_password": PASSWORD, "new_password": "brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    oauth_error(
        session_grant(&b, true).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn logout_password_change_and_disable_revoke_refresh_families() {
    let app = spawn().await;
    let email = unique("fam");
    let (jar, _) = app.register(&email).await;
    let t = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.browser(Method::POST, "/v1/logout", &jar)
        .send()
        .await
        .unwrap();
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let jar = app.login_jar(&email).await;
    let t = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app
        .browser(Method::POST, "/v1/password", &jar)
        .json(&json!({"current_password": PASSWORD, "new_password": "brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    let r = token_form(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &email),
            ("password", "brand new password"),
        ],
    )
    .await;
    let t = r.json::<Value>().await.unwrap()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.server.auth.disable_user(&email).await.unwrap();
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

/// The holder is read with the token itself: a user disabled in the
/// database without their families being revoked (by another tool, say)
/// still cannot refresh, and the attempt revokes the family for good.
#[tokio::test]
async fn a_user_disabled_behind_the_servers_back_cannot_refresh() {
    let app = spawn().await;
    let email = unique("behind");
    app.register(&email).await;
    let t = password_grant(&app, &email).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let users = app.server.auth.users().clone();
    let id = users
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .user
        .id;
    assert!(
        users
            .set_disabled(id, Some(time::OffsetDateTime::now_utc()))
            .await
            .unwrap()
    );
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert!(users.set_disabled(id, None).await.unwrap());
    oauth_error(
        refresh(&app, &t).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn rotated_keys_are_published_before_they_sign_and_after_they_stop() {
    let app = spawn().await;
    let email = unique("keys");
    app.register(&email).await;
    let keys = app.server.tokens.keys().clone();
    let old = password_grant(&app, &email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    let new_key = keys.rotate().await.unwrap();
    // Published at once, but the old key keeps signing for the activation
    // delay, so no verifier with a cached JWKS meets an unknown kid.
    assert_eq!(jwks(&app).await.keys.len(), 2);
    let during = password_grant(&app, &email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&during).unwrap().kid.unwrap(),
        old_kid
    );
    // After the delay (310 s by default) the new key signs.
    app.clock.advance(Duration::seconds(310));
    keys.reload().await.unwrap();
    let fresh = password_grant(&app, &email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&fresh).unwrap().kid.unwrap(),
        new_key.kid,
        "the new key signs"
    );
    verify(&app, &fresh).await;
    assert!(
        jwks(&app).await.find(&old_kid).is_some(),
        "old key published while its tokens live"
    );
    // Once every token of the old key has expired, it leaves JWKS.
    app.clock.advance(Duration::minutes(5));
    keys.reload().await.unwrap();
    let set = jwks(&app).await;
    assert!(set.find(&old_kid).is_none(), "old key unpublished");
    assert!(set.find(&new_key.kid).is_some());
    // The only active key cannot be retired.
    assert!(keys.retire(&new_key.kid).await.is_err());
}

#[tokio::test]
async fn es256_by_configuration() {
    let app = spawn_with(|c| c.jwt_alg = tessera_core::keys::SigningAlg::Es256).await;
    let email = unique("es");
    app.register(&email).await;
    let token = password_grant(&app, &email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        jsonwebtoken::decode_header(&token).unwrap().alg,
        Algorithm::ES256
    );
    verify(&app, &token).await;
    let set: Value = serde_json::to_value(jwks(&app).await).unwrap();
    assert_eq!(set["keys"][0]["kty"], "EC");
    assert_eq!(set["keys"][0]["crv"], "P-256");
    assert_eq!(set["keys"][0]["alg"], "ES256");
}
