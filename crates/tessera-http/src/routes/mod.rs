//! The v1 API and the operational endpoints.

mod account;
pub mod admin;
pub mod email;
pub mod mfa;
pub mod oauth;
mod ops;
pub mod passkeys;
mod password;
pub mod recovery;
mod sessions;
pub mod token;
pub mod user;
pub mod views;

use std::any::Any;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};

pub use account::*;
pub use ops::*;
pub use password::*;
pub use sessions::*;

use crate::AppState;
use crate::problem::ApiError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/register", post(account::register))
        .route("/v1/login", post(account::login))
        .route("/v1/login/mfa", post(mfa::sign_in))
        .route("/v1/mfa", get(mfa::status))
        .route(
            "/v1/mfa/totp",
            post(mfa::begin_totp).delete(mfa::disable_totp),
        )
        .route("/v1/mfa/totp/confirm", post(mfa::confirm_totp))
        .route("/v1/mfa/recovery-codes", post(mfa::regenerate_codes))
        .route("/v1/passkeys", get(passkeys::list))
        .route(
            "/v1/passkeys/{id}",
            patch(passkeys::rename).delete(passkeys::delete),
        )
        .route(
            "/v1/passkeys/register/start",
            post(passkeys::register_start),
        )
        .route(
            "/v1/passkeys/register/finish",
            post(passkeys::register_finish),
        )
        .route("/v1/passkeys/login/start", post(passkeys::login_start))
        .route("/v1/passkeys/login/finish", post(passkeys::login_finish))
        .route("/v1/logout", post(account::logout))
        .route("/v1/session", get(account::session))
        .route(
            "/v1/sessions",
            get(sessions::list).delete(sessions::revoke_others),
        )
        .route("/v1/sessions/{id}", delete(sessions::revoke))
        .route("/v1/password", post(password::change))
        .route("/v1/password/forgot", post(recovery::forgot))
        .route("/v1/password/reset", post(recovery::reset))
        .route("/v1/email/verify", post(email::verify))
        .route("/v1/email/verify/send", post(email::send_verification))
        .route("/v1/email/verify/resend", post(email::resend_verification))
        .route("/v1/email/change", post(email::change))
        .route("/v1/email/change/confirm", post(email::confirm_change))
        .route("/v1/user", patch(user::update).delete(user::delete))
        .route("/v1/account/activity", get(user::activity))
        .route("/v1/admin/users", get(admin::users))
        .route(
            "/v1/admin/users/{id}",
            get(admin::user).patch(admin::update).delete(admin::delete),
        )
        .route(
            "/v1/admin/users/{id}/sessions",
            delete(admin::revoke_sessions),
        )
        .route(
            "/v1/admin/users/{id}/password-reset",
            post(admin::password_reset),
        )
        .route("/v1/admin/audit", get(admin::audit))
        .route("/v1/token", post(token::token))
        .route("/v1/token/revoke", post(token::revoke))
        .route("/.well-known/jwks.json", get(token::jwks))
        .route("/v1/oauth/{provider}/start", get(oauth::start))
        .route("/v1/oauth/{provider}/callback", get(oauth::callback))
        .route("/v1/identities", get(oauth::list_identities))
        .route("/v1/identities/{provider}", delete(oauth::unlink_identity))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
}

pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// A panic is a bug; the client still gets a problem+json 500, and the
/// server stays up.
pub fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    let mut r = ApiError::Auth(tessera_core::AuthError::Internal("panic".into())).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
