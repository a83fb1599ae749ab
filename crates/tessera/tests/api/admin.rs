//! Issue 22: the admin API with both kinds of caller, as a hostile client
//! meets it: the admin key (server-to-server only), and a signed-in
//! administrator (role `admin` and a second factor in the session).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::*;
use crate::mfa::{code, enrol, next_step};

const ADMIN_KEY: &str = "an-admin-key-of-at-least-32-characters";
const BFF_KEY: &str = "a-bff-key-for-the-admin-tests";

fn with_keys(bff: bool) -> impl FnOnce(&mut tessera::Config) {
    move |c| {
        c.admin_key = Some(ADMIN_KEY.to_owned().into());
        if bff {
            c.bff_key = Some(BFF_KEY.to_owned().into());
        }
    }
}

fn keyed(app: &TestApp, method: Method, path: &str) -> reqwest::RequestBuilder {
    app.req(method, path).header("tessera-admin-key", ADMIN_KEY)
}

async fn json_of(r: reqwest::Response, status: StatusCode) -> Value {
    assert_eq!(r.status(), status);
    r.json().await.unwrap()
}

#[tokio::test]
async fn the_admin_key_works_server_to_server_only() {
    let app = spawn_with(with_keys(true)).await;
    let bff = |r: reqwest::RequestBuilder| r.header("tessera-bff-key", BFF_KEY);
    // A user, registered through the BFF.
    let email = unique("keyed");
    let r = bff(app.req(Method::POST, "/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let mut jar = Jar::default();
    jar.absorb(r.headers());

    // The key alone (no BFF key) reaches /v1/admin/*, and only that.
    let users = json_of(
        keyed(&app, Method::GET, &format!("/v1/admin/users?query={email}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(users["users"][0]["email"], email);
    assert_eq!(users["users"][0]["disabled"], false);
    assert_eq!(users["next_cursor"], Value::Null);
    let r = keyed(&app, Method::GET, "/v1/session")
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "bff_key_invalid").await;
    // A wrong key, or the key sent through the BFF: refused.
    let r = app
        .req(Method::GET, "/v1/admin/users")
        .header(
            "tessera-admin-key",
            "an-admin-key-of-at-least-32-characterZ",
        )
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "bff_key_invalid").await;
    let r = bff(keyed(&app, Method::GET, "/v1/admin/users"))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "admin_required").await;
    // Through the BFF without the key: a signed-in non-admin is refused.
    let r = bff(app.browser(Method::GET, "/v1/admin/users", &jar))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "admin_required").await;

    // Disable by the key: the user's session ends; audited as the key's.
    let id = users["users"][0]["id"].as_str().unwrap().to_owned();
    let r = keyed(&app, Method::PATCH, &format!("/v1/admin/users/{id}"))
        .json(&json!({"disabled": true, "roles": ["support"]}))
        .send()
        .await
        .unwrap();
    let changed = json_of(r, StatusCode::OK).await;
    assert_eq!(changed["user"]["disabled"], true);
    assert_eq!(changed["user"]["roles"], json!(["support"]));
    let r = bff(app.browser(Method::GET, "/v1/session", &jar))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "disabled: signed out");
    let audit = json_of(
        keyed(&app, Method::GET, &format!("/v1/admin/audit?user_id={id}"))
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    let by_key: Vec<&str> = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "admin_key")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(by_key, ["user_disabled", "roles_changed"]);
}

#[tokio::test]
async fn an_administrator_needs_the_role_and_a_second_factor_in_the_session() {
    let app = spawn_with(with_keys(false)).await;
    let admin = enrol(&app, &unique("admin")).await;
    app.server
        .auth
        .change_roles(
            &admin.email,
            &["admin".into()],
            &[],
            tessera_core::audit::Actor::Cli,
        )
        .await
        .unwrap();
    // Role, but a session from before the second factor (amr pwd).
    let r = app
        .browser(Method::GET, "/v1/admin/users", &admin.jar)
        .send()
        .await
        .unwrap();
    let body = problem(r, StatusCode::FORBIDDEN, "admin_required").await;
    assert!(body["detail"].as_str().unwrap().contains("second factor"));
    // A sign-in with the code: allowed.
    let r = app.login(&admin.email, PASSWORD).await;
    let challenge = r.json::<Value>().await.unwrap()["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    next_step(&app);
    let r = app
        .req(Method::POST, "/v1/login/mfa")
        .json(&json!({"challenge": challenge, "code": code(&app, &admin.secret)}))
        .send()
        .await
        .unwrap();
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let (victim, _) = app.register(&unique("victim")).await;
    let me: Value = app.whoami(&victim).await.json().await.unwrap();
    let id = me["user"]["id"].as_str().unwrap().to_owned();
    let detail = json_of(
        app.browser(Method::GET, &format!("/v1/admin/users/{id}"), &jar)
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(detail["user"]["id"], id);
    assert_eq!(detail["sessions"].as_array().unwrap().len(), 1);
    assert_eq!(detail["second_factors"]["totp_enabled"], false);
    assert!(detail["user"].get("password_hash").is_none());
    assert!(!detail.to_string().contains("argon2"), "no hash: {detail}");

    // Unsafe methods by cookie need CSRF.
    let r = app
        .req(Method::DELETE, &format!("/v1/admin/users/{id}/sessions"))
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "csrf_failed").await;
    let r = app
        .browser(
            Method::DELETE,
            &format!("/v1/admin/users/{id}/sessions"),
            &jar,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.whoami_status(&victim).await, StatusCode::UNAUTHORIZED);
    let queued = app.server.auth.mail().mail_backlog().await.unwrap().0;
    let r = app
        .browser(
            Method::POST,
            &format!("/v1/admin/users/{id}/password-reset"),
            &jar,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    assert_eq!(
        app.server.auth.mail().mail_backlog().await.unwrap().0,
        queued + 1,
        "the reset mail is queued"
    );
    // Someone else's id, nonsense ids: 404; odd bodies: 422.
    for path in [
        "/v1/admin/users/00000000-0000-0000-0000-000000000000",
        "/v1/admin/users/nope",
    ] {
        let r = app.browser(Method::GET, path, &jar).send().await.unwrap();
        problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    for body in [
        json!({"roles": ["Not Valid"]}),
        json!({"email_verified": false}),
        json!({"password_hash": "x"}),
        json!({"disabled": "yes"}),
    ] {
        let r = app
            .browser(Method::PATCH, &format!("/v1/admin/users/{id}"), &jar)
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    let r = app
        .browser(Method::DELETE, &format!("/v1/admin/users/{id}"), &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let admin_id: Value = app.whoami(&jar).await.json().await.unwrap();
    let audit = json_of(
        app.browser(
            Method::GET,
            &format!("/v1/admin/audit?user_id={id}&limit=3"),
            &jar,
        )
        .send()
        .await
        .unwrap(),
        StatusCode::OK,
    )
    .await;
    let first = &audit["events"][0];
    assert_eq!(first["kind"], "user_deleted");
    assert_eq!(
        first["actor"],
        format!("admin:{}", admin_id["user"]["id"].as_str().unwrap())
    );
    let reset = &audit["events"][1];
    assert_eq!(
        (
            &reset["kind"],
            &reset["detail"]["link_sent"],
            &reset["actor"]
        ),
        (&json!("password_reset"), &json!(true), &first["actor"]),
        "the mailed reset link is audited with its administrator"
    );
    assert_eq!(audit["events"][2]["kind"], "session_revoked");
    assert!(audit["next_cursor"].is_string());
}

#[tokio::test]
async fn users_are_found_by_part_of_email_or_name_a_page_at_a_time() {
    let app = spawn_with(with_keys(false)).await;
    let tag = unique("page").replace('@', "-at-");
    let mut emails = Vec::new();
    for i in 0..5 {
        let email = format!("{i}-{tag}@example.com");
        app.register(&email).await;
        app.clock.advance(time::Duration::seconds(1));
        emails.push(email);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = json_of(
            keyed(
                &app,
                Method::GET,
                &format!(
                    "/v1/admin/users?query={}&limit=2&cursor={cursor}",
                    tag.to_uppercase()
                ),
            )
            .send()
            .await
            .unwrap(),
            StatusCode::OK,
        )
        .await;
        for u in page["users"].as_array().unwrap() {
            seen.push(u["email"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen, emails, "every match once, oldest first, any case");
    // `%` and `_` are matched as themselves, not as wildcards.
    let none = json_of(
        keyed(&app, Method::GET, "/v1/admin/users?query=%25%25_")
            .send()
            .await
            .unwrap(),
        StatusCode::OK,
    )
    .await;
    assert_eq!(none["users"], json!([]));
    for query in [
        "cursor=garbage",
        "limit=0",
        "limit=101",
        &format!("query={}", "x".repeat(201)),
    ] {
        let r = keyed(&app, Method::GET, &format!("/v1/admin/users?{query}"))
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    for query in ["kind=nonsense", "user_id=nope", "cursor=e0"] {
        let r = keyed(&app, Method::GET, &format!("/v1/admin/audit?{query}"))
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
}
