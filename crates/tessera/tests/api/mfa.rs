//! Issue 21: TOTP with recovery codes, and the sign-in challenge on every
//! path that makes a session or a refresh family. Codes are computed with
//! the RFC 6238 implementation in `tessera_core::mfa` (checked there
//! against the RFC's own test vectors) at the test server's clock.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::Clock;
use tessera_core::mail::Verification;
use time::Duration;

use crate::account_mail::{last_mail, spawn_mail};
use crate::common::oauth::post_token;
use crate::common::*;

const MFA: &str = "__Host-tessera_mfa";
const MFA_GRANT: &str = "urn:tessera:params:oauth:grant-type:mfa";

/// A user with TOTP on: their session jar, the TOTP secret and the
/// recovery codes.
pub(crate) struct Enrolled {
    pub email: String,
    pub jar: Jar,
    pub secret: Vec<u8>,
    pub codes: Vec<String>,
}

fn secret_of(uri: &str) -> Vec<u8> {
    let b32 = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .expect("secret in the otpauth URI");
    totp_rs::Secret::try_from_base32(b32)
        .expect("base32 secret")
        .as_ref()
        .to_vec()
}

/// The code for the test server's clock now.
pub(crate) fn code(app: &TestApp, secret: &[u8]) -> String {
    tessera_core::mfa::totp_code(secret, app.clock.now()).unwrap()
}

/// Moves the server's clock to the next 30 s step, so a fresh code is not
/// one used already.
pub(crate) fn next_step(app: &TestApp) {
    app.clock.advance(Duration::seconds(30));
}

pub(crate) async fn enrol(app: &TestApp, email: &str) -> Enrolled {
    let (jar, _) = app.register(email).await;
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let secret = secret_of(body["otpauth_uri"].as_str().unwrap());
    let r = app
        .browser(Method::POST, "/v1/mfa/totp/confirm", &jar)
        .json(&json!({"code": code(app, &secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    Enrolled {
        email: email.to_owned(),
        jar,
        secret,
        codes,
    }
}

/// A password sign-in that stops at the challenge: its value.
pub(crate) async fn challenged(app: &TestApp, email: &str) -> String {
    let r = app.login(email, PASSWORD).await;
    assert!(
        !sets_cookie(r.headers(), SESSION),
        "no session before the second factor"
    );
    let cookie = set_cookie(r.headers(), MFA);
    let body = problem(r, StatusCode::UNAUTHORIZED, "mfa_required").await;
    let challenge = body["challenge"].as_str().unwrap().to_owned();
    assert_eq!(cookie.value(), challenge);
    challenge
}

pub(crate) async fn complete(app: &TestApp, body: Value) -> reqwest::Response {
    app.req(Method::POST, "/v1/login/mfa")
        .json(&body)
        .send()
        .await
        .unwrap()
}

fn claims(access_token: &str) -> Value {
    let payload = access_token.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn enrol_confirm_then_sign_in_stops_at_the_challenge_until_a_fresh_code() {
    let app = spawn_with(|c| c.mail.app_name = "Acme".into()).await;
    let email = unique("totp");
    let (jar, _) = app.register(&email).await;

    // Enrolment needs the password (the session is recent, but the user
    // has one), counted like a sign-in.
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&json!({"current_password": "not the password"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let r = app
        .req(Method::POST, "/v1/mfa/totp")
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    let uri = body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/Acme:"), "{uri}");
    assert!(uri.contains("issuer=Acme"), "{uri}");
    let secret = secret_of(uri);
    assert_eq!(secret.len(), 20, "160-bit secret");
    assert_eq!(
        body["secret"].as_str().unwrap(),
        tessera_core::mfa::totp_secret_base32(&secret)
    );

    // Pending: sign-in is unchanged until confirmed.
    let status = app
        .browser(Method::GET, "/v1/mfa", &jar)
        .send()
        .await
        .unwrap();
    let status: Value = status.json().await.unwrap();
    assert_eq!(status["totp_enabled"], false);
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);

    let wrong = if code(&app, &secret) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let r = app
        .browser(Method::POST, "/v1/mfa/totp/confirm", &jar)
        .json(&json!({"code": wrong}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    let enrolment_code = code(&app, &secret);
    let r = app
        .browser(Method::POST, "/v1/mfa/totp/confirm", &jar)
        .json(&json!({"code": enrolment_code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    let codes = body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    let distinct: std::collections::HashSet<_> = codes.iter().collect();
    assert_eq!(distinct.len(), 10);
    let r = app
        .browser(Method::POST, "/v1/mfa/totp/confirm", &jar)
        .json(&json!({"code": enrolment_code}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::CONFLICT, "totp_not_pending").await;
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::CONFLICT, "totp_already_enabled").await;
    let status: Value = app
        .browser(Method::GET, "/v1/mfa", &jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status,
        json!({"totp_enabled": true, "recovery_codes_remaining": 10, "passkeys": 0})
    );

    // The password alone now stops at the challenge, in the body and in
    // a Strict, HttpOnly, 5-minute cookie.
    let r = app.login(&email, PASSWORD).await;
    let cookie = set_cookie(r.headers(), MFA);
    assert_eq!(cookie.http_only(), Some(true));
    assert_eq!(cookie.secure(), Some(true));
    assert_eq!(cookie.same_site(), Some(cookie::SameSite::Strict));
    assert_eq!(cookie.path(), Some("/"));
    assert_eq!(cookie.max_age(), Some(Duration::seconds(300)));
    assert!(!sets_cookie(r.headers(), SESSION));
    let body = problem(r, StatusCode::UNAUTHORIZED, "mfa_required").await;
    assert_eq!(body["challenge"].as_str().unwrap(), cookie.value());
    // The wrong password is still the plain 401.
    let r = app.login(&email, "not the password").await;
    assert!(!sets_cookie(r.headers(), MFA));
    problem(r, StatusCode::UNAUTHORIZED, "invalid_credentials").await;

    // The enrolment's code (same step) is spent.
    let mut browser = Jar::default();
    browser
        .cookies
        .insert(MFA.into(), cookie.value().to_owned());
    let r = app
        .browser(Method::POST, "/v1/login/mfa", &browser)
        .json(&json!({"code": enrolment_code}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;

    // The next step's code, the challenge from the cookie alone.
    next_step(&app);
    let fresh = code(&app, &secret);
    let r = app
        .browser(Method::POST, "/v1/login/mfa", &browser)
        .json(&json!({"code": fresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let cleared = set_cookie(r.headers(), MFA);
    assert_eq!(
        cleared.max_age(),
        Some(Duration::ZERO),
        "challenge cookie cleared"
    );
    browser.absorb(r.headers());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["session"]["amr"], json!(["pwd", "otp", "mfa"]));
    let who: Value = app.whoami(&browser).await.json().await.unwrap();
    assert_eq!(who["session"]["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(who["user"]["email"], email);

    // The challenge is single use; the code's step is spent for the next
    // sign-in too.
    let r = app
        .req(Method::POST, "/v1/login/mfa")
        .header("cookie", format!("{MFA}={}", cookie.value()))
        .json(&json!({"code": fresh}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "mfa_challenge_invalid").await;
    let again = challenged(&app, &email).await;
    let r = complete(&app, json!({"challenge": again, "code": fresh})).await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
}

#[tokio::test]
async fn five_wrong_codes_end_the_challenge_and_count_toward_the_account_limit() {
    let app = spawn().await;
    let user = enrol(&app, &unique("brute")).await;
    next_step(&app);
    let right = code(&app, &user.secret);
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    let challenge = challenged(&app, &user.email).await;
    for _ in 0..4 {
        let r = complete(&app, json!({"challenge": challenge, "code": wrong})).await;
        problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    }
    let r = complete(&app, json!({"challenge": challenge, "code": wrong})).await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    // The fifth wrong code ended it: the right code comes too late, and
    // the cookie is cleared.
    let r = complete(&app, json!({"challenge": challenge, "code": right})).await;
    assert_eq!(set_cookie(r.headers(), MFA).max_age(), Some(Duration::ZERO));
    problem(r, StatusCode::UNAUTHORIZED, "mfa_challenge_invalid").await;

    // Each wrong code counted against the account (limit 10 in 15 min),
    // and knowing the password did not reset the count: 5 wrong codes, 1
    // password sign-in, then more codes reach the limit.
    let mut limited = false;
    for _ in 0..6 {
        let r = app.login(&user.email, PASSWORD).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        let challenge = problem(r, StatusCode::UNAUTHORIZED, "mfa_required").await["challenge"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = complete(&app, json!({"challenge": challenge, "code": wrong})).await;
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = true;
            break;
        }
        problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    }
    assert!(limited, "wrong codes reach the account's login limit");
    // And the limit holds for the right code too, until the window ends.
    let r = app.login(&user.email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn a_challenge_lasts_five_minutes() {
    let app = spawn().await;
    let user = enrol(&app, &unique("slow")).await;
    let challenge = challenged(&app, &user.email).await;
    app.clock.advance(Duration::minutes(5));
    let r = complete(
        &app,
        json!({"challenge": challenge, "code": code(&app, &user.secret)}),
    )
    .await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_challenge_invalid").await;
}

#[tokio::test]
async fn recovery_codes_work_once_however_typed_and_regenerate_as_a_set() {
    let app = spawn().await;
    let user = enrol(&app, &unique("recovery")).await;
    let challenge = challenged(&app, &user.email).await;
    let typed = user.codes[0].to_uppercase().replace('-', " ");
    let r = complete(
        &app,
        json!({"challenge": challenge, "recovery_code": typed}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["session"]["amr"], json!(["pwd", "otp", "mfa"]));
    let status: Value = app
        .browser(Method::GET, "/v1/mfa", &jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["recovery_codes_remaining"], 9);

    let challenge = challenged(&app, &user.email).await;
    let r = complete(
        &app,
        json!({"challenge": challenge, "recovery_code": user.codes[0]}),
    )
    .await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    // Neither, or both: a clear 422.
    for body in [
        json!({"challenge": challenge}),
        json!({"challenge": challenge, "code": "123456", "recovery_code": user.codes[1]}),
    ] {
        problem(
            complete(&app, body).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }

    // Two right codes at once on one challenge: one session.
    let racing = [
        complete(
            &app,
            json!({"challenge": challenge, "recovery_code": user.codes[1]}),
        ),
        complete(
            &app,
            json!({"challenge": challenge, "recovery_code": user.codes[2]}),
        ),
    ];
    let answers = futures_util::future::join_all(racing).await;
    let ok = answers
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert_eq!(ok, 1, "one challenge, one session");

    // A new set: the old codes stop working. Confirmed by a code.
    next_step(&app);
    let r = app
        .browser(Method::POST, "/v1/mfa/recovery-codes", &jar)
        .json(&json!({"code": code(&app, &user.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let fresh: Value = r.json().await.unwrap();
    let fresh = fresh["recovery_codes"][0].as_str().unwrap().to_owned();
    let challenge = challenged(&app, &user.email).await;
    let r = complete(
        &app,
        json!({"challenge": challenge, "recovery_code": user.codes[3]}),
    )
    .await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    let r = complete(
        &app,
        json!({"challenge": challenge, "recovery_code": fresh}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn disabling_needs_a_code_or_the_password_and_then_sign_in_is_one_step() {
    let app = spawn().await;
    let user = enrol(&app, &unique("off")).await;
    let wrong = json!({"code": "000000", "current_password": null});
    next_step(&app);
    let right = code(&app, &user.secret);
    let wrong = if right == "000000" {
        json!({"code": "111111"})
    } else {
        wrong
    };
    let r = app
        .browser(Method::DELETE, "/v1/mfa/totp", &user.jar)
        .json(&wrong)
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    let r = app
        .browser(Method::DELETE, "/v1/mfa/totp", &user.jar)
        .json(&json!({"current_password": "wrong password"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let r = app
        .browser(Method::DELETE, "/v1/mfa/totp", &user.jar)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = app
        .browser(Method::DELETE, "/v1/mfa/totp", &user.jar)
        .json(&json!({"current_password": PASSWORD}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::CONFLICT, "totp_not_enabled").await;
    let r = app.login(&user.email, PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["session"]["amr"], json!(["pwd"]));
}

/// Every way to a session or a refresh family honours the challenge:
/// `POST /v1/login` (above), the password grant, a password reset link;
/// the provider callback is in `oauth_github.rs`.
#[tokio::test]
async fn the_password_grant_stops_at_the_challenge_and_the_mfa_grant_completes_it() {
    let app = spawn().await;
    let user = enrol(&app, &unique("grant")).await;
    let (status, body) = post_token(
        &app,
        &[
            ("grant_type", "password"),
            ("username", &user.email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "mfa_required");
    assert!(body.get("access_token").is_none() && body.get("refresh_token").is_none());
    let challenge = body["challenge"].as_str().unwrap().to_owned();

    let (status, body) = post_token(
        &app,
        &[
            ("grant_type", MFA_GRANT),
            ("challenge", &challenge),
            ("code", "12"),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    next_step(&app);
    let (status, body) = post_token(
        &app,
        &[
            ("grant_type", MFA_GRANT),
            ("challenge", &challenge),
            ("code", &code(&app, &user.secret)),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // The family remembers how it began: a rotation's token says so too.
    let (status, rotated) = post_token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        claims(rotated["access_token"].as_str().unwrap())["amr"],
        json!(["pwd", "otp", "mfa"])
    );
    // Spent.
    let (status, body) = post_token(
        &app,
        &[
            ("grant_type", MFA_GRANT),
            ("challenge", &challenge),
            ("recovery_code", &user.codes[0]),
        ],
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    // The session grant carries the session's amr.
    let r = app
        .browser(Method::POST, "/v1/token", &user.jar)
        .form(&[("grant_type", "session")])
        .send()
        .await
        .unwrap();
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["amr"],
        json!(["pwd"])
    );
}

#[tokio::test]
async fn a_reset_link_sets_the_password_but_the_session_waits_for_the_second_factor() {
    let (app, smtpd) = spawn_mail(|c| c.mail.policy.verification = Verification::Off).await;
    let user = enrol(&app, &unique("reset-mfa")).await;
    let r = app
        .req(Method::POST, "/v1/password/forgot")
        .json(&json!({"email": user.email}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let mail = last_mail(&app, &smtpd, &user.email, 1).await;
    let r = app
        .req(Method::POST, "/v1/password/reset")
        .json(&json!({"token": mail.token(), "new_password": "a brand new password"}))
        .send()
        .await
        .unwrap();
    assert!(
        !sets_cookie(r.headers(), SESSION),
        "no session from the link alone"
    );
    let challenge = problem(r, StatusCode::UNAUTHORIZED, "mfa_required").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    // The reset did happen: the old password is gone, every session ended.
    assert_eq!(app.whoami_status(&user.jar).await, StatusCode::UNAUTHORIZED);
    problem(
        app.login(&user.email, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    next_step(&app);
    let r = complete(
        &app,
        json!({"challenge": challenge, "code": code(&app, &user.secret)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test]
async fn odd_input_to_the_second_factor_endpoints_is_a_clear_4xx() {
    let app = spawn().await;
    let user = enrol(&app, &unique("odd")).await;
    let challenge = challenged(&app, &user.email).await;
    let long = "9".repeat(100_000);
    for (body, status, code) in [
        (
            json!({"challenge": "nope", "code": "123456"}),
            StatusCode::UNAUTHORIZED,
            "mfa_challenge_invalid",
        ),
        (
            json!({"code": "123456"}),
            StatusCode::UNAUTHORIZED,
            "mfa_challenge_invalid",
        ),
        (
            json!({"challenge": challenge, "code": "12345x"}),
            StatusCode::UNAUTHORIZED,
            "mfa_code_invalid",
        ),
        (
            json!({"challenge": challenge, "code": 123_456}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"challenge": challenge, "recovery_code": "😀😀😀😀-😀😀😀😀"}),
            StatusCode::UNAUTHORIZED,
            "mfa_code_invalid",
        ),
        (
            json!({"challenge": long, "code": "123456"}),
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ] {
        let r = complete(&app, body).await;
        problem(r, status, code).await;
    }
    let r = app
        .req(Method::POST, "/v1/login/mfa")
        .header("content-type", "application/json")
        .body("{\"code\": ")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::BAD_REQUEST, "invalid_json").await;
    // Enrolment endpoints need a session and CSRF.
    let r = app
        .req(Method::POST, "/v1/mfa/totp/confirm")
        .header("cookie", user.jar.header())
        .json(&json!({"code": "123456"}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "csrf_failed").await;
    // The challenge still works after all that (three wrong codes).
    next_step(&app);
    let r = complete(
        &app,
        json!({"challenge": challenge, "code": code(&app, &user.secret)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}
