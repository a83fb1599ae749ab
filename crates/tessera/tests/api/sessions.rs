//! The device list, revocation, password change, and both expiry clocks
//! (moved with a fake clock, never slept).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

async fn list(app: &TestApp, jar: &Jar) -> Vec<Value> {
    let resp = app
        .browser(Method::GET, "/v1/sessions", jar)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body: Value = resp.json().await.unwrap();
    body["sessions"].as_array().unwrap().clone()
}

/// The id of the session `jar` holds (several can share a creation second,
/// so list order alone does not tell).
async fn current_id(app: &TestApp, jar: &Jar) -> String {
    let sessions = list(app, jar).await;
    let current: Vec<&Value> = sessions.iter().filter(|s| s["current"] == true).collect();
    assert_eq!(current.len(), 1, "exactly one current session");
    current[0]["id"].as_str().unwrap().to_owned()
}

async fn login_as(app: &TestApp, email: &str, ua: &str) -> Jar {
    let resp = app
        .req(Method::POST, "/v1/login")
        .header("user-agent", ua)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    jar
}

#[tokio::test]
async fn the_device_list_shows_the_users_live_sessions_only() {
    let app = spawn().await;
    let email = unique("devices");
    app.register(&email).await;
    app.clock.advance(Duration::minutes(1));
    let laptop = login_as(&app, &email, "Laptop/1.0").await;
    app.clock.advance(Duration::minutes(1));
    let phone = login_as(&app, &email, "Phone/2.0").await;
    let (stranger, _) = app.register(&unique("stranger")).await;

    let sessions = list(&app, &phone).await;
    assert_eq!(sessions.len(), 3, "register + two logins");
    assert_eq!(sessions[0]["user_agent"], "Phone/2.0", "newest first");
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(sessions[1]["user_agent"], "Laptop/1.0");
    assert_eq!(sessions[1]["current"], false);
    for s in &sessions {
        assert_eq!(s["ip"], "127.0.0.1");
        for f in ["id", "created_at", "last_seen_at", "expires_at"] {
            assert!(s[f].is_string(), "{f}");
        }
        let text = s.to_string();
        assert!(
            !text.contains(phone.session()) && !text.contains(laptop.session()),
            "no tokens listed"
        );
    }
    assert_eq!(
        list(&app, &stranger).await.len(),
        1,
        "only one's own sessions"
    );
}

#[tokio::test]
async fn revoking_one_session_signs_that_device_out() {
    let app = spawn().await;
    let email = unique("revoke");
    let (first, _) = app.register(&email).await;
    let second = app.login_jar(&email).await;
    let (stranger, _) = app.register(&unique("stranger")).await;

    let second_id = current_id(&app, &second).await;
    let stranger_id = current_id(&app, &stranger).await;

    // Someone else's session: 404, exactly like one that does not exist.
    for id in [
        stranger_id.as_str(),
        "00000000-0000-0000-0000-000000000000",
        "not-a-uuid",
        "%FF%FE",
    ] {
        let resp = app
            .browser(Method::DELETE, &format!("/v1/sessions/{id}"), &first)
            .send()
            .await
            .unwrap();
        problem(resp, StatusCode::NOT_FOUND, "not_found").await;
    }
    assert_eq!(app.whoami_status(&stranger).await, StatusCode::OK);

    let resp = app
        .browser(Method::DELETE, &format!("/v1/sessions/{second_id}"), &first)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert!(
        resp.headers().get("set-cookie").is_none(),
        "the caller stays signed in"
    );
    assert_eq!(app.whoami_status(&second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&first).await, StatusCode::OK);

    // Revoking one's current session by id is a logout.
    let first_id = current_id(&app, &first).await;
    let resp = app
        .browser(Method::DELETE, &format!("/v1/sessions/{first_id}"), &first)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        set_cookie(resp.headers(), SESSION).max_age(),
        Some(Duration::ZERO)
    );
    assert_eq!(app.whoami_status(&first).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_session() {
    let app = spawn().await;
    let email = unique("others");
    let (a, _) = app.register(&email).await;
    let b = app.login_jar(&email).await;
    let c = app.login_jar(&email).await;
    let resp = app
        .browser(Method::DELETE, "/v1/sessions", &c)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&c).await, StatusCode::OK);
    assert_eq!(list(&app, &c).await.len(), 1);
}

#[tokio::test]
async fn password_change_rotates_this_token_and_ends_the_others() {
    let app = spawn().await;
    let email = unique("pw");
    let (mut me, _) = app.register(&email).await;
    let other = app.login_jar(&email).await;
    let old = me.clone();

    let change = |jar: &Jar, current: &str, new: &str| {
        app.browser(Method::POST, "/v1/password", jar)
            .json(&json!({"current_password": current, "new_password": new}))
            .send()
    };
    let p = problem(
        change(&me, "wrong password", "brand new password")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "current_password");
    let p = problem(
        change(&me, PASSWORD, "short").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_eq!(p["errors"][0]["field"], "new_password");
    assert_eq!(
        app.whoami_status(&other).await,
        StatusCode::OK,
        "failed changes end nothing"
    );

    let resp = change(&me, PASSWORD, "brand new password").await.unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let cookie = set_cookie(resp.headers(), SESSION);
    assert_eq!(cookie.http_only(), Some(true));
    assert!(cookie.max_age().unwrap() > Duration::days(89));
    me.absorb(resp.headers());
    assert_ne!(
        me.session(),
        old.session(),
        "new token for the current session"
    );

    assert_eq!(app.whoami_status(&me).await, StatusCode::OK);
    assert_eq!(
        app.whoami_status(&old).await,
        StatusCode::UNAUTHORIZED,
        "old token dead"
    );
    assert_eq!(
        app.whoami_status(&other).await,
        StatusCode::UNAUTHORIZED,
        "other sessions ended"
    );
    // Same session id, new token; the new CSRF cookie matches it.
    assert_eq!(list(&app, &me).await.len(), 1);
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, "brand new password").await.status(),
        StatusCode::OK
    );
}

/// Rotating the session token rotates the CSRF token too: after a password
/// change, the CSRF token from before (someone may have read it: it is
/// readable by the page's scripts) no longer works with the new session
/// token, and the new one does. Before, the CSRF token was bound to the
/// session id alone, which the rotation keeps. Issue 18 item 9.
#[tokio::test]
async fn a_password_change_rotates_the_csrf_token_with_the_session_token() {
    let app = spawn().await;
    let (mut me, _) = app.register(&unique("csrf-rotate")).await;
    let old_csrf = me.csrf().to_owned();
    let resp = app
        .browser(Method::POST, "/v1/password", &me)
        .json(&json!({"current_password": PASSWORD, "new_password": "brand new password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    me.absorb(resp.headers());
    assert_ne!(me.csrf(), old_csrf, "a new CSRF cookie");
    let with_csrf = |csrf: &str| {
        app.req(Method::DELETE, "/v1/sessions")
            .header(
                "cookie",
                format!("{SESSION}={}; {CSRF}={csrf}", me.session()),
            )
            .header("x-csrf-token", csrf)
            .header("origin", ORIGIN)
            .send()
    };
    problem(
        with_csrf(&old_csrf).await.unwrap(),
        StatusCode::FORBIDDEN,
        "csrf_failed",
    )
    .await;
    assert_eq!(
        with_csrf(me.csrf()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn a_wrong_current_password_counts_toward_the_login_limit() {
    let app = spawn_with(|c| c.login_limits.max_failures_per_account = 2).await;
    let email = unique("pwlimit");
    let (me, _) = app.register(&email).await;
    for _ in 0..2 {
        let r = app
            .browser(Method::POST, "/v1/password", &me)
            .json(&json!({"current_password": "guess guess", "new_password": "brand new password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    }
    let r = app
        .browser(Method::POST, "/v1/password", &me)
        .json(&json!({"current_password": PASSWORD, "new_password": "brand new password"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

fn short_sessions(c: &mut tessera::Config) {
    c.session_idle_timeout = std::time::Duration::from_mins(10);
    c.session_absolute_timeout = std::time::Duration::from_mins(25);
    c.session_activity_interval = std::time::Duration::from_hours(24);
}

async fn expires_at(app: &TestApp, jar: &Jar) -> String {
    let body: Value = app.whoami(jar).await.json().await.unwrap();
    body["session"]["expires_at"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn idle_expiry_slides_only_past_half_life() {
    let app = spawn_with(short_sessions).await;
    let (jar, reg) = app.register(&unique("idle")).await;
    let first_expiry = reg["session"]["expires_at"].as_str().unwrap().to_owned();

    app.clock.advance(Duration::minutes(4));
    assert_eq!(
        expires_at(&app, &jar).await,
        first_expiry,
        "before half-life: no renewal"
    );
    app.clock.advance(Duration::minutes(2)); // 6 min in: 4 min left < half of 10
    let renewed = expires_at(&app, &jar).await;
    assert_ne!(renewed, first_expiry, "past half-life: renewed");
    let renewed_at =
        time::OffsetDateTime::parse(&renewed, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let now = time::OffsetDateTime::from_unix_timestamp(app.clock_now()).unwrap();
    assert_eq!(renewed_at, now + Duration::minutes(10));

    // Unused for the idle timeout: gone, and a late request does not revive it.
    app.clock.advance(Duration::minutes(10));
    let resp = app.whoami(&jar).await;
    problem(resp, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    app.clock.set(now);
    assert_eq!(
        app.whoami_status(&jar).await,
        StatusCode::OK,
        "sanity: the clock, not deletion, decided"
    );
}

#[tokio::test]
async fn the_absolute_lifetime_never_moves() {
    let app = spawn_with(short_sessions).await;
    let (jar, reg) = app.register(&unique("abs")).await;
    let absolute = reg["session"]["absolute_expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    // Busy user: a request every 4 minutes keeps the idle clock fresh...
    for _ in 0..6 {
        app.clock.advance(Duration::minutes(4));
        let body: Value = app.whoami(&jar).await.json().await.unwrap();
        assert_eq!(body["session"]["absolute_expires_at"], absolute.as_str());
        assert!(
            body["session"]["expires_at"].as_str().unwrap() <= absolute.as_str(),
            "renewal capped"
        );
    }
    // ...but at 25 minutes the session ends anyway.
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.whoami_status(&jar).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn expired_sessions_are_swept_from_the_store() {
    let app = spawn_with(short_sessions).await;
    let (dead, _) = app.register(&unique("sweep")).await;
    app.clock.advance(Duration::minutes(8));
    let (live, _) = app.register(&unique("sweep")).await;
    app.clock.advance(Duration::minutes(3));
    assert_eq!(app.server.auth.sweep().await.unwrap(), 1);
    let hash = |jar: &Jar| {
        tessera_core::SessionToken::parse(jar.session())
            .unwrap()
            .hash()
    };
    assert!(
        app.server
            .stores
            .sessions
            .find_session(&hash(&dead))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.server
            .stores
            .sessions
            .find_session(&hash(&live))
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn last_seen_is_refreshed_at_the_activity_interval() {
    let app =
        spawn_with(|c| c.session_activity_interval = std::time::Duration::from_hours(1)).await;
    let (jar, _) = app.register(&unique("seen")).await;
    let first = list(&app, &jar).await[0]["last_seen_at"].clone();
    app.clock.advance(Duration::minutes(59));
    assert_eq!(list(&app, &jar).await[0]["last_seen_at"], first);
    app.clock.advance(Duration::minutes(2));
    assert_ne!(list(&app, &jar).await[0]["last_seen_at"], first);
}

trait ClockNow {
    fn clock_now(&self) -> i64;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> i64 {
        use tessera_core::Clock;
        self.clock.now().unix_timestamp()
    }
}
