//! Any OpenID Connect provider: discovery, the code flow with PKCE S256
//! and a nonce, the `id_token` checked (signature by the issuer's JWKS, iss,
//! aud, exp, nonce), then userinfo.

use std::sync::Arc;
use std::time::{Duration, Instant};

use oauth2::TokenResponse as _;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreProviderMetadata,
    CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, Scope, TokenResponse, UserInfoError,
};
use secrecy::ExposeSecret;
use tessera_core::VerifiedIdentity;
use tokio::sync::Mutex;

use crate::http::{HttpClient, HttpError};
use crate::{OAuthError, ProviderConfig};

/// Discovery (and the JWKS it fetches) is reused this long, so a key the
/// provider rotates in is picked up within this time.
const METADATA_TTL: Duration = Duration::from_mins(5);
const SCOPES: [&str; 3] = ["openid", "email", "profile"];

type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

pub(crate) struct Oidc {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    scopes: Vec<String>,
    http: HttpClient,
    cached: Mutex<Option<(Instant, Arc<Client>)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("issuer", &self.issuer.as_str())
            .finish_non_exhaustive()
    }
}

impl Oidc {
    pub(crate) fn new(config: &ProviderConfig, http: HttpClient) -> Result<Self, OAuthError> {
        let issuer = config.issuer.as_deref().ok_or_else(|| {
            OAuthError::Misconfigured(format!("{}: ISSUER is required", config.name))
        })?;
        Ok(Self {
            issuer: IssuerUrl::new(issuer.to_owned())
                .map_err(|e| OAuthError::Misconfigured(format!("issuer: {e}")))?,
            client_id: ClientId::new(config.client_id.clone()),
            client_secret: ClientSecret::new(config.client_secret.expose_secret().to_owned()),
            redirect: RedirectUrl::new(config.redirect_uri.clone())
                .map_err(|e| OAuthError::Misconfigured(format!("redirect URI: {e}")))?,
            scopes: config
                .scopes
                .clone()
                .unwrap_or_else(|| SCOPES.iter().map(|s| (*s).to_owned()).collect()),
            http,
            cached: Mutex::new(None),
        })
    }

    /// The client built from discovery, fetched at most every
    /// [`METADATA_TTL`]. A provider that is down fails this flow only.
    async fn client(&self) -> Result<Arc<Client>, OAuthError> {
        let mut cached = self.cached.lock().await;
        if let Some((at, client)) = cached.as_ref()
            && at.elapsed() < METADATA_TTL
        {
            return Ok(client.clone());
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|e| match e {
                DiscoveryError::Request(e) => OAuthError::Unavailable(e.to_string()),
                other => OAuthError::Unavailable(format!("discovery failed: {other}")),
            })?;
        // The secret goes to the token endpoint and tokens to userinfo: no
        // plain http from discovery either (loopback aside, for tests).
        let endpoints = [
            metadata.token_endpoint().map(oauth2::TokenUrl::url),
            metadata
                .userinfo_endpoint()
                .map(openidconnect::UserInfoUrl::url),
            Some(metadata.jwks_uri().url()),
        ];
        if let Some(bad) = endpoints.into_iter().flatten().find(|u| !secure(u)) {
            return Err(OAuthError::Misconfigured(format!(
                "discovery names a plain-http endpoint: {bad}"
            )));
        }
        let client = Arc::new(
            CoreClient::from_provider_metadata(
                metadata,
                self.client_id.clone(),
                Some(self.client_secret.clone()),
            )
            .set_redirect_uri(self.redirect.clone()),
        );
        *cached = Some((Instant::now(), client.clone()));
        Ok(client)
    }

    /// (URL, state, PKCE verifier, nonce).
    pub(crate) async fn authorize(&self) -> Result<(String, String, String, String), OAuthError> {
        let client = self.client().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            || CsrfToken::new(crate::random_token()),
            || Nonce::new(crate::random_token()),
        );
        for scope in self.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok((
            url.to_string(),
            state.secret().clone(),
            verifier.secret().clone(),
            nonce.secret().clone(),
        ))
    }

    pub(crate) async fn finish(
        &self,
        code: &str,
        verifier: &str,
        nonce: &str,
    ) -> Result<VerifiedIdentity, OAuthError> {
        let client = self.client().await?;
        let token = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| OAuthError::Misconfigured(e.to_string()))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()))
            .request_async(&self.http)
            .await
            .map_err(crate::token_request_error)?;
        let id_token = token.id_token().ok_or_else(|| {
            OAuthError::IdTokenInvalid("no id_token in the token response".into())
        })?;
        let claims = id_token
            .claims(&client.id_token_verifier(), &Nonce::new(nonce.to_owned()))
            .map_err(|e| match e {
                ClaimsVerificationError::InvalidNonce(_) => OAuthError::NonceMismatch,
                other => OAuthError::IdTokenInvalid(other.to_string()),
            })?;
        let mut identity = identity_from(claims);
        // Userinfo, when the provider has it, for the freshest claims; it
        // must be about the same subject.
        if let Ok(request) =
            client.user_info(token.access_token().clone(), Some(claims.subject().clone()))
        {
            let info: CoreUserInfoClaims = request
                .request_async(&self.http)
                .await
                .map_err(userinfo_error)?;
            merge(&mut identity, &info);
        }
        Ok(identity)
    }

    /// The token exchange: an `id_token` this provider issued to *this*
    /// client (signature, `iss`, `aud`, `exp`; there is no flow, so no
    /// nonce to compare). An access token would not do: userinfo answers
    /// for tokens issued to any client of the provider.
    pub(crate) async fn identify_id_token(
        &self,
        token: &str,
    ) -> Result<(VerifiedIdentity, crate::TokenTimes), OAuthError> {
        let client = self.client().await?;
        let id_token: CoreIdToken = token.parse().map_err(|_| OAuthError::TokenRejected)?;
        let claims = id_token
            .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
            .map_err(|e| {
                tracing::info!(error = %e, "token exchange: id_token refused");
                OAuthError::TokenRejected
            })?;
        let at = |t: chrono::DateTime<chrono::Utc>| {
            time::OffsetDateTime::from_unix_timestamp(t.timestamp())
                .map_err(|_| OAuthError::TokenRejected)
        };
        let times = crate::TokenTimes {
            issued_at: at(claims.issue_time())?,
            expires_at: at(claims.expiration())?,
        };
        Ok((identity_from(claims), times))
    }
}

/// https, or http to a loopback host.
fn secure(url: &url::Url) -> bool {
    match url.scheme() {
        "https" => true,
        "http" => match url.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        },
        _ => false,
    }
}

/// Who a checked `id_token` names (the provider's name is filled in by the
/// caller).
fn identity_from(claims: &CoreIdTokenClaims) -> VerifiedIdentity {
    VerifiedIdentity {
        provider: String::new(),
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified().unwrap_or(false),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
    }
}

fn merge(identity: &mut VerifiedIdentity, info: &CoreUserInfoClaims) {
    if let Some(email) = info.email() {
        identity.email = Some(email.as_str().to_owned());
        identity.email_verified = info.email_verified().unwrap_or(false);
    }
    if let Some(name) = info.name().and_then(|n| n.get(None)) {
        identity.name = Some(name.as_str().to_owned());
    }
}

fn userinfo_error(e: UserInfoError<HttpError>) -> OAuthError {
    match e {
        UserInfoError::Response(status, _, _) => {
            OAuthError::Unavailable(format!("userinfo answered {}", status.as_u16()))
        }
        UserInfoError::ClaimsVerification(ClaimsVerificationError::InvalidSubject(_)) => {
            OAuthError::IdTokenInvalid("userinfo is about another subject".into())
        }
        other => OAuthError::Unavailable(format!("userinfo failed: {other}")),
    }
}
