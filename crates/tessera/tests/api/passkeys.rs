//! Issue 21: the passkey endpoints as a hostile client meets them. The
//! whole ceremony with a real authenticator (Chromium's virtual one) is in
//! the Playwright suite (`tests/e2e/specs`); here: the options the server
//! asks for, who may start what, and that a flow is single use, bound to
//! its kind and its user, and refuses forged answers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::authenticator::Authenticator;
use crate::common::*;

async fn start(app: &TestApp, path: &str, jar: Option<&Jar>) -> reqwest::Response {
    let r = match jar {
        Some(jar) => app.browser(Method::POST, path, jar),
        None => app.req(Method::POST, path).header("origin", ORIGIN),
    };
    r.json(&json!({})).send().await.unwrap()
}

/// A made-up authenticator answer of the right shape.
fn forged_registration() -> Value {
    json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "attestationObject": "o2NmbXRkbm9uZWdhdHRTdG10oGhhdXRoRGF0YVjE",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uY3JlYXRlIn0"
        },
        "extensions": {}
    })
}

fn forged_assertion(user_handle: &str) -> Value {
    json!({
        "id": "AAAA",
        "rawId": "AAAA",
        "type": "public-key",
        "response": {
            "authenticatorData": "SZYN5YgOjGh0NBcPZHZgW4_krrmihjLHmVzzuoMdl2MFAAAAAQ",
            "clientDataJSON": "eyJ0eXBlIjoid2ViYXV0aG4uZ2V0In0",
            "signature": "MEUCIQ",
            "userHandle": user_handle
        },
        "extensions": {}
    })
}

#[tokio::test]
async fn registration_asks_for_a_discoverable_verified_passkey_for_this_site() {
    let app = spawn_with(|c| c.mail.app_name = "Acme".into()).await;
    let email = unique("pk-options");
    let (jar, me) = app.register(&email).await;

    // Signed in, with CSRF.
    problem(
        start(&app, "/v1/passkeys/register/start", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    )
    .await;
    let r = app
        .req(Method::POST, "/v1/passkeys/register/start")
        .header("cookie", jar.header())
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "csrf_failed").await;

    let r = start(&app, "/v1/passkeys/register/start", Some(&jar)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["flow"].as_str().unwrap().len(),
        43,
        "a 256-bit flow value"
    );
    let pk = &body["options"]["publicKey"];
    assert_eq!(
        pk["rp"]["id"], "localhost",
        "RP ID: the public origin's host"
    );
    assert_eq!(pk["rp"]["name"], "Acme");
    assert_eq!(pk["user"]["name"], email);
    let selection = &pk["authenticatorSelection"];
    assert_eq!(selection["residentKey"], "required");
    assert_eq!(selection["requireResidentKey"], true);
    assert_eq!(selection["userVerification"], "required");
    assert!(
        pk["challenge"].as_str().unwrap().len() >= 43,
        "a challenge of at least 256 bits"
    );
    // The user handle is the user's id (16 bytes, base64url), which a
    // discoverable sign-in hands back.
    let id = uuid::Uuid::parse_str(me["user"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(pk["user"]["id"], URL_SAFE_NO_PAD.encode(id.as_bytes()));
}

#[tokio::test]
async fn flows_are_single_use_of_their_own_kind_and_user_and_refuse_forged_answers() {
    let app = spawn().await;
    let (alice, _) = app.register(&unique("pk-alice")).await;
    let (bob, _) = app.register(&unique("pk-bob")).await;

    // Alice's registration flow is not Bob's to finish.
    let flow: Value = start(&app, "/v1/passkeys/register/start", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    let flow = flow["flow"].as_str().unwrap().to_owned();
    let r = app
        .browser(Method::POST, "/v1/passkeys/register/finish", &bob)
        .json(&json!({"flow": flow, "credential": forged_registration()}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    // ... and Bob's try spent it.
    let r = app
        .browser(Method::POST, "/v1/passkeys/register/finish", &alice)
        .json(&json!({"flow": flow, "credential": forged_registration()}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;

    // A forged attestation on a fresh flow is refused, and spends it.
    let fresh: Value = start(&app, "/v1/passkeys/register/start", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    for _ in 0..2 {
        let r = app
            .browser(Method::POST, "/v1/passkeys/register/finish", &alice)
            .json(&json!({"flow": fresh["flow"], "credential": forged_registration()}))
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    }

    // A sign-in flow: no credentials listed (discoverable), verification
    // required; a registration flow does not finish a sign-in.
    let r = start(&app, "/v1/passkeys/login/start", None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let login: Value = r.json().await.unwrap();
    let pk = &login["options"]["publicKey"];
    assert_eq!(pk["rpId"], "localhost");
    assert_eq!(pk["userVerification"], "required");
    assert!(
        pk["allowCredentials"].as_array().is_none_or(Vec::is_empty),
        "{pk}"
    );
    assert!(login["options"].get("mediation").is_none());
    let reg: Value = start(&app, "/v1/passkeys/register/start", Some(&alice))
        .await
        .json()
        .await
        .unwrap();
    let handle = "AAAAAAAAAAAAAAAAAAAAAA";
    for flow in [
        &reg["flow"],
        &login["flow"],
        &login["flow"],
        &json!("garbage"),
    ] {
        let r = app
            .req(Method::POST, "/v1/passkeys/login/finish")
            .header("origin", ORIGIN)
            .json(&json!({"flow": flow, "credential": forged_assertion(handle)}))
            .send()
            .await
            .unwrap();
        assert!(!sets_cookie(r.headers(), SESSION));
        problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    }

    // Odd input: a clear 4xx.
    for body in [
        json!({"flow": login["flow"]}),
        json!({"flow": login["flow"], "credential": "x"}),
        json!({"flow": 7, "credential": forged_assertion(handle)}),
    ] {
        let r = app
            .req(Method::POST, "/v1/passkeys/login/finish")
            .header("origin", ORIGIN)
            .json(&body)
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    }
    // A sign-in from another site is refused before anything.
    let r = app
        .req(Method::POST, "/v1/passkeys/login/start")
        .header("origin", "https://evil.example")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::FORBIDDEN, "origin_forbidden").await;
}

#[tokio::test]
async fn the_list_rename_and_delete_see_only_the_users_own_passkeys() {
    let app = spawn().await;
    let (jar, _) = app.register(&unique("pk-list")).await;
    let r = app
        .browser(Method::GET, "/v1/passkeys", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"passkeys": []}));
    for id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid", "%FF"] {
        let r = app
            .browser(Method::DELETE, &format!("/v1/passkeys/{id}"), &jar)
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::NOT_FOUND, "not_found").await;
        let r = app
            .browser(Method::PATCH, &format!("/v1/passkeys/{id}"), &jar)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        problem(r, StatusCode::NOT_FOUND, "not_found").await;
    }
    let r = app
        .browser(
            Method::PATCH,
            "/v1/passkeys/00000000-0000-0000-0000-000000000000",
            &jar,
        )
        .json(&json!({"name": "x".repeat(101)}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
}

#[tokio::test]
async fn starting_passkey_sign_ins_is_limited_per_client() {
    let app = spawn().await;
    let mut limited = None;
    for i in 0..40 {
        let r = app
            .req(Method::POST, "/v1/passkeys/login/start")
            .header("origin", ORIGIN)
            .header("tessera-client-ip", "203.0.113.50")
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            assert!(r.headers().contains_key("retry-after"));
            limited = Some(i);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(limited, Some(30), "30 a minute, then 429");
    // Another client is not affected.
    let r = app
        .req(Method::POST, "/v1/passkeys/login/start")
        .header("origin", ORIGIN)
        .header("tessera-client-ip", "203.0.113.51")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

/// Registers the authenticator's passkey for the signed-in `jar`.
pub(crate) async fn register_passkey(
    app: &TestApp,
    jar: &Jar,
    authenticator: &mut Authenticator,
    name: &str,
) -> reqwest::Response {
    let begun: Value = start(app, "/v1/passkeys/register/start", Some(jar))
        .await
        .json()
        .await
        .unwrap();
    let credential = authenticator.register(&begun["options"]["publicKey"]);
    app.browser(Method::POST, "/v1/passkeys/register/finish", jar)
        .json(&json!({"flow": begun["flow"], "credential": credential, "name": name}))
        .send()
        .await
        .unwrap()
}

/// A passkey sign-in with the authenticator: the finish answer.
pub(crate) async fn passkey_sign_in(
    app: &TestApp,
    authenticator: &mut Authenticator,
) -> reqwest::Response {
    let begun: Value = start(app, "/v1/passkeys/login/start", None)
        .await
        .json()
        .await
        .unwrap();
    let credential = authenticator.sign_in(&begun["options"]["publicKey"]);
    app.req(Method::POST, "/v1/passkeys/login/finish")
        .header("origin", ORIGIN)
        .json(&json!({"flow": begun["flow"], "credential": credential}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_passkey_registers_then_signs_in_without_password_or_second_factor() {
    use crate::mfa::enrol;
    let app = spawn().await;
    // A user with TOTP on: the passkey alone still signs in (it is two
    // factors by itself).
    let user = enrol(&app, &unique("pk-ceremony")).await;
    let mut key = Authenticator::new(ORIGIN);
    let r = register_passkey(&app, &user.jar, &mut key, "  Laptop  ").await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let passkey = &body["passkey"];
    assert_eq!(passkey["name"], "Laptop", "trimmed");
    assert_eq!(passkey["last_used_at"], Value::Null);
    assert_eq!(passkey["backup_eligible"], false);
    let id = passkey["id"].as_str().unwrap().to_owned();

    // The same authenticator again: excluded, and refused if it answers.
    let begun: Value = start(&app, "/v1/passkeys/register/start", Some(&user.jar))
        .await
        .json()
        .await
        .unwrap();
    let excluded = &begun["options"]["publicKey"]["excludeCredentials"];
    assert_eq!(
        excluded[0]["id"],
        URL_SAFE_NO_PAD.encode(&key.credential_id)
    );
    let again = register_passkey(&app, &user.jar, &mut key, "twice").await;
    problem(again, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    // Another user presenting the same credential: it is someone's already.
    let (bob, _) = app.register(&unique("pk-bob")).await;
    // A flow begun by the user and finished by Bob, with a valid answer:
    // refused (and spent).
    let begun: Value = start(&app, "/v1/passkeys/register/start", Some(&user.jar))
        .await
        .json()
        .await
        .unwrap();
    let mut stranger = Authenticator::new(ORIGIN);
    let answer = stranger.register(&begun["options"]["publicKey"]);
    let r = app
        .browser(Method::POST, "/v1/passkeys/register/finish", &bob)
        .json(&json!({"flow": begun["flow"], "credential": answer}))
        .send()
        .await
        .unwrap();
    problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    let handle = key.user_handle.clone();
    let taken = register_passkey(&app, &bob, &mut key, "mine now").await;
    problem(taken, StatusCode::CONFLICT, "passkey_exists").await;
    key.user_handle = handle;

    let r = passkey_sign_in(&app, &mut key).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(!sets_cookie(r.headers(), "__Host-tessera_mfa"));
    let mut jar = Jar::default();
    jar.absorb(r.headers());
    let who: Value = app.whoami(&jar).await.json().await.unwrap();
    assert_eq!(who["user"]["email"], user.email);
    assert_eq!(who["session"]["amr"], json!(["hwk", "mfa"]));
    let listed: Value = app
        .browser(Method::GET, "/v1/passkeys", &jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["passkeys"][0]["id"], id);
    assert!(listed["passkeys"][0]["last_used_at"].is_string());

    // Each answer is good for its own challenge only.
    let begun: Value = start(&app, "/v1/passkeys/login/start", None)
        .await
        .json()
        .await
        .unwrap();
    let answer = key.sign_in(&begun["options"]["publicKey"]);
    let other: Value = start(&app, "/v1/passkeys/login/start", None)
        .await
        .json()
        .await
        .unwrap();
    for flow in [&other["flow"], &begun["flow"], &begun["flow"]] {
        let r = app
            .req(Method::POST, "/v1/passkeys/login/finish")
            .header("origin", ORIGIN)
            .json(&json!({"flow": flow, "credential": answer}))
            .send()
            .await
            .unwrap();
        if flow == &begun["flow"] && r.status() == StatusCode::OK {
            continue; // its own flow, once
        }
        problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;
    }

    // A clone (its counter behind the stored one), an answer without user
    // verification, an answer made for another site: refused.
    key.counter = 0;
    problem(
        passkey_sign_in(&app, &mut key).await,
        StatusCode::UNAUTHORIZED,
        "passkey_invalid",
    )
    .await;
    key.counter = 100;
    key.verifies_user = false;
    problem(
        passkey_sign_in(&app, &mut key).await,
        StatusCode::UNAUTHORIZED,
        "passkey_invalid",
    )
    .await;
    key.verifies_user = true;
    key.origin = "https://evil.example".into();
    problem(
        passkey_sign_in(&app, &mut key).await,
        StatusCode::UNAUTHORIZED,
        "passkey_invalid",
    )
    .await;
    key.origin = ORIGIN.into();
    assert_eq!(
        passkey_sign_in(&app, &mut key).await.status(),
        StatusCode::OK
    );

    // Rename, then delete (the user has a password): gone for sign-in.
    let r = app
        .browser(Method::PATCH, &format!("/v1/passkeys/{id}"), &jar)
        .json(&json!({"name": "Work laptop"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["passkey"]["name"],
        "Work laptop"
    );
    let r = app
        .browser(Method::DELETE, &format!("/v1/passkeys/{id}"), &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    problem(
        passkey_sign_in(&app, &mut key).await,
        StatusCode::UNAUTHORIZED,
        "passkey_invalid",
    )
    .await;
}

#[tokio::test]
async fn on_an_ip_address_origin_passkeys_are_off_and_the_rest_works() {
    // WebAuthn allows only domain names as the relying party: a server
    // whose first public origin is an IP address still starts.
    let app = spawn_with(|c| {
        c.public_origins = vec!["http://127.0.0.1:3000".into(), ORIGIN.into()];
    })
    .await;
    let (jar, _) = app.register(&unique("ip-origin")).await;
    assert_eq!(app.whoami_status(&jar).await, StatusCode::OK);
    for (path, jar) in [
        ("/v1/passkeys/register/start", Some(&jar)),
        ("/v1/passkeys/login/start", None),
    ] {
        let r = start(&app, path, jar).await;
        let body = problem(r, StatusCode::NOT_FOUND, "passkeys_unavailable").await;
        assert!(
            body["detail"].as_str().unwrap().contains("IP address"),
            "{body}"
        );
    }
    let r = app
        .browser(Method::GET, "/v1/passkeys", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
