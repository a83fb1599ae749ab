//! TEST DOUBLE for GitHub, which cannot be reached from here: a small local
//! stand-in for the parts of GitHub's documented OAuth app behaviour that
//! Tessera uses (docs.github.com, "Authorizing OAuth apps" and the REST API
//! `GET /user`, `GET /user/emails`):
//!
//! - `GET /login/oauth/authorize` redirects to `redirect_uri` with `code`
//!   and `state` (the user "approves" at once, as the configured user);
//!   `?deny` behaviour is `error=access_denied`.
//! - `POST /login/oauth/access_token` answers JSON when asked with
//!   `Accept: application/json`; a bad, reused or expired code, or a PKCE
//!   verifier that does not match, is HTTP 200 with
//!   `{"error": "bad_verification_code"}`, as GitHub does.
//! - `GET /user` and `GET /user/emails` with `Authorization: Bearer`; an
//!   unknown token is 401 `{"message": "Bad credentials"}`.
//! - `POST /applications/{client_id}/token` ("check a token", Basic auth
//!   with the app's id and secret, `{"access_token": …}`): 200 with the
//!   token's user when it was issued to that app, else 404.
//!
//! Never used outside tests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

pub const CLIENT_ID: &str = "gh-test-client";
pub const CLIENT_SECRET: &str = "gh-test-secret";

/// A GitHub account as the double serves it.
#[derive(Clone, Debug)]
pub struct GithubUser {
    pub id: u64,
    pub login: String,
    pub name: Option<String>,
    /// `(email, primary, verified)`.
    pub emails: Vec<(String, bool, bool)>,
}

impl GithubUser {
    pub fn new(id: u64, email: &str) -> Self {
        Self {
            id,
            login: format!("user{id}"),
            name: Some(format!("User {id}")),
            emails: vec![(email.to_owned(), true, true)],
        }
    }
}

#[derive(Default)]
struct Inner {
    /// Who approves the next authorization.
    current: Option<GithubUser>,
    deny: bool,
    /// code -> (user, PKCE challenge, `redirect_uri`, spent)
    codes: HashMap<String, (GithubUser, String, String, bool)>,
    /// access token -> (user, issued to our test app)
    tokens: HashMap<String, (GithubUser, bool)>,
    counter: u64,
    /// Every token request's form, for tests that check what was sent.
    token_requests: Vec<HashMap<String, String>>,
}

#[derive(Clone)]
pub struct GithubDouble {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl GithubDouble {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/api/user", get(user))
            .route("/api/user/emails", get(emails))
            .route("/api/applications/{client_id}/token", post(check_token))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { inner, base }
    }

    /// The user who approves the next authorizations.
    pub fn sign_in_as(&self, user: GithubUser) {
        let mut i = self.inner.lock().unwrap();
        i.current = Some(user);
        i.deny = false;
    }

    pub fn deny_next(&self) {
        self.inner.lock().unwrap().deny = true;
    }

    /// A valid access token for `user`, as if issued to another app (the
    /// Auth.js bridge case).
    pub fn issue_token(&self, user: GithubUser) -> String {
        let mut i = self.inner.lock().unwrap();
        i.counter += 1;
        let token = format!(
            "gho_test{}{}",
            i.counter,
            tessera_core::SessionId::new().0.simple()
        );
        i.tokens.insert(token.clone(), (user, true));
        token
    }

    /// A valid token for `user` that another GitHub app obtained.
    pub fn issue_foreign_token(&self, user: GithubUser) -> String {
        let token = self.issue_token(user);
        self.inner.lock().unwrap().tokens.get_mut(&token).unwrap().1 = false;
        token
    }

    /// Every access token the double has issued or been told of.
    pub fn all_tokens(&self) -> Vec<String> {
        self.inner.lock().unwrap().tokens.keys().cloned().collect()
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }

    /// `TESSERA_OAUTH_GITHUB_*` endpoint overrides pointing here.
    pub fn configure(&self, config: &mut tessera::Config, redirect_base: &str) {
        config.oauth_providers.push(tessera_oauth::ProviderConfig {
            name: "github".into(),
            kind: tessera_oauth::ProviderKind::Github,
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.to_owned().into(),
            issuer: None,
            scopes: None,
            authorize_url: Some(format!("{}/login/oauth/authorize", self.base)),
            token_url: Some(format!("{}/login/oauth/access_token", self.base)),
            api_url: Some(format!("{}/api", self.base)),
            link_verified_email: false,
            redirect_uri: format!("{redirect_base}/github/callback"),
        });
    }
}

async fn authorize(
    State(inner): State<Arc<Mutex<Inner>>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let mut i = inner.lock().unwrap();
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return (StatusCode::NOT_FOUND, "unknown client").into_response();
    }
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    let state = q.get("state").cloned().unwrap_or_default();
    let sep = if redirect.contains('?') { '&' } else { '?' };
    if i.deny {
        i.deny = false;
        return Redirect::to(&format!(
            "{redirect}{sep}error=access_denied&error_description=The+user+has+denied+your+application+access.&state={state}"
        ))
        .into_response();
    }
    assert_eq!(
        q.get("code_challenge_method").map(String::as_str),
        Some("S256"),
        "Tessera always sends PKCE S256"
    );
    let challenge = q.get("code_challenge").cloned().unwrap_or_default();
    let user = i.current.clone().expect("sign_in_as before authorizing");
    i.counter += 1;
    let code = format!(
        "ghcode{}{}",
        i.counter,
        tessera_core::SessionId::new().0.simple()
    );
    i.codes
        .insert(code.clone(), (user, challenge, redirect.clone(), false));
    Redirect::to(&format!("{redirect}{sep}code={code}&state={state}")).into_response()
}

fn basic_client(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(v.strip_prefix("Basic ")?)
        .ok()?;
    let (id, secret) = std::str::from_utf8(&raw).ok()?.split_once(':')?.to_owned();
    Some((id.to_owned(), secret.to_owned()))
}

async fn access_token(
    State(inner): State<Arc<Mutex<Inner>>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut i = inner.lock().unwrap();
    i.token_requests.push(form.clone());
    let client = basic_client(&headers).or_else(|| {
        Some((
            form.get("client_id")?.clone(),
            form.get("client_secret")?.clone(),
        ))
    });
    if client != Some((CLIENT_ID.into(), CLIENT_SECRET.into())) {
        return Json(json!({"error": "incorrect_client_credentials"})).into_response();
    }
    let bad = || {
        Json(json!({
            "error": "bad_verification_code",
            "error_description": "The code passed is incorrect or expired."
        }))
        .into_response()
    };
    let code = form.get("code").cloned().unwrap_or_default();
    let Some((user, challenge, redirect, spent)) = i.codes.get_mut(&code) else {
        return bad();
    };
    if *spent || form.get("redirect_uri") != Some(redirect) {
        return bad();
    }
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    if computed != *challenge {
        return bad();
    }
    *spent = true;
    let user = user.clone();
    i.counter += 1;
    let token = format!(
        "gho_issued{}{}",
        i.counter,
        tessera_core::SessionId::new().0.simple()
    );
    i.tokens.insert(token.clone(), (user, true));
    Json(json!({"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

fn bearer_user(inner: &Mutex<Inner>, headers: &HeaderMap) -> Option<GithubUser> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = v
        .strip_prefix("Bearer ")
        .or_else(|| v.strip_prefix("token "))?;
    inner
        .lock()
        .unwrap()
        .tokens
        .get(token)
        .map(|(u, _)| u.clone())
}

async fn check_token(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if basic_client(&headers) != Some((CLIENT_ID.into(), CLIENT_SECRET.into()))
        || client_id != CLIENT_ID
    {
        return bad_credentials();
    }
    let token = body["access_token"].as_str().unwrap_or_default();
    match inner.lock().unwrap().tokens.get(token) {
        Some((u, true)) => {
            Json(json!({"token": token, "user": {"id": u.id, "login": u.login}})).into_response()
        }
        _ => (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found"}))).into_response(),
    }
}

fn bad_credentials() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})),
    )
        .into_response()
}

async fn user(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let Some(u) = bearer_user(&inner, &headers) else {
        return bad_credentials();
    };
    let public_email: Value = u
        .emails
        .iter()
        .find(|e| e.1)
        .map_or(Value::Null, |e| json!(e.0));
    Json(json!({"id": u.id, "login": u.login, "name": u.name, "email": public_email}))
        .into_response()
}

async fn emails(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap) -> Response {
    let Some(u) = bearer_user(&inner, &headers) else {
        return bad_credentials();
    };
    let list: Vec<Value> = u
        .emails
        .iter()
        .map(|(email, primary, verified)| {
            json!({"email": email, "primary": primary, "verified": verified, "visibility": null})
        })
        .collect();
    Json(Value::Array(list)).into_response()
}
