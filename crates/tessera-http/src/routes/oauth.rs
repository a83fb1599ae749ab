//! Sign in with GitHub or any OpenID Connect provider: start, callback, and
//! the linked identities.
//!
//! The browser's state for one flow (state, PKCE verifier, nonce,
//! `return_to`, and who to link to) rides in `__Host-tessera_oauth`, sealed
//! with the deployment's key; the callback clears it whatever happens.
//! The session cookie is `SameSite=Strict`, so the callback (a cross-site
//! navigation from the provider) never sees it: a signed-in start records
//! the user in the sealed flow instead, and success answers with a small
//! same-site page that moves the browser on, so the new Strict cookie is
//! sent on the next navigation.

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Response};
use cookie::{Cookie, SameSite};
use serde::Serialize;
use subtle::ConstantTimeEq;
use tessera_core::{AuthError, Identity, SessionId, UserId};
use tessera_oauth::{Flow, LinkTarget, OAuthError, Providers, Sealer, return_to};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::account::session_cookies;
use crate::AppState;
use crate::extract::{Authenticated, Client, authenticate};
use crate::problem::{ApiError, Problem};

pub const OAUTH_COOKIE: &str = "__Host-tessera_oauth";

/// Longest sealed flow; browsers keep cookies up to about 4 KiB.
const MAX_SEALED_BYTES: usize = 3800;

/// Longest `code` or `state` taken from a provider's redirect.
const MAX_PARAM_BYTES: usize = 2048;

const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The providers and the key that seals the flow cookie.
#[derive(Debug)]
pub struct OAuth {
    pub providers: Providers,
    pub sealer: Sealer,
}

/// Why a start or callback failed; each is one status and one code, the
/// code also being what `/login?error=` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    UnknownProvider,
    InvalidRequest,
    StateMismatch,
    AccessDenied,
    CodeRejected,
    IdTokenInvalid,
    NonceMismatch,
    ProviderUnavailable,
    Unauthenticated,
}

impl Failure {
    fn status_code(self) -> (StatusCode, &'static str, &'static str) {
        use StatusCode as S;
        match self {
            Self::UnknownProvider => (S::NOT_FOUND, "unknown_provider", "Unknown provider"),
            Self::InvalidRequest => (
                S::BAD_REQUEST,
                "invalid_request",
                "Malformed sign-in request",
            ),
            // A nonce mismatch: the id_token was issued for another flow,
            // a binding failure like a wrong state.
            Self::StateMismatch | Self::NonceMismatch => (
                S::FORBIDDEN,
                "oauth_state_mismatch",
                "This sign-in was not started in this browser, or took too long",
            ),
            Self::AccessDenied => (
                S::BAD_REQUEST,
                "access_denied",
                "The provider did not grant access",
            ),
            Self::CodeRejected => (
                S::BAD_REQUEST,
                "oauth_code_rejected",
                "The provider refused the sign-in code",
            ),
            Self::IdTokenInvalid => (
                S::BAD_REQUEST,
                "id_token_invalid",
                "The provider's identity token failed its checks",
            ),
            Self::ProviderUnavailable => (
                S::BAD_GATEWAY,
                "provider_unavailable",
                "The provider could not be reached",
            ),
            Self::Unauthenticated => (
                S::UNAUTHORIZED,
                "unauthenticated",
                "The session that started linking has ended",
            ),
        }
    }
}

impl From<OAuthError> for Failure {
    fn from(e: OAuthError) -> Self {
        match e {
            OAuthError::Unavailable(why) => {
                tracing::warn!(error = %why, "OAuth provider unavailable");
                Self::ProviderUnavailable
            }
            OAuthError::CodeRejected(why) => {
                tracing::info!(error = %why, "OAuth code rejected");
                Self::CodeRejected
            }
            OAuthError::IdTokenInvalid(why) => {
                tracing::warn!(error = %why, "OAuth id_token invalid");
                Self::IdTokenInvalid
            }
            OAuthError::NonceMismatch => {
                tracing::warn!("OAuth id_token nonce mismatch");
                Self::NonceMismatch
            }
            OAuthError::TokenRejected | OAuthError::WrongTokenType => Self::CodeRejected,
            OAuthError::Misconfigured(why) => {
                tracing::error!(error = %why, "OAuth provider misconfigured");
                Self::ProviderUnavailable
            }
        }
    }
}

/// A failed start or callback: HTML that sends a person to
/// `/login?error=<code>`, or problem+json for `Accept: application/json`.
/// Either way the flow cookie is cleared and no session cookie is set.
enum Outcome {
    Failed(Failure),
    Refused(AuthError),
}

impl From<Failure> for Outcome {
    fn from(f: Failure) -> Self {
        Self::Failed(f)
    }
}

impl From<AuthError> for Outcome {
    fn from(e: AuthError) -> Self {
        Self::Refused(e)
    }
}

impl From<ApiError> for Outcome {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Auth(e) => Self::Refused(e),
            _ => Self::Failed(Failure::InvalidRequest),
        }
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") || v.contains("application/problem+json"))
}

/// `clear`: the flow cookie belonged to this callback (its state matched),
/// so it is spent. A callback that does not match leaves it alone: a forged
/// callback link must not end the flow a person has under way.
fn failure_response(
    state: &AppState,
    headers: &HeaderMap,
    outcome: Outcome,
    clear: bool,
) -> Response {
    let (mut response, code) = match outcome {
        Outcome::Failed(f) => {
            let (status, code, title) = f.status_code();
            let r = if wants_json(headers) {
                problem(status, code, title)
            } else {
                page(status, &format!("/login?error={code}"), title)
            };
            (r, code)
        }
        Outcome::Refused(e) => {
            let (r, code) = ApiError::Auth(e).into_coded_response();
            let r = if wants_json(headers) {
                r
            } else {
                page(
                    r.status(),
                    &format!("/login?error={code}"),
                    "Sign-in refused",
                )
            };
            (r, code)
        }
    };
    state
        .metrics
        .oauth_failures
        .with_label_values(&[code])
        .inc();
    if clear {
        response
            .headers_mut()
            .append(header::SET_COOKIE, clear_flow_cookie());
    }
    response
}

fn problem(status: StatusCode, code: &'static str, title: &'static str) -> Response {
    let body = Problem {
        kind: format!("urn:tessera:error:{code}"),
        title: title.to_owned(),
        status: status.as_u16(),
        detail: None,
        code: code.to_owned(),
        errors: Vec::new(),
    };
    let mut r = (status, Json(body)).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(crate::problem::PROBLEM_JSON),
    );
    r
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The tiny same-site page that moves the browser on to `to` (a path
/// sanitised by [`return_to::sanitize`] or a fixed `/login?error=` path),
/// without JavaScript.
fn page(status: StatusCode, to: &str, message: &str) -> Response {
    let to = escape(to);
    let message = escape(message);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={to}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{message}</title></head>\
         <body><p>{message}</p><p><a href=\"{to}\">Continue</a></p></body></html>"
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn flow_cookie(value: String, max_age: time::Duration) -> HeaderValue {
    let cookie = Cookie::build((OAUTH_COOKIE, value))
        .path("/")
        .secure(true)
        .http_only(true)
        // Lax, not Strict: it must come back on the provider's cross-site
        // redirect to the callback.
        .same_site(SameSite::Lax)
        .max_age(max_age)
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn clear_flow_cookie() -> HeaderValue {
    flow_cookie(String::new(), time::Duration::ZERO)
}

/// The query's parameters; a repeated or undecodable one is a bad request.
fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, Failure> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw.unwrap_or("")).map_err(|_| Failure::InvalidRequest)?;
    for (i, (k, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(other, _)| other == k) {
            return Err(Failure::InvalidRequest);
        }
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn oauth_state(state: &AppState) -> Result<&OAuth, Failure> {
    state.oauth.as_ref().ok_or(Failure::UnknownProvider)
}

/// Start signing in (or, signed in, linking) with a provider.
#[utoipa::path(
    get, path = "/v1/oauth/{provider}/start", tag = "oauth",
    params(
        ("provider" = String, Path, description = "A configured provider name"),
        ("return_to" = Option<String>, Query, description = "Same-origin path to land on afterwards (default `/`, at most 2 KiB)"),
    ),
    responses(
        (status = 302, description = "To the provider; sets `__Host-tessera_oauth` (HttpOnly, Secure, SameSite=Lax, 10 minutes)"),
        (status = 400, description = "Malformed request (HTML to /login?error=, or problem+json)", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 404, description = "Unknown provider", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 502, description = "The provider's discovery could not be fetched", content((String = "text/html"), (Problem = "application/problem+json"))),
    )
)]
pub async fn start(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    parts: Parts,
) -> Response {
    match begin(&state, &provider, query.as_deref(), &parts).await {
        Ok(r) => r,
        Err(outcome) => failure_response(&state, &parts.headers, outcome, false),
    }
}

async fn begin(
    state: &AppState,
    provider: &str,
    query: Option<&str>,
    parts: &Parts,
) -> Result<Response, Outcome> {
    let oauth = oauth_state(state)?;
    let provider = oauth
        .providers
        .get(provider)
        .ok_or(Failure::UnknownProvider)?;
    let pairs = params(query)?;
    let return_to =
        return_to::sanitize(param(&pairs, "return_to")).map_err(|_| Failure::InvalidRequest)?;
    let link = authenticate(parts, state).await?.map(|a| LinkTarget {
        user: a.session.user.id.to_string(),
        session: a.session.id.to_string(),
    });
    let now = state.auth.now();
    let (url, flow) = provider
        .authorize(return_to, link, now)
        .await
        .map_err(Failure::from)?;
    let location = HeaderValue::from_str(&url).map_err(|_| Failure::ProviderUnavailable)?;
    state
        .metrics
        .oauth_started
        .with_label_values(&[provider.name()])
        .inc();
    let sealed = oauth.sealer.seal(&flow);
    if sealed.len() > MAX_SEALED_BYTES {
        // The browser would drop a cookie this big and the callback fail.
        return Err(Failure::InvalidRequest.into());
    }
    let cookie = flow_cookie(sealed, tessera_oauth::FLOW_TTL);
    Ok((
        StatusCode::FOUND,
        AppendHeaders([(header::LOCATION, location), (header::SET_COOKIE, cookie)]),
    )
        .into_response())
}

/// Where the provider sends the browser back.
#[utoipa::path(
    get, path = "/v1/oauth/{provider}/callback", tag = "oauth",
    params(
        ("provider" = String, Path, description = "A configured provider name"),
        ("code" = Option<String>, Query, description = "From the provider"),
        ("state" = Option<String>, Query, description = "From the provider"),
        ("error" = Option<String>, Query, description = "From the provider, when it refused"),
    ),
    responses(
        (status = 200, description = "Signed in (or linked): an HTML page moving on to return_to, with the session and CSRF cookies", body = String, content_type = "text/html"),
        (status = 400, description = "Malformed callback, consent denied, code refused", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 401, description = "Linking: the session that started it has ended", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 403, description = "Flow cookie missing, foreign, expired or not matching the state; id_token failed its checks; account disabled", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 404, description = "Unknown provider", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 409, description = "account_exists or identity_taken", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 422, description = "email_required", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 429, description = "Too many new accounts from this address", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 502, description = "The provider could not be reached", content((String = "text/html"), (Problem = "application/problem+json"))),
        (status = 503, description = "A store is down", content((String = "text/html"), (Problem = "application/problem+json"))),
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    RawQuery(query): RawQuery,
    Client(client): Client,
    parts: Parts,
) -> Response {
    let mut matched = false;
    match complete(
        &state,
        &provider,
        query.as_deref(),
        &client,
        &parts,
        &mut matched,
    )
    .await
    {
        Ok(r) => r,
        Err(outcome) => failure_response(&state, &parts.headers, outcome, matched),
    }
}

/// The sealed flow of this browser, checked against the provider and the
/// returned state.
fn open_flow(
    oauth: &OAuth,
    parts: &Parts,
    provider: &str,
    returned_state: &str,
    now: OffsetDateTime,
    matched: &mut bool,
) -> Result<Flow, Failure> {
    let sealed =
        crate::cookies::read(&parts.headers, OAUTH_COOKIE).ok_or(Failure::StateMismatch)?;
    let flow: Flow = oauth.sealer.open(&sealed).ok_or(Failure::StateMismatch)?;
    let same_state: bool = flow
        .state
        .as_bytes()
        .ct_eq(returned_state.as_bytes())
        .into();
    if flow.provider != provider || !same_state {
        return Err(Failure::StateMismatch);
    }
    // From here on the cookie is this callback's, spent whatever happens.
    *matched = true;
    if flow.is_expired(now) {
        return Err(Failure::StateMismatch);
    }
    Ok(flow)
}

async fn complete(
    state: &AppState,
    provider: &str,
    query: Option<&str>,
    client: &tessera_core::ClientInfo,
    parts: &Parts,
    matched: &mut bool,
) -> Result<Response, Outcome> {
    let oauth = oauth_state(state)?;
    let provider = oauth
        .providers
        .get(provider)
        .ok_or(Failure::UnknownProvider)?;
    let pairs = params(query)?;
    if pairs.iter().any(|(_, v)| v.len() > MAX_PARAM_BYTES) {
        return Err(Failure::InvalidRequest.into());
    }
    let returned_state = param(&pairs, "state").filter(|s| !s.is_empty());
    let code = param(&pairs, "code").filter(|c| !c.is_empty());
    let now = state.auth.now();
    // The provider refused (consent denied): only for this browser's flow.
    if param(&pairs, "error").is_some() {
        let state_param = returned_state.ok_or(Failure::InvalidRequest)?;
        open_flow(oauth, parts, provider.name(), state_param, now, matched)?;
        return Err(Failure::AccessDenied.into());
    }
    let (Some(code), Some(returned_state)) = (code, returned_state) else {
        return Err(Failure::InvalidRequest.into());
    };
    let flow = open_flow(oauth, parts, provider.name(), returned_state, now, matched)?;
    // RFC 9207: an authorization response naming another issuer is a
    // mix-up; the code is not sent anywhere.
    if let (Some(iss), Some(expected)) = (param(&pairs, "iss"), provider.issuer())
        && iss != expected
    {
        return Err(Failure::StateMismatch.into());
    }
    let verified = state
        .auth
        .checked_with_provider(client, provider.finish(code, &flow))
        .await?
        .map_err(Failure::from)?;

    if let Some(link) = &flow.link {
        let (Ok(user), Ok(session)) = (link.user.parse(), link.session.parse()) else {
            return Err(Failure::StateMismatch.into());
        };
        let (user, session) = (UserId(user), SessionId(session));
        if !state.auth.session_is_live(user, session).await? {
            return Err(Failure::Unauthenticated.into());
        }
        state
            .auth
            .resolve_identity(&verified, Some(user), provider.link_policy(), client)
            .await?;
        state
            .metrics
            .oauth_signins
            .with_label_values(&[provider.name(), "linked"])
            .inc();
        let mut r = page(StatusCode::OK, &flow.return_to, "Linked");
        r.headers_mut()
            .append(header::SET_COOKIE, clear_flow_cookie());
        return Ok(r);
    }

    let (started, resolution) = state
        .auth
        .sign_in_with_identity(&verified, provider.link_policy(), client)
        .await?;
    state.metrics.sessions_created.inc();
    state
        .metrics
        .oauth_signins
        .with_label_values(&[provider.name(), resolution_label(resolution)])
        .inc();
    let mut r = (
        session_cookies(state, &started),
        page(StatusCode::OK, &flow.return_to, "Signed in"),
    )
        .into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, clear_flow_cookie());
    Ok(r)
}

fn resolution_label(r: tessera_core::Resolution) -> &'static str {
    match r {
        tessera_core::Resolution::Known => "known",
        tessera_core::Resolution::Linked => "linked",
        tessera_core::Resolution::Created => "created",
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentityView {
    #[schema(example = "github")]
    pub provider: String,
    /// The provider's id for the account.
    #[schema(example = "583231")]
    pub subject: String,
    pub email: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<Identity> for IdentityView {
    fn from(i: Identity) -> Self {
        Self {
            provider: i.provider,
            subject: i.subject,
            email: i.email,
            created_at: i.created_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IdentitiesResponse {
    pub identities: Vec<IdentityView>,
}

/// The caller's linked providers.
#[utoipa::path(
    get, path = "/v1/identities", tag = "oauth",
    responses(
        (status = 200, description = "Linked providers, oldest first", body = IdentitiesResponse),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_identities(
    State(state): State<AppState>,
    auth: Authenticated,
) -> Result<Json<IdentitiesResponse>, ApiError> {
    let identities = state.auth.list_identities(&auth.session).await?;
    Ok(Json(IdentitiesResponse {
        identities: identities.into_iter().map(IdentityView::from).collect(),
    }))
}

/// Unlink a provider, unless it is the last way to sign in.
#[utoipa::path(
    delete, path = "/v1/identities/{provider}", tag = "oauth",
    params(("provider" = String, Path, description = "The provider to unlink")),
    responses(
        (status = 204, description = "Unlinked"),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "CSRF or origin check failed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Not linked", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "last_sign_in_method: no password and no other provider", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Store down (Retry-After)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn unlink_identity(
    State(state): State<AppState>,
    auth: Authenticated,
    Path(provider): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.auth.unlink_identity(&auth.session, &provider).await?;
    Ok(StatusCode::NO_CONTENT)
}
