//! The guides' commands and config blocks, run as written (issue 20):
//! docs/guide/production.md with the real binary against a fresh
//! PostgreSQL database, a private Redis and a real SMTP server.
//!
//! The guide's install lines are run by the test command instead
//! (scripts/test.sh): `cargo install --locked --path crates/tessera` (as a
//! debug build), and `scripts/test-deb.sh` builds and installs the `.deb`.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::guide;
use crate::common::process::{BIN, serve};
use crate::common::smtp::Smtpd;
use crate::common::webhook_receiver::Receiver;
use crate::common::{Jar, PASSWORD, unique};
use reqwest::StatusCode;
use serde_json::json;
use tessera_store_redis::testing::{RedisServer, free_port};
use tessera_store_sql::testing::fresh_database;

const PRODUCTION: &str = "production.md";
const ORIGIN: &str = "https://app.example.com";

/// A guide's shell line, run as a reader's shell runs it.
fn sh(line: &str) -> Output {
    guide::shell(line).output().unwrap()
}

pub(crate) fn show(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Sets each `key = value` line of a guide's toml block in `config`, the way
/// a reader edits the file `init` wrote: a key that is there (or there
/// commented out) is replaced, any other is added.
fn set_keys(config: &str, block: &str) -> String {
    let mut lines: Vec<String> = config.lines().map(str::to_owned).collect();
    for line in block.lines().filter(|l| {
        let l = l.trim();
        !l.is_empty() && !l.starts_with('#')
    }) {
        let key = line.split('=').next().unwrap().trim();
        let is_key = |l: &String| {
            let l = l.trim_start().trim_start_matches('#').trim_start();
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with('='))
        };
        match lines.iter_mut().find(|l| is_key(l)) {
            Some(existing) => line.clone_into(existing),
            None => lines.push(line.to_owned()),
        }
    }
    lines.join("\n") + "\n"
}

/// The exit status the guide promises `tessera doctor` gives on anything
/// unsafe ("exit N on anything unsafe" in its comment).
fn promised_exit(doctor_line: &str) -> i32 {
    let at = doctor_line
        .find("# exit ")
        .unwrap_or_else(|| panic!("the guide's doctor line names no exit status: {doctor_line}"))
        + "# exit ".len();
    doctor_line[at..]
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no exit status in {doctor_line}"))
}

#[tokio::test]
async fn the_production_guide_runs_as_written() {
    let db = fresh_database()
        .await
        .expect("PostgreSQL reachable (see scripts/test.sh)");
    let redis = tokio::task::spawn_blocking(|| RedisServer::start(free_port(), false))
        .await
        .unwrap();
    let smtpd = Smtpd::start();
    let root = tempfile::tempdir().unwrap();
    let etc = root.path().join("etc/tessera");
    let data = root.path().join("var/lib/tessera");
    let paths = |text: &str| {
        let text = guide::replace(PRODUCTION, text, "/etc/tessera", etc.to_str().unwrap());
        guide::replace(
            PRODUCTION,
            &text,
            "/var/lib/tessera",
            data.to_str().unwrap(),
        )
    };

    // 2. One secret for both sides.
    let init = guide::line(PRODUCTION, "sh", "tessera init");
    assert!(
        init.contains(&format!("--public-origin {ORIGIN}")),
        "{init}"
    );
    let out = sh(&paths(&init));
    assert!(out.status.success(), "{}", show(&out));
    let key = std::fs::read_to_string(etc.join("bff.key")).unwrap();
    let key = key.trim().to_owned();
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        printed.contains(&format!("TESSERA_BFF_KEY={key}")) && printed.contains("TESSERA_URL="),
        "prints the app's two lines: {printed}"
    );
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(etc.join("bff.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "bff.key");
    }

    // 3. and 4.: the guide's toml blocks, with only the hosts and
    // credentials it marks as placeholders replaced by local ones.
    let file = etc.join("tessera.toml");
    let mut config = std::fs::read_to_string(&file).unwrap();
    let blocks = guide::blocks(PRODUCTION, "toml");
    assert_eq!(
        blocks.len(),
        3,
        "the stores, the mail and webhooks: {blocks:?}"
    );
    let stores = guide::block(PRODUCTION, "toml", "session_store");
    let stores = guide::replace(PRODUCTION, &stores, "10.0.0.10:4000", "127.0.0.1:0");
    let stores = guide::replace(
        PRODUCTION,
        &stores,
        "postgres://tessera:PASSWORD@db.internal/tessera",
        &db.url,
    );
    let stores = guide::replace(
        PRODUCTION,
        &stores,
        "redis://redis.internal:6379",
        &redis.url(),
    );
    let mail = guide::block(PRODUCTION, "toml", "smtp_url");
    let mail = guide::replace(
        PRODUCTION,
        &mail,
        "smtps://USER:PASSWORD@smtp.example.com:465",
        &smtpd.url(),
    );
    // 5. Webhooks: the secret from the guide's command, the receiver a
    // local one that verifies with the spec's own library.
    let out = sh(&guide::line(PRODUCTION, "sh", "tessera webhooks secret"));
    assert!(out.status.success(), "{}", show(&out));
    let secret = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let receiver = Receiver::start(&secret);
    let hooks = guide::block(PRODUCTION, "toml", "webhook_url");
    let hooks = guide::replace(
        PRODUCTION,
        &hooks,
        "https://hooks.example.com/tessera",
        &receiver.url(),
    );
    let hooks = guide::replace(PRODUCTION, &hooks, "whsec_REPLACE_ME", &secret);
    for block in [&stores, &mail, &hooks] {
        config = set_keys(&config, block);
    }
    std::fs::write(&file, &config).unwrap();

    // `tessera migrate`, which the guide names.
    assert!(
        guide::text(PRODUCTION).contains("`tessera migrate`"),
        "the guide no longer names tessera migrate"
    );
    let out = sh(&format!("tessera migrate --config {}", file.display()));
    assert!(out.status.success(), "{}\n{config}", show(&out));

    // 5. Check it: this configuration is safe, even with --strict.
    let doctor = guide::line(PRODUCTION, "sh", "tessera doctor");
    let unsafe_status = promised_exit(&doctor);
    let run_doctor = guide::replace(
        PRODUCTION,
        doctor.split('#').next().unwrap(),
        "/etc/tessera",
        etc.to_str().unwrap(),
    );
    let out = sh(&run_doctor);
    let text = show(&out);
    assert!(out.status.success(), "{text}\n{config}");
    for expected in [
        "ok      BFF key set",
        "ok      clock skew to PostgreSQL",
        "ok      clock skew to Redis",
        "ok      Redis maxmemory-policy noeviction",
    ] {
        assert!(text.contains(expected), "doctor: {expected}: {text}");
    }
    let out = sh(&format!("{run_doctor} --strict"));
    assert!(out.status.success(), "no warnings either: {}", show(&out));
    // The same file without the BFF key, listening beyond loopback.
    let unsafe_config = config
        .lines()
        .filter(|l| !l.starts_with("bff_key_file"))
        .map(|l| {
            if l.starts_with("listen") {
                "listen = \"0.0.0.0:4000\""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let unsafe_file = etc.join("unsafe.toml");
    std::fs::write(&unsafe_file, unsafe_config).unwrap();
    let out = sh(&run_doctor.replace(file.to_str().unwrap(), unsafe_file.to_str().unwrap()));
    assert_eq!(
        out.status.code(),
        Some(unsafe_status),
        "the guide says exit {unsafe_status} on anything unsafe: {}",
        show(&out)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .contains("error   listening on 0.0.0.0:4000 without TESSERA_BFF_KEY"),
        "{}",
        show(&out)
    );

    // The server from that file: the app's key required, sign-up works and
    // sends its verification mail through the SMTP server.
    let mut cmd = Command::new(BIN);
    cmd.env_clear().arg("--config").arg(&file);
    let running = serve(cmd);
    let http = reqwest::Client::new();
    let get = |path: &str| http.get(format!("{}{path}", running.base));
    assert_eq!(
        get("/healthz").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/readyz").send().await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        get("/v1/session").send().await.unwrap().status(),
        StatusCode::FORBIDDEN,
        "no BFF key"
    );
    let email = unique("guide");
    let resp = http
        .post(format!("{}/v1/register", running.base))
        .header("tessera-bff-key", &key)
        .header("origin", ORIGIN)
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
    let mut jar = Jar::default();
    jar.absorb(resp.headers());
    let session = get("/v1/session")
        .header("tessera-bff-key", &key)
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(session.status(), StatusCode::OK);
    let mail = &smtpd.wait_for(&email, 1).await[0];
    assert_eq!(mail.from, "no-reply@example.com", "the guide's mail_from");
    assert!(
        mail.subject.contains("Acme"),
        "the guide's app_name: {mail:?}"
    );
    assert!(
        mail.link().starts_with(ORIGIN),
        "a link to the app: {}",
        mail.link()
    );

    // The sign-up's events (`sign_up`, `sign_in`) reached the receiver,
    // signed.
    let started = std::time::Instant::now();
    loop {
        let got = receiver.received();
        assert!(got.iter().all(|r| r.valid), "refused: {got:?}");
        let mut kinds: Vec<_> = got.iter().filter_map(|r| r.kind.clone()).collect();
        kinds.sort();
        if kinds == ["sign_in", "sign_up"] {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(20),
            "{got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }

    drop(running);
    drop(redis);
    db.drop_now().await.unwrap();
}

/// The `TESSERA_*` names in `text`, each whole (`TESSERA_OAUTH_<NAME>_*`
/// and `TESSERA_*` included as written).
fn variable_names(text: &str) -> std::collections::BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || "_<>*".contains(c);
    text.match_indices("TESSERA_")
        .filter(|(at, _)| !text[..*at].ends_with(is_name))
        .map(|(at, _)| text[at..].chars().take_while(|c| is_name(*c)).collect())
        .collect()
}

/// Every source file under `dir` with one of `extensions`, concatenated.
fn sources(dir: &Path, extensions: &[&str]) -> String {
    let mut text = String::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            text += &sources(&path, extensions);
        } else if path
            .extension()
            .is_some_and(|e| extensions.iter().any(|x| e == *x))
        {
            text += &std::fs::read_to_string(&path).unwrap();
        }
    }
    text
}

/// A variable a guide names (the server's, e.g. in
/// docs/guide/migrate-from-authjs.md, or the kit's, e.g. `TESSERA_URL`)
/// is one the code reads; `TESSERA_OAUTH_<NAME>_X` needs X among the
/// per-provider keys.
#[test]
fn the_guides_name_only_variables_that_exist() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let known = variable_names(
        &(sources(&root.join("crates/tessera/src"), &["rs"])
            + &sources(&root.join("packages/next/src"), &["ts", "tsx"])),
    );
    let oauth_keys =
        std::fs::read_to_string(root.join("crates/tessera/src/oauth_config.rs")).unwrap();
    let mut checked = 0;
    for entry in std::fs::read_dir(root.join("docs/guide")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        for var in variable_names(&guide::text(&name)) {
            if let Some(key) = var.strip_prefix("TESSERA_OAUTH_<NAME>_") {
                assert!(
                    key == "*" || oauth_keys.contains(&format!("\"{key}\"")),
                    "docs/guide/{name} names {var}: no provider key {key} in oauth_config.rs"
                );
            } else if !var.contains('*') {
                assert!(
                    known.contains(&var),
                    "docs/guide/{name} names {var}, which neither the server nor the kit reads"
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 5, "found the guides' variables ({checked})");
}
