//! A browser's side of a provider sign-in through the app, the same for
//! every provider: `start` (which sets the flow cookie and sends it to the
//! provider), the provider (the GitHub double or the real OIDC provider,
//! given by the caller), the callback with the jar; then what a signed-in
//! browser sees, and the token-exchange grant.

use reqwest::{Method, Response, StatusCode};
use serde_json::Value;

use super::{Jar, TestApp};

/// The sealed flow cookie `start` sets and the callback reads.
pub const OAUTH: &str = "__Host-tessera_oauth";
/// Where the providers are configured to send the browser back: the kit's
/// route, `{REDIRECT_BASE}/{provider}/callback`.
pub const REDIRECT_BASE: &str = "http://localhost:3000/api/auth/oauth";
/// RFC 8693 token exchange, and the access-token type it takes and issues.
pub const EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// The registered redirect URI of `provider`.
pub fn redirect_uri(provider: &str) -> String {
    format!("{REDIRECT_BASE}/{provider}/callback")
}

/// `GET /v1/oauth/{provider}/start` with the jar (and `return_to`, if
/// any); absorbs the flow cookie; returns the provider URL.
pub async fn start(
    app: &TestApp,
    provider: &str,
    jar: &mut Jar,
    return_to: Option<&str>,
) -> String {
    let path = match return_to {
        Some(r) => format!(
            "/v1/oauth/{provider}/start?{}",
            serde_urlencoded::to_string([("return_to", r)]).unwrap()
        ),
        None => format!("/v1/oauth/{provider}/start"),
    };
    let r = app.browser(Method::GET, &path, jar).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::FOUND, "start answers a redirect");
    jar.absorb(r.headers());
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// `GET /v1/oauth/{provider}/callback?{query}` with the jar.
pub async fn callback(app: &TestApp, provider: &str, jar: &Jar, query: &str) -> Response {
    app.browser(
        Method::GET,
        &format!("/v1/oauth/{provider}/callback?{query}"),
        jar,
    )
    .send()
    .await
    .unwrap()
}

/// A whole sign-in: `start`, the browser at the provider (`visit` takes
/// the provider URL and returns the query it sends the browser back with),
/// the callback. The jar ends up holding what the browser would.
pub async fn sign_in(
    app: &TestApp,
    provider: &str,
    jar: &mut Jar,
    return_to: Option<&str>,
    visit: impl AsyncFnOnce(&str) -> String,
) -> Response {
    let url = start(app, provider, jar, return_to).await;
    let back = visit(&url).await;
    let r = callback(app, provider, jar, &back).await;
    jar.absorb(r.headers());
    r
}

/// The value of `name` in a URL query.
pub fn query_param(query: &str, name: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// `GET /v1/session` for a browser that must be signed in: the body.
pub async fn whoami(app: &TestApp, jar: &Jar) -> Value {
    let r = app
        .browser(Method::GET, "/v1/session", jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

/// `GET /v1/identities` with the jar: the body.
pub async fn identities(app: &TestApp, jar: &Jar) -> Value {
    app.browser(Method::GET, "/v1/identities", jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `POST /v1/token` with this form: the status and the JSON body.
pub async fn post_token(app: &TestApp, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let r = app
        .req(Method::POST, "/v1/token")
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// The token-exchange grant: `token` (of type `kind`) from `provider`.
pub async fn exchange(
    app: &TestApp,
    provider: &str,
    token: &str,
    kind: &str,
) -> (StatusCode, Value) {
    post_token(
        app,
        &[
            ("grant_type", EXCHANGE),
            ("provider", provider),
            ("subject_token", token),
            ("subject_token_type", kind),
        ],
    )
    .await
}
