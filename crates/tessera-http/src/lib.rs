//! The HTTP edge of Tessera.
//!
//! Handlers translate HTTP into calls on [`tessera_core::Auth`] and errors
//! into problem+json ([`problem`]; the token endpoint answers RFC 6749
//! errors instead, and a failed provider sign-in in a browser an HTML page
//! from [`html`]). Everything a browser could abuse is checked before a
//! handler runs: the BFF key and the request origin ([`guard`]), the CSRF
//! token ([`extract`]), the body ([`json`]).
//!
//! [`routes::router`] lists every route; [`router`] adds the metrics layer
//! to them, and [`finish`] wraps the whole in the shared layers (timeout,
//! panics, security headers, body limit, the gate). [`app`] is the two in
//! one.

pub mod cookies;
pub mod extract;
pub mod guard;
pub mod html;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod routes;
mod serve;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use secrecy::SecretString;
use tessera_core::tokens::Tokens;
use tessera_core::{Auth, CsrfKey};
use tower::util::MapResponseLayer;
use tower::{Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use metrics::Metrics;
pub use serve::{ConnLimits, serve};

#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Origins allowed on unsafe requests, e.g. `http://localhost:3000`.
    pub public_origins: Vec<String>,
    /// When set, every `/v1/*` request must carry it in `Tessera-Bff-Key`.
    pub bff_key: Option<SecretString>,
    /// When set, a server-to-server caller presenting it in
    /// `Tessera-Admin-Key` (and no BFF key) may use `/v1/admin/*`.
    pub admin_key: Option<SecretString>,
    pub request_timeout: Duration,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            public_origins: vec!["http://localhost:3000".into()],
            bff_key: None,
            admin_key: None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
pub struct Inner {
    pub auth: Auth,
    pub tokens: Arc<Tokens>,
    pub csrf: CsrfKey,
    pub config: HttpConfig,
    pub metrics: Metrics,
    /// Provider sign-in; `None` when no provider is configured.
    pub oauth: Option<routes::oauth::OAuth>,
}

impl AppState {
    pub fn new(
        auth: Auth,
        tokens: Arc<Tokens>,
        csrf: CsrfKey,
        mut config: HttpConfig,
        metrics: Metrics,
    ) -> Self {
        config.public_origins = config
            .public_origins
            .iter()
            .map(|o| guard::normalize_origin(o))
            .collect();
        Self(Arc::new(Inner {
            auth,
            tokens,
            csrf,
            config,
            metrics,
            oauth: None,
        }))
    }

    /// Adds provider sign-in. Call before the state is shared.
    ///
    /// # Panics
    /// If the state was cloned already.
    #[must_use]
    pub fn with_oauth(mut self, oauth: routes::oauth::OAuth) -> Self {
        Arc::get_mut(&mut self.0)
            .expect("with_oauth is called before the state is shared")
            .oauth = Some(oauth);
        self
    }
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// The v1 API and the operational endpoints, without the shared layers.
pub fn router(state: &AppState) -> Router<AppState> {
    routes::router().route_layer(metrics::TrackLayer(state.clone()))
}

/// The whole app as one service, what [`finish`] and [`app`] return: what
/// hyper (through `TowerToHyperService`) and tower's `oneshot` need.
pub trait AppService:
    Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send + 'static,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<T> AppService for T where
    T: Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send + 'static,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// Adds the fallbacks and the layers every response goes through. Call once,
/// after every module has merged its routes.
///
/// The layers wrap the finished router as one service rather than going
/// through `Router::layer`, which wraps every route in each layer and boxes
/// it anew, so a request cloned that nest of boxes. Nor is the result put
/// back in a `Router`: one more router level cost every request a clone, a
/// boxed future and a route lookup. Both are speed-ups, measured in
/// docs/performance.md.
pub fn finish(routes: Router<AppState>, state: AppState) -> impl AppService {
    let timeout = state.config.request_timeout;
    let handlers = routes
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state.clone());
    // The per-request span and its events are at DEBUG: below that level
    // the layer would only cost (docs/performance.md); 5xx answers are
    // logged by the metrics layer at every level. Read once,
    // here: install the tracing subscriber before building the app.
    let trace =
        (tracing::level_filters::LevelFilter::current() >= tracing::Level::DEBUG).then(|| {
            ServiceBuilder::new()
                .map_response(IntoResponse::into_response)
                .layer(TraceLayer::new_for_http().make_span_with(request_span))
        });
    // The panic answer is inside the security headers, so it carries them too.
    ServiceBuilder::new()
        .option_layer(trace)
        .map_response(IntoResponse::into_response)
        .layer(MapResponseLayer::new(security_headers))
        .layer(CatchPanicLayer::custom(routes::panicked))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(guard::GateLayer(state))
        .layer(DefaultBodyLimit::max(json::BODY_LIMIT))
        .service(handlers)
}

/// What every response carries, in one layer rather than three
/// `SetResponseHeader` layers (docs/performance.md).
fn security_headers<B>(mut response: axum::http::Response<B>) -> axum::http::Response<B> {
    let headers = response.headers_mut();
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers
        .entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// The request span: method and path only. Query strings stay out of the
/// logs: the OAuth callback's carries the provider's code and state.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    tracing::debug_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        version = ?request.version(),
    )
}

/// The whole app: [`router`] then [`finish`].
pub fn app(state: AppState) -> impl AppService {
    finish(router(&state), state)
}
