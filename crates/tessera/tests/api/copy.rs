//! `tessera copy` (issue 22): a SQLite deployment, used as people use it,
//! is copied into PostgreSQL by the real binary (the production guide's own
//! line), and the server on PostgreSQL serves everyone as before; a second
//! copy is refused, or changes nothing with `--resume`; an interrupted copy
//! finishes; and the way back to SQLite serves too. Then what the copy must
//! refuse, and a table it was never told of.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use reqwest::StatusCode;
use serde_json::json;
use sqlx::{Connection, Row};
use tessera_store_sql::testing::fresh_database;

use crate::cli::user_create;
use crate::common::github_double::{GithubDouble, GithubUser};
use crate::common::oauth::{REDIRECT_BASE, callback, identities, start};
use crate::common::process::{command, serve, whoami};
use crate::common::{Jar, PASSWORD, guide, oauth, spawn_in, test_config, unique};
use crate::guides::show;
use crate::mfa::{challenged, code, complete, enrol, next_step};
use crate::oauth_github::{at_provider, gh_id};
use crate::tokens::{password_grant, refresh, verify};

const PRODUCTION: &str = "production.md";

/// `tessera copy ARGS` (run in `cwd`).
fn copy(cwd: &Path, args: &[&str]) -> Output {
    command(cwd)
        .current_dir(cwd)
        .arg("copy")
        .args(args)
        .output()
        .unwrap()
}

/// The table names a copy printed, in the order it copied them.
fn copied_order(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(" rows copied"))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Every table of a PostgreSQL database but sqlx's: its row count and a
/// digest of all its rows, so two snapshots are equal only if nothing
/// changed.
async fn pg_tables(url: &str) -> BTreeMap<String, (i64, String)> {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::TEXT FROM information_schema.tables \
         WHERE table_schema = current_schema() AND table_name <> '_sqlx_migrations'",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut tables = BTreeMap::new();
    for name in names {
        let row = sqlx::query(&format!(
            "SELECT count(*), coalesce(md5(string_agg(t::TEXT, '|' ORDER BY t::TEXT)), '') \
             FROM \"{name}\" t"
        ))
        .fetch_one(&mut conn)
        .await
        .unwrap();
        tables.insert(name, (row.get(0), row.get(1)));
    }
    tables
}

async fn pg_execute(url: &str, sql: &str) {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

async fn sqlite_execute(path: &Path, sql: &str) {
    let mut conn =
        sqlx::SqliteConnection::connect(&format!("sqlite://{}?mode=rwc", path.display()))
            .await
            .unwrap();
    sqlx::raw_sql(sql).execute(&mut conn).await.unwrap();
}

#[tokio::test]
async fn a_sqlite_deployment_moves_to_postgres_and_back_and_nobody_is_signed_out() {
    let gh = GithubDouble::start().await;
    let data = tempfile::tempdir().unwrap();
    let with_github = |config: &mut tessera::Config| gh.configure(config, REDIRECT_BASE);
    let mut config = test_config(data.path());
    with_github(&mut config);
    let app = spawn_in(tempfile::tempdir().unwrap(), config).await;

    // As people use it: a password user with a session, a refresh token
    // and an access token …
    let alice = unique("copy-alice");
    let (alice_jar, registered) = app.register(&alice).await;
    let alice_id = registered["user"]["id"].as_str().unwrap().to_owned();
    let grant = password_grant(&app, &alice).await;
    let access_token = grant["access_token"].as_str().unwrap().to_owned();
    let refresh_token = grant["refresh_token"].as_str().unwrap().to_owned();
    // … one with TOTP on …
    let bob = enrol(&app, &unique("copy-bob")).await;
    // … one the operator made with the CLI …
    let carol = unique("copy-carol");
    let carol_password = "carol's own long password";
    let out = user_create(data.path(), &carol, carol_password);
    assert!(out.status.success(), "{}", show(&out));
    // … one who signed up with GitHub …
    let dave = unique("copy-dave");
    gh.sign_in_as(GithubUser::new(gh_id(), &dave));
    let mut dave_jar = Jar::default();
    let r = oauth::sign_in(&app, "github", &mut dave_jar, None, async |url| {
        at_provider(&app, url).await.query
    })
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    // … and one in the middle of a GitHub sign-in when the server stops.
    let erin = unique("copy-erin");
    let mut erin_jar = Jar::default();
    let erin_at_github = start(&app, "github", &mut erin_jar, Some("/welcome")).await;
    app.server.stores.database.close().await;
    drop(app);

    // The guide's copy line, as written but for its placeholders.
    let pg = fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let line = guide::line(PRODUCTION, "sh", "tessera copy");
    let line = guide::replace(
        PRODUCTION,
        &line,
        "/var/lib/tessera",
        data.path().to_str().unwrap(),
    );
    let line = guide::replace(
        PRODUCTION,
        &line,
        "postgres://tessera:PASSWORD@db.internal/tessera",
        &pg.url,
    );
    let first = guide::shell(&line).output().unwrap();
    assert!(first.status.success(), "{}", show(&first));
    let printed = String::from_utf8_lossy(&first.stdout).into_owned();
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("users ") && l.contains(" 4 rows copied")),
        "rows and time per table: {printed}"
    );
    let order = copied_order(&first);
    let at = |t: &str| order.iter().position(|o| o == t).unwrap();
    assert!(at("users") < at("identities") && at("users") < at("totp"));
    assert!(at("refresh_families") < at("refresh_tokens"));
    let copied = pg_tables(&pg.url).await;
    assert_eq!(copied["users"].0, 4);
    for table in &order {
        assert!(copied.contains_key(table), "{table} is in the target");
    }
    assert_eq!(order.len(), copied.len(), "every table was copied");

    // Again into the now non-empty target: refused, nothing written.
    let source = data.path().join("tessera.db");
    let source = source.to_str().unwrap();
    let again = copy(data.path(), &["--from", source, "--to", &pg.url]);
    assert_eq!(again.status.code(), Some(2), "{}", show(&again));
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(
        said.contains("already holds rows") && said.contains("--resume"),
        "{said}"
    );
    assert_eq!(
        pg_tables(&pg.url).await,
        copied,
        "a refused copy writes nothing"
    );
    // With --resume: nothing changes.
    let resumed = copy(
        data.path(),
        &["--from", source, "--to", &pg.url, "--resume"],
    );
    assert!(resumed.status.success(), "{}", show(&resumed));
    assert!(
        String::from_utf8_lossy(&resumed.stdout).contains("0 rows copied (4 already there)"),
        "{}",
        show(&resumed)
    );
    assert_eq!(
        pg_tables(&pg.url).await,
        copied,
        "a repeated copy changes nothing"
    );

    // Interrupted half way: the later tables empty, the one it was at half
    // done (deleted children first, so no foreign key is in the way).
    let (done, undone) = order.split_at(order.len() / 2);
    assert!(!done.is_empty());
    for table in undone.iter().rev().take(undone.len() - 1) {
        pg_execute(&pg.url, &format!("DELETE FROM \"{table}\"")).await;
    }
    let half = &undone[0];
    pg_execute(
        &pg.url,
        &format!(
            "DELETE FROM \"{half}\" WHERE ctid IN (SELECT ctid FROM \"{half}\" LIMIT \
             (SELECT (count(*) + 1) / 2 FROM \"{half}\"))"
        ),
    )
    .await;
    assert_ne!(pg_tables(&pg.url).await, copied);
    let finished = copy(
        data.path(),
        &["--from", source, "--to", &pg.url, "--resume"],
    );
    assert!(finished.status.success(), "{}", show(&finished));
    assert_eq!(
        pg_tables(&pg.url).await,
        copied,
        "the resumed copy is the whole copy"
    );

    // tessera on PostgreSQL.
    let url = pg.url.clone();
    let mut config = test_config(data.path());
    config.database_url = Some(url.into());
    with_github(&mut config);
    let app = spawn_in(tempfile::tempdir().unwrap(), config).await;
    // The old passwords sign in.
    assert_eq!(app.login(&alice, PASSWORD).await.status(), StatusCode::OK);
    assert_eq!(
        app.login(&carol, carol_password).await.status(),
        StatusCode::OK
    );
    // TOTP is still asked for, and the old secret's codes are valid: the
    // key that seals it came along.
    next_step(&app);
    let challenge = challenged(&app, &bob.email).await;
    let r = complete(
        &app,
        json!({"challenge": challenge, "code": code(&app, &bob.secret)}),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
    // Sessions made before the copy still work.
    let me = oauth::whoami(&app, &alice_jar).await;
    assert_eq!(me["user"]["id"], alice_id);
    // The audit log came along, and new events follow it (the PostgreSQL
    // sequence was moved past the copied events).
    let activity: serde_json::Value = app
        .browser(reqwest::Method::GET, "/v1/account/activity", &alice_jar)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kinds: Vec<&str> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.first(),
        Some(&"sign_in"),
        "the sign-in after the copy: {kinds:?}"
    );
    assert_eq!(
        kinds.last(),
        Some(&"sign_up"),
        "the sign-up before it: {kinds:?}"
    );
    assert!(kinds.len() >= 3, "{kinds:?}");
    assert_eq!(
        oauth::whoami(&app, &bob.jar).await["user"]["email"],
        bob.email
    );
    assert_eq!(oauth::whoami(&app, &dave_jar).await["user"]["email"], dave);
    assert_eq!(
        identities(&app, &dave_jar).await["identities"][0]["provider"],
        "github"
    );
    // The refresh token still rotates, and its successor too.
    let r = refresh(&app, &refresh_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    let rotated: serde_json::Value = r.json().await.unwrap();
    let next = rotated["refresh_token"].as_str().unwrap();
    assert_ne!(next, refresh_token);
    assert_eq!(refresh(&app, next).await.status(), StatusCode::OK);
    // The access token signed before the copy verifies against the new
    // server's JWKS.
    assert_eq!(verify(&app, &access_token).await["sub"], alice_id);
    // The GitHub sign-in begun before the copy finishes after it.
    gh.sign_in_as(GithubUser::new(gh_id(), &erin));
    let back = at_provider(&app, &erin_at_github).await;
    let r = callback(&app, "github", &erin_jar, &back.query).await;
    assert_eq!(r.status(), StatusCode::OK);
    erin_jar.absorb(r.headers());
    assert_eq!(oauth::whoami(&app, &erin_jar).await["user"]["email"], erin);
    app.server.stores.database.close().await;
    drop(app);

    // And back to SQLite (a relative sqlite:// URL), which serves too: the
    // sessions made on PostgreSQL included.
    let home = tempfile::tempdir().unwrap();
    let out = copy(
        home.path(),
        &["--from", &pg.url, "--to", "sqlite://tessera.db"],
    );
    assert!(out.status.success(), "{}", show(&out));
    let running = serve(command(home.path()));
    for jar in [&alice_jar, &bob.jar, &erin_jar] {
        assert_eq!(whoami(&running.base, jar).await, StatusCode::OK);
    }
    let r = reqwest::Client::new()
        .post(format!("{}/v1/login", running.base))
        .json(&json!({"email": carol, "password": carol_password}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    drop(running);
    pg.drop_now().await.unwrap();
}

/// A table added by a migration `copy` was never told of, with a boolean,
/// bytes, JSON, a foreign key to users and an identity column: copied after
/// users, values converted by the target's types, and the target's
/// sequence moved past the copied ids.
/// `audit_test`'s columns, as PostgreSQL gives them back.
type AuditRow = (i64, Option<String>, bool, Option<Vec<u8>>, Option<String>);

#[tokio::test]
async fn a_table_no_one_told_copy_about_is_copied_by_its_schema() {
    let data = tempfile::tempdir().unwrap();
    let out = user_create(data.path(), &unique("copy-new"), PASSWORD);
    assert!(out.status.success(), "{}", show(&out));
    let source = data.path().join("tessera.db");
    sqlite_execute(
        &source,
        r#"CREATE TABLE audit_test (
             id INTEGER PRIMARY KEY,
             user_id TEXT REFERENCES users (id),
             flag INTEGER NOT NULL,
             detail BLOB,
             note TEXT,
             meta TEXT
         ) STRICT;
         INSERT INTO audit_test (id, user_id, flag, detail, note, meta)
             SELECT 7, id, 1, x'00ff', NULL, '{"ip": "127.0.0.1"}' FROM users;
         INSERT INTO audit_test (id, user_id, flag, detail, note, meta)
             VALUES (9, NULL, 0, NULL, 'no user', NULL);"#,
    )
    .await;
    let pg = fresh_database().await.expect("PostgreSQL reachable");
    let mut migrate = command(data.path());
    let out = migrate
        .env("TESSERA_DATABASE_URL", &pg.url)
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    pg_execute(
        &pg.url,
        "CREATE TABLE audit_test (
             id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             user_id TEXT REFERENCES users (id),
             flag BOOLEAN NOT NULL,
             detail BYTEA,
             note TEXT,
             meta JSONB
         )",
    )
    .await;
    let out = copy(
        data.path(),
        &["--from", source.to_str().unwrap(), "--to", &pg.url],
    );
    assert!(out.status.success(), "{}", show(&out));
    let order = copied_order(&out);
    let at = |t: &str| order.iter().position(|o| o == t).unwrap();
    assert!(at("users") < at("audit_test"), "{order:?}");
    let mut conn = sqlx::PgConnection::connect(&pg.url).await.unwrap();
    let rows: Vec<AuditRow> =
        sqlx::query_as("SELECT id, user_id, flag, detail, note FROM audit_test ORDER BY id")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows[0].1.is_some() && rows[0].2);
    assert_eq!(rows[0].3.as_deref(), Some(&[0, 255][..]));
    assert_eq!(rows[1], (9, None, false, None, Some("no user".into())));
    let ip: String = sqlx::query_scalar("SELECT meta->>'ip' FROM audit_test WHERE id = 7")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(ip, "127.0.0.1", "text into JSONB");
    let next: i64 = sqlx::query_scalar("INSERT INTO audit_test (flag) VALUES (true) RETURNING id")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(next, 10, "the identity sequence continues after the copy");
    conn.close().await.unwrap();
    // A resumed copy now keeps that row and says the source lacks it.
    let out = copy(
        data.path(),
        &[
            "--from",
            source.to_str().unwrap(),
            "--to",
            &pg.url,
            "--resume",
        ],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.starts_with("audit_test ")
                && l.contains("0 rows copied (2 already there) (and 1 the source does not have")),
        "{}",
        show(&out)
    );

    // Back into SQLite: the booleans are 0 and 1 again.
    let back = data.path().join("back.db");
    sqlite_execute(
        &back,
        "CREATE TABLE audit_test (id INTEGER PRIMARY KEY, user_id TEXT REFERENCES users (id), \
         flag INTEGER NOT NULL, detail BLOB, note TEXT, meta TEXT) STRICT",
    )
    .await;
    let out = copy(
        data.path(),
        &["--from", &pg.url, "--to", back.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", show(&out));
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", back.display()))
        .await
        .unwrap();
    let flags: Vec<(i64, i64)> = sqlx::query_as("SELECT id, flag FROM audit_test ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(flags, vec![(7, 1), (9, 0), (10, 1)]);
    let meta: Option<String> = sqlx::query_scalar("SELECT meta FROM audit_test WHERE id = 7")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        meta.as_deref(),
        Some(r#"{"ip": "127.0.0.1"}"#),
        "JSONB back to text"
    );
    pg.drop_now().await.unwrap();
}

/// What the copy refuses, each with words that say what to do.
#[tokio::test]
async fn a_copy_refuses_another_version_a_missing_file_and_a_table_without_a_key() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path();
    let out = user_create(dir, &unique("copy-refused"), PASSWORD);
    assert!(out.status.success(), "{}", show(&out));
    let source = dir.join("tessera.db");
    let source = source.to_str().unwrap();
    let refused = |out: &Output, words: &[&str]| {
        assert_eq!(out.status.code(), Some(2), "{}", show(out));
        let said = String::from_utf8_lossy(&out.stderr);
        for w in words {
            assert!(said.contains(w), "{w:?} in {said}");
        }
    };

    let out = copy(dir, &["--from", "missing.db", "--to", "target.db"]);
    refused(&out, &["no SQLite database at missing.db"]);
    let out = copy(dir, &["--from", source, "--to", "mysql://db/tessera"]);
    refused(&out, &["unsupported database URL scheme \"mysql\""]);
    let out = copy(dir, &["--from", source, "--to", source]);
    refused(&out, &["the same database"]);

    // A source one migration behind: named, and how to fix it.
    sqlite_execute(
        Path::new(source),
        "CREATE TABLE saved AS SELECT * FROM _sqlx_migrations \
             WHERE version = (SELECT max(version) FROM _sqlx_migrations);
         DELETE FROM _sqlx_migrations WHERE version IN (SELECT version FROM saved);",
    )
    .await;
    let out = copy(dir, &["--from", source, "--to", "behind.db"]);
    refused(
        &out,
        // The newest migration, whichever it is.
        &["has not applied migrations 00", "tessera migrate"],
    );
    // One ahead of this tessera: named.
    sqlite_execute(
        Path::new(source),
        "INSERT INTO _sqlx_migrations SELECT * FROM saved; DROP TABLE saved;
         INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
             VALUES (9999, 'from the future', 1, x'00', 0);",
    )
    .await;
    let out = copy(dir, &["--from", source, "--to", "ahead.db"]);
    refused(&out, &["does not have: 9999 (from the future)"]);
    sqlite_execute(
        Path::new(source),
        "DELETE FROM _sqlx_migrations WHERE version = 9999",
    )
    .await;

    // A table without a primary key or unique constraint, in both: a
    // resumed copy could not tell its rows apart.
    let target = dir.join("keyless.db");
    let out = command(dir)
        .env(
            "TESSERA_DATABASE_URL",
            format!("sqlite://{}", target.display()),
        )
        .arg("migrate")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", show(&out));
    for db in [Path::new(source), &target] {
        sqlite_execute(db, "CREATE TABLE notes (body TEXT) STRICT").await;
    }
    let out = copy(dir, &["--from", source, "--to", target.to_str().unwrap()]);
    refused(&out, &["without a primary key or unique constraint: notes"]);
}
