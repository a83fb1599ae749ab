//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        description = "Session authentication server. Errors are RFC 9457 problem details with a stable `code`. \
            Unsafe requests authenticated by the session cookie need `X-CSRF-Token`; with a BFF key configured \
            every /v1 request needs `Tessera-Bff-Key`.",
        license(name = "Apache-2.0")
    ),
    paths(
        routes::register, routes::login, routes::logout, routes::session,
        routes::list, routes::revoke, routes::revoke_others, routes::change,
        routes::recovery::forgot, routes::recovery::reset,
        routes::email::send_verification, routes::email::verify, routes::email::resend_verification,
        routes::email::change, routes::email::confirm_change,
        routes::user::update, routes::user::delete, routes::user::activity,
        routes::admin::users, routes::admin::user, routes::admin::update, routes::admin::revoke_sessions,
        routes::admin::password_reset, routes::admin::delete, routes::admin::audit,
        routes::mfa::status, routes::mfa::begin_totp, routes::mfa::confirm_totp,
        routes::mfa::disable_totp, routes::mfa::regenerate_codes, routes::mfa::sign_in,
        routes::passkeys::register_start, routes::passkeys::register_finish,
        routes::passkeys::login_start, routes::passkeys::login_finish,
        routes::passkeys::list, routes::passkeys::rename, routes::passkeys::delete,
        routes::token::token, routes::token::revoke, routes::token::jwks,
        routes::oauth::start, routes::oauth::callback,
        routes::oauth::list_identities, routes::oauth::unlink_identity,
        routes::healthz, routes::readyz, routes::metrics, routes::openapi,
    ),
    components(schemas(crate::problem::Problem, crate::problem::FieldProblem)),
    modifiers(&Security),
    tags(
        (name = "account", description = "Register, sign in and out, who am I, password, name, delete the account"),
        (name = "recovery", description = "Forgot password, reset by a mailed link"),
        (name = "email", description = "Verify the address; change it"),
        (name = "sessions", description = "The user's devices"),
        (name = "mfa", description = "Second factors: an authenticator app (TOTP), recovery codes, completing a sign-in"),
        (name = "passkeys", description = "Passkeys (WebAuthn): register, sign in without a password, list, rename, delete"),
        (name = "tokens", description = "OAuth 2.0 token endpoint, revocation, JWKS"),
        (name = "oauth", description = "Sign in with GitHub or an OpenID Connect provider; linked identities"),
        (name = "admin", description = "For administrators (role admin and a second factor) or the admin key: users, roles, sessions, the audit log"),
        (name = "ops", description = "Health, readiness, metrics, this document"),
    )
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session_cookie",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("__Host-tessera_session"))),
        );
        components.add_security_scheme(
            "admin_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Tessera-Admin-Key"))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn json() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into())
}
