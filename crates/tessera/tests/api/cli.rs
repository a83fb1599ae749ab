//! The real `tessera` binary: serve, restart, shutdown, refusing unsafe
//! listens, configuration precedence, migrate, and the user commands.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::process::{Running, command, serve, whoami};
use crate::common::{Jar, PASSWORD, unique};
use serde_json::json;
use tessera_core::store::UserStore;

fn terminate(mut running: Running) -> std::process::ExitStatus {
    let pid = running.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = running.child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "tessera did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn register(base: &str, email: &str, origin: Option<&str>) -> reqwest::Response {
    let mut r = reqwest::Client::new()
        .post(format!("{base}/v1/register"))
        .json(&json!({"email": email, "password": PASSWORD}));
    if let Some(o) = origin {
        r = r.header("origin", o);
    }
    r.send().await.unwrap()
}

#[tokio::test]
async fn sessions_survive_a_restart_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = serve(command(dir.path()));
    let resp = register(&server.base, &unique("restart"), None).await;
    assert_eq!(resp.status(), 201);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    assert!(terminate(server).success(), "SIGTERM is a clean exit");
    assert!(
        dir.path().join("tessera.db").exists(),
        "SQLite file in the data dir"
    );

    let server = serve(command(dir.path()));
    assert_eq!(
        whoami(&server.base, &jar).await,
        200,
        "session survives the restart"
    );
    assert!(terminate(server).success());
}

#[test]
fn refuses_a_public_listen_without_a_bff_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path())
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("TESSERA_BFF_KEY"),
        "says how to fix it: {stderr}"
    );
    assert!(out.stdout.is_empty(), "never claimed to listen");
}

#[tokio::test]
async fn flags_beat_env_which_beats_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.toml");
    std::fs::write(
        &file,
        "public_origin = \"https://from-file.example\"\nlisten = \"127.0.0.1:1\"\n",
    )
    .unwrap();
    let mut cmd = command(dir.path());
    cmd.env("TESSERA_CONFIG", &file)
        .env("TESSERA_PUBLIC_ORIGIN", "https://from-env.example")
        .env("TESSERA_LISTEN", "127.0.0.1:2");
    // `serve` passes --listen 127.0.0.1:0: the flag beats env and file.
    let server = serve(cmd);
    assert!(!server.base.ends_with(":1") && !server.base.ends_with(":2"));
    let env = register(
        &server.base,
        &unique("env"),
        Some("https://from-env.example"),
    )
    .await;
    assert_eq!(env.status(), 201, "env origin allowed");
    let file = register(
        &server.base,
        &unique("file"),
        Some("https://from-file.example"),
    )
    .await;
    assert_eq!(file.status(), 403, "file origin overridden by env");
}

#[test]
fn migrate_creates_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).arg("migrate").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "migrations applied"
    );
    assert!(dir.path().join("tessera.db").exists());
    // Idempotent.
    assert!(
        command(dir.path())
            .arg("migrate")
            .status()
            .unwrap()
            .success()
    );
}

pub(crate) fn user_create(dir: &Path, email: &str, password: &str) -> std::process::Output {
    let mut child = command(dir)
        .args(["user", "create", "--email", email, "--name", "Cli User"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    child.wait_with_output().unwrap()
}

#[tokio::test]
async fn user_create_list_and_disable() {
    let dir = tempfile::tempdir().unwrap();
    let email = unique("cli");
    let out = user_create(dir.path(), &email, PASSWORD);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&email));

    let bad = user_create(dir.path(), "not-an-email", "short");
    assert_eq!(bad.status.code(), Some(2));
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(why.contains("email") && why.contains("password"), "{why}");
    assert!(
        !user_create(dir.path(), &email, PASSWORD).status.success(),
        "duplicate refused"
    );

    let list = command(dir.path()).args(["user", "list"]).output().unwrap();
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(
        text.contains(&email) && text.contains("Cli User") && text.contains("active"),
        "{text}"
    );
    assert!(!text.contains("argon2"), "no hashes printed");

    // Sign in on a running server, then disable from the command line.
    let server = serve(command(dir.path()));
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/login", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    assert_eq!(whoami(&server.base, &jar).await, 200);

    let out = command(dir.path())
        .args(["user", "disable", "--email", &email])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("ended 1 session"));
    assert_eq!(
        whoami(&server.base, &jar).await,
        401,
        "disable ends the user's sessions"
    );
    let list = command(dir.path()).args(["user", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("disabled"));
}

/// The SQLite whoami reads on the request's own thread, through
/// connections kept open with the statement prepared, and serves the rows
/// it read again while the file's WAL index header is unchanged
/// (`walcache.rs`): it must still see at once what another process wrote to
/// the file. A session that whoami has just served 50 times (so from its
/// kept rows, with the server's read connections and statements warm) is
/// refused on the very next request after `tessera user revoke-sessions`,
/// and likewise after `tessera user disable`.
#[tokio::test]
async fn another_processs_disable_ends_a_session_whoami_served_a_moment_before() {
    let dir = tempfile::tempdir().unwrap();
    let email = unique("cli-direct");
    assert!(user_create(dir.path(), &email, PASSWORD).status.success());
    let server = serve(command(dir.path()));
    let client = reqwest::Client::new();
    let sign_in = || async {
        let resp = client
            .post(format!("{}/v1/login", server.base))
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let mut jar = Jar::default();
        jar.absorb(resp.headers());
        jar
    };
    let whoami = |jar: &Jar| {
        client
            .get(format!("{}/v1/session", server.base))
            .header("cookie", jar.header())
            .send()
    };
    for (command_args, ended) in [
        (["user", "revoke-sessions", "--email"], "revoke-sessions"),
        (["user", "disable", "--email"], "disable"),
    ] {
        let jar = sign_in().await;
        for _ in 0..50 {
            assert_eq!(whoami(&jar).await.unwrap().status(), 200);
        }
        let out = command(dir.path())
            .args(command_args)
            .arg(&email)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            whoami(&jar).await.unwrap().status(),
            401,
            "the first whoami after {ended} is refused"
        );
    }
}

#[tokio::test]
async fn trace_logs_never_contain_passwords_tokens_or_csrf_values() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = command(dir.path());
    cmd.env("TESSERA_LOG", "trace")
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    let server = serve(cmd);
    let http = reqwest::Client::new();
    let email = unique("logs");
    let resp = register(&server.base, &email, None).await;
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    let login = http
        .post(format!("{}/v1/login", server.base))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    let mut second = Jar::default();
    second.absorb(login.headers());
    http.post(format!("{}/v1/login", server.base))
        .json(&json!({"email": email, "password": "a wrong password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(whoami(&server.base, &jar).await, 200);
    let changed = http
        .post(format!("{}/v1/password", server.base))
        .header("cookie", second.header())
        .header("x-csrf-token", second.csrf())
        .json(&json!({"current_password": PASSWORD, "new_password": "the next password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    second.absorb(changed.headers());
    // The token flow: password grant, refresh, a replayed refresh, the
    // session grant, revocation.
    let token = |form: Vec<(&'static str, String)>| {
        http.post(format!("{}/v1/token", server.base))
            .form(&form)
            .send()
    };
    let pair: serde_json::Value = token(vec![
        ("grant_type", "password".into()),
        ("username", email.clone()),
        ("password", "the next password".into()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let refresh1 = pair["refresh_token"].as_str().unwrap().to_owned();
    let access1 = pair["access_token"].as_str().unwrap().to_owned();
    let next: serde_json::Value = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh1.clone()),
    ])
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let refresh2 = next["refresh_token"].as_str().unwrap().to_owned();
    let session_grant: serde_json::Value = http
        .post(format!("{}/v1/token", server.base))
        .header("cookie", second.header())
        .header("x-csrf-token", second.csrf())
        .form(&[("grant_type", "session")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access_session = session_grant["access_token"].as_str().unwrap().to_owned();
    http.post(format!("{}/v1/token/revoke", server.base))
        .form(&[("token", refresh2.as_str())])
        .send()
        .await
        .unwrap();
    let reuse = token(vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", refresh1.clone()),
    ])
    .await
    .unwrap();
    assert_eq!(reuse.status(), 400);
    http.post(format!("{}/v1/logout", server.base))
        .header("cookie", second.header())
        .header("x-csrf-token", second.csrf())
        .send()
        .await
        .unwrap();
    assert!(terminate(server).success());

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.len() > 1000, "trace logging produced output");
    let hash = {
        let db = tessera_store_sql::SqliteStore::open(&dir.path().join("tessera.db"))
            .await
            .unwrap();
        db.find_user_by_email(&email)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap()
    };
    for secret in [
        PASSWORD,
        "a wrong password",
        "the next password",
        jar.session(),
        jar.csrf(),
        second.session(),
        second.csrf(),
        hash.as_str(),
        refresh1.as_str(),
        refresh2.as_str(),
        access1.as_str(),
        access_session.as_str(),
        // The signature part alone, in case a token were logged in pieces.
        access1.rsplit('.').next().unwrap(),
    ] {
        assert!(
            !text.contains(secret),
            "log leaks a secret ({} chars)",
            secret.len()
        );
    }
}

#[test]
fn help_and_errors_never_print_the_bff_key() {
    let dir = tempfile::tempdir().unwrap();
    let key = "test-fixture-key-do-not-print-0123456789";
    let help = command(dir.path())
        .env("TESSERA_BFF_KEY", key)
        .env(
            "TESSERA_DATABASE_URL",
            "postgres://u:hunter2-secret@127.0.0.1:1/db",
        )
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("TESSERA_BFF_KEY"), "documents the variable");
    assert!(
        !text.contains(key) && !text.contains("hunter2"),
        "but not its value"
    );
}

#[test]
fn doctor_passes_the_dev_defaults_and_fails_unsafe_settings() {
    let parent = tempfile::tempdir().unwrap();
    // A data dir tessera would create (0700); the temp dir itself is 0755.
    let dir = parent.path().join("data");
    let mut ok = command(&dir);
    ok.env_remove("TESSERA_ARGON2_M_COST")
        .env_remove("TESSERA_ARGON2_T_COST");
    let out = ok.arg("doctor").output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = command(&dir)
        .env("TESSERA_LISTEN", "0.0.0.0:4000")
        .env("TESSERA_PUBLIC_ORIGIN", "http://app.example.com")
        .arg("doctor")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    for expected in [
        "TESSERA_BFF_KEY",
        "plain http",
        "Argon2id m=64",
        "SQLite is for one instance",
    ] {
        assert!(
            text.contains(expected),
            "doctor should mention {expected}: {text}"
        );
    }
    let out = command(&dir)
        .env(
            "TESSERA_DATABASE_URL",
            "postgres://postgres@127.0.0.1:9/nothing",
        )
        .arg("doctor")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("PostgreSQL unreachable"));
}

/// With a Redis session store, doctor checks what the store needs of the
/// server: its version, and that it never evicts keys.
#[test]
fn doctor_checks_the_redis_version_and_eviction_policy() {
    use tessera_store_redis::testing::{RedisServer, free_port};
    let server = RedisServer::start(free_port(), false);
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("data");
    let run = || {
        let out = command(&dir)
            .env_remove("TESSERA_ARGON2_M_COST")
            .env_remove("TESSERA_ARGON2_T_COST")
            .env("TESSERA_SESSION_STORE", server.url())
            .args(["doctor", "--strict"])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (ok, text) = run();
    assert!(ok, "{text}");
    assert!(text.contains("Redis maxmemory-policy noeviction"), "{text}");

    let status = std::process::Command::new("redis-cli")
        .args([
            "-u",
            &server.url(),
            "config",
            "set",
            "maxmemory-policy",
            "allkeys-lru",
        ])
        .status()
        .unwrap();
    assert!(status.success());
    let (ok, text) = run();
    assert!(!ok, "--strict fails on the warning: {text}");
    assert!(text.contains("maxmemory-policy is allkeys-lru"), "{text}");
}

/// The data dir holds the signing keys and every server secret: tessera
/// makes it 0700 and its database files 0600, whatever the umask it was
/// started with, and `doctor` fails when either is looser. Issue 18 item 3.
#[tokio::test]
async fn the_data_dir_and_its_files_are_private_and_doctor_checks_them() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let parent = tempfile::tempdir().unwrap();
    let data = parent.path().join("data");
    // The test process's umask (022 here) would leave files 0644.
    let server = serve(command(&data));
    let resp = register(&server.base, &unique("modes"), None).await;
    assert_eq!(resp.status(), 201);
    assert_eq!(mode(&data), 0o700, "the data dir");
    assert_eq!(
        std::fs::read_to_string(data.join(".gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*"),
        "a data dir inside a project ignores itself in git"
    );
    for name in ["tessera.db", "tessera.db-wal", "tessera.db-shm"] {
        let path = data.join(name);
        assert!(path.exists(), "{name} exists while serving");
        assert_eq!(mode(&path), 0o600, "{name}");
    }
    assert!(terminate(server).success());
    let doctor = || {
        command(&data)
            .env_remove("TESSERA_ARGON2_M_COST")
            .env_remove("TESSERA_ARGON2_T_COST")
            .arg("doctor")
            .output()
            .unwrap()
    };
    let out = doctor();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Looser modes, as an older version left them: doctor names each.
    std::fs::set_permissions(
        data.join("tessera.db"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = doctor();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("tessera.db") && text.contains("0644"),
        "{text}"
    );
    assert!(text.contains("0755"), "{text}");
}

#[tokio::test]
async fn init_writes_a_config_the_server_runs_with_and_keeps_its_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let srv = dir.path().join("srv");
    let init = |extra: &[&str]| {
        Command::new(crate::common::process::BIN)
            .args(["init", "--dir"])
            .arg(&srv)
            .args(["--public-origin", "http://localhost:3000"])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = init(&[]);
    assert!(out.status.success(), "{out:?}");
    let key = std::fs::read_to_string(srv.join("bff.key")).unwrap();
    let key = key.trim();
    assert_eq!(key.len(), 64, "256 bits in hex");
    let printed = String::from_utf8(out.stdout).unwrap();
    assert!(
        printed.contains(&format!("TESSERA_BFF_KEY={key}")),
        "{printed}"
    );
    assert!(printed.contains("tessera serve --config"), "{printed}");
    for file in ["bff.key", "tessera.toml"] {
        let mode = std::fs::metadata(srv.join(file))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600, "{file}");
    }

    // The server runs with it, and the key is required.
    let mut cmd = command(&dir.path().join("data"));
    cmd.env_remove("TESSERA_DATA_DIR")
        .arg("--config")
        .arg(srv.join("tessera.toml"));
    // `serve` adds `serve --listen 127.0.0.1:0`: the file's listen address
    // is for production, the test takes a free port.
    let running = serve(cmd);
    let client = reqwest::Client::new();
    let without = client
        .get(format!("{}/v1/session", running.base))
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), reqwest::StatusCode::FORBIDDEN);
    let with = client
        .get(format!("{}/v1/session", running.base))
        .header("tessera-bff-key", key)
        .send()
        .await
        .unwrap();
    assert_eq!(with.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(
        srv.join("data/tessera.db").exists(),
        "the data dir of the file"
    );
    drop(running);

    // Again: nothing changes; the app's .env.local stays valid.
    let again = init(&[]);
    assert!(again.status.success());
    assert!(String::from_utf8(again.stdout).unwrap().contains("kept"));
    assert_eq!(
        std::fs::read_to_string(srv.join("bff.key")).unwrap().trim(),
        key
    );
    // --force: a new key.
    assert!(init(&["--force"]).status.success());
    assert_ne!(
        std::fs::read_to_string(srv.join("bff.key")).unwrap().trim(),
        key
    );
    // Not an origin: refused, nothing written.
    let bad = Command::new(crate::common::process::BIN)
        .args(["init", "--dir"])
        .arg(dir.path().join("other"))
        .args(["--public-origin", "app.example.com/path"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(!dir.path().join("other/bff.key").exists());
}

#[tokio::test]
async fn imported_bcrypt_and_better_auth_users_sign_in_and_are_rehashed() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let bcrypt_user = unique("bcrypt");
    let better_user = unique("betterauth");
    let provider_user = unique("nopassword");
    // What the other systems store for PASSWORD (made here, not copied).
    let bcrypt_hash = bcrypt::hash(PASSWORD, 4).unwrap();
    let salt = "5b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";
    let mut key = [0u8; 64];
    scrypt::scrypt(
        PASSWORD.as_bytes(),
        salt.as_bytes(),
        &scrypt::Params::new(14, 16, 1, 64).unwrap(),
        &mut key,
    )
    .unwrap();
    let better_hash = format!("{salt}:{}", hex::encode(key));
    let lines = [
        json!({"email": bcrypt_user, "name": "Bea", "password_hash": bcrypt_hash}).to_string(),
        json!({"email": better_user.to_uppercase(), "email_verified": true, "password_hash": better_hash, "created_at": "2024-01-02T03:04:05Z"}).to_string(),
        json!({"email": provider_user}).to_string(),
        json!({"email": unique("md5"), "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"}).to_string(),
        "{not json".to_owned(),
    ];
    let import = || {
        let mut child = command(&data)
            .args(["user", "import"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(lines.join("\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    let out = import();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "bad lines fail the run");
    assert!(
        stdout.contains("imported 3, already there 0, failed 2"),
        "{stdout}"
    );
    assert!(
        stderr.contains("line 4: password_hash unknown hash format"),
        "{stderr}"
    );
    assert!(stderr.contains("line 5: not a user object"), "{stderr}");
    let again = import();
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("imported 0, already there 3, failed 2"),
        "idempotent"
    );

    let running = serve(command(&data));
    let login = async |email: String, password: &str| {
        post_login(&running.base, &email, password).await.status()
    };
    assert_eq!(login(bcrypt_user.clone(), "wrong password").await, 401);
    assert_eq!(login(bcrypt_user.clone(), PASSWORD).await, 200);
    assert_eq!(login(better_user.clone(), "wrong password").await, 401);
    assert_eq!(login(better_user.clone(), PASSWORD).await, 200);
    assert_eq!(login(provider_user.clone(), PASSWORD).await, 401);
    drop(running);

    // Rehashed to Argon2id at that sign-in; the rest as imported.
    let store = tessera_store_sql::SqliteStore::open(&data.join("tessera.db"))
        .await
        .unwrap();
    let hash_of = async |email: &str| {
        store
            .find_user_by_email(email)
            .await
            .unwrap()
            .unwrap()
            .password_hash
    };
    assert!(
        hash_of(&bcrypt_user)
            .await
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert!(
        hash_of(&better_user)
            .await
            .unwrap()
            .starts_with("$argon2id$")
    );
    assert_eq!(hash_of(&provider_user).await, None);
    let better = store
        .find_user_by_email(&better_user)
        .await
        .unwrap()
        .unwrap();
    assert!(better.user.email_verified);
    assert_eq!(better.user.created_at.year(), 2024);
    // And the new hash works.
    let running = serve(command(&data));
    assert_eq!(
        post_login(&running.base, &bcrypt_user, PASSWORD)
            .await
            .status(),
        200
    );
}

/// `POST /v1/login` to a running binary.
async fn post_login(base: &str, email: &str, password: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}/v1/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_better_auth_guide_moves_a_user_with_their_password() {
    use sqlx::Connection;
    let db = tessera_store_sql::testing::fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    // Better Auth's tables, as its CLI makes them for PostgreSQL (the
    // columns the guide reads, and the NOT NULL ones around them).
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    for sql in [
        r#"CREATE TABLE "user" (id text PRIMARY KEY, name text NOT NULL, email text NOT NULL UNIQUE,
            "emailVerified" boolean NOT NULL, image text, "createdAt" timestamp NOT NULL, "updatedAt" timestamp NOT NULL)"#,
        r#"CREATE TABLE account (id text PRIMARY KEY, "accountId" text NOT NULL, "providerId" text NOT NULL,
            "userId" text NOT NULL REFERENCES "user"(id), password text, "createdAt" timestamp NOT NULL, "updatedAt" timestamp NOT NULL)"#,
    ] {
        sqlx::query(sql).execute(&mut conn).await.unwrap();
    }
    // A password user, hashed as Better Auth hashes: scrypt N=16384 r=16
    // p=1, 64 bytes, the salt's hex text as salt, stored as salt:key.
    let salt = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    let mut key = [0u8; 64];
    scrypt::scrypt(
        PASSWORD.as_bytes(),
        salt.as_bytes(),
        &scrypt::Params::new(14, 16, 1, 64).unwrap(),
        &mut key,
    )
    .unwrap();
    let (ada, gh) = (unique("ada"), unique("github-only"));
    for (id, email, verified) in [("u1", &ada, true), ("u2", &gh, false)] {
        sqlx::query(
            r#"INSERT INTO "user" VALUES ($1, 'Ada', $2, $3, NULL, '2024-05-06 07:08:09', now())"#,
        )
        .bind(id)
        .bind(email)
        .bind(verified)
        .execute(&mut conn)
        .await
        .unwrap();
    }
    sqlx::query("INSERT INTO account VALUES ('a1', 'u1', 'credential', 'u1', $1, now(), now()), ('a2', '123', 'github', 'u2', NULL, now(), now())")
        .bind(format!("{salt}:{}", hex::encode(key)))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();

    // The guide's block, run as written, with `tessera` on the PATH.
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let block =
        crate::common::guide::block("migrate-from-better-auth.md", "sh", "tessera user import");
    let out = crate::common::guide::shell(&block)
        .current_dir(dir.path())
        .env("BETTER_AUTH_DATABASE_URL", &db.url)
        .env("TESSERA_DATA_DIR", &data)
        .env("TESSERA_ARGON2_M_COST", "64")
        .env("TESSERA_ARGON2_T_COST", "1")
        .env("TESSERA_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("imported 2, already there 0, failed 0"),
        "{stdout}"
    );

    let running = serve(command(&data));
    let login =
        async |email: String, password: &str| post_login(&running.base, &email, password).await;
    let r = login(ada.clone(), PASSWORD).await;
    assert_eq!(r.status(), 200, "the Better Auth password works");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["user"]["email_verified"], true);
    assert_eq!(body["user"]["name"], "Ada");
    assert_eq!(body["user"]["created_at"], "2024-05-06T07:08:09Z");
    assert_eq!(login(ada, "wrong password").await.status(), 401);
    assert_eq!(login(gh, PASSWORD).await.status(), 401, "no password");
}
