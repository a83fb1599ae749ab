//! Verification against real keys and a real JWKS server.

use std::time::Duration;

use crate::support::{
    AUDIENCE, ISSUER, JwksServer, SigningKey, b64, claims_at, claims_with, jwks, now,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;
use tessera_verify::{Algorithm, CachePolicy, JwkSet, ManualClock, Verifier, VerifyError};

#[tokio::test]
async fn valid_eddsa_and_es256_tokens_verify() {
    let ed = SigningKey::ed25519("ed-1");
    let ec = SigningKey::p256("ec-1");
    let server = JwksServer::start(jwks(&[&ed, &ec])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);

    let claims = verifier
        .verify(&ed.sign(&claims_at(now(&clock))))
        .await
        .unwrap();
    assert_eq!(claims.sub, "user-42");
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.aud, AUDIENCE);
    assert_eq!(claims.sid.as_deref(), Some("sess-7"));
    assert_eq!(claims.jti.as_deref(), Some("jti-1"));
    assert_eq!(claims.roles, ["reader"]);
    assert_eq!(claims.exp, now(&clock) + 300);

    let claims = verifier
        .verify(&ec.sign(&claims_at(now(&clock))))
        .await
        .unwrap();
    assert_eq!(claims.sub, "user-42");
    assert_eq!(server.fetches(), 1, "both keys came from one fetch");
}

#[tokio::test]
async fn es384_only_when_allowed() {
    let key = SigningKey::p384("ec384");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let token = key.sign(&claims_at(now(&clock)));

    let default = server.verifier(&clock);
    assert_eq!(
        default.verify(&token).await,
        Err(VerifyError::UnsupportedAlgorithm)
    );

    let allowing = Verifier::builder(ISSUER, AUDIENCE)
        .jwks_url(&server.url)
        .algorithms([Algorithm::ES384])
        .clock(clock.clone())
        .build()
        .unwrap();
    assert!(allowing.verify(&token).await.is_ok());
}

#[tokio::test]
async fn time_claims_with_leeway() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let issued = now(&clock);
    let token = key.sign(&claims_at(issued));

    clock.advance(Duration::from_secs(300 + 29));
    assert!(
        verifier.verify(&token).await.is_ok(),
        "within the 30 s leeway"
    );
    clock.advance(Duration::from_secs(1));
    let err = verifier.verify(&token).await.unwrap_err();
    assert_eq!((err.clone(), err.code()), (VerifyError::Expired, "expired"));

    clock.set(issued);
    let later = key.sign(&claims_with(issued, &json!({"nbf": issued + 120})));
    assert_eq!(verifier.verify(&later).await, Err(VerifyError::NotYetValid));
    let from_the_future = key.sign(&claims_at(issued + 120));
    assert_eq!(
        verifier.verify(&from_the_future).await,
        Err(VerifyError::NotYetValid)
    );
    clock.advance(Duration::from_secs(91));
    assert!(verifier.verify(&later).await.is_ok());
}

#[tokio::test]
async fn wrong_issuer_audience_and_missing_or_mistyped_claims() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let t = now(&clock);
    let refuse = |changes: serde_json::Value| {
        let token = key.sign(&claims_with(t, &changes));
        let verifier = verifier.clone();
        async move { verifier.verify(&token).await.unwrap_err() }
    };

    assert_eq!(
        refuse(json!({"iss": "https://evil.test"})).await,
        VerifyError::WrongIssuer
    );
    assert_eq!(
        refuse(json!({"aud": "billing-api"})).await,
        VerifyError::WrongAudience
    );
    for claim in ["iss", "sub", "aud", "exp", "iat"] {
        let err = refuse(json!({ claim: null })).await;
        assert_eq!(err.code(), "missing_claim", "{claim}");
    }
    assert_eq!(
        refuse(json!({"exp": (t + 300).to_string()})).await.code(),
        "malformed"
    );
    assert_eq!(refuse(json!({"roles": "admin"})).await.code(), "malformed");
}

#[tokio::test]
async fn tampered_payload_and_wrong_key_fail_the_signature() {
    let key = SigningKey::ed25519("k");
    let other = SigningKey::ed25519("other");
    let ec = SigningKey::p256("ec");
    let server = JwksServer::start(jwks(&[&key, &ec])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let t = now(&clock);

    // Same header and signature, payload edited to grant a role.
    let token = key.sign(&claims_at(t));
    let parts: Vec<&str> = token.split('.').collect();
    let forged_claims = claims_with(t, &json!({"roles": ["admin"]}));
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(forged_claims.to_string().as_bytes()),
        parts[2]
    );
    assert_eq!(
        verifier.verify(&tampered).await,
        Err(VerifyError::InvalidSignature)
    );

    // A signature from a key the issuer never published, under its kid.
    let wrong = other.sign_as("k", &claims_at(t));
    assert_eq!(
        verifier.verify(&wrong).await,
        Err(VerifyError::InvalidSignature)
    );

    // One bit of the signature flipped.
    let mut signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    signature[10] ^= 1;
    let flipped = format!("{}.{}.{}", parts[0], parts[1], b64(&signature));
    assert_eq!(
        verifier.verify(&flipped).await,
        Err(VerifyError::InvalidSignature)
    );

    // An ES256 token naming the Ed25519 key: the key decides the algorithm.
    let mismatched = ec.sign_as("k", &claims_at(t));
    assert_eq!(
        verifier.verify(&mismatched).await,
        Err(VerifyError::AlgorithmMismatch)
    );
}

#[tokio::test]
async fn alg_none_and_hmac_confusion_are_refused_without_fetching() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let claims = claims_at(now(&clock));

    let payload = b64(claims.to_string().as_bytes());
    for header in [
        json!({"alg": "none", "kid": "k", "typ": "JWT"}),
        json!({"alg": "None", "kid": "k"}),
        json!({"alg": "NONE", "kid": "k"}),
    ] {
        let unsigned = format!("{}.{payload}.", b64(header.to_string().as_bytes()));
        assert_eq!(
            verifier.verify(&unsigned).await,
            Err(VerifyError::UnsupportedAlgorithm)
        );
    }

    // Alg confusion: HMAC keyed with the public key, in every form an
    // attacker could guess a naive verifier would use as the secret.
    let jwk_text = key.jwk().to_string();
    let x_text = b64(&key.public);
    let secrets: [&[u8]; 3] = [&key.public, jwk_text.as_bytes(), x_text.as_bytes()];
    for secret in secrets {
        for alg in [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::HS384,
            jsonwebtoken::Algorithm::HS512,
        ] {
            let mut header = Header::new(alg);
            header.kid = Some("k".into());
            let token =
                jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(secret)).unwrap();
            let err = verifier.verify(&token).await.unwrap_err();
            assert_eq!(err.code(), "unsupported_algorithm");
        }
    }
    assert_eq!(server.fetches(), 0, "refused before any key lookup");
}

#[tokio::test]
async fn oversized_and_garbage_tokens_are_malformed() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);

    let padding = "x".repeat(10_000);
    let big = key.sign(&claims_with(now(&clock), &json!({ "padding": padding })));
    assert_eq!(
        verifier.verify(&big).await,
        Err(VerifyError::Malformed("token too large"))
    );
    for garbage in [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "....",
        "eyJhbGciOiJFZERTQSJ9.e30",
    ] {
        assert_eq!(
            verifier.verify(garbage).await.unwrap_err().code(),
            "malformed"
        );
    }
    assert_eq!(server.fetches(), 0);
}

#[tokio::test]
async fn rotated_in_key_costs_exactly_one_refresh() {
    let old = SigningKey::ed25519("2026-01");
    let new = SigningKey::ed25519("2026-02");
    let server = JwksServer::start(jwks(&[&old])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let t = now(&clock);

    verifier.verify(&old.sign(&claims_at(t))).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // The issuer publishes the new key and signs with it. (The refresh
    // cooldown counts from our last fetch; an issuer that publishes keys at
    // least max-age before using them never runs into it.)
    server.set_keys(jwks(&[&old, &new]));
    clock.advance(Duration::from_secs(31));
    let t = now(&clock);
    let claims = verifier.verify(&new.sign(&claims_at(t))).await.unwrap();
    assert_eq!(claims.sub, "user-42");
    assert_eq!(server.fetches(), 2, "one refresh for the unknown kid");

    // Both keys now verify from the cache.
    verifier.verify(&old.sign(&claims_at(t))).await.unwrap();
    verifier.verify(&new.sign(&claims_at(t))).await.unwrap();
    assert_eq!(server.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_kids_cannot_make_it_hammer_the_issuer() {
    let key = SigningKey::ed25519("real");
    let attacker = SigningKey::ed25519("attacker");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let t = now(&clock);
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    assert_eq!(server.fetches(), 1);

    // Within the cooldown of that fetch: nothing is fetched at all.
    for i in 0..50 {
        let token = attacker.sign_as(&format!("forged-{i}"), &claims_at(t));
        assert_eq!(verifier.verify(&token).await, Err(VerifyError::UnknownKey));
    }
    assert_eq!(server.fetches(), 1);

    // After the cooldown, a concurrent flood of new kids: one fetch.
    clock.advance(Duration::from_secs(30));
    let flood: Vec<_> = (0..24)
        .map(|i| {
            let verifier = verifier.clone();
            let token = attacker.sign_as(&format!("flood-{i}"), &claims_at(t));
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in flood {
        assert_eq!(task.await.unwrap(), Err(VerifyError::UnknownKey));
    }
    assert_eq!(server.fetches(), 2);

    // The real key is unaffected throughout.
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    assert_eq!(server.fetches(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_for_a_new_key_share_one_fetch() {
    let key = SigningKey::p256("fresh");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let token = key.sign(&claims_at(now(&clock)));

    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let (verifier, token) = (verifier.clone(), token.clone());
            tokio::spawn(async move { verifier.verify(&token).await })
        })
        .collect();
    for task in tasks {
        assert!(task.await.unwrap().is_ok());
    }
    assert_eq!(server.fetches(), 1);
}

#[tokio::test]
async fn honours_max_age_and_drops_retired_keys() {
    let old = SigningKey::ed25519("old");
    let new = SigningKey::ed25519("new");
    let server = JwksServer::start(jwks(&[&old, &new])).await;
    server.set_cache_control("public, max-age=120");
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    let token = |key: &SigningKey, clock: &ManualClock| key.sign(&claims_at(now(clock)));

    verifier.verify(&token(&old, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 1);
    clock.advance(Duration::from_secs(119));
    verifier.verify(&token(&old, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 1, "still fresh");

    // The issuer retires the old key; once our copy is stale we refetch and
    // stop accepting it.
    server.set_keys(jwks(&[&new]));
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        verifier.verify(&token(&old, &clock)).await,
        Err(VerifyError::UnknownKey)
    );
    assert_eq!(server.fetches(), 2);
    verifier.verify(&token(&new, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 2);

    // max-age below the floor is raised to it (1 min by default).
    server.set_cache_control("max-age=5");
    clock.advance(Duration::from_mins(2));
    verifier.verify(&token(&new, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 3);
    clock.advance(Duration::from_secs(59));
    verifier.verify(&token(&new, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 3);
    clock.advance(Duration::from_secs(1));
    verifier.verify(&token(&new, &clock)).await.unwrap();
    assert_eq!(server.fetches(), 4);
}

#[tokio::test]
async fn issuer_down_after_first_fetch_keeps_cached_keys_working() {
    let key = SigningKey::ed25519("k");
    let attacker = SigningKey::ed25519("x");
    let mut server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    verifier
        .verify(&key.sign(&claims_at(now(&clock))))
        .await
        .unwrap();
    assert_eq!(server.fetches(), 1);

    server.stop().await;
    // Long past max-age: the refresh fails, the cached key still verifies.
    clock.advance(Duration::from_hours(1));
    let t = now(&clock);
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    assert!(verifier.refresh().await.is_err());

    // A kid we cannot look up is the issuer's problem, not the client's.
    let unknown = attacker.sign(&claims_at(t));
    assert_eq!(
        verifier.verify(&unknown).await,
        Err(VerifyError::JwksUnavailable)
    );
    assert_eq!(
        verifier.verify(&unknown).await.unwrap_err().code(),
        "jwks_unavailable"
    );
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
}

/// While refetches fail, cached keys are trusted only `max_stale` (default
/// 1 h) past the cache lifetime; after that a token is refused with
/// `JwksUnavailable` (503 from the extractor) until a refetch succeeds, so
/// keeping the JWKS unreachable cannot keep a withdrawn key valid forever.
/// Issue 18 item 8.
#[tokio::test]
async fn a_stale_key_set_is_trusted_only_max_stale_past_its_lifetime() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    verifier
        .verify(&key.sign(&claims_at(now(&clock))))
        .await
        .unwrap();
    server.break_with(503, "down");
    // max-age 300 s, then max_stale 1 h: up to 65 min, the cached key works.
    clock.advance(Duration::from_mins(64));
    let t = now(&clock);
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    clock.advance(Duration::from_mins(2));
    let t = now(&clock);
    assert_eq!(
        verifier.verify(&key.sign(&claims_at(t))).await,
        Err(VerifyError::JwksUnavailable),
        "66 min after the fetch, with every refetch failing"
    );
    assert_eq!(
        verifier.verify(&key.sign(&claims_at(t))).await,
        Err(VerifyError::JwksUnavailable),
        "and again within the cooldown"
    );
    // The issuer is back: the next fetch after the cooldown restores it.
    server.repair();
    clock.advance(Duration::from_secs(31));
    let t = now(&clock);
    verifier.verify(&key.sign(&claims_at(t))).await.unwrap();
    // A shorter max_stale by configuration.
    let strict = Verifier::builder(ISSUER, AUDIENCE)
        .jwks_url(&server.url)
        .clock(clock.clone())
        .cache_policy(CachePolicy::default().max_stale(Duration::ZERO))
        .build()
        .unwrap();
    strict.verify(&key.sign(&claims_at(t))).await.unwrap();
    server.break_with(503, "down");
    clock.advance(Duration::from_secs(301));
    let t = now(&clock);
    assert_eq!(
        strict.verify(&key.sign(&claims_at(t))).await,
        Err(VerifyError::JwksUnavailable),
        "max_stale 0: past the lifetime, a failed refetch refuses"
    );
}

#[tokio::test]
async fn no_keys_at_all_is_jwks_unavailable() {
    let key = SigningKey::ed25519("k");
    let mut server = JwksServer::start(vec![]).await;
    let url = server.url.clone();
    server.stop().await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(ISSUER, AUDIENCE)
        .jwks_url(url)
        .clock(clock.clone())
        .build()
        .unwrap();
    let token = key.sign(&claims_at(now(&clock)));
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::JwksUnavailable)
    );
    // Within the cooldown it does not retry, and says why it refuses.
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::JwksUnavailable)
    );
}

#[tokio::test]
async fn broken_jwks_responses_keep_the_old_keys() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = server.verifier(&clock);
    assert_eq!(verifier.refresh().await.unwrap(), 1);

    for (status, body) in [
        (500, "oops"),
        (200, "<html>login</html>"),
        (200, r#"{"k":1}"#),
    ] {
        server.break_with(status, body);
        assert!(verifier.refresh().await.is_err(), "{status} {body}");
        // Stale and refetched (and failing) as the cooldown allows.
        clock.advance(Duration::from_mins(10));
        let fetches = server.fetches();
        verifier
            .verify(&key.sign(&claims_at(now(&clock))))
            .await
            .unwrap();
        assert_eq!(server.fetches(), fetches + 1);
    }
}

#[tokio::test]
async fn a_valid_set_replaces_the_cache_and_bad_entries_are_skipped() {
    let key = SigningKey::ed25519("k");
    let server = JwksServer::start(jwks(&[&key])).await;
    let clock = ManualClock::starting_now();
    let verifier = Verifier::builder(ISSUER, AUDIENCE)
        .jwks_url(&server.url)
        .clock(clock.clone())
        .cache_policy(CachePolicy::default().refresh_cooldown(Duration::ZERO))
        .build()
        .unwrap();
    assert_eq!(verifier.refresh().await.unwrap(), 1);

    let mut keys = jwks(&[&key]);
    keys.insert(0, json!("not a key"));
    keys.push(json!({"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"}));
    server.set_keys(keys);
    assert_eq!(
        verifier.refresh().await.unwrap(),
        1,
        "bad entries are skipped"
    );
    verifier
        .verify(&key.sign(&claims_at(now(&clock))))
        .await
        .unwrap();

    // An HMAC "key" under a kid, with a token HMAC-signed by it: refused.
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some("hmac".into());
    let token = jsonwebtoken::encode(
        &header,
        &claims_at(now(&clock)),
        &EncodingKey::from_secret(b"secret"),
    )
    .unwrap();
    assert_eq!(
        verifier.verify(&token).await,
        Err(VerifyError::UnsupportedAlgorithm)
    );

    // The issuer withdrew every key: nothing verifies any more.
    server.set_keys(vec![]);
    assert_eq!(verifier.refresh().await.unwrap(), 0);
    let err = verifier.verify(&key.sign(&claims_at(now(&clock)))).await;
    assert_eq!(err, Err(VerifyError::UnknownKey));
}

#[tokio::test]
async fn static_key_set_needs_no_network() {
    let ed = SigningKey::ed25519("ed");
    let ec = SigningKey::p256("ec");
    let set: JwkSet =
        serde_json::from_value(serde_json::json!({ "keys": jwks(&[&ed, &ec]) })).unwrap();
    let verifier = Verifier::from_jwk_set(set, ISSUER, AUDIENCE).unwrap();
    let t = tessera_verify::Clock::now_unix(&tessera_verify::SystemClock);

    assert!(verifier.verify(&ed.sign(&claims_at(t))).await.is_ok());
    assert!(verifier.verify(&ec.sign(&claims_at(t))).await.is_ok());
    let stranger = SigningKey::ed25519("stranger");
    assert_eq!(
        verifier.verify(&stranger.sign(&claims_at(t))).await,
        Err(VerifyError::UnknownKey)
    );
    assert_eq!(verifier.refresh().await.unwrap(), 2);

    let empty: JwkSet = serde_json::from_value(serde_json::json!({ "keys": [] })).unwrap();
    assert!(Verifier::from_jwk_set(empty, ISSUER, AUDIENCE).is_err());
}

#[tokio::test]
async fn plain_http_jwks_is_refused_off_loopback() {
    let err = Verifier::builder(ISSUER, AUDIENCE)
        .jwks_url("http://auth.tessera.test/.well-known/jwks.json")
        .build()
        .unwrap_err();
    assert!(
        matches!(err, tessera_verify::ConfigError::InsecureUrl),
        "{err}"
    );
}
