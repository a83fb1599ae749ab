//! Register, login, whoami, logout: the HTTP contract end to end.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

/// Who may sign up is the server's decision (an app's own check in its
/// sign-up form is bypassed by posting to the kit's register route): closed,
/// every sign-up is refused while `tessera user create` still works; an
/// email domain allow-list admits only its domains. Issue 18 item 10.
#[tokio::test]
async fn the_registration_policy_is_enforced_by_the_server() {
    let register = |app: &TestApp, email: String| {
        app.req(Method::POST, "/v1/register")
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
    };
    let closed = spawn_with(|c| c.registration.open = false).await;
    let r = register(&closed, unique("closed")).await.unwrap();
    problem(r, StatusCode::FORBIDDEN, "registration_closed").await;
    // Bad input is still 422 first.
    let r = register(&closed, "not-an-email".into()).await.unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    // The operator still creates users, who then sign in.
    let email = unique("operator-made");
    closed
        .server
        .auth
        .create_user(tessera_core::Registration {
            email: email.clone(),
            password: PASSWORD.to_owned().into(),
            name: None,
        })
        .await
        .unwrap();
    assert_eq!(
        closed.login(&email, PASSWORD).await.status(),
        StatusCode::OK
    );

    let domains = spawn_with(|c| {
        c.registration.email_domains = vec!["example.com".into(), "corp.test".into()];
    })
    .await;
    let r = register(
        &domains,
        format!("{}@Corp.Test", unique("x").replace('@', ".")),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "normalised, then matched");
    let r = register(&domains, "mallory@evil.test".into())
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "email_domain_not_allowed").await;
    let r = register(&domains, "mallory@sub.example.com".into())
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "email_domain_not_allowed").await;
}

#[tokio::test]
async fn register_creates_user_and_session_with_strict_cookies() {
    let app = spawn().await;
    let resp = app
        .req(Method::POST, "/v1/register")
        .json(&json!({"email": "  Ada@Example.COM ", "password": PASSWORD, "name": " Ada "}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    assert_eq!(resp.headers()["x-content-type-options"], "nosniff");
    assert_eq!(resp.headers()["referrer-policy"], "no-referrer");

    let session = set_cookie(resp.headers(), SESSION);
    assert_eq!(
        session.http_only(),
        Some(true),
        "session cookie is HttpOnly"
    );
    assert_eq!(session.secure(), Some(true), "session cookie is Secure");
    assert_eq!(session.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(session.path(), Some("/"));
    assert_eq!(session.domain(), None, "__Host- cookies carry no Domain");
    assert_eq!(
        session.max_age(),
        Some(Duration::days(90)),
        "Max-Age is the absolute lifetime"
    );
    assert_eq!(session.value().len(), 43, "256-bit base64url token");

    let csrf = set_cookie(resp.headers(), CSRF);
    assert_ne!(
        csrf.http_only(),
        Some(true),
        "the page's script must read the CSRF cookie"
    );
    assert_eq!(csrf.secure(), Some(true));
    assert_eq!(csrf.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(csrf.path(), Some("/"));
    assert_eq!(csrf.domain(), None);
    assert_eq!(csrf.max_age(), Some(Duration::days(90)));

    let token = session.value().to_owned();
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&token), "the token is only in the cookie");
    assert!(!text.contains("argon2"), "no password hash in a response");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        body["user"]["email"], "ada@example.com",
        "emails are trimmed and lowercased"
    );
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["user"]["email_verified"], false);
    assert_eq!(body["user"]["roles"], json!([]));
    for field in ["id", "created_at", "expires_at", "absolute_expires_at"] {
        assert!(body["session"][field].is_string(), "session.{field}");
    }
    let created = time::OffsetDateTime::parse(
        body["session"]["created_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(created.offset(), time::UtcOffset::UTC);

    // The store keeps only the SHA-256 of the token.
    let db = std::fs::read(app.dir.path().join("tessera.db")).unwrap();
    let wal = std::fs::read(app.dir.path().join("tessera.db-wal")).unwrap_or_default();
    for bytes in [&db, &wal] {
        assert!(
            !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
            "raw token stored"
        );
    }
}

#[tokio::test]
async fn register_validates_each_field() {
    let app = spawn().await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PASSWORD}),
            "email",
        ),
        (
            json!({"email": "a@example.com", "password": "short"}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": "x".repeat(1025)}),
            "password",
        ),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "name": "n".repeat(201)}),
            "name",
        ),
        (json!({"password": PASSWORD}), "email"),
        (json!({"email": "a@example.com"}), "password"),
        (json!({"email": 42, "password": PASSWORD}), "email"),
        (
            json!({"email": "a@example.com", "password": PASSWORD, "name": ["x"]}),
            "name",
        ),
    ];
    for (body, field) in cases {
        let resp = app
            .req(Method::POST, "/v1/register")
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        let fields: Vec<&str> = p["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{body} should blame {field}, got {p}"
        );
        assert!(
            p["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    // 1024 bytes is the upper bound, inclusive; 8 the lower.
    let resp = app
        .req(Method::POST, "/v1/register")
        .json(&json!({"email": unique("long"), "password": "é".repeat(512)}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn a_taken_email_is_409_whatever_its_case() {
    let app = spawn().await;
    app.register("taken@example.com").await;
    let resp = app
        .req(Method::POST, "/v1/register")
        .json(&json!({"email": "TAKEN@example.com ", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn whoami_by_cookie_and_by_bearer() {
    let app = spawn().await;
    let (jar, reg) = app.register(&unique("who")).await;
    let resp = app.whoami(&jar).await;
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["user"], reg["user"]);
    assert_eq!(body["session"]["id"], reg["session"]["id"]);

    let resp = app
        .req(Method::GET, "/v1/session")
        .bearer_auth(jar.session())
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "Bearer works for non-browser clients"
    );

    for bad in [
        String::new(),
        "garbage".into(),
        "A".repeat(43),
        tessera_core::SessionToken::generate().expose().to_owned(),
    ] {
        let resp = app
            .req(Method::GET, "/v1/session")
            .header("cookie", format!("{SESSION}={bad}"))
            .send()
            .await
            .unwrap();
        problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    }
    let resp = app.req(Method::GET, "/v1/session").send().await.unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let resp = app
        .req(Method::GET, "/v1/session")
        .header("authorization", "Basic dXNlcjpwYXNz")
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn login_mints_a_new_token_and_ends_the_presented_one() {
    let app = spawn().await;
    let email = unique("login");
    let (first, _) = app.register(&email).await;
    // A browser that still holds the first session signs in again.
    let resp = app
        .req(Method::POST, "/v1/login")
        .header("cookie", first.header())
        .json(&json!({"email": email.to_uppercase(), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut second = Jar::default();
    second.absorb(resp.headers());
    assert_ne!(
        second.session(),
        first.session(),
        "never reuses a presented token"
    );
    assert_ne!(
        second.csrf(),
        first.csrf(),
        "CSRF token is bound to the new session"
    );
    assert_eq!(app.whoami_status(&second).await, StatusCode::OK);
    assert_eq!(
        app.whoami_status(&first).await,
        StatusCode::UNAUTHORIZED,
        "replaced session ended"
    );

    // A fixation attempt: a made-up token in the cookie is simply ignored.
    let planted = tessera_core::SessionToken::generate();
    let resp = app
        .req(Method::POST, "/v1/login")
        .header("cookie", format!("{SESSION}={}", planted.expose()))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_ne!(
        set_cookie(resp.headers(), SESSION).value(),
        planted.expose()
    );
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_byte_identical_401s() {
    let app = spawn().await;
    let email = unique("enum");
    app.register(&email).await;
    let wrong = app.login(&email, "wrong password!").await;
    let unknown = app.login(&unique("nobody"), "wrong password!").await;
    let strip = |r: &reqwest::Response| {
        let mut h: Vec<(String, String)> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(strip(&wrong), strip(&unknown), "same headers");
    assert!(wrong.headers().get("set-cookie").is_none());
    let (a, b) = (wrong.bytes().await.unwrap(), unknown.bytes().await.unwrap());
    assert_eq!(a, b, "same bytes");
    let p: Value = serde_json::from_slice(&a).unwrap();
    assert_eq!(p["code"], "invalid_credentials");
}

#[tokio::test]
async fn logout_needs_csrf_ends_the_session_and_clears_cookies() {
    let app = spawn().await;
    let (jar, _) = app.register(&unique("out")).await;

    let resp = app
        .req(Method::POST, "/v1/logout")
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::FORBIDDEN, "csrf_failed").await;
    assert_eq!(
        app.whoami_status(&jar).await,
        StatusCode::OK,
        "a refused logout ends nothing"
    );

    let resp = app
        .browser(Method::POST, "/v1/logout", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    for name in [SESSION, CSRF] {
        let c = set_cookie(resp.headers(), name);
        assert_eq!(c.max_age(), Some(Duration::ZERO), "{name} cleared");
        assert_eq!(c.value(), "");
        assert_eq!(c.path(), Some("/"));
        assert_eq!(
            c.secure(),
            Some(true),
            "a __Host- cookie is only cleared by a Secure Set-Cookie"
        );
    }
    assert_eq!(
        app.whoami_status(&jar).await,
        StatusCode::UNAUTHORIZED,
        "replayed cookie refused"
    );

    // Signed out already: still 204 and cleared, so sign-out buttons never fail.
    let resp = app
        .browser(Method::POST, "/v1/logout", &Jar::default())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(set_cookies(resp.headers()).len(), 2);
}

#[tokio::test]
async fn bearer_logout_needs_no_csrf() {
    let app = spawn().await;
    let (jar, _) = app.register(&unique("bearer")).await;
    let resp = app
        .req(Method::POST, "/v1/logout")
        .bearer_auth(jar.session())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&jar).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn disabled_users_cannot_sign_in_and_lose_their_sessions() {
    let app = spawn().await;
    let email = unique("disabled");
    let (jar, _) = app.register(&email).await;
    let ended = app.server.auth.disable_user(&email).await.unwrap();
    assert_eq!(ended, 1);
    assert_eq!(app.whoami_status(&jar).await, StatusCode::UNAUTHORIZED);
    let resp = app.login(&email, PASSWORD).await;
    problem(resp, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
}

#[tokio::test]
async fn passwords_are_rehashed_on_login_when_parameters_change() {
    let dir = tempfile::tempdir().unwrap();
    let email = unique("rehash");
    let old_hash = {
        let app = spawn_in(
            tempfile::TempDir::new_in(dir.path()).unwrap(),
            test_config(dir.path()),
        )
        .await;
        app.register(&email).await;
        app.server
            .stores
            .users
            .find_user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
    };
    assert!(old_hash.contains("m=64,t=1,p=1"), "{old_hash}");
    let mut config = test_config(dir.path());
    config.argon2.m_cost = 128;
    let app = spawn_in(tempfile::TempDir::new_in(dir.path()).unwrap(), config).await;
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
    let new_hash = app
        .server
        .stores
        .users
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(
        new_hash.starts_with("$argon2id$v=19$m=128,t=1,p=1$"),
        "{new_hash}"
    );
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::OK,
        "new hash verifies"
    );
}

#[tokio::test]
async fn default_argon2_parameters_are_owasp_argon2id() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.argon2 = tessera::Config::defaults().unwrap().argon2;
    let app = spawn_in(dir, config).await;
    let email = unique("owasp");
    app.register(&email).await;
    let phc = app
        .server
        .stores
        .users
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
}

#[tokio::test]
async fn registering_ends_the_session_the_browser_still_held() {
    let app = spawn().await;
    let (old, _) = app.register(&unique("first")).await;
    let resp = app
        .req(Method::POST, "/v1/register")
        .header("cookie", old.header())
        .json(&json!({"email": unique("second"), "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    assert_eq!(app.whoami_status(&old).await, StatusCode::UNAUTHORIZED);
}
