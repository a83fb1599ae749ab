//! Test harness: the real app on port 0, a fresh SQLite file per test, a
//! fake clock, and a tiny cookie jar that reads real `Set-Cookie` headers.

pub mod authenticator;
pub mod github_double;
pub mod guide;
pub mod oauth;
pub mod oidc_provider;
pub mod process;
pub mod smtp;
pub mod webhook_receiver;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use cookie::Cookie;
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tessera::{Config, Server};
use tessera_core::{Argon2Settings, ManualClock};
use tokio::net::TcpListener;

pub const PASSWORD: &str = "correct horse battery staple";
pub const ORIGIN: &str = "http://localhost:3000";
pub const SESSION: &str = "__Host-tessera_session";
pub const CSRF: &str = "__Host-tessera_csrf";

pub struct TestApp {
    pub base: String,
    pub addr: SocketAddr,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    pub server: Server,
    pub dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Cheap hashing for tests; one test checks the real defaults.
pub const FAST_ARGON2: Argon2Settings = Argon2Settings {
    m_cost: 64,
    t_cost: 1,
    p_cost: 1,
};

pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::defaults().expect("default config");
    config.data_dir = dir.to_path_buf();
    config.listen = "127.0.0.1:0".parse().expect("addr");
    config.argon2 = FAST_ARGON2;
    config
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = test_config(dir.path());
    tweak(&mut config);
    spawn_in(dir, config).await
}

pub async fn spawn_in(dir: tempfile::TempDir, config: Config) -> TestApp {
    let clock = ManualClock::starting_now();
    let server = Server::build(&config, Arc::new(clock.clone()))
        .await
        .expect("server builds");
    let listener = TcpListener::bind(config.listen).await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let s = server.clone();
    let task = tokio::spawn(async move {
        s.serve(listener, std::future::pending())
            .await
            .expect("serve");
    });
    TestApp {
        base: format!("http://{addr}"),
        addr,
        clock,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        server,
        dir,
        task,
    }
}

/// The cookies a browser would hold, updated from `Set-Cookie` headers.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    pub cookies: BTreeMap<String, String>,
}

impl Jar {
    pub fn absorb(&mut self, headers: &HeaderMap) {
        for c in set_cookies(headers) {
            if c.max_age() == Some(time::Duration::ZERO) {
                self.cookies.remove(c.name());
            } else {
                self.cookies
                    .insert(c.name().to_owned(), c.value().to_owned());
            }
        }
    }

    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn session(&self) -> &str {
        self.cookies.get(SESSION).map_or("", String::as_str)
    }

    pub fn csrf(&self) -> &str {
        self.cookies.get(CSRF).map_or("", String::as_str)
    }
}

pub fn set_cookies(headers: &HeaderMap) -> Vec<Cookie<'static>> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| {
            Cookie::parse(v.to_str().expect("ascii cookie").to_owned()).expect("valid Set-Cookie")
        })
        .collect()
}

/// Whether the response sets (or clears) the cookie `name`.
pub fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    set_cookies(headers).iter().any(|c| c.name() == name)
}

pub fn set_cookie(headers: &HeaderMap, name: &str) -> Cookie<'static> {
    set_cookies(headers)
        .into_iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no Set-Cookie for {name}"))
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    /// A request as the app's own page would send it: cookies, and for
    /// unsafe methods the CSRF header and the app's origin.
    pub fn browser(&self, method: Method, path: &str, jar: &Jar) -> RequestBuilder {
        let unsafe_method = method != Method::GET && method != Method::HEAD;
        let mut r = self.req(method, path).header("cookie", jar.header());
        if unsafe_method {
            r = r
                .header("x-csrf-token", jar.csrf())
                .header("origin", ORIGIN);
        }
        r
    }

    pub async fn register(&self, email: &str) -> (Jar, Value) {
        let resp = self
            .req(Method::POST, "/v1/register")
            .json(&json!({"email": email, "password": PASSWORD, "name": "Test User"}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), StatusCode::CREATED, "register {email}");
        let mut jar = Jar::default();
        jar.absorb(resp.headers());
        (jar, resp.json().await.expect("json"))
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.req(Method::POST, "/v1/login")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("send")
    }

    pub async fn login_jar(&self, email: &str) -> Jar {
        let resp = self.login(email, PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::OK, "login {email}");
        let mut jar = Jar::default();
        jar.absorb(resp.headers());
        jar
    }

    pub async fn whoami(&self, jar: &Jar) -> Response {
        self.browser(Method::GET, "/v1/session", jar)
            .send()
            .await
            .expect("send")
    }

    pub async fn whoami_status(&self, jar: &Jar) -> StatusCode {
        self.whoami(jar).await.status()
    }
}

/// Asserts a problem+json answer with this status and code; returns it.
pub async fn problem(resp: Response, status: StatusCode, code: &str) -> Value {
    assert_eq!(resp.status(), status, "status for expected {code}");
    let ct = resp
        .headers()
        .get("content-type")
        .expect("content-type")
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(ct, "application/problem+json");
    assert_eq!(resp.headers().get("cache-control").unwrap(), "no-store");
    assert_eq!(
        resp.headers().get("x-content-type-options").unwrap(),
        "nosniff"
    );
    assert_eq!(
        resp.headers().get("referrer-policy").unwrap(),
        "no-referrer"
    );
    let body: Value = resp.json().await.expect("problem body is JSON");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16());
    assert_eq!(body["type"], format!("urn:tessera:error:{code}"));
    assert!(body["title"].is_string());
    body
}

pub fn unique(tag: &str) -> String {
    format!("{tag}-{}@example.com", uuid_v4())
}

fn uuid_v4() -> String {
    tessera_core::SessionId::new().to_string()
}
