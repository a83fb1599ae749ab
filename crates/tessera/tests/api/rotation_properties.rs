//! The refresh-token rotation state machine against a model: random
//! sequences of refreshes (of any token ever issued), clock jumps and
//! revocations, run on the real app, must give exactly the answers the
//! model predicts: rotation once, the same successor for a replay within
//! the grace window, family revocation on reuse after it, refusal of
//! expired tokens and of everything in a revoked or too-old family.

use std::time::Duration as StdDuration;

use crate::common::{PASSWORD, TestApp, spawn_with};
use proptest::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::Value;

const TTL: i64 = 100;
const GRACE: i64 = 10;
const ABSOLUTE: i64 = 400;

#[derive(Clone, Debug)]
enum Op {
    /// Refresh with the token issued `n`-th (modulo how many exist).
    Refresh(usize),
    Advance(i64),
    Revoke(usize),
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            4 => (0usize..64).prop_map(Op::Refresh),
            3 => (0i64..40).prop_map(Op::Advance),
            1 => (0usize..64).prop_map(Op::Revoke),
        ],
        1..25,
    )
}

struct Token {
    value: String,
    expires_at: i64,
    spent_at: Option<i64>,
    successor: Option<usize>,
}

struct Model {
    now: i64,
    revoked: bool,
    absolute_expires_at: i64,
    tokens: Vec<Token>,
}

/// What the model expects of a refresh: a rotation (a new token), the
/// successor `usize` again, or a refusal (and whether it revokes).
#[derive(Debug, PartialEq)]
enum Expect {
    Rotated,
    Replayed(usize),
    Refused { revokes: bool },
}

impl Model {
    fn family_live(&self) -> bool {
        !self.revoked && self.now < self.absolute_expires_at
    }

    fn refresh(&self, i: usize) -> Expect {
        let t = &self.tokens[i];
        if t.spent_at.is_none() && self.now < t.expires_at && self.family_live() {
            return Expect::Rotated;
        }
        if !self.family_live() {
            return Expect::Refused { revokes: false };
        }
        match t.spent_at {
            None => Expect::Refused { revokes: false },
            // Whole-second clock readings: a replay read GRACE seconds after
            // the spend may be up to GRACE + 1 s later in truth, past the
            // window, so it is refused.
            Some(at) if self.now - at < GRACE => Expect::Replayed(t.successor.unwrap()),
            Some(_) => Expect::Refused { revokes: true },
        }
    }
}

async fn refresh(app: &TestApp, token: &str) -> (StatusCode, Value) {
    let r = app
        .req(Method::POST, "/v1/token")
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

async fn run(ops: Vec<Op>) {
    let app = spawn_with(|c| {
        c.refresh_token_ttl = StdDuration::from_secs(TTL as u64);
        c.refresh_reuse_grace = StdDuration::from_secs(GRACE as u64);
        c.refresh_absolute_ttl = StdDuration::from_secs(ABSOLUTE as u64);
    })
    .await;
    let email = format!("rot-{}@example.com", tessera_core::SessionId::new());
    app.register(&email).await;
    let r: Value = app
        .req(Method::POST, "/v1/token")
        .form(&[
            ("grant_type", "password"),
            ("username", email.as_str()),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut model = Model {
        now: 0,
        revoked: false,
        absolute_expires_at: ABSOLUTE,
        tokens: vec![Token {
            value: r["refresh_token"].as_str().unwrap().to_owned(),
            expires_at: TTL,
            spent_at: None,
            successor: None,
        }],
    };
    for op in ops {
        match op {
            Op::Advance(secs) => {
                app.clock.advance(time::Duration::seconds(secs));
                model.now += secs;
            }
            Op::Revoke(n) => {
                let i = n % model.tokens.len();
                let r = app
                    .req(Method::POST, "/v1/token/revoke")
                    .form(&[("token", model.tokens[i].value.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), StatusCode::OK);
                model.revoked = true;
            }
            Op::Refresh(n) => {
                let i = n % model.tokens.len();
                let expect = model.refresh(i);
                let (status, body) = refresh(&app, &model.tokens[i].value).await;
                match expect {
                    Expect::Rotated => {
                        assert_eq!(
                            status,
                            StatusCode::OK,
                            "rotation of token {i} at {}: {body}",
                            model.now
                        );
                        let value = body["refresh_token"].as_str().unwrap().to_owned();
                        assert!(
                            model.tokens.iter().all(|t| t.value != value),
                            "a fresh token"
                        );
                        model.tokens[i].spent_at = Some(model.now);
                        model.tokens[i].successor = Some(model.tokens.len());
                        model.tokens.push(Token {
                            value,
                            expires_at: model.now + TTL,
                            spent_at: None,
                            successor: None,
                        });
                    }
                    Expect::Replayed(j) => {
                        assert_eq!(
                            status,
                            StatusCode::OK,
                            "replay of token {i} at {}: {body}",
                            model.now
                        );
                        assert_eq!(
                            body["refresh_token"], model.tokens[j].value,
                            "a replay within the grace window gets the same successor"
                        );
                    }
                    Expect::Refused { revokes } => {
                        assert_eq!(
                            status,
                            StatusCode::BAD_REQUEST,
                            "token {i} at {}: {body}",
                            model.now
                        );
                        assert_eq!(body["error"], "invalid_grant");
                        if revokes {
                            model.revoked = true;
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn refresh_rotation_matches_the_model(ops in ops()) {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(run(ops));
    }
}
