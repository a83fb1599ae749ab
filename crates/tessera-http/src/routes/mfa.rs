//! Second factors: TOTP enrolment, recovery codes, and completing a sign-in
//! that answered `mfa_required` (`POST /v1/login/mfa`, the challenge from
//! the body or the `__Host-tessera_mfa` cookie).

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tessera_core::{Confirmation, SecondFactor};
use utoipa::ToSchema;

use super::account::started;
use super::email::no_password;
use crate::AppState;
use crate::cookies::{self, MFA_COOKIE};
use crate::extract::{Authenticated, Client, session_cookie};
use crate::json::JsonBody;
use crate::problem::{ApiError, Problem};

/// What the user has on.
#[derive(Debug, Serialize, ToSchema)]
pub struct MfaStatusView {
    pub totp_enabled: bool,
    pub recovery_codes_remaining: u64,
    pub passkeys: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpBegin {
    /// Not needed by a user without a password who signed in in the last
    /// 5 minutes.
    #[schema(value_type = String, format = Password)]
    #[serde(default = "no_password")]
    pub current_password: SecretString,
}

/// A TOTP enrolment under way.
#[derive(Debug, Serialize, ToSchema)]
pub struct TotpEnrolmentView {
    /// The secret in base32, for typing into an app by hand.
    #[schema(example = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP")]
    pub secret: String,
    /// `otpauth://totp/…`, for a QR code.
    pub otpauth_uri: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TotpCode {
    /// The six digits the app shows now.
    #[schema(value_type = String, example = "123456")]
    pub code: SecretString,
}

/// Shown once: only their hashes are kept.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecoveryCodes {
    #[schema(example = json!(["abcd-efgh-ijkl-mnop-qrst-uvwx"]))]
    pub recovery_codes: Vec<String>,
}

/// A change to the second factors, confirmed by a current code or the
/// password.
#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaConfirmation {
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    #[schema(value_type = Option<String>, format = Password)]
    pub current_password: Option<SecretString>,
}

impl MfaConfirmation {
    fn into_confirmation(self) -> Confirmation {
        match (self.code, self.current_password) {
            (Some(code), _) => Confirmation::Code(code),
            (None, Some(password)) => Confirmation::Password(password),
            (None, None) => Confirmation::Password(no_password()),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MfaSignIn {
    /// The `challenge` of the `mfa_required` answer; without it, the
    /// `__Host-tessera_mfa` cookie's.
    #[schema(value_type = Option<String>)]
    pub challenge: Option<SecretString>,
    /// A TOTP code…
    #[schema(value_type = Option<String>, example = "123456")]
    pub code: Option<SecretString>,
    /// …or one of the recovery codes.
    #[schema(value_type = Option<String>, example = "abcd-efgh-ijkl-mnop-qrst-uvwx")]
    pub recovery_code: Option<SecretString>,
}

/// What second factors the signed-in user has.
#[utoipa::path(
    get, path = "/v1/mfa", tag = "mfa",
    responses(
        (status = 200, description = "TOTP on or off, recovery codes left, passkeys", body = MfaStatusView),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn status(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<MfaStatusView>, ApiError> {
    let s = state.auth.mfa_status(&auth.session).await?;
    Ok(Json(MfaStatusView {
        totp_enabled: s.totp_enabled,
        recovery_codes_remaining: s.recovery_codes_remaining,
        passkeys: s.passkeys,
    }))
}

/// Start setting up an authenticator app: a new secret, pending until
/// confirmed with a code. Needs the current password (or, without one, a
/// sign-in in the last 5 minutes).
#[utoipa::path(
    post, path = "/v1/mfa/totp", tag = "mfa",
    request_body = TotpBegin,
    responses(
        (status = 200, description = "The secret and its otpauth URI (Cache-Control: no-store)", body = TotpEnrolmentView),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed; reauthentication_required", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "totp_already_enabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or missing current password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn begin_totp(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<TotpBegin>,
) -> Result<Json<TotpEnrolmentView>, ApiError> {
    let e = state
        .auth
        .begin_totp(&auth.session, req.current_password, &client)
        .await?;
    Ok(Json(TotpEnrolmentView {
        secret: e.secret.expose_secret().to_owned(),
        otpauth_uri: e.otpauth_uri.expose_secret().to_owned(),
    }))
}

/// Turn the authenticator app on with its first code; answers the
/// recovery codes, once.
#[utoipa::path(
    post, path = "/v1/mfa/totp/confirm", tag = "mfa",
    request_body = TotpCode,
    responses(
        (status = 200, description = "On; ten recovery codes, shown once", body = RecoveryCodes),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in; mfa_code_invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "totp_not_pending", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn confirm_totp(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(req): JsonBody<TotpCode>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let codes = state.auth.confirm_totp(&auth.session, &req.code).await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Turn the authenticator app off (the recovery codes go too), confirmed
/// by a current code or the password.
#[utoipa::path(
    delete, path = "/v1/mfa/totp", tag = "mfa",
    request_body = MfaConfirmation,
    responses(
        (status = 204, description = "Off"),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in; mfa_code_invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed; reauthentication_required", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "totp_not_enabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or missing current password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong tries (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn disable_totp(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<MfaConfirmation>,
) -> Result<StatusCode, ApiError> {
    state
        .auth
        .disable_totp(&auth.session, req.into_confirmation(), &client)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new set of recovery codes; the old ones stop working.
#[utoipa::path(
    post, path = "/v1/mfa/recovery-codes", tag = "mfa",
    request_body = MfaConfirmation,
    responses(
        (status = 200, description = "Ten new recovery codes, shown once", body = RecoveryCodes),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not signed in; mfa_code_invalid", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed; reauthentication_required", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "totp_not_enabled", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong or missing current password", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong tries (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down or hasher saturated (Retry-After)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("session_cookie" = []), ("bearer" = []))
)]
pub async fn regenerate_codes(
    State(state): State<AppState>,
    auth: Authenticated,
    Client(client): Client,
    JsonBody(req): JsonBody<MfaConfirmation>,
) -> Result<Json<RecoveryCodes>, ApiError> {
    let codes = state
        .auth
        .regenerate_recovery_codes(&auth.session, req.into_confirmation(), &client)
        .await?;
    Ok(Json(RecoveryCodes {
        recovery_codes: codes,
    }))
}

/// Complete a sign-in that answered `mfa_required`: a new session, and the
/// challenge cookie cleared.
#[utoipa::path(
    post, path = "/v1/login/mfa", tag = "mfa",
    request_body = MfaSignIn,
    responses(
        (status = 200, description = "Signed in; session and CSRF cookies set, __Host-tessera_mfa cleared", body = super::views::AuthResponse,
            headers(("Set-Cookie" = String, description = "`__Host-tessera_session` (HttpOnly), `__Host-tessera_csrf`, `__Host-tessera_mfa` expired"))),
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "mfa_code_invalid (wrong or used code); mfa_challenge_invalid (unknown, expired or used challenge, or five wrong codes: sign in again)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Foreign origin or missing BFF key", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 64 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Neither or both of code and recovery_code", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failures for this account or address (Retry-After)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn sign_in(
    State(state): State<AppState>,
    Client(client): Client,
    parts: Parts,
    JsonBody(req): JsonBody<MfaSignIn>,
) -> Result<Response, ApiError> {
    let challenge = req
        .challenge
        .map(|c| c.expose_secret().to_owned())
        .or_else(|| cookies::read(&parts.headers, MFA_COOKIE))
        .unwrap_or_default();
    let factor =
        match (req.code, req.recovery_code) {
            (Some(code), None) => SecondFactor::Code(code),
            (None, Some(code)) => SecondFactor::RecoveryCode(code),
            _ => {
                return Err(tessera_core::AuthError::Validation(vec![
                    tessera_core::FieldError::new("code", "send code or recovery_code"),
                ])
                .into());
            }
        };
    let presented = session_cookie(&parts);
    let result = state
        .auth
        .complete_sign_in(&challenge, factor, &client, presented.as_ref())
        .await;
    let label = match &result {
        Ok(_) => "success",
        Err(tessera_core::AuthError::MfaCodeInvalid) => "failure",
        Err(tessera_core::AuthError::MfaChallengeInvalid) => "challenge_invalid",
        Err(tessera_core::AuthError::RateLimited { .. }) => "rate_limited",
        Err(_) => "error",
    };
    state.metrics.mfa_sign_ins.with_label_values(&[label]).inc();
    match result {
        Ok(new) => Ok((
            AppendHeaders([(header::SET_COOKIE, cookies::mfa_cleared())]),
            started(&state, StatusCode::OK, &new),
        )
            .into_response()),
        // The challenge is over: the cookie goes too.
        Err(e @ tessera_core::AuthError::MfaChallengeInvalid) => Ok((
            AppendHeaders([(header::SET_COOKIE, cookies::mfa_cleared())]),
            ApiError::from(e),
        )
            .into_response()),
        Err(e) => Err(e.into()),
    }
}
