//! Sign-in with external providers, done by the server: GitHub (OAuth 2.0
//! and its REST API) and any OpenID Connect issuer (discovery, `id_token`
//! checks, userinfo), through the `oauth2` and `openidconnect` crates.
//!
//! A flow is [`Provider::authorize`] (the URL to send the browser to, and
//! the [`Flow`] to seal into the `__Host-tessera_oauth` cookie), then
//! [`Provider::finish`] with the callback's code. What comes out is a
//! [`VerifiedIdentity`]; matching it to a user is the domain's
//! ([`tessera_core::Auth::resolve_identity`]).

mod github;
pub mod http;
mod oidc;
pub mod return_to;
pub mod seal;

use std::collections::BTreeMap;
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tessera_core::{LinkPolicy, VerifiedIdentity};
use time::OffsetDateTime;

pub use http::HttpClient;
pub use seal::Sealer;

/// How long a started flow may take: the cookie's Max-Age and the sealed
/// expiry.
pub const FLOW_TTL: time::Duration = time::Duration::minutes(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProviderKind {
    Github,
    Oidc,
}

/// One provider as configured (`TESSERA_OAUTH_<NAME>_*`).
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Lowercase `[a-z0-9_-]+`; the path segment and the identity's provider.
    pub name: String,
    pub kind: ProviderKind,
    pub client_id: String,
    pub client_secret: SecretString,
    /// OIDC: the issuer, discovery at `{issuer}/.well-known/openid-configuration`.
    pub issuer: Option<String>,
    /// Default: OIDC `openid email profile`, GitHub `read:user user:email`.
    pub scopes: Option<Vec<String>>,
    /// GitHub endpoint overrides (tests, GitHub Enterprise).
    pub authorize_url: Option<String>,
    pub token_url: Option<String>,
    pub api_url: Option<String>,
    pub link_verified_email: bool,
    /// `{redirect base}/{name}/callback`.
    pub redirect_uri: String,
}

/// What the oauth cookie carries from start to callback.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Flow {
    pub provider: String,
    pub state: String,
    pub pkce_verifier: String,
    /// OIDC only.
    pub nonce: Option<String>,
    pub return_to: String,
    /// Set when a signed-in user started the flow: link to them.
    pub link: Option<LinkTarget>,
    /// Unix seconds; the flow is refused after it.
    pub expires_at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkTarget {
    /// The user's id.
    pub user: String,
    /// The session that started the flow; linking needs it still live.
    pub session: String,
}

impl Flow {
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now.unix_timestamp() >= self.expires_at
    }
}

/// Why a provider step failed; each maps to one answer at the HTTP edge.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The provider could not be reached, timed out, or answered nonsense
    /// where a well-formed answer was due (502).
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The provider refused the code (replayed, expired, made up, PKCE
    /// verifier wrong) (400).
    #[error("code rejected: {0}")]
    CodeRejected(String),
    /// The `id_token` failed a check: signature, iss, aud, exp (400), or the
    /// nonce (a binding failure, 403).
    #[error("id_token invalid: {0}")]
    IdTokenInvalid(String),
    /// The `id_token` was not issued for this flow (a binding failure, 403).
    #[error("nonce mismatch")]
    NonceMismatch,
    /// A provider access token handed to the token exchange was refused.
    #[error("provider token rejected")]
    TokenRejected,
    /// The token exchange was given a kind of token this provider's tokens
    /// cannot be checked as (GitHub: access tokens; OIDC: `id_tokens`).
    #[error("wrong subject token type for this provider")]
    WrongTokenType,
    /// Configuration the provider cannot work with.
    #[error("provider misconfigured: {0}")]
    Misconfigured(String),
}

/// The configured providers, by name.
#[derive(Clone, Debug, Default)]
pub struct Providers {
    by_name: BTreeMap<String, Arc<Provider>>,
}

impl Providers {
    pub fn new(configs: Vec<ProviderConfig>, http: &HttpClient) -> Result<Self, OAuthError> {
        let mut by_name = BTreeMap::new();
        for config in configs {
            let name = config.name.clone();
            if by_name
                .insert(name.clone(), Arc::new(Provider::new(config, http.clone())?))
                .is_some()
            {
                return Err(OAuthError::Misconfigured(format!(
                    "provider {name} named twice"
                )));
            }
        }
        Ok(Self { by_name })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<Provider>> {
        self.by_name.get(name)
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

#[derive(Debug)]
pub struct Provider {
    config: ProviderConfig,
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Github(Box<github::Github>),
    Oidc(Box<oidc::Oidc>),
}

impl Provider {
    pub fn new(config: ProviderConfig, http: HttpClient) -> Result<Self, OAuthError> {
        let inner = match config.kind {
            ProviderKind::Github => Inner::Github(Box::new(github::Github::new(&config, http)?)),
            ProviderKind::Oidc => Inner::Oidc(Box::new(oidc::Oidc::new(&config, http)?)),
        };
        Ok(Self { config, inner })
    }

    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The OIDC issuer, exactly as configured.
    pub fn issuer(&self) -> Option<&str> {
        self.config.issuer.as_deref()
    }

    pub fn kind(&self) -> ProviderKind {
        self.config.kind
    }

    pub fn link_policy(&self) -> LinkPolicy {
        LinkPolicy {
            link_verified_email: self.config.link_verified_email,
        }
    }

    /// The provider's authorization URL and the flow to seal into the
    /// cookie (state, PKCE S256 verifier, OIDC nonce).
    pub async fn authorize(
        &self,
        return_to: String,
        link: Option<LinkTarget>,
        now: OffsetDateTime,
    ) -> Result<(String, Flow), OAuthError> {
        let (url, state, verifier, nonce) = match &self.inner {
            Inner::Github(g) => {
                let (url, state, verifier) = g.authorize();
                (url, state, verifier, None)
            }
            Inner::Oidc(o) => {
                let (url, state, verifier, nonce) = o.authorize().await?;
                (url, state, verifier, Some(nonce))
            }
        };
        let flow = Flow {
            provider: self.config.name.clone(),
            state,
            pkce_verifier: verifier,
            nonce,
            return_to,
            link,
            expires_at: (now + FLOW_TTL).unix_timestamp(),
        };
        Ok((url, flow))
    }

    /// Exchanges the callback's code (with the flow's PKCE verifier) and
    /// returns who the provider vouches for. The caller has checked the
    /// state against the flow already.
    pub async fn finish(&self, code: &str, flow: &Flow) -> Result<VerifiedIdentity, OAuthError> {
        let mut identity = match &self.inner {
            Inner::Github(g) => g.finish(code, &flow.pkce_verifier).await?,
            Inner::Oidc(o) => {
                let nonce = flow.nonce.as_deref().ok_or(OAuthError::NonceMismatch)?;
                o.finish(code, &flow.pkce_verifier, nonce).await?
            }
        };
        identity.provider.clone_from(&self.config.name);
        Ok(identity)
    }

    /// The token exchange bridge, GitHub: who an access token issued to
    /// this OAuth app belongs to.
    pub async fn identify_access_token(&self, token: &str) -> Result<VerifiedIdentity, OAuthError> {
        let Inner::Github(g) = &self.inner else {
            return Err(OAuthError::WrongTokenType);
        };
        let mut identity = g.identify(token).await?;
        identity.provider.clone_from(&self.config.name);
        Ok(identity)
    }

    /// The token exchange bridge, OIDC: who an `id_token` issued to this
    /// client belongs to, and when it was issued and expires (the exchange
    /// takes only a recent one, once).
    pub async fn identify_id_token(
        &self,
        token: &str,
    ) -> Result<(VerifiedIdentity, TokenTimes), OAuthError> {
        let Inner::Oidc(o) = &self.inner else {
            return Err(OAuthError::WrongTokenType);
        };
        let (mut identity, times) = o.identify_id_token(token).await?;
        identity.provider.clone_from(&self.config.name);
        Ok((identity, times))
    }
}

/// When a provider token was issued and until when it is valid, as far as
/// the token itself says (an `id_token` says both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenTimes {
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// What a failed code exchange means, for GitHub and OIDC alike.
pub(crate) fn token_request_error<RE, T>(e: oauth2::RequestTokenError<RE, T>) -> OAuthError
where
    RE: std::error::Error + 'static,
    T: oauth2::ErrorResponse + 'static,
{
    match e {
        oauth2::RequestTokenError::Request(e) => OAuthError::Unavailable(e.to_string()),
        // A refused code: an error object (GitHub sends it with status 200,
        // so it does not parse as a token either).
        oauth2::RequestTokenError::ServerResponse(e) => OAuthError::CodeRejected(e.to_string()),
        oauth2::RequestTokenError::Parse(e, _) => {
            OAuthError::CodeRejected(format!("the token endpoint returned no token: {e}"))
        }
        oauth2::RequestTokenError::Other(e) => OAuthError::Unavailable(e),
    }
}

/// A random value for state and nonce: 256 bits, base64url.
pub(crate) fn random_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::fill(&mut bytes).expect("the OS random source works");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
