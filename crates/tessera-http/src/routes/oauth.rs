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
use serde::Serialize;
use subtle::ConstantTimeEq;
use tessera_core::{Identity, SessionId, UserId};
use tessera_oauth::{Flow, LinkTarget, Providers, Sealer, return_to};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::account::session_cookies;
use crate::extract::{Authenticated, Client, authenticate};
use crate::problem::{ApiError, OAuthFailure, Problem};
use crate::{AppState, cookies, html};

/// Where a provider sign-in that needs a second factor sends the browser
/// (the kit's code form), with `next` = the flow's `return_to`.
const MFA_PAGE: &str = "/login/mfa";

/// Longest sealed flow; browsers keep cookies up to about 4 KiB.
const MAX_SEALED_BYTES: usize = 3800;

/// Longest `code` or `state` taken from a provider's redirect.
const MAX_PARAM_BYTES: usize = 2048;

/// The providers and the key that seals the flow cookie.
#[derive(Debug)]
pub struct OAuth {
    pub providers: Providers,
    pub sealer: Sealer,
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
    error: ApiError,
    clear: bool,
) -> Response {
    // The page names what failed; a refusal by the rules (account exists,
    // disabled, rate limited, …) is a refused sign-in.
    let message = match &error {
        ApiError::OAuth(f) => f.title(),
        _ => "Sign-in refused",
    };
    let (problem, code) = error.into_coded_response();
    let mut response = if wants_json(headers) {
        problem
    } else {
        html::bounce_page(problem.status(), &format!("/login?error={code}"), message)
    };
    state
        .metrics
        .oauth_failures
        .with_label_values(&[code])
        .inc();
    if clear {
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::oauth_flow_cleared());
    }
    response
}

/// Most query parameters a start or callback takes; a provider sends a
/// handful. More is a malformed request, refused before any decoding.
pub const MAX_QUERY_PARAMS: usize = 64;

/// The query's parameters; too many, a repeated one or an undecodable one
/// is a bad request. Linear in the query's length.
fn params(raw: Option<&str>) -> Result<Vec<(String, String)>, OAuthFailure> {
    let raw = raw.unwrap_or("");
    if raw.split('&').count() > MAX_QUERY_PARAMS {
        return Err(OAuthFailure::InvalidRequest);
    }
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(raw).map_err(|_| OAuthFailure::InvalidRequest)?;
    let mut names = std::collections::HashSet::with_capacity(pairs.len());
    if !pairs.iter().all(|(name, _)| names.insert(name.as_str())) {
        return Err(OAuthFailure::InvalidRequest);
    }
    Ok(pairs)
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn oauth_state(state: &AppState) -> Result<&OAuth, OAuthFailure> {
    state.oauth.as_ref().ok_or(OAuthFailure::UnknownProvider)
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
        Err(error) => failure_response(&state, &parts.headers, error, false),
    }
}

async fn begin(
    state: &AppState,
    provider: &str,
    query: Option<&str>,
    parts: &Parts,
) -> Result<Response, ApiError> {
    let oauth = oauth_state(state)?;
    let provider = oauth
        .providers
        .get(provider)
        .ok_or(OAuthFailure::UnknownProvider)?;
    let pairs = params(query)?;
    let return_to = return_to::sanitize(param(&pairs, "return_to"))
        .map_err(|_| OAuthFailure::InvalidRequest)?;
    // A signed-in start links; anything but a session's own answer (e.g.
    // a store failure) is a malformed start.
    let link = authenticate(parts, state)
        .await
        .map_err(|e| match e {
            ApiError::Auth(_) => e,
            _ => OAuthFailure::InvalidRequest.into(),
        })?
        .map(|a| LinkTarget {
            user: a.session.user.id.to_string(),
            session: a.session.id.to_string(),
        });
    let now = state.auth.now();
    let (url, flow) = provider
        .authorize(return_to, link, now)
        .await
        .map_err(OAuthFailure::from)?;
    let location = HeaderValue::from_str(&url).map_err(|_| OAuthFailure::ProviderUnavailable)?;
    state
        .metrics
        .oauth_started
        .with_label_values(&[provider.name()])
        .inc();
    let sealed = oauth.sealer.seal(&flow);
    if sealed.len() > MAX_SEALED_BYTES {
        // The browser would drop a cookie this big and the callback fail.
        return Err(OAuthFailure::InvalidRequest.into());
    }
    let cookie = cookies::oauth_flow(sealed, tessera_oauth::FLOW_TTL);
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
        Err(error) => failure_response(&state, &parts.headers, error, matched),
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
) -> Result<Flow, OAuthFailure> {
    let sealed =
        cookies::read(&parts.headers, cookies::OAUTH_COOKIE).ok_or(OAuthFailure::StateMismatch)?;
    let flow: Flow = oauth
        .sealer
        .open(&sealed)
        .ok_or(OAuthFailure::StateMismatch)?;
    let same_state: bool = flow
        .state
        .as_bytes()
        .ct_eq(returned_state.as_bytes())
        .into();
    if flow.provider != provider || !same_state {
        return Err(OAuthFailure::StateMismatch);
    }
    // From here on the cookie is this callback's, spent whatever happens.
    *matched = true;
    if flow.is_expired(now) {
        return Err(OAuthFailure::StateMismatch);
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
) -> Result<Response, ApiError> {
    let oauth = oauth_state(state)?;
    let provider = oauth
        .providers
        .get(provider)
        .ok_or(OAuthFailure::UnknownProvider)?;
    let pairs = params(query)?;
    if pairs.iter().any(|(_, v)| v.len() > MAX_PARAM_BYTES) {
        return Err(OAuthFailure::InvalidRequest.into());
    }
    let returned_state = param(&pairs, "state").filter(|s| !s.is_empty());
    let code = param(&pairs, "code").filter(|c| !c.is_empty());
    let now = state.auth.now();
    // The provider refused (consent denied): only for this browser's flow.
    if param(&pairs, "error").is_some() {
        let state_param = returned_state.ok_or(OAuthFailure::InvalidRequest)?;
        open_flow(oauth, parts, provider.name(), state_param, now, matched)?;
        return Err(OAuthFailure::AccessDenied.into());
    }
    let (Some(code), Some(returned_state)) = (code, returned_state) else {
        return Err(OAuthFailure::InvalidRequest.into());
    };
    let flow = open_flow(oauth, parts, provider.name(), returned_state, now, matched)?;
    // RFC 9207: an authorization response naming another issuer is a
    // mix-up; the code is not sent anywhere.
    if let (Some(iss), Some(expected)) = (param(&pairs, "iss"), provider.issuer())
        && iss != expected
    {
        return Err(OAuthFailure::StateMismatch.into());
    }
    let verified = state
        .auth
        .checked_with_provider(client, provider.finish(code, &flow))
        .await?
        .map_err(OAuthFailure::from)?;

    if let Some(link) = &flow.link {
        let (Ok(user), Ok(session)) = (link.user.parse(), link.session.parse()) else {
            return Err(OAuthFailure::StateMismatch.into());
        };
        let (user, session) = (UserId(user), SessionId(session));
        if !state.auth.session_is_live(user, session).await? {
            return Err(OAuthFailure::Unauthenticated.into());
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
        let mut r = html::bounce_page(StatusCode::OK, &flow.return_to, "Linked");
        r.headers_mut()
            .append(header::SET_COOKIE, cookies::oauth_flow_cleared());
        return Ok(r);
    }

    let (started, resolution) = match state
        .auth
        .sign_in_with_identity(&verified, provider.link_policy(), client)
        .await
    {
        Ok(signed_in) => signed_in,
        // A second factor is on: the browser goes on to the app's code
        // form with the challenge in its cookie, and no session yet.
        Err(tessera_core::AuthError::MfaRequired(challenge)) => {
            let next = serde_urlencoded::to_string([("next", flow.return_to.as_str())])
                .unwrap_or_default();
            let mut r = html::bounce_page(
                StatusCode::OK,
                &format!("{MFA_PAGE}?{next}"),
                "Second factor required",
            );
            let h = r.headers_mut();
            h.append(header::SET_COOKIE, cookies::mfa(challenge.expose()));
            h.append(header::SET_COOKIE, cookies::oauth_flow_cleared());
            return Ok(r);
        }
        Err(e) => return Err(e.into()),
    };
    state.metrics.sessions_created.inc();
    state
        .metrics
        .oauth_signins
        .with_label_values(&[provider.name(), resolution_label(resolution)])
        .inc();
    let mut r = (
        session_cookies(state, &started),
        html::bounce_page(StatusCode::OK, &flow.return_to, "Signed in"),
    )
        .into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, cookies::oauth_flow_cleared());
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
