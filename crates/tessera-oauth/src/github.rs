//! GitHub: OAuth 2.0 (PKCE S256 sent, no nonce: it is not OIDC) and its
//! REST API for who the token belongs to (`/user`, `/user/emails`).

use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet, EndpointSet,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, TokenUrl,
};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tessera_core::VerifiedIdentity;

use crate::http::HttpClient;
use crate::{OAuthError, ProviderConfig};

const AUTHORIZE_URL: &str = "https://github.com/login/oauth/authorize";
const TOKEN_URL: &str = "https://github.com/login/oauth/access_token";
const API_URL: &str = "https://api.github.com";
const SCOPES: [&str; 2] = ["read:user", "user:email"];

type Client = BasicClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

pub(crate) struct Github {
    client: Client,
    client_id: String,
    client_secret: secrecy::SecretString,
    api: String,
    scopes: Vec<String>,
    http: HttpClient,
}

impl std::fmt::Debug for Github {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Github")
            .field("api", &self.api)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct GithubUser {
    id: u64,
    name: Option<String>,
}

#[derive(Deserialize)]
struct GithubEmail {
    email: String,
    primary: bool,
    verified: bool,
}

fn url<T>(
    make: fn(String) -> Result<T, url::ParseError>,
    value: &str,
    what: &str,
) -> Result<T, OAuthError> {
    make(value.to_owned()).map_err(|e| OAuthError::Misconfigured(format!("{what}: {e}")))
}

impl Github {
    pub(crate) fn new(config: &ProviderConfig, http: HttpClient) -> Result<Self, OAuthError> {
        let client = BasicClient::new(ClientId::new(config.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                config.client_secret.expose_secret().to_owned(),
            ))
            .set_auth_uri(url(
                AuthUrl::new,
                config.authorize_url.as_deref().unwrap_or(AUTHORIZE_URL),
                "authorize URL",
            )?)
            .set_token_uri(url(
                TokenUrl::new,
                config.token_url.as_deref().unwrap_or(TOKEN_URL),
                "token URL",
            )?)
            .set_redirect_uri(url(RedirectUrl::new, &config.redirect_uri, "redirect URI")?);
        Ok(Self {
            client,
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            api: config
                .api_url
                .as_deref()
                .unwrap_or(API_URL)
                .trim_end_matches('/')
                .to_owned(),
            scopes: config
                .scopes
                .clone()
                .unwrap_or_else(|| SCOPES.iter().map(|s| (*s).to_owned()).collect()),
            http,
        })
    }

    /// (URL, state, PKCE verifier).
    pub(crate) fn authorize(&self) -> (String, String, String) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state) = self
            .client
            .authorize_url(|| CsrfToken::new(crate::random_token()))
            .add_scopes(self.scopes.iter().cloned().map(Scope::new))
            .set_pkce_challenge(challenge)
            .url();
        (
            url.to_string(),
            state.secret().clone(),
            verifier.secret().clone(),
        )
    }

    pub(crate) async fn finish(
        &self,
        code: &str,
        verifier: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(crate::token_request_error)?;
        self.identify_user(token.access_token().secret())
            .await
            .map_err(|e| match e {
                OAuthError::TokenRejected => {
                    OAuthError::Unavailable("GitHub refused the token it just issued".into())
                }
                other => other,
            })
    }

    /// The token exchange: a token handed in from outside must have been
    /// issued to this OAuth app (GitHub's "check a token" endpoint, with the
    /// app's own credentials), or a token the user gave any other GitHub
    /// app could be traded for their Tessera account. Then who it is.
    pub(crate) async fn identify(&self, token: &str) -> Result<VerifiedIdentity, OAuthError> {
        let body = serde_json::to_vec(&serde_json::json!({ "access_token": token }))
            .map_err(|e| OAuthError::Misconfigured(e.to_string()))?;
        let credentials = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{}:{}", self.client_id, self.client_secret.expose_secret()),
        );
        let request = api_request(http::Request::post(format!(
            "{}/applications/{}/token",
            self.api, self.client_id
        )))
        .header(http::header::CONTENT_TYPE, "application/json")
        .header(http::header::AUTHORIZATION, format!("Basic {credentials}"))
        .body(body);
        let response = self.send(request).await?;
        match response.status().as_u16() {
            200 => {}
            404 | 422 => return Err(OAuthError::TokenRejected),
            401 | 403 => {
                return Err(OAuthError::Misconfigured(
                    "GitHub refused the app's client credentials".into(),
                ));
            }
            other => {
                return Err(OAuthError::Unavailable(format!(
                    "GitHub token check answered {other}"
                )));
            }
        }
        self.identify_user(token).await
    }

    /// Who a GitHub access token belongs to. The email is the one
    /// `/user/emails` marks primary and verified, or none.
    async fn identify_user(&self, token: &str) -> Result<VerifiedIdentity, OAuthError> {
        let user: GithubUser = self.get(token, "/user").await?;
        let emails: Vec<GithubEmail> = self.get(token, "/user/emails").await?;
        let email = emails
            .into_iter()
            .find(|e| e.primary && e.verified)
            .map(|e| e.email);
        Ok(VerifiedIdentity {
            provider: String::new(),
            subject: user.id.to_string(),
            email_verified: email.is_some(),
            email,
            name: user.name,
        })
    }

    /// Sends a request built with [`api_request`]; a request that cannot be
    /// built is a configuration error, one that cannot be sent means GitHub
    /// is unavailable.
    async fn send(
        &self,
        request: Result<http::Request<Vec<u8>>, http::Error>,
    ) -> Result<http::Response<Vec<u8>>, OAuthError> {
        let request = request.map_err(|e| OAuthError::Misconfigured(e.to_string()))?;
        self.http
            .send(request)
            .await
            .map_err(|e| OAuthError::Unavailable(e.to_string()))
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        path: &str,
    ) -> Result<T, OAuthError> {
        let authorization = http::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| OAuthError::TokenRejected)?;
        let request = api_request(http::Request::get(format!("{}{path}", self.api)))
            .header(http::header::AUTHORIZATION, authorization)
            .body(Vec::new());
        let response = self.send(request).await?;
        match response.status().as_u16() {
            200 => serde_json::from_slice(response.body()).map_err(|e| {
                OAuthError::Unavailable(format!("GitHub {path} answered unexpected JSON: {e}"))
            }),
            401 | 403 | 404 => Err(OAuthError::TokenRejected),
            other => Err(OAuthError::Unavailable(format!(
                "GitHub {path} answered {other}"
            ))),
        }
    }
}

/// A request to GitHub's REST API, with the headers every call sends.
fn api_request(builder: http::request::Builder) -> http::request::Builder {
    builder
        .header(http::header::ACCEPT, "application/vnd.github+json")
        .header("X-GitHub-Api-Version", "2022-11-28")
}
