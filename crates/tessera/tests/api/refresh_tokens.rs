//! The refresh token's format: it names its family and generation under
//! the server's MAC, so a rotation writes the family's row and reuse of any
//! older generation is detected without a row per spent token. Forged
//! tokens never reach the store's rules; tokens of the older format keep
//! rotating. Over HTTP against the real app.

use crate::common::*;
use crate::tokens::{oauth_error, password_grant, refresh};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tessera_core::SessionToken;
use time::Duration;

async fn rotate(app: &TestApp, token: &str) -> Value {
    let r = refresh(app, token).await;
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// The pair a token response hands out (`expires_in` counts down).
fn pair(body: &Value) -> (Value, Value) {
    (body["access_token"].clone(), body["refresh_token"].clone())
}

fn refresh_token(body: &Value) -> String {
    body["refresh_token"].as_str().unwrap().to_owned()
}

fn sid(body: &Value) -> String {
    let token = body["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_owned()
}

/// The token with one byte of it changed.
fn flipped(token: &str, at: usize) -> String {
    let mut bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
    bytes[at] ^= 1;
    URL_SAFE_NO_PAD.encode(bytes)
}

async fn signed_in(app: &TestApp, tag: &str) -> Value {
    let email = unique(tag);
    app.register(&email).await;
    password_grant(app, &email).await
}

/// The `error_description` of a refresh refused with 400 `invalid_grant`.
async fn refusal(app: &TestApp, token: &str) -> String {
    let body = oauth_error(
        refresh(app, token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    body["error_description"].as_str().unwrap().to_owned()
}

async fn unknown(app: &TestApp, token: &str) {
    assert_eq!(refusal(app, token).await, "unknown refresh token");
}

async fn reuse(app: &TestApp, token: &str) {
    let description = refusal(app, token).await;
    assert!(description.contains("reuse"), "{description}");
}

async fn revoked(app: &TestApp, token: &str) {
    assert_eq!(
        refusal(app, token).await,
        "refresh token revoked or expired"
    );
}

#[tokio::test]
async fn a_refresh_token_names_its_family_and_generation() {
    let app = spawn().await;
    let first = signed_in(&app, "format").await;
    let t0 = refresh_token(&first);
    assert_eq!(t0.len(), 98);
    let bytes = URL_SAFE_NO_PAD.decode(&t0).unwrap();
    assert_eq!(bytes.len(), 73);
    assert_eq!(bytes[0], 2, "version");
    let family = uuid::Uuid::from_slice(&bytes[1..17]).unwrap();
    assert_eq!(family.to_string(), sid(&first), "the access token's sid");
    assert_eq!(bytes[17..25], 0_u64.to_be_bytes(), "generation 0");

    let second = rotate(&app, &t0).await;
    let t1 = URL_SAFE_NO_PAD.decode(refresh_token(&second)).unwrap();
    assert_eq!(t1[1..17], bytes[1..17], "same family");
    assert_eq!(t1[17..25], 1_u64.to_be_bytes(), "generation 1");
    assert_ne!(t1[25..], bytes[25..]);
    // A second sign-in: another family, another random secret.
    let other = URL_SAFE_NO_PAD
        .decode(refresh_token(&signed_in(&app, "format").await))
        .unwrap();
    assert_ne!(other[1..17], bytes[1..17]);
    assert_ne!(other[25..57], bytes[25..57]);
}

/// A token whose MAC fails is unknown: refused before the store is asked,
/// so a forged older generation cannot revoke anyone's family (the family
/// id is public: every access token carries it as `sid`).
#[tokio::test]
async fn a_forged_token_is_unknown_and_revokes_nothing() {
    let app = spawn().await;
    let t0 = refresh_token(&signed_in(&app, "forged").await);
    let mut t1 = t0.clone();
    for _ in 0..3 {
        t1 = refresh_token(&rotate(&app, &t1).await);
    }
    app.clock.advance(Duration::seconds(11));
    // Past the grace window t0 (three generations behind) would be reuse:
    // each forgery of it (its family, its generation, its secret or its
    // tag changed) is unknown.
    for at in [1, 17, 24, 30, 60, 72] {
        unknown(&app, &flipped(&t0, at)).await;
    }
    // A later generation with a forged tag.
    let mut later = URL_SAFE_NO_PAD.decode(&t1).unwrap();
    later[24] = 9;
    unknown(&app, &URL_SAFE_NO_PAD.encode(later)).await;
    // Revocation takes no forgery either.
    let r = app
        .req(Method::POST, "/v1/token/revoke")
        .form(&[("token", flipped(&t1, 40).as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    // The family is untouched: t1 rotates.
    rotate(&app, &t1).await;
    // Odd lengths and characters around the format's are unknown too.
    for odd in [
        "A".repeat(98),
        "é".repeat(49),
        format!("{t1}A"),
        t1[..97].to_owned(),
        t1.replace('A', "+"),
    ] {
        if odd != t1 {
            unknown(&app, &odd).await;
        }
    }
}

/// A token made with the server's own key (as after a leak of the
/// database, where the key is kept) but outside the family's chain: its MAC
/// verifies, yet within the grace window the chain derived from it does
/// not reach the hashes the family holds, so it gets no pair. Past the
/// window it is taken as reuse: a leaked key can sign everyone out, not
/// sign anyone in.
#[tokio::test]
async fn a_token_made_with_the_server_key_outside_the_chain_gets_no_pair() {
    use hmac::{Hmac, Mac};
    let app = spawn().await;
    let first = signed_in(&app, "made-up").await;
    let mut chain = vec![refresh_token(&first)];
    for _ in 0..4 {
        let next = refresh_token(&rotate(&app, chain.last().unwrap()).await);
        chain.push(next);
    }
    let key = app
        .server
        .stores
        .secrets
        .get_or_create_secret("refresh-successor", &[0; 32])
        .await
        .unwrap();
    let made_up = |generation: u64| {
        let mut bytes = URL_SAFE_NO_PAD.decode(&chain[0]).unwrap();
        bytes[17..25].copy_from_slice(&generation.to_be_bytes());
        bytes[25..57].copy_from_slice(&[7; 32]);
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(b"tessera-refresh-token-v2:");
        mac.update(&bytes[..57]);
        bytes[57..].copy_from_slice(&mac.finalize().into_bytes()[..16]);
        URL_SAFE_NO_PAD.encode(bytes)
    };
    // Each generation behind the live one (4), within the window.
    for generation in 0..4 {
        unknown(&app, &made_up(generation)).await;
    }
    // The real chain is untouched: a replay of t0 gets its pair.
    assert_eq!(refresh_token(&rotate(&app, &chain[0]).await), chain[1]);
    app.clock.advance(Duration::seconds(11));
    // The generation before the live one has its hash held: unknown.
    unknown(&app, &made_up(3)).await;
    reuse(&app, &made_up(0)).await;
    revoked(&app, &chain[4]).await;
}

/// Every older generation is reuse, however far behind, and revokes the
/// whole family; other sign-ins are unaffected.
#[tokio::test]
async fn any_older_generation_is_reuse_and_revokes_the_family() {
    let app = spawn().await;
    let email = unique("older");
    app.register(&email).await;
    let mut chain = vec![refresh_token(&password_grant(&app, &email).await)];
    for _ in 0..5 {
        app.clock.advance(Duration::seconds(11));
        let next = refresh_token(&rotate(&app, chain.last().unwrap()).await);
        chain.push(next);
    }
    let other = refresh_token(&password_grant(&app, &email).await);
    app.clock.advance(Duration::seconds(11));
    reuse(&app, &chain[1]).await;
    revoked(&app, &chain[5]).await;
    // Once revoked, any token of the family is just refused.
    revoked(&app, &chain[0]).await;
    rotate(&app, &other).await;
}

/// Concurrent tabs: a replay within the grace window gets the pair its
/// token was spent for, however far the family has rotated on since; the
/// access token is byte-identical. After the window it is reuse.
#[tokio::test]
async fn a_replay_within_the_grace_window_gets_the_pair_it_was_spent_for() {
    let app = spawn().await;
    let t0 = refresh_token(&signed_in(&app, "grace").await);
    let mut pairs = vec![rotate(&app, &t0).await];
    for _ in 0..3 {
        app.clock.advance(Duration::seconds(2));
        let next = rotate(&app, &refresh_token(pairs.last().unwrap())).await;
        pairs.push(next);
    }
    app.clock.advance(Duration::seconds(2));
    assert_eq!(
        pair(&rotate(&app, &t0).await),
        pair(&pairs[0]),
        "t0, four rotations on"
    );
    for k in 0..3 {
        assert_eq!(
            pair(&rotate(&app, &refresh_token(&pairs[k])).await),
            pair(&pairs[k + 1]),
            "t{}",
            k + 1
        );
    }
    // 10 s after t0's spend (the window, to the second): t0 is reuse now,
    // although t1 is still in its own window.
    app.clock.advance(Duration::seconds(2));
    assert_eq!(
        pair(&rotate(&app, &refresh_token(&pairs[0])).await),
        pair(&pairs[1])
    );
    reuse(&app, &t0).await;
    revoked(&app, &refresh_token(&pairs[3])).await;
}

/// The family remembers when its newest 32 tokens were stored: a token
/// spent more than 32 rotations ago is reuse even inside the window.
#[tokio::test]
async fn more_than_32_rotations_behind_is_reuse_even_within_the_window() {
    let app = spawn().await;
    let email = unique("deep");
    app.register(&email).await;
    let mut chain = vec![refresh_token(&password_grant(&app, &email).await)];
    for _ in 0..33 {
        let next = refresh_token(&rotate(&app, chain.last().unwrap()).await);
        chain.push(next);
    }
    // chain[1] was spent 32 rotations ago (the log's oldest entry).
    assert_eq!(refresh_token(&rotate(&app, &chain[1]).await), chain[2]);
    reuse(&app, &chain[0]).await;
    revoked(&app, &chain[33]).await;
}

/// The live token past its own expiry: refused, the family left alone.
#[tokio::test]
async fn an_expired_live_token_is_refused_without_revoking() {
    let app = spawn_with(|c| c.refresh_token_ttl = std::time::Duration::from_mins(1)).await;
    let first = signed_in(&app, "expired").await;
    let t0 = refresh_token(&first);
    app.clock.advance(Duration::seconds(61));
    assert_eq!(refusal(&app, &t0).await, "refresh token expired");
    let family = uuid::Uuid::parse_str(&sid(&first)).unwrap();
    let stored = app
        .server
        .stores
        .refresh
        .find_live_family(family)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.family.revoked_at, None, "the family is left alone");
}

/// The periodic sweep deletes a family once its absolute cap has come, not
/// before; its tokens are unknown from then on. Another family of the
/// same user, begun later, stays.
#[tokio::test]
async fn the_sweep_deletes_a_family_at_its_absolute_cap() {
    let app = spawn_with(|c| c.refresh_absolute_ttl = std::time::Duration::from_hours(3)).await;
    let email = unique("swept");
    app.register(&email).await;
    let first = password_grant(&app, &email).await;
    let t0 = refresh_token(&first);
    app.clock.advance(Duration::hours(1));
    let later = password_grant(&app, &email).await;
    let family = |body: &Value| uuid::Uuid::parse_str(&sid(body)).unwrap();
    let stored = async |body: &Value| {
        app.server
            .stores
            .refresh
            .find_live_family(family(body))
            .await
            .unwrap()
    };
    app.clock.advance(Duration::hours(2) - Duration::seconds(1));
    app.server.auth.sweep().await.unwrap();
    assert!(stored(&first).await.is_some(), "kept until its cap");
    app.clock.advance(Duration::seconds(1));
    revoked(&app, &t0).await;
    app.server.auth.sweep().await.unwrap();
    assert_eq!(stored(&first).await, None, "swept at its cap");
    unknown(&app, &t0).await;
    assert!(stored(&later).await.is_some(), "a family begun later stays");
    rotate(&app, &refresh_token(&later)).await;
}

/// A chain begun before the format changed (32 random bytes, a row per
/// token) rotates on in its own format under the same rules.
#[tokio::test]
async fn a_token_of_the_older_format_rotates_on_until_it_expires() {
    use tessera_core::mfa::{Amr, Method as AuthMethod};
    use tessera_core::store::RefreshFamily;
    let app = spawn().await;
    let email = unique("older-format");
    app.register(&email).await;
    let user = app
        .server
        .auth
        .users()
        .find_user_by_email(&email)
        .await
        .unwrap()
        .unwrap()
        .user;
    let now = app.server.auth.now();
    let family = RefreshFamily {
        id: uuid::Uuid::new_v4(),
        user_id: user.id,
        created_at: now,
        absolute_expires_at: now + Duration::days(90),
        revoked_at: None,
        amr: Amr::of(&[AuthMethod::Pwd]),
    };
    let t0 = SessionToken::generate();
    app.server
        .stores
        .refresh
        .create_family(&family, &t0.hash(), now + Duration::days(30))
        .await
        .unwrap();
    let p1 = rotate(&app, t0.expose()).await;
    let t1 = refresh_token(&p1);
    assert_eq!(t1.len(), 43, "the successor keeps the older format");
    assert_eq!(sid(&p1), family.id.to_string());
    app.clock.advance(Duration::seconds(5));
    assert_eq!(
        pair(&rotate(&app, t0.expose()).await),
        pair(&p1),
        "a replay in the window"
    );
    let t2 = refresh_token(&rotate(&app, &t1).await);
    app.clock.advance(Duration::seconds(11));
    reuse(&app, t0.expose()).await;
    revoked(&app, &t2).await;
}
