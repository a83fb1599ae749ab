//! Issue 19: verification, recovery, email change, profile and deletion,
//! with mail going to a real SMTP server (aiosmtpd) through the real
//! queue. The tests run the queue worker themselves (`deliver`), so no
//! test waits on a timer.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::mail::Verification;
use tessera_core::user::{User, UserId, UserRecord};

use crate::common::smtp::{Mail, Smtpd};
use crate::common::*;

pub(crate) async fn spawn_mail(tweak: impl FnOnce(&mut tessera::Config)) -> (TestApp, Smtpd) {
    let smtpd = Smtpd::start();
    let url = smtpd.url();
    let app = spawn_with(|c| {
        c.mail.smtp_url = Some(url.into());
        c.mail.app_name = "Acme".into();
        tweak(c);
    })
    .await;
    (app, smtpd)
}

/// Runs the mail queue until nothing is due.
async fn deliver(app: &TestApp) {
    while app.server.mailer.run_once().await.expect("queue") > 0 {}
}

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.req(Method::POST, path)
        .json(&body)
        .send()
        .await
        .expect("send")
}

pub(crate) async fn last_mail(app: &TestApp, smtpd: &Smtpd, to: &str, n: usize) -> Mail {
    deliver(app).await;
    smtpd.wait_for(to, n).await.pop().unwrap()
}

async fn backlog(app: &TestApp) -> u64 {
    app.server.auth.mail().mail_backlog().await.unwrap().0
}

#[tokio::test]
async fn sign_up_mails_a_verify_link_that_verifies_once_and_every_session_sees_it() {
    let (app, smtpd) = spawn_mail(|_| {}).await;
    let email = unique("verify");
    let (jar, body) = app.register(&email).await;
    assert_eq!(body["user"]["email_verified"], false);
    let mail = last_mail(&app, &smtpd, &email, 1).await;
    assert_eq!(mail.subject, "Acme: verify your email address");
    assert!(mail.text.contains("/verify-email?token="), "{}", mail.text);
    assert!(mail.html.contains("/verify-email?token="), "{}", mail.html);
    assert!(mail.text.contains("ignore this mail"), "{}", mail.text);
    assert!(
        mail.link()
            .starts_with(&format!("{ORIGIN}/verify-email?token="))
    );
    assert_eq!(mail.from, "no-reply@localhost");
    assert_eq!(mail.token().len(), 43, "256 bits in base64url");

    let r = post(&app, "/v1/email/verify", json!({"token": mail.token()})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email_verified"], true);
    assert!(body.get("session").is_none());
    let me: Value = app.whoami(&jar).await.json().await.unwrap();
    assert_eq!(me["user"]["email_verified"], true, "the session's snapshot");

    let again = post(&app, "/v1/email/verify", json!({"token": mail.token()})).await;
    problem(again, StatusCode::BAD_REQUEST, "invalid_token").await;
    // Verified: asking for another mail sends nothing.
    let r = app
        .browser(Method::POST, "/v1/email/verify/send", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    deliver(&app).await;
    assert_eq!(smtpd.wait_for(&email, 1).await.len(), 1);
}

#[tokio::test]
async fn verification_send_needs_the_csrf_token_and_is_limited_to_3_an_hour() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let email = unique("send");
    let (jar, _) = app.register(&email).await;
    deliver(&app).await;
    assert!(smtpd.mails().is_empty(), "off: no mail on sign-up");
    let forged = app
        .req(Method::POST, "/v1/email/verify/send")
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    problem(forged, StatusCode::FORBIDDEN, "csrf_failed").await;
    for _ in 0..3 {
        let r = app
            .browser(Method::POST, "/v1/email/verify/send", &jar)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::ACCEPTED);
    }
    let r = app
        .browser(Method::POST, "/v1/email/verify/send", &jar)
        .send()
        .await
        .unwrap();
    let retry: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    problem(r, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert!(retry > 0 && retry <= 3600);
    deliver(&app).await;
    assert_eq!(smtpd.wait_for(&email, 3).await.len(), 3);
}

#[tokio::test]
async fn required_verification_holds_sign_in_until_the_link_is_followed() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Required).await;
    let email = unique("required");
    let r = post(
        &app,
        "/v1/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert!(
        !sets_cookie(r.headers(), SESSION),
        "no session before verifying"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], email.as_str());
    assert!(body.get("session").is_none());

    let r = app.login(&email, PASSWORD).await;
    assert!(!sets_cookie(r.headers(), SESSION));
    problem(r, StatusCode::FORBIDDEN, "email_not_verified").await;
    // A wrong password learns nothing about the account's state.
    problem(
        app.login(&email, "wrong password").await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    // The token endpoint's password grant holds too.
    let (status, body) = crate::common::oauth::post_token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");

    // Resend: the same answer for an unknown address, and a mail only for
    // the real one.
    let known = post(&app, "/v1/email/verify/resend", json!({"email": email})).await;
    let unknown = post(
        &app,
        "/v1/email/verify/resend",
        json!({"email": unique("nobody")}),
    )
    .await;
    assert_same_answer(known, unknown).await;
    deliver(&app).await;
    let mails = smtpd.wait_for(&email, 2).await;
    assert_eq!(smtpd.mails().len(), 2, "nothing for the unknown address");
    let r = post(&app, "/v1/email/verify", json!({"token": mails[1].token()})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
}

/// Status, headers (but `date`) and body are the same bytes.
async fn assert_same_answer(a: reqwest::Response, b: reqwest::Response) {
    assert_eq!(a.status(), b.status());
    let headers = |r: &reqwest::Response| {
        let mut h: Vec<(String, Vec<u8>)> = r
            .headers()
            .iter()
            .filter(|(k, _)| *k != "date")
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect();
        h.sort();
        h
    };
    assert_eq!(headers(&a), headers(&b));
    assert_eq!(a.bytes().await.unwrap(), b.bytes().await.unwrap());
}

#[tokio::test]
async fn forgot_then_reset_signs_in_here_and_out_everywhere_else() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let email = unique("reset");
    let (other, _) = app.register(&email).await;
    // A refresh family from a password grant, to be revoked by the reset.
    let (_, grant) = crate::common::oauth::post_token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &email),
            ("password", PASSWORD),
        ],
    )
    .await;
    let refresh = grant["refresh_token"].as_str().unwrap().to_owned();

    let known = post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let unknown = post(
        &app,
        "/v1/password/forgot",
        json!({"email": unique("nobody")}),
    )
    .await;
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_same_answer(known, unknown).await;
    let mail = last_mail(&app, &smtpd, &email, 1).await;
    assert_eq!(smtpd.mails().len(), 1, "no mail to an unknown address");
    assert_eq!(mail.subject, "Acme: reset your password");
    assert!(
        mail.link()
            .starts_with(&format!("{ORIGIN}/reset-password?token="))
    );
    assert!(mail.text.contains("If you did not ask for this"));

    let r = post(
        &app,
        "/v1/password/reset",
        json!({"token": mail.token(), "new_password": "a brand new password"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let session = set_cookie(r.headers(), SESSION);
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.secure(), Some(true));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["user"]["email_verified"], true,
        "the link proved the address"
    );
    assert_eq!(app.whoami_status(&jar).await, StatusCode::OK);
    assert_eq!(
        app.whoami_status(&other).await,
        StatusCode::UNAUTHORIZED,
        "every other session ended"
    );
    let (status, body) = crate::common::oauth::post_token(
        &app,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "refresh family revoked: {body}"
    );
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login(&email, "a brand new password").await.status(),
        StatusCode::OK
    );
    let replay = post(
        &app,
        "/v1/password/reset",
        json!({"token": mail.token(), "new_password": "yet another password"}),
    )
    .await;
    problem(replay, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn reset_tokens_newest_only_void_on_password_change_expire_and_keep_their_purpose() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let email = unique("tokens");
    let (jar, _) = app.register(&email).await;
    let reset = |token: String, pw: &'static str| {
        let app = &app;
        async move {
            post(
                app,
                "/v1/password/reset",
                json!({"token": token, "new_password": pw}),
            )
            .await
        }
    };
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let first = last_mail(&app, &smtpd, &email, 1).await.token();
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let second = last_mail(&app, &smtpd, &email, 2).await.token();
    problem(
        reset(first, "password number one").await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
    // A bad new password is refused before the token is spent.
    let r = reset(second.clone(), "short").await;
    let body = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_password");
    // A password change voids it.
    let r = app
        .browser(Method::POST, "/v1/password", &jar)
        .json(&json!({"current_password": PASSWORD, "new_password": "changed password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(
        reset(second, "password number two").await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;

    // Expiry: 30 minutes.
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let third = last_mail(&app, &smtpd, &email, 3).await.token();
    app.clock.advance(time::Duration::minutes(30));
    problem(
        reset(third, "password number three").await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;

    // A verify token is not a reset token, and is not spent by trying.
    app.browser(
        Method::POST,
        "/v1/email/verify/send",
        &app.login_jar_with(&email, "changed password").await,
    )
    .send()
    .await
    .unwrap();
    let verify = last_mail(&app, &smtpd, &email, 4).await.token();
    problem(
        reset(verify.clone(), "password number four").await,
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
    let r = post(&app, "/v1/email/verify", json!({"token": verify})).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Made-up and malformed tokens.
    for token in ["", "x", &"A".repeat(43), &"é".repeat(100)] {
        let r = reset(token.to_owned(), "password number five").await;
        assert!(
            [StatusCode::BAD_REQUEST, StatusCode::UNPROCESSABLE_ENTITY].contains(&r.status()),
            "{token:?}: {}",
            r.status()
        );
    }
}

impl TestApp {
    async fn login_jar_with(&self, email: &str, password: &str) -> Jar {
        let r = self.login(email, password).await;
        assert_eq!(r.status(), StatusCode::OK);
        let mut jar = Jar::default();
        jar.absorb(r.headers());
        jar
    }
}

#[tokio::test]
async fn forgot_password_is_limited_per_address_quietly_and_per_ip_with_429() {
    let (app, smtpd) = spawn_mail(|c| {
        c.mail.policy.verification = Verification::Off;
        c.mail.policy.limits.max_per_address = 2;
        c.mail.policy.limits.max_per_ip = 4;
    })
    .await;
    let email = unique("limits");
    app.register(&email).await;
    let forgot = |ip: &'static str, email: String| {
        let app = &app;
        async move {
            app.req(Method::POST, "/v1/password/forgot")
                .header("tessera-client-ip", ip)
                .json(&json!({"email": email}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(
            forgot("192.0.2.1", email.clone()).await.status(),
            StatusCode::ACCEPTED
        );
    }
    deliver(&app).await;
    smtpd.wait_for(&email, 2).await;
    assert_eq!(smtpd.mails().len(), 2, "the third was answered, not sent");
    assert_eq!(
        forgot("192.0.2.1", unique("other")).await.status(),
        StatusCode::ACCEPTED
    );
    problem(
        forgot("192.0.2.1", unique("other")).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    assert_eq!(
        forgot("192.0.2.2", unique("other")).await.status(),
        StatusCode::ACCEPTED,
        "another address is not limited"
    );
    let bad = forgot("192.0.2.2", "not an email".into()).await;
    problem(bad, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

/// A user a provider created: no password.
async fn passwordless_user(app: &TestApp, email: &str) -> UserId {
    let id = UserId::new();
    app.server
        .auth
        .users()
        .insert_user(&UserRecord {
            user: User {
                id,
                email: email.to_owned(),
                name: None,
                email_verified: true,
                roles: Vec::new(),
                created_at: app.clock.now(),
            },
            password_hash: None,
            disabled_at: None,
        })
        .await
        .unwrap();
    id
}

#[tokio::test]
async fn a_provider_user_sets_a_first_password_through_the_reset_flow() {
    let (app, smtpd) = spawn_mail(|_| {}).await;
    let email = unique("provider");
    passwordless_user(&app, &email).await;
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let token = last_mail(&app, &smtpd, &email, 1).await.token();
    let r = post(
        &app,
        "/v1/password/reset",
        json!({"token": token, "new_password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn email_change_mails_both_addresses_and_moves_the_user_on_confirm() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let old = unique("old");
    let new = unique("new");
    let taken = unique("taken");
    let (jar, _) = app.register(&old).await;
    app.register(&taken).await;
    let change = |body: Value| {
        let (app, jar) = (&app, &jar);
        async move {
            app.browser(Method::POST, "/v1/email/change", jar)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = change(json!({"new_email": new, "current_password": "wrong password"})).await;
    let body = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");
    let r = change(json!({"new_email": taken, "current_password": PASSWORD})).await;
    problem(r, StatusCode::CONFLICT, "email_taken").await;
    let r = change(json!({"new_email": old.to_uppercase(), "current_password": PASSWORD})).await;
    let body = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "new_email");
    let r = change(json!({"new_email": "nope", "current_password": PASSWORD})).await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let forged = app
        .req(Method::POST, "/v1/email/change")
        .header("cookie", jar.header())
        .json(&json!({"new_email": new, "current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(forged, StatusCode::FORBIDDEN, "csrf_failed").await;

    let r = change(json!({"new_email": new, "current_password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    deliver(&app).await;
    let confirm = smtpd.wait_for(&new, 1).await.pop().unwrap();
    let notice = smtpd.wait_for(&old, 1).await.pop().unwrap();
    assert_eq!(confirm.subject, "Acme: confirm your new email address");
    assert!(
        confirm
            .link()
            .starts_with(&format!("{ORIGIN}/confirm-email?token="))
    );
    assert_eq!(notice.subject, "Acme: your email address is being changed");
    assert!(notice.text.contains(&new), "{}", notice.text);
    assert!(
        !notice.text.contains("token="),
        "the notice carries no link"
    );
    // Nothing changed yet.
    let me: Value = app.whoami(&jar).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], old.as_str());

    let r = post(
        &app,
        "/v1/email/change/confirm",
        json!({"token": confirm.token()}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email"], new.as_str());
    assert_eq!(body["user"]["email_verified"], true);
    let me: Value = app.whoami(&jar).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], new.as_str(), "the session's snapshot");
    assert_eq!(app.login(&new, PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        app.login(&old, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let replay = post(
        &app,
        "/v1/email/change/confirm",
        json!({"token": confirm.token()}),
    )
    .await;
    problem(replay, StatusCode::BAD_REQUEST, "invalid_token").await;
}

#[tokio::test]
async fn an_address_taken_before_the_confirmation_is_a_409() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let (old, new) = (unique("first"), unique("second"));
    let (jar, _) = app.register(&old).await;
    let r = app
        .browser(Method::POST, "/v1/email/change", &jar)
        .json(&json!({"new_email": new, "current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let token = last_mail(&app, &smtpd, &new, 1).await.token();
    app.register(&new).await;
    let r = post(&app, "/v1/email/change/confirm", json!({"token": token})).await;
    problem(r, StatusCode::CONFLICT, "email_taken").await;
    let me: Value = app.whoami(&jar).await.json().await.unwrap();
    assert_eq!(me["user"]["email"], old.as_str());
}

#[tokio::test]
async fn email_change_keeps_to_the_sign_up_domain_list() {
    let (app, _smtpd) = spawn_mail(|c| {
        c.registration.email_domains = vec!["example.com".into()];
    })
    .await;
    let (jar, _) = app.register(&unique("domains")).await;
    let r = app
        .browser(Method::POST, "/v1/email/change", &jar)
        .json(&json!({"new_email": "ada@elsewhere.org", "current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "email_domain_not_allowed").await;
}

#[tokio::test]
async fn the_name_changes_in_every_session() {
    let (app, _smtpd) = spawn_mail(|_| {}).await;
    let email = unique("name");
    let (jar, _) = app.register(&email).await;
    let other = app.login_jar(&email).await;
    let patch = |body: Value| {
        let (app, jar) = (&app, &jar);
        async move {
            app.browser(Method::PATCH, "/v1/user", jar)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = patch(json!({"name": "  Ada <b>Lovelace</b> "})).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["name"], "Ada <b>Lovelace</b>");
    let me: Value = app.whoami(&other).await.json().await.unwrap();
    assert_eq!(me["user"]["name"], "Ada <b>Lovelace</b>");
    problem(
        patch(json!({"name": "x".repeat(201)})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    problem(
        patch(json!({"name": "a\u{0}b"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    problem(
        patch(json!({"name": 5})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let r = patch(json!({"name": null})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["user"]["name"], Value::Null);
    let forged = app
        .req(Method::PATCH, "/v1/user")
        .header("cookie", jar.header())
        .json(&json!({"name": "Mallory"}))
        .send()
        .await
        .unwrap();
    problem(forged, StatusCode::FORBIDDEN, "csrf_failed").await;
}

#[tokio::test]
async fn deleting_the_account_needs_the_password_and_leaves_nothing() {
    let (app, smtpd) = spawn_mail(|_| {}).await;
    let email = unique("delete");
    let (jar, _) = app.register(&email).await;
    let other = app.login_jar(&email).await;
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let token = last_mail(&app, &smtpd, &email, 2).await.token();
    // Queued and not yet sent: goes with the account.
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let delete = |body: Value| {
        let (app, jar) = (&app, &jar);
        async move {
            app.browser(Method::DELETE, "/v1/user", jar)
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = delete(json!({"current_password": "wrong password"})).await;
    let body = problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    assert_eq!(body["errors"][0]["field"], "current_password");
    let r = delete(json!({})).await;
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let r = delete(json!({"current_password": PASSWORD})).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    for name in [SESSION, CSRF] {
        assert_eq!(
            set_cookie(r.headers(), name).max_age(),
            Some(time::Duration::ZERO)
        );
    }
    assert_eq!(app.whoami_status(&jar).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&other).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let r = post(
        &app,
        "/v1/password/reset",
        json!({"token": token, "new_password": "back from the dead"}),
    )
    .await;
    problem(r, StatusCode::BAD_REQUEST, "invalid_token").await;
    // The address is free again.
    app.register(&email).await;
}

/// A session for `user` straight in the store (what a provider sign-in
/// would make), as a browser's cookie jar.
async fn session_for(app: &TestApp, id: UserId) -> Jar {
    let user = app
        .server
        .auth
        .users()
        .find_user(id)
        .await
        .unwrap()
        .unwrap()
        .user;
    let token = tessera_core::SessionToken::generate();
    let session =
        app.server
            .auth
            .settings()
            .sessions
            .start(user, token.hash(), app.clock.now(), None, None);
    app.server
        .stores
        .sessions
        .insert_session(&session)
        .await
        .unwrap();
    let mut jar = Jar::default();
    jar.cookies
        .insert(SESSION.into(), token.expose().to_owned());
    jar.cookies.insert(
        CSRF.into(),
        app.server
            .state
            .csrf
            .token_for(session.id, &session.token_hash),
    );
    jar
}

#[tokio::test]
async fn a_user_without_a_password_deletes_only_from_a_fresh_sign_in() {
    let (app, _smtpd) = spawn_mail(|_| {}).await;
    let email = unique("fresh");
    let id = passwordless_user(&app, &email).await;
    let stale = session_for(&app, id).await;
    app.clock.advance(time::Duration::minutes(6));
    let fresh = session_for(&app, id).await;
    let r = app
        .browser(Method::DELETE, "/v1/user", &stale)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "reauthentication_required").await;
    assert_eq!(app.whoami_status(&stale).await, StatusCode::OK);
    let r = app
        .browser(Method::DELETE, "/v1/user", &fresh)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&stale).await, StatusCode::UNAUTHORIZED);
    assert!(
        app.server
            .auth
            .users()
            .find_user(id)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_smtp_outage_loses_no_mail_it_is_retried_with_backoff() {
    let smtpd = Smtpd::start();
    let port = smtpd.port;
    drop(smtpd);
    let app = spawn_with(|c| {
        c.mail.smtp_url = Some(format!("smtp+insecure://127.0.0.1:{port}").into());
    })
    .await;
    let email = unique("outage");
    app.register(&email).await;
    deliver(&app).await;
    assert_eq!(
        backlog(&app).await,
        1,
        "still queued after a failed attempt"
    );
    // Not due again before the backoff (30 s after the first failure).
    app.clock.advance(time::Duration::seconds(20));
    assert_eq!(app.server.mailer.run_once().await.unwrap(), 0);
    let smtpd = Smtpd::start_on(port);
    app.clock.advance(time::Duration::seconds(11));
    deliver(&app).await;
    assert_eq!(smtpd.wait_for(&email, 1).await.len(), 1);
    assert_eq!(backlog(&app).await, 0);
    let metrics = app
        .req(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tessera_mail_queue_depth 0",
        "tessera_mail_queue_oldest_age_seconds 0",
        "tessera_mail_attempts_total{kind=\"verify\",result=\"sent\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
}

#[tokio::test]
async fn smtp_without_starttls_is_refused_never_sent_in_clear() {
    // aiosmtpd offers no STARTTLS; smtp:// requires it.
    let smtpd = Smtpd::start();
    let app = spawn_with(|c| {
        c.mail.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtpd.port).into());
    })
    .await;
    app.register(&unique("starttls")).await;
    deliver(&app).await;
    assert!(smtpd.mails().is_empty());
    assert_eq!(backlog(&app).await, 1, "kept for a retry");
}

/// POSTs JSON to a running binary.
async fn post_to(base: &str, path: &str, body: Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn trace_logs_never_hold_a_mail_token() {
    use crate::common::process;
    let smtpd = Smtpd::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = process::command(&dir.path().join("data"));
    cmd.env("TESSERA_LOG", "trace")
        .env("TESSERA_SMTP_URL", smtpd.url())
        .stderr(std::fs::File::create(&log).unwrap());
    let running = process::serve(cmd);
    let email = unique("trace");
    let r = post_to(
        &running.base,
        "/v1/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    post_to(
        &running.base,
        "/v1/password/forgot",
        json!({"email": email}),
    )
    .await;
    let mails = smtpd.wait_for(&email, 2).await;
    let reset = mails.iter().find(|m| m.subject.contains("reset")).unwrap();
    let r = post_to(
        &running.base,
        "/v1/password/reset",
        json!({"token": reset.token(), "new_password": "a new password"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let verify = mails.iter().find(|m| m.subject.contains("verify")).unwrap();
    drop(running);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("mail sent"),
        "the log is at trace level: {logged}"
    );
    assert!(logged.contains("DEBUG"), "the request events were on");
    for token in [reset.token(), verify.token()] {
        assert!(!logged.contains(&token), "a mail token in the log");
    }
    assert!(!reset.raw.is_empty());
}

#[tokio::test]
async fn a_mail_queued_before_a_crash_goes_out_after_the_restart() {
    use crate::common::process;
    let smtpd = Smtpd::start();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let email = unique("crash");
    {
        // The queue is looked at once at start, then not for an hour: the
        // mail is committed and unsent when the process is killed.
        let mut cmd = process::command(&data);
        cmd.env("TESSERA_SMTP_URL", smtpd.url())
            .env("TESSERA_MAIL_QUEUE_INTERVAL", "1h");
        let running = process::serve(cmd);
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let r = post_to(
            &running.base,
            "/v1/register",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        assert!(smtpd.mails().is_empty());
        drop(running); // SIGKILL
    }
    let mut cmd = process::command(&data);
    cmd.env("TESSERA_SMTP_URL", smtpd.url());
    let _running = process::serve(cmd);
    assert_eq!(smtpd.wait_for(&email, 1).await.len(), 1);
}

#[tokio::test]
async fn without_smtp_mails_are_owner_only_eml_files_in_the_outbox() {
    use crate::common::process;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let running = process::serve(process::command(&data));
    let email = unique("outbox");
    post_to(
        &running.base,
        "/v1/register",
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    let outbox = data.join("outbox");
    let started = std::time::Instant::now();
    let file = loop {
        let found = std::fs::read_dir(&outbox)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .find(|e| e.file_name().to_string_lossy().ends_with(".eml"));
        if let Some(f) = found {
            break f.path();
        }
        assert!(started.elapsed().as_secs() < 10, "no .eml in the outbox");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&outbox).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains(&format!("To: {email}")), "{text}");
    assert!(text.contains("multipart/alternative"));
}

#[tokio::test]
async fn on_postgres_and_redis_a_reset_ends_every_session_and_a_delete_every_trace() {
    use tessera_store_redis::testing::{RedisServer, free_port};
    let db = tessera_store_sql::testing::fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    let (db_url, redis_url) = (db.url.clone(), redis.url());
    let (app, smtpd) = spawn_mail(|c| {
        c.database_url = Some(db_url.into());
        c.session_store = Some(redis_url.into());
    })
    .await;
    let email = unique("redis");
    let (first, _) = app.register(&email).await;
    let second = app.login_jar(&email).await;
    post(&app, "/v1/password/forgot", json!({"email": email})).await;
    let mails = {
        deliver(&app).await;
        smtpd.wait_for(&email, 2).await
    };
    let token = mails
        .iter()
        .find(|m| m.subject.contains("reset"))
        .unwrap()
        .token();
    let r = post(
        &app,
        "/v1/password/reset",
        json!({"token": token, "new_password": "reset on redis"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    assert_eq!(app.whoami_status(&first).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&second).await, StatusCode::UNAUTHORIZED);
    assert_eq!(app.whoami_status(&jar).await, StatusCode::OK);
    let r = app
        .browser(Method::DELETE, "/v1/user", &jar)
        .json(&json!({"current_password": "reset on redis"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&jar).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        app.login(&email, "reset on redis").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn odd_input_to_every_account_endpoint_is_a_clear_4xx() {
    let (app, _smtpd) = spawn_mail(|_| {}).await;
    let (jar, _) = app.register(&unique("odd")).await;
    let endpoints = [
        (Method::POST, "/v1/email/verify"),
        (Method::POST, "/v1/email/verify/resend"),
        (Method::POST, "/v1/password/forgot"),
        (Method::POST, "/v1/password/reset"),
        (Method::POST, "/v1/email/change"),
        (Method::POST, "/v1/email/change/confirm"),
        (Method::PATCH, "/v1/user"),
        (Method::DELETE, "/v1/user"),
    ];
    let huge = "a".repeat(70 * 1024);
    for (method, path) in endpoints {
        let send = |body: Vec<u8>| {
            app.browser(method.clone(), path, &jar)
                .header("content-type", "application/json")
                .body(body)
                .send()
        };
        let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
            (b"{".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
            (b"{\"token\": \"\xff\xfe\"}".to_vec(), StatusCode::BAD_REQUEST, "invalid_json"),
            (b"[1, 2]".to_vec(), StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
            (
                br#"{"token": 5, "email": 5, "new_email": [], "new_password": {}, "current_password": 1, "name": 7}"#.to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
            ),
            (
                format!(r#"{{"token": "{huge}"}}"#).into_bytes(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
            ),
        ];
        for (body, status, code) in cases {
            let r = send(body).await.unwrap();
            assert_eq!(r.status(), status, "{method} {path} expected {code}");
            problem(r, status, code).await;
        }
        // Not JSON at all.
        let r = app
            .browser(method.clone(), path, &jar)
            .header("content-type", "text/plain")
            .body("token=x")
            .send()
            .await
            .unwrap();
        problem(
            r,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    // A long token that is no token, and a token with odd characters.
    for token in [
        "A".repeat(10_000),
        "../../etc/passwd".into(),
        "\u{202e}x".into(),
    ] {
        for path in ["/v1/email/verify", "/v1/email/change/confirm"] {
            let r = post(&app, path, json!({"token": token})).await;
            problem(r, StatusCode::BAD_REQUEST, "invalid_token").await;
        }
    }
    // Still signed in: nothing above did anything.
    assert_eq!(app.whoami_status(&jar).await, StatusCode::OK);
}

#[tokio::test]
async fn two_instances_on_postgres_send_each_mail_once_and_honour_each_others_links() {
    use crate::common::process;
    let db = tessera_store_sql::testing::fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let smtpd = Smtpd::start();
    let dir = tempfile::tempdir().unwrap();
    let instance = |name: &str| {
        let mut cmd = process::command(&dir.path().join(name));
        cmd.env("TESSERA_DATABASE_URL", &db.url)
            .env("TESSERA_SMTP_URL", smtpd.url())
            .env("TESSERA_MAIL_QUEUE_INTERVAL", "100ms");
        process::serve(cmd)
    };
    let (a, b) = (instance("a"), instance("b"));
    let mut emails = Vec::new();
    for i in 0..6 {
        let base = if i % 2 == 0 { &a.base } else { &b.base };
        let email = unique("pair");
        let r = post_to(
            base,
            "/v1/register",
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        post_to(base, "/v1/password/forgot", json!({"email": email})).await;
        emails.push(email);
    }
    for email in &emails {
        smtpd.wait_for(email, 2).await;
    }
    // Both workers polled the whole time; give them another few rounds.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        smtpd.mails().len(),
        12,
        "each mail sent once, by one instance"
    );
    // A link mailed by either instance works on the other.
    let mail = smtpd.wait_for(&emails[0], 2).await;
    let reset = mail.iter().find(|m| m.subject.contains("reset")).unwrap();
    let r = post_to(
        &b.base,
        "/v1/password/reset",
        json!({"token": reset.token(), "new_password": "reset elsewhere"}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post_to(
        &a.base,
        "/v1/password/reset",
        json!({"token": reset.token(), "new_password": "and again"}),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "spent on the other instance"
    );
}

#[tokio::test]
async fn a_mail_the_smtp_server_refuses_for_good_is_not_retried() {
    let smtpd = Smtpd::start_rejecting();
    let url = smtpd.url();
    let app = spawn_with(|c| c.mail.smtp_url = Some(url.into())).await;
    let bounce = format!("bounce-{}", unique("x"));
    let fine = unique("fine");
    app.register(&bounce).await;
    app.register(&fine).await;
    deliver(&app).await;
    assert_eq!(smtpd.wait_for(&fine, 1).await.len(), 1);
    assert_eq!(
        backlog(&app).await,
        0,
        "a 550 takes the mail off the queue instead of retrying it for 3 days"
    );
    let metrics = app
        .req(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for line in [
        "tessera_mail_attempts_total{kind=\"verify\",result=\"rejected\"} 1",
        "tessera_mail_attempts_total{kind=\"verify\",result=\"sent\"} 1",
    ] {
        assert!(
            metrics.lines().any(|l| l == line),
            "no {line:?} in\n{metrics}"
        );
    }
}
