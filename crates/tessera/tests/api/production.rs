//! The production tier: several real `tessera` processes on one PostgreSQL
//! and one Redis, no sticky sessions; and failing closed when a store is
//! down, recovering without a restart.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::process::{Running, command, serve, whoami};
use crate::common::{Jar, PASSWORD, TestApp, problem, spawn_with, unique};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_store_redis::testing::{RedisServer, free_port};
use tessera_store_sql::testing::fresh_database;
use tokio::net::{TcpListener, TcpStream};

fn instance(database_url: &str, session_store: &str) -> Running {
    instance_with(database_url, session_store, &[])
}

fn instance_with(database_url: &str, session_store: &str, env: &[(&str, &str)]) -> Running {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.env("TESSERA_DATABASE_URL", database_url)
        .env("TESSERA_SESSION_STORE", session_store)
        .env("TESSERA_LOGIN_MAX_FAILURES_PER_ACCOUNT", "4")
        .envs(env.iter().copied());
    serve(cmd)
}

async fn post(
    base: &str,
    path: &str,
    jar: Option<&Jar>,
    body: serde_json::Value,
) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body);
    if let Some(jar) = jar {
        r = r
            .header("cookie", jar.header())
            .header("x-csrf-token", jar.csrf());
    }
    r.send().await.unwrap()
}

/// Two real instances on one fresh PostgreSQL database and one private
/// Redis (kept alive by the returned values).
async fn two_instances() -> (
    tessera_store_sql::testing::TestDatabase,
    RedisServer,
    Running,
    Running,
) {
    let db = fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    let (a, b) = (
        instance(&db.url, &redis.url()),
        instance(&db.url, &redis.url()),
    );
    (db, redis, a, b)
}

/// Registers on `base` with the test password: the new session's jar.
async fn register_on(base: &str, email: &str) -> Jar {
    let resp = post(
        base,
        "/v1/register",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    jar
}

#[tokio::test]
async fn two_instances_on_postgres_and_redis_behave_as_one() {
    let (db, _redis, a, b) = two_instances().await;

    let email = unique("multi");
    let jar = register_on(&a.base, &email).await;
    assert_eq!(
        whoami(&b.base, &jar).await,
        StatusCode::OK,
        "registered on A, known on B"
    );
    // The CSRF key is shared through the database: A's token is valid on B.
    let out = post(&b.base, "/v1/logout", Some(&jar), json!({})).await;
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        whoami(&a.base, &jar).await,
        StatusCode::UNAUTHORIZED,
        "logged out on B, gone on A"
    );

    // Failures alternate between instances and add up (limit 4).
    for base in [&a.base, &b.base, &a.base, &b.base] {
        let r = post(
            base,
            "/v1/login",
            None,
            json!({"email": email, "password": "wrong password"}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let r = post(
        &a.base,
        "/v1/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "A saw B's failures"
    );
    let r = post(
        &b.base,
        "/v1/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    drop((a, b));
    db.drop_now().await.unwrap();
}

async fn token(base: &str, form: &[(&str, &str)]) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/token"))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// A refresh family rotates across instances: the successor key and the
/// family's row are shared, so a replay on the other instance gets the
/// same pair, and reuse detected on one revokes the family for both.
#[tokio::test]
async fn a_refresh_family_rotates_replays_and_is_revoked_across_instances() {
    let db = fresh_database().await.expect("PostgreSQL reachable");
    let redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    // A 2 s grace window: a replay a moment after the spend is in it (the
    // clock reads whole seconds), one 3 s later is not.
    let grace = [("TESSERA_REFRESH_REUSE_GRACE", "2s")];
    let (a, b) = (
        instance_with(&db.url, &redis.url(), &grace),
        instance_with(&db.url, &redis.url(), &grace),
    );
    let email = unique("multi-refresh");
    register_on(&a.base, &email).await;
    let (status, first) = token(
        &b.base,
        &[
            ("grant_type", "password"),
            ("username", &email),
            ("password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let rt = |v: &serde_json::Value| v["refresh_token"].as_str().unwrap().to_owned();
    let send = |base: &str, t: String| {
        let base = base.to_owned();
        async move {
            token(
                &base,
                &[("grant_type", "refresh_token"), ("refresh_token", &t)],
            )
            .await
        }
    };
    let t0 = rt(&first);
    let (status, p1) = send(&a.base, t0.clone()).await;
    assert_eq!(status, StatusCode::OK, "{p1}");
    let (status, replay) = send(&b.base, t0.clone()).await;
    assert_eq!(status, StatusCode::OK, "{replay}");
    assert_eq!(rt(&replay), rt(&p1), "B derives A's successor");
    let (_, p2) = send(&b.base, rt(&p1)).await;
    let (_, p3) = send(&a.base, rt(&p2)).await;
    let t3 = rt(&p3);
    tokio::time::sleep(Duration::from_secs(3)).await;
    // t0 is three generations behind, spent 3 s ago: reuse, seen on B.
    let (status, reused) = send(&b.base, t0).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        reused["error_description"]
            .as_str()
            .unwrap()
            .contains("reuse"),
        "{reused}"
    );
    let (status, dead) = send(&a.base, t3).await;
    assert_eq!(
        (status, dead["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant")),
        "revoked on B, dead on A"
    );
    drop((a, b));
    db.drop_now().await.unwrap();
}

/// Issue 21 across instances: the challenge left by A (in Redis) is
/// completed on B, a TOTP step spent on A is spent on B (PostgreSQL), and
/// the challenge is gone for both once used.
#[tokio::test]
async fn a_second_factor_begun_on_one_instance_completes_on_another() {
    let (db, _redis, a, b) = two_instances().await;
    let email = unique("multi-mfa");
    let jar = register_on(&a.base, &email).await;
    let enrol: serde_json::Value = post(
        &a.base,
        "/v1/mfa/totp",
        Some(&jar),
        json!({"current_password": PASSWORD}),
    )
    .await
    .json()
    .await
    .unwrap();
    let secret = totp_rs::Secret::try_from_base32(enrol["secret"].as_str().unwrap())
        .unwrap()
        .as_ref()
        .to_vec();
    let spent = tessera_core::mfa::totp_code(&secret, time::OffsetDateTime::now_utc()).unwrap();
    // Confirmed on B: the pending secret is in the shared database.
    let confirmed: serde_json::Value = post(
        &b.base,
        "/v1/mfa/totp/confirm",
        Some(&jar),
        json!({"code": spent}),
    )
    .await
    .json()
    .await
    .unwrap();
    let codes = confirmed["recovery_codes"].as_array().unwrap().clone();

    let r = post(
        &a.base,
        "/v1/login",
        None,
        json!({"email": email, "password": PASSWORD}),
    )
    .await;
    let challenge = problem(r, StatusCode::UNAUTHORIZED, "mfa_required").await["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    // The step B's confirmation used is spent for A's challenge, on B too.
    let r = post(
        &b.base,
        "/v1/login/mfa",
        None,
        json!({"challenge": challenge, "code": spent}),
    )
    .await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_code_invalid").await;
    let r = post(
        &b.base,
        "/v1/login/mfa",
        None,
        json!({"challenge": challenge, "recovery_code": codes[0]}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "A's challenge completes on B");
    let mut signed_in = Jar::default();
    signed_in.absorb(r.headers());
    assert_eq!(whoami(&a.base, &signed_in).await, StatusCode::OK);
    let r = post(
        &a.base,
        "/v1/login/mfa",
        None,
        json!({"challenge": challenge, "recovery_code": codes[1]}),
    )
    .await;
    problem(r, StatusCode::UNAUTHORIZED, "mfa_challenge_invalid").await;

    drop((a, b));
    db.drop_now().await.unwrap();
}

/// Issue 21: a passkey ceremony begun on one instance finishes on the
/// other (its state is in Redis), once.
#[tokio::test]
async fn a_passkey_ceremony_begun_on_one_instance_finishes_on_another() {
    use crate::common::authenticator::Authenticator;
    let (db, _redis, a, b) = two_instances().await;
    let email = unique("multi-passkey");
    let jar = register_on(&a.base, &email).await;
    let mut key = Authenticator::new("http://localhost:3000");
    let begun: serde_json::Value = post(
        &a.base,
        "/v1/passkeys/register/start",
        Some(&jar),
        json!({}),
    )
    .await
    .json()
    .await
    .unwrap();
    let credential = key.register(&begun["options"]["publicKey"]);
    let r = post(
        &b.base,
        "/v1/passkeys/register/finish",
        Some(&jar),
        json!({"flow": begun["flow"], "credential": credential}),
    )
    .await;
    assert_eq!(
        r.status(),
        StatusCode::CREATED,
        "registered: begun on A, finished on B"
    );

    let begun: serde_json::Value = post(&b.base, "/v1/passkeys/login/start", None, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let answer = key.sign_in(&begun["options"]["publicKey"]);
    let finish = json!({"flow": begun["flow"], "credential": answer});
    let r = post(&a.base, "/v1/passkeys/login/finish", None, finish.clone()).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "signed in: begun on B, finished on A"
    );
    let mut signed_in = Jar::default();
    signed_in.absorb(r.headers());
    assert_eq!(whoami(&b.base, &signed_in).await, StatusCode::OK);
    let r = post(&b.base, "/v1/passkeys/login/finish", None, finish).await;
    problem(r, StatusCode::UNAUTHORIZED, "passkey_invalid").await;

    drop((a, b));
    db.drop_now().await.unwrap();
}

/// At the default log level (no per-request span) every 5xx still reaches
/// the log, with its route and status: a store outage is a warning per
/// refused request.
#[tokio::test]
async fn a_503_is_logged_at_the_default_level() {
    let mut redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = command(dir.path());
    cmd.env("TESSERA_SESSION_STORE", redis.url())
        .env("TESSERA_LOG", "info")
        .stderr(std::process::Stdio::from(
            std::fs::File::create(&log).unwrap(),
        ));
    let server = serve(cmd);
    let resp = post(
        &server.base,
        "/v1/register",
        None,
        json!({"email": unique("log503"), "password": PASSWORD}),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::CREATED);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    assert_eq!(whoami(&server.base, &jar).await, 200);
    let redis = tokio::task::spawn_blocking(move || {
        redis.stop();
        redis
    })
    .await
    .unwrap();
    assert_eq!(whoami(&server.base, &jar).await, 503);
    drop(server);
    drop(redis);
    let text = std::fs::read_to_string(&log).unwrap();
    let line = text
        .lines()
        .find(|l| l.contains("response failed"))
        .unwrap_or_else(|| panic!("no 5xx in the log:\n{text}"));
    assert!(
        line.contains("WARN") && line.contains("/v1/session") && line.contains("503"),
        "{line}"
    );
}

#[tokio::test]
async fn redis_down_is_503_not_signed_out_and_service_returns_by_itself() {
    let mut redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    let url = redis.url();
    let app = spawn_with(|c| c.session_store = Some(url.into())).await;
    let (jar, _) = app.register(&unique("redisdown")).await;
    assert_eq!(app.whoami_status(&jar).await, StatusCode::OK);

    let redis = tokio::task::spawn_blocking(move || {
        redis.stop();
        redis
    })
    .await
    .unwrap();
    let r = app.whoami(&jar).await;
    assert!(r.headers().contains_key("retry-after"));
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let r = app.login(&unique("x"), PASSWORD).await;
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    problem(
        app.req(Method::GET, "/readyz").send().await.unwrap(),
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_eq!(
        app.req(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    let mut redis = redis;
    let redis = tokio::task::spawn_blocking(move || {
        redis.restart();
        redis
    })
    .await
    .unwrap();
    wait_ready(&app).await;
    // This Redis keeps nothing on disk: the old session is gone, and a new
    // one works.
    let (again, _) = app.register(&unique("back")).await;
    assert_eq!(app.whoami_status(&again).await, StatusCode::OK);
    drop(app);
    drop(redis);
}

async fn wait_ready(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while app
        .req(Method::GET, "/readyz")
        .send()
        .await
        .unwrap()
        .status()
        != StatusCode::OK
    {
        assert!(
            Instant::now() < deadline,
            "did not recover without a restart"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A TCP forwarder to PostgreSQL that can be cut and restored, standing in
/// for a database outage without stopping the machine's PostgreSQL.
struct Cuttable {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
}

impl Cuttable {
    /// Refuses new connections and waits until every open one is closed.
    async fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        while self.open.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn cuttable(target: &str) -> Cuttable {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let up = Arc::new(AtomicBool::new(true));
    let open = Arc::new(AtomicUsize::new(0));
    let (flag, count, target) = (up.clone(), open.clone(), target.to_owned());
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            if !flag.load(Ordering::SeqCst) {
                continue; // dropped: the client sees the connection closed
            }
            count.fetch_add(1, Ordering::SeqCst);
            let (flag, count, target) = (flag.clone(), count.clone(), target.clone());
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(&target).await {
                    let (mut ri, mut wi) = inbound.split();
                    let (mut ro, mut wo) = outbound.split();
                    let watch = async {
                        while flag.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    };
                    tokio::select! {
                        _ = tokio::io::copy(&mut ri, &mut wo) => {},
                        _ = tokio::io::copy(&mut ro, &mut wi) => {},
                        () = watch => {},
                    }
                }
                drop(inbound);
                count.fetch_sub(1, Ordering::SeqCst);
            });
        }
    });
    Cuttable { port, up, open }
}

#[tokio::test]
async fn postgres_down_is_503_and_service_returns_by_itself() {
    let db = fresh_database().await.expect("PostgreSQL reachable");
    let pg_addr = {
        let rest = db.url.split('@').nth(1).unwrap();
        rest.split('/').next().unwrap().to_owned()
    };
    let proxy = cuttable(&pg_addr).await;
    let via_proxy = db
        .url
        .replace(&pg_addr, &format!("127.0.0.1:{}", proxy.port));
    let app = spawn_with(|c| c.database_url = Some(via_proxy.into())).await;
    let email = unique("pgdown");
    let (jar, _) = app.register(&email).await;

    proxy.cut().await;
    let r = app.login(&email, PASSWORD).await;
    assert!(r.headers().contains_key("retry-after"));
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    let r = app.whoami(&jar).await;
    problem(r, StatusCode::SERVICE_UNAVAILABLE, "unavailable").await;
    problem(
        app.req(Method::GET, "/readyz").send().await.unwrap(),
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
    )
    .await;
    assert_eq!(
        app.req(Method::GET, "/healthz")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );

    proxy.restore();
    wait_ready(&app).await;
    assert_eq!(
        app.whoami_status(&jar).await,
        StatusCode::OK,
        "the session survived the outage"
    );
    assert_eq!(app.login(&email, PASSWORD).await.status(), StatusCode::OK);
    drop(app);
    db.drop_now().await.unwrap();
}

#[tokio::test]
async fn migrate_runs_against_postgres() {
    let db = fresh_database().await.expect("PostgreSQL reachable");
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let out = command(dir.path())
            .env("TESSERA_DATABASE_URL", &db.url)
            .arg("migrate")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "migrations applied"
        );
    }
    assert!(
        !dir.path().join("tessera.db").exists(),
        "no SQLite file when PostgreSQL is configured"
    );
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for t in [
        "refresh_families",
        "refresh_tokens",
        "secrets",
        "sessions",
        "signing_keys",
        "users",
    ] {
        assert!(tables.iter().any(|x| x == t), "{t} in {tables:?}");
    }
    drop(conn);
    db.drop_now().await.unwrap();
}
