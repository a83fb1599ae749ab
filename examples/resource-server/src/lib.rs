//! A resource server: an API of the same product that trusts Tessera's
//! access tokens without calling Tessera per request. The public keys come
//! from Tessera's JWKS; everything else is checked locally.

use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};
use tessera_verify::{AccessToken, RequireMfa, RequireRole, Role, Verifier};

#[derive(Debug)]
pub struct Admin;

impl Role for Admin {
    const NAME: &'static str = "admin";
}

/// Who the token says is calling.
async fn me(AccessToken(claims): AccessToken) -> Json<Value> {
    Json(json!({
        "user_id": claims.sub,
        "session_or_family": claims.sid,
        "roles": claims.roles,
        "amr": claims.amr,
        "expires_at": claims.exp,
    }))
}

/// Only for tokens carrying the `admin` role.
async fn report(admin: RequireRole<Admin>) -> Json<Value> {
    Json(json!({"report": "all good", "for": admin.claims.sub}))
}

/// Only for tokens from a multi-factor sign-in (a password and a code, or
/// a passkey); others get 401 `insufficient_user_authentication`.
async fn payout(caller: RequireMfa) -> Json<Value> {
    Json(json!({"payout": "scheduled", "for": caller.claims.sub}))
}

async fn health() -> &'static str {
    "ok"
}

pub fn app(verifier: Verifier) -> Router {
    Router::new()
        .route("/api/me", get(me))
        .route("/api/admin/report", get(report))
        .route("/api/payouts", get(payout))
        .route("/healthz", get(health))
        .with_state(verifier)
}
