//! Issue 22, first part: the audit log (events from every flow, the
//! user's own activity, retention, `tessera audit`), roles and enabling
//! users from the command line.

use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use time::Duration;

use crate::common::process::{command, serve, whoami};
use crate::common::*;
use crate::mfa::{code, enrol, next_step};

async fn activity(app: &TestApp, jar: &Jar) -> Vec<Value> {
    let r = app
        .browser(Method::GET, "/v1/account/activity", jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    body["events"].as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn a_users_activity_lists_their_own_events_newest_first_and_no_secret() {
    let app = spawn().await;
    let user = enrol(&app, &unique("audit")).await;
    let other = unique("audit-other");
    app.register(&other).await;

    // A failed sign-in from a known client, then a full one.
    let r = app
        .req(Method::POST, "/v1/login")
        .header("user-agent", "AuditTest/1.0")
        .header("tessera-client-ip", "198.51.100.7")
        .json(&json!({"email": user.email, "password": "not the password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = app.login(&user.email, PASSWORD).await;
    let challenge: Value = r.json().await.unwrap();
    let challenge = challenge["challenge"].as_str().unwrap().to_owned();
    let r = app
        .req(Method::POST, "/v1/login/mfa")
        .json(&json!({"challenge": challenge, "code": "000000"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    next_step(&app);
    let r = app
        .req(Method::POST, "/v1/login/mfa")
        .json(&json!({"challenge": challenge, "code": code(&app, &user.secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let r = app
        .browser(Method::POST, "/v1/password", &jar)
        .json(&json!({"current_password": PASSWORD, "new_password": "another good password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    jar.absorb(r.headers());

    let events = activity(&app, &jar).await;
    assert_eq!(
        kinds(&events),
        [
            "password_changed",
            "sign_in",
            "mfa_challenge_failed",
            "sign_in_failed",
            "factor_added",
            "sign_in",
            "sign_up",
        ],
        "newest first: {events:#?}"
    );
    let failed = &events[3];
    assert_eq!(failed["ip"], "198.51.100.7");
    assert_eq!(failed["user_agent"], "AuditTest/1.0");
    assert_eq!(failed["actor"], "user");
    assert_eq!(failed["detail"], json!({"reason": "invalid_credentials"}));
    assert_eq!(events[1]["detail"]["amr"], json!(["pwd", "otp", "mfa"]));
    let me: Value = app.whoami(&jar).await.json().await.unwrap();
    for e in &events {
        assert_eq!(e["user_id"], me["user"]["id"], "only the user's own events");
        assert!(e["id"].is_string() && e["at"].is_string());
    }
    // No secret anywhere: passwords, the TOTP secret, codes, tokens.
    let text = serde_json::to_string(&events).unwrap();
    let b32 = tessera_core::mfa::totp_secret_base32(&user.secret);
    for secret in [
        PASSWORD,
        "another good password",
        "not the password",
        b32.as_str(),
        user.codes[0].as_str(),
        jar.session(),
        user.jar.session(),
        challenge.as_str(),
    ] {
        assert!(!text.contains(secret), "{secret:?} in {text}");
    }
    // Not signed in: 401.
    let r = app
        .req(Method::GET, "/v1/account/activity")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "unauthenticated").await;
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned_by_the_sweep() {
    let app = spawn_with(|c| c.audit_retention = std::time::Duration::from_hours(30 * 24)).await;
    let email = unique("retention");
    let (jar, _) = app.register(&email).await;
    app.clock.advance(Duration::days(20));
    let jar2 = app.login_jar(&email).await;
    assert_eq!(
        kinds(&activity(&app, &jar2).await),
        ["sign_in", "sign_in", "sign_up"]
    );
    app.clock.advance(Duration::days(11));
    app.server.auth.sweep().await.unwrap();
    assert_eq!(
        kinds(&activity(&app, &jar2).await),
        ["sign_in"],
        "the sign-up's events (31 days old) are gone, the later sign-in stays"
    );
    drop(jar);
}

fn cli(dir: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = command(dir).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn roles_from_the_command_line_reach_live_sessions_and_new_tokens_and_are_audited() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(command(dir.path()));
    let email = unique("roles");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v1/register", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let me = |jar: &Jar| {
        let req = http
            .get(format!("{}/v1/session", server.base))
            .header("cookie", jar.header());
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    assert_eq!(me(&jar).await["user"]["roles"], json!([]));

    let (ok, out, err) = cli(
        dir.path(),
        &[
            "user", "roles", "--email", &email, "--add", "admin", "--add", "billing",
        ],
    );
    assert!(ok, "{err}");
    assert_eq!(out.trim(), format!("{email}: admin billing"));
    // The live session shows it at once; a new access token carries it.
    assert_eq!(me(&jar).await["user"]["roles"], json!(["admin", "billing"]));
    let token: Value = http
        .post(format!("{}/v1/token", server.base))
        .form(&[
            ("grant_type", "password"),
            ("username", &email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let payload = token["access_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["roles"], json!(["admin", "billing"]));

    let (ok, out, _) = cli(
        dir.path(),
        &["user", "roles", "--email", &email, "--remove", "billing"],
    );
    assert!(ok);
    assert_eq!(out.trim(), format!("{email}: admin"));
    assert_eq!(me(&jar).await["user"]["roles"], json!(["admin"]));
    for bad in ["Admin", "", "has space", &"x".repeat(65)] {
        let (ok, _, err) = cli(
            dir.path(),
            &["user", "roles", "--email", &email, "--add", bad],
        );
        assert!(!ok, "{bad:?} refused");
        assert!(err.contains("a-z"), "{err}");
    }
    let (ok, _, err) = cli(
        dir.path(),
        &[
            "user",
            "roles",
            "--email",
            "nobody@example.com",
            "--add",
            "x",
        ],
    );
    assert!(!ok && err.contains("no user"), "{err}");

    // Disable and enable: the session ends, signing in works again.
    assert!(cli(dir.path(), &["user", "disable", "--email", &email]).0);
    assert_eq!(whoami(&server.base, &jar).await, StatusCode::UNAUTHORIZED);
    assert!(cli(dir.path(), &["user", "enable", "--email", &email]).0);
    let r = http
        .post(format!("{}/v1/login", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // `tessera audit` shows it all for that user, oldest first, the
    // command line as the actor of the operator's changes.
    let (ok, out, err) = cli(dir.path(), &["audit", "--user", &email, "--since", "1h"]);
    assert!(ok, "{err}");
    let lines: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
    let kinds: Vec<&str> = lines.iter().map(|l| l[1]).collect();
    assert_eq!(
        kinds,
        [
            "sign_up",
            "sign_in",
            "roles_changed",
            "sign_in",
            "roles_changed",
            "user_disabled",
            "user_enabled",
            "sign_in",
        ],
        "{out}"
    );
    assert_eq!(lines[2][3], "cli");
    assert!(
        lines[2][5].contains(r#""after":["admin","billing"]"#),
        "{out}"
    );
    assert!(!out.contains(PASSWORD));
    let (ok, out, _) = cli(dir.path(), &["audit", "--kind", "user_enabled"]);
    assert!(ok);
    assert_eq!(out.lines().count(), 1, "{out}");
    let (ok, _, err) = cli(dir.path(), &["audit", "--kind", "nonsense"]);
    assert!(!ok && err.contains("sign_in_failed"), "{err}");
}

#[tokio::test]
async fn the_command_line_signs_a_user_out_everywhere_and_mails_them_a_reset_link() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(command(dir.path()));
    let email = unique("revoke");
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/v1/register", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let token: Value = http
        .post(format!("{}/v1/token", server.base))
        .form(&[
            ("grant_type", "password"),
            ("username", &email),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();

    let (ok, out, err) = cli(dir.path(), &["user", "revoke-sessions", "--email", &email]);
    assert!(ok, "{err}");
    assert!(out.contains("ended 1 session"), "{out}");
    assert_eq!(whoami(&server.base, &jar).await, StatusCode::UNAUTHORIZED);
    let r = http
        .post(format!("{}/v1/token", server.base))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "the refresh family is revoked"
    );
    // The account itself is untouched.
    let r = http
        .post(format!("{}/v1/login", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let (ok, _, err) = cli(dir.path(), &["user", "reset-password", "--email", &email]);
    assert!(ok, "{err}");
    // The running server's mail worker sends it (no SMTP: the outbox).
    let mut mails = Vec::new();
    for _ in 0..100 {
        mails = crate::common::smtp::outbox(dir.path())
            .into_iter()
            .filter(|m| m.to == email && m.text.contains("/reset-password?token="))
            .collect();
        if !mails.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mails.len(), 1, "one reset mail");
    let (ok, _, err) = cli(
        dir.path(),
        &["user", "reset-password", "--email", "nobody@example.com"],
    );
    assert!(!ok && err.contains("no user"), "{err}");

    let (ok, out, _) = cli(
        dir.path(),
        &["audit", "--user", &email, "--kind", "session_revoked"],
    );
    assert!(ok);
    assert!(
        out.contains("\tcli\t") && out.contains(r#""all":true"#),
        "{out}"
    );
}
