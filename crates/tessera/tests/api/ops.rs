//! Health, readiness, metrics, OpenAPI, failing closed, the cost of the
//! whoami hot path, and sign-ins that race a disable or a password change.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::*;
use async_trait::async_trait;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tessera_core::session::{Session, SessionId, SessionPolicy};
use tessera_core::store::{
    LiveFamily, LiveSpend, RefreshFamily, RefreshRecord, RefreshStore, SessionStore, Spend,
    StoreError,
};
use tessera_core::token::TokenHash;
use tessera_core::user::{User, UserId};
use tessera_core::{Auth, AuthSettings, AuthStores, ManualClock, PasswordHasher, SessionToken};
use time::{Duration, OffsetDateTime};

#[tokio::test]
async fn health_and_readiness() {
    let app = spawn().await;
    let r = app.req(Method::GET, "/healthz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ok");
    let r = app.req(Method::GET, "/readyz").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ready");
}

#[tokio::test]
async fn a_dead_store_is_503_never_signed_out() {
    let app = spawn().await;
    let (jar, _) = app.register(&unique("closed")).await;
    app.server.stores.database.close().await;

    let r = app.whoami(&jar).await;
    assert_eq!(r.headers()["retry-after"], "5");
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let r = app.login(&unique("x"), PASSWORD).await;
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let r = app.req(Method::GET, "/readyz").send().await.unwrap();
    assert!(r.headers().contains_key("retry-after"));
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    assert_eq!(
        app.req(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}

fn sample(value: &str, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    value
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (name_labels, v) = line.rsplit_once(' ')?;
            let (name, rest) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            (name == metric
                && labels
                    .iter()
                    .all(|(k, val)| rest.contains(&format!("{k}=\"{val}\""))))
            .then(|| v.parse().ok())?
        })
}

#[tokio::test]
async fn metrics_count_requests_logins_sessions_and_the_hash_queue() {
    let app = spawn().await;
    let email = unique("metrics");
    let (jar, _) = app.register(&email).await;
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        app.login(&email, "bad password").await.status(),
        StatusCode::UNAUTHORIZED
    );
    app.whoami(&jar).await;
    app.browser(Method::POST, "/v1/logout", &jar)
        .send()
        .await
        .unwrap();

    let r = app.req(Method::GET, "/metrics").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = r.text().await.unwrap();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        assert!(
            line.starts_with("tessera_"),
            "every metric is tessera_*: {line}"
        );
    }
    let s = |m: &str, l: &[(&str, &str)]| {
        sample(&text, m, l).unwrap_or_else(|| panic!("{m} {l:?} missing:\n{text}"))
    };
    assert_eq!(s("tessera_logins_total", &[("result", "success")]), 1.0);
    assert_eq!(s("tessera_logins_total", &[("result", "failure")]), 1.0);
    assert_eq!(s("tessera_registrations_total", &[]), 1.0);
    assert_eq!(s("tessera_sessions_created_total", &[]), 2.0);
    assert_eq!(
        s("tessera_sessions_ended_total", &[("reason", "logout")]),
        1.0
    );
    assert_eq!(s("tessera_password_hash_queue_depth", &[]), 0.0);
    assert_eq!(s("tessera_password_hash_in_flight", &[]), 0.0);
    assert_eq!(
        s(
            "tessera_http_requests_total",
            &[
                ("method", "POST"),
                ("route", "/v1/login"),
                ("status", "401")
            ]
        ),
        1.0
    );
    assert_eq!(
        s(
            "tessera_http_request_duration_seconds_count",
            &[("method", "GET"), ("route", "/v1/session")]
        ),
        1.0
    );
    assert!(
        sample(
            &text,
            "tessera_http_request_duration_seconds_bucket",
            &[("route", "/v1/session"), ("le", "0.005")]
        )
        .is_some()
    );
}

#[tokio::test]
async fn openapi_documents_every_endpoint_and_error() {
    let app = spawn().await;
    let r = app.req(Method::GET, "/openapi.json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "OpenAPI 3.1"
    );
    let expected = [
        (
            "/v1/register",
            "post",
            &["201", "400", "403", "409", "413", "415", "422", "503"][..],
        ),
        (
            "/v1/login",
            "post",
            &[
                "200", "400", "401", "403", "413", "415", "422", "429", "503",
            ],
        ),
        ("/v1/session", "get", &["200", "401", "503"]),
        ("/v1/logout", "post", &["204", "403", "503"]),
        ("/v1/sessions", "get", &["200", "401"]),
        ("/v1/sessions", "delete", &["204", "401", "403"]),
        ("/v1/sessions/{id}", "delete", &["204", "401", "403", "404"]),
        ("/v1/password", "post", &["204", "401", "403", "422", "429"]),
        ("/healthz", "get", &["200"]),
        ("/readyz", "get", &["200", "503"]),
        ("/metrics", "get", &["200"]),
        ("/openapi.json", "get", &["200"]),
    ];
    for (path, method, codes) in expected {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} documented");
        for code in codes {
            assert!(
                op["responses"][code].is_object(),
                "{method} {path} documents {code}"
            );
        }
        for (code, resp) in op["responses"].as_object().unwrap() {
            if code.starts_with('4') || code.starts_with('5') {
                assert!(
                    resp["content"]["application/problem+json"].is_object(),
                    "{method} {path} {code} is problem+json"
                );
            }
        }
    }
    for (path, method) in [
        ("/v1/token", "post"),
        ("/v1/token/revoke", "post"),
        ("/.well-known/jwks.json", "get"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["responses"]["200"].is_object(),
            "{method} {path} documented"
        );
    }
    assert!(doc["paths"]["/v1/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    for schema in [
        "Problem",
        "AuthResponse",
        "UserView",
        "SessionView",
        "SessionList",
        "RegisterRequest",
        "LoginRequest",
        "PasswordChange",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "schema {schema}"
        );
    }
}

/// Runs once, just before the next session insert.
type BeforeInsert = Box<dyn FnOnce() -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// Counts what the flows ask of the session store (and can run something
/// just before the next insert).
struct Counting {
    inner: tessera_store_sql::SqliteStore,
    reads: AtomicUsize,
    writes: AtomicUsize,
    before_insert: std::sync::Mutex<Option<BeforeInsert>>,
}

impl std::fmt::Debug for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Counting")
    }
}

impl Counting {
    fn new(inner: tessera_store_sql::SqliteStore) -> Self {
        Self {
            inner,
            reads: AtomicUsize::new(0),
            writes: AtomicUsize::new(0),
            before_insert: std::sync::Mutex::new(None),
        }
    }
}

#[async_trait]
impl SessionStore for Counting {
    async fn insert_session(&self, s: &Session) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        let hook = self.before_insert.lock().unwrap().take();
        if let Some(hook) = hook {
            hook().await;
        }
        self.inner.insert_session(s).await
    }
    async fn find_session(&self, h: &TokenHash) -> Result<Option<Session>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.find_session(h).await
    }
    async fn touch_session(
        &self,
        s: &Session,
        a: OffsetDateTime,
        b: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.touch_session(s, a, b).await
    }
    async fn rotate_session_token(&self, s: &Session, h: &TokenHash) -> Result<bool, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.rotate_session_token(s, h).await
    }
    async fn list_user_sessions(
        &self,
        u: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<Session>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.list_user_sessions(u, now).await
    }
    async fn delete_user_session(&self, u: UserId, id: SessionId) -> Result<bool, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete_user_session(u, id).await
    }
    async fn delete_user_sessions(
        &self,
        u: UserId,
        e: Option<SessionId>,
    ) -> Result<u64, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete_user_sessions(u, e).await
    }
    async fn update_user_snapshot(&self, u: &User) -> Result<u64, StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.update_user_snapshot(u).await
    }
    async fn sweep_expired(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.sweep_expired(now).await
    }
    async fn ping(&self) -> Result<(), StoreError> {
        SessionStore::ping(&self.inner).await
    }
}

#[tokio::test]
async fn whoami_is_one_store_read_and_writes_only_when_renewal_is_due() {
    let dir = tempfile::tempdir().unwrap();
    let sql = sqlite_in(&dir).await;
    let counting = Arc::new(Counting::new(sql.clone()));
    let clock = ManualClock::starting_now();
    let auth = auth_on(sql.clone(), counting.clone(), Arc::new(sql), &clock);
    let started = auth
        .register(
            tessera_core::Registration {
                email: unique("cost"),
                password: PASSWORD.to_owned().into(),
                name: None,
            },
            &tessera_core::ClientInfo::default(),
            None,
        )
        .await
        .unwrap()
        .into_started()
        .unwrap();
    let token: &SessionToken = &started.token;
    let counts = || {
        (
            counting.reads.swap(0, Ordering::SeqCst),
            counting.writes.swap(0, Ordering::SeqCst),
        )
    };
    counts();

    for _ in 0..5 {
        auth.authenticate(token).await.unwrap();
        assert_eq!(counts(), (1, 0), "fresh session: one read, no write");
    }
    clock.advance(Duration::hours(2));
    auth.authenticate(token).await.unwrap();
    assert_eq!(
        counts(),
        (1, 1),
        "activity interval passed: one read, one touch"
    );
    auth.authenticate(token).await.unwrap();
    assert_eq!(counts(), (1, 0), "and back to one read");
    clock.advance(Duration::days(16));
    auth.authenticate(token).await.unwrap();
    assert_eq!(counts(), (1, 1), "past half-life: one read, one touch");
}

fn auth_on(
    sql: tessera_store_sql::SqliteStore,
    sessions: Arc<Counting>,
    refresh: Arc<dyn RefreshStore>,
    clock: &ManualClock,
) -> Auth {
    Auth::new(
        AuthStores {
            users: Arc::new(sql.clone()),
            sessions,
            limits: Arc::new(tessera_store::MemoryRateLimits::new()),
            refresh,
            identities: Arc::new(sql.clone()),
            mail: Arc::new(sql.clone()),
            mfa: Arc::new(sql.clone()),
            challenges: Arc::new(sql.clone()),
            audit: Arc::new(sql.clone()),
            webhooks: Arc::new(sql),
        },
        PasswordHasher::new(FAST_ARGON2, 1, 4).unwrap(),
        Arc::new(clock.clone()),
        AuthSettings {
            sessions: SessionPolicy {
                idle_timeout: Duration::days(30),
                absolute_timeout: Duration::days(90),
                activity_interval: Duration::hours(1),
            },
            login_limits: tessera_core::LoginLimits::default(),
            registration: tessera_core::RegistrationPolicy::default(),
            mail: tessera_core::MailPolicy::default(),
            audit_retention: tessera_core::auth::AuditRetention::default(),
            webhooks: false,
        },
        tessera_core::SecondFactors::new(&[7; 32], &["http://localhost:3000".into()], "Tessera")
            .unwrap(),
    )
}

/// A migrated SQLite store in `dir`.
async fn sqlite_in(dir: &tempfile::TempDir) -> tessera_store_sql::SqliteStore {
    let sql = tessera_store_sql::SqliteStore::open(&dir.path().join("t.db"))
        .await
        .unwrap();
    sql.migrate().await.unwrap();
    sql
}

/// Registers `email` with [`PASSWORD`]: the user and their first session.
async fn register_as(auth: &Auth, email: &str) -> tessera_core::Started {
    auth.register(
        tessera_core::Registration {
            email: email.to_owned(),
            password: PASSWORD.to_owned().into(),
            name: None,
        },
        &tessera_core::ClientInfo::default(),
        None,
    )
    .await
    .unwrap()
    .into_started()
    .unwrap()
}

/// What overtakes a sign-in in the race tests: a password change from
/// `device`, or `tessera disable-user`.
fn overtake(auth: Auth, device: Session, email: String, password_change: bool) -> BeforeInsert {
    Box::new(move || {
        Box::pin(async move {
            if password_change {
                auth.change_password(
                    &device,
                    PASSWORD.to_owned().into(),
                    "a completely new passphrase".to_owned().into(),
                    &tessera_core::ClientInfo::default(),
                )
                .await
                .unwrap();
            } else {
                auth.disable_user(&email).await.unwrap();
            }
        })
    })
}

/// A sign-in whose password check passed, then `tessera disable-user` or a
/// password change on another device, then the sign-in stores its session
/// (the store runs the other action just before the insert). The sign-in
/// must not survive it: it is refused and its session is gone.
#[tokio::test]
async fn a_sign_in_never_survives_a_disable_or_password_change_that_overtook_it() {
    for password_change in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sql = sqlite_in(&dir).await;
        let store = Arc::new(Counting::new(sql.clone()));
        let auth = auth_on(
            sql.clone(),
            store.clone(),
            Arc::new(sql),
            &ManualClock::starting_now(),
        );
        let email = unique("overtaken");
        let client = tessera_core::ClientInfo::default();
        let first = register_as(&auth, &email).await;
        *store.before_insert.lock().unwrap() = Some(overtake(
            auth.clone(),
            first.session.clone(),
            email.clone(),
            password_change,
        ));
        let err = auth
            .login(&email, PASSWORD.to_owned().into(), &client, None)
            .await
            .unwrap_err();
        assert!(
            store.before_insert.lock().unwrap().is_none(),
            "the other action ran ({password_change})"
        );
        assert!(
            matches!(err, tessera_core::AuthError::InvalidCredentials),
            "{err:?} ({password_change})"
        );
        let left = store
            .list_user_sessions(first.user.id, OffsetDateTime::now_utc())
            .await
            .unwrap();
        let expected_left = usize::from(password_change);
        assert_eq!(
            left.len(),
            expected_left,
            "only the device that changed the password is left ({password_change})"
        );
        assert!(left.iter().all(|s| s.id == first.session.id));
    }
}

/// The refresh store, recording the id of every family it creates, and
/// able to run something just before the next one.
struct Families {
    inner: tessera_store_sql::SqliteStore,
    created: std::sync::Mutex<Vec<uuid::Uuid>>,
    before_create: std::sync::Mutex<Option<BeforeInsert>>,
}

impl std::fmt::Debug for Families {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Families")
    }
}

impl Families {
    async fn before(&self, family: &RefreshFamily) {
        let hook = self.before_create.lock().unwrap().take();
        if let Some(hook) = hook {
            hook().await;
        }
        self.created.lock().unwrap().push(family.id);
    }
}

#[async_trait]
impl RefreshStore for Families {
    async fn create_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.before(family).await;
        self.inner.create_family(family, first, expires_at).await
    }
    async fn create_live_family(
        &self,
        family: &RefreshFamily,
        first: &TokenHash,
        expires_at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        self.before(family).await;
        self.inner
            .create_live_family(family, first, expires_at)
            .await
    }
    async fn spend_live(
        &self,
        id: uuid::Uuid,
        generation: i64,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<LiveSpend, StoreError> {
        self.inner
            .spend_live(
                id,
                generation,
                presented,
                successor,
                successor_expires_at,
                now,
            )
            .await
    }
    async fn find_live_family(&self, id: uuid::Uuid) -> Result<Option<LiveFamily>, StoreError> {
        self.inner.find_live_family(id).await
    }
    async fn spend_refresh(
        &self,
        presented: &TokenHash,
        successor: &TokenHash,
        successor_expires_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<Spend, StoreError> {
        self.inner
            .spend_refresh(presented, successor, successor_expires_at, now)
            .await
    }
    async fn find_refresh(&self, hash: &TokenHash) -> Result<Option<RefreshRecord>, StoreError> {
        self.inner.find_refresh(hash).await
    }
    async fn revoke_family(&self, id: uuid::Uuid, at: OffsetDateTime) -> Result<bool, StoreError> {
        self.inner.revoke_family(id, at).await
    }
    async fn revoke_user_families(
        &self,
        user: UserId,
        at: OffsetDateTime,
    ) -> Result<u64, StoreError> {
        self.inner.revoke_user_families(user, at).await
    }
    async fn claim_exchanged(
        &self,
        hash: &TokenHash,
        until: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        self.inner.claim_exchanged(hash, until, now).await
    }
    async fn sweep_exchanged(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.sweep_exchanged(now).await
    }
    async fn sweep_families(&self, now: OffsetDateTime) -> Result<u64, StoreError> {
        self.inner.sweep_families(now).await
    }
}

/// The token endpoint's password grant, overtaken the same way (the other
/// action runs just before the new refresh family is stored): no token is
/// handed out and the family is revoked.
#[tokio::test]
async fn a_password_grant_never_survives_a_disable_or_password_change_that_overtook_it() {
    use tessera_core::keys::{KeyRing, SigningAlg};
    use tessera_core::tokens::{GrantError, TokenSettings, Tokens};

    for password_change in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let sql = sqlite_in(&dir).await;
        let families = Arc::new(Families {
            inner: sql.clone(),
            created: std::sync::Mutex::new(Vec::new()),
            before_create: std::sync::Mutex::new(None),
        });
        let clock = ManualClock::starting_now();
        let auth = auth_on(
            sql.clone(),
            Arc::new(Counting::new(sql.clone())),
            families.clone(),
            &clock,
        );
        let keys = KeyRing::open(
            Arc::new(sql.clone()),
            Arc::new(clock.clone()),
            SigningAlg::EdDsa,
            Duration::minutes(15),
            Duration::ZERO,
        )
        .await
        .unwrap();
        let tokens = Tokens::new(
            auth.clone(),
            Arc::new(keys),
            families.clone(),
            [7; 32],
            TokenSettings {
                issuer: "http://tessera.test".into(),
                audience: "tessera".into(),
                access_ttl: Duration::minutes(15),
                refresh_ttl: Duration::days(30),
                refresh_absolute_ttl: Duration::days(90),
                reuse_grace: Duration::seconds(10),
                exchange_max_age: Duration::minutes(10),
            },
        );
        let email = unique("grant-overtaken");
        let client = tessera_core::ClientInfo::default();
        let device = register_as(&auth, &email).await;
        *families.before_create.lock().unwrap() = Some(overtake(
            auth.clone(),
            device.session,
            email.clone(),
            password_change,
        ));
        let err = tokens
            .password_grant(&email, PASSWORD.to_owned().into(), &client)
            .await
            .unwrap_err();
        assert!(
            matches!(err, GrantError::InvalidGrant(_)),
            "{err:?} ({password_change})"
        );
        let first = families.created.lock().unwrap()[0];
        let family = sql.find_live_family(first).await.unwrap().unwrap().family;
        assert!(
            family.revoked_at.is_some(),
            "the overtaken family is revoked ({password_change})"
        );
    }
}
