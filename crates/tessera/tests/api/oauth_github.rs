//! Sign in with GitHub, against the local GitHub test double
//! (`common/github_double.rs`): the whole flow, the binding of the
//! callback to the browser, linking rules, identities, the token exchange,
//! and garbage at both endpoints.

use crate::common::github_double::{GithubDouble, GithubUser};
use crate::common::oauth::{
    ACCESS_TOKEN, EXCHANGE, OAUTH, REDIRECT_BASE, callback, exchange, identities, post_token,
    query_param, redirect_uri, start, whoami,
};
use crate::common::{
    CSRF, Jar, ORIGIN, PASSWORD, SESSION, TestApp, oauth, set_cookie, set_cookies, sets_cookie,
    spawn_with, unique,
};
use cookie::SameSite;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) fn gh_id() -> u64 {
    tessera_core::SessionId::new().0.as_u64_pair().0 >> 12
}

async fn app_with_github(tweak: impl FnOnce(&mut tessera::Config)) -> (TestApp, GithubDouble) {
    let gh = GithubDouble::start().await;
    let g = gh.clone();
    let app = spawn_with(move |c| {
        g.configure(c, REDIRECT_BASE);
        tweak(c);
    })
    .await;
    (app, gh)
}

/// What the provider handed back to the browser: the callback's query.
pub(crate) struct Returned {
    pub(crate) query: String,
}

impl Returned {
    fn param(&self, name: &str) -> Option<String> {
        query_param(&self.query, name)
    }
}

/// The browser at the provider, which redirects back to the redirect URI.
pub(crate) async fn at_provider(app: &TestApp, url: &str) -> Returned {
    let r = app.http.get(url).send().await.unwrap();
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the provider redirects back"
    );
    let location = r.headers()["location"].to_str().unwrap();
    let prefix = format!("{}?", redirect_uri("github"));
    let query = location
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("redirected to the registered URI, got {location}"));
    Returned {
        query: query.to_owned(),
    }
}

/// A whole sign-in through the double; the jar ends up holding what the
/// browser would.
async fn sign_in(app: &TestApp, jar: &mut Jar, return_to: Option<&str>) -> reqwest::Response {
    oauth::sign_in(app, "github", jar, return_to, async |url| {
        at_provider(app, url).await.query
    })
    .await
}

fn assert_cleared_flow_cookie(r: &reqwest::Response) {
    let c = set_cookie(r.headers(), OAUTH);
    assert_eq!(
        c.max_age(),
        Some(time::Duration::ZERO),
        "the flow cookie is cleared"
    );
}

fn assert_no_session_cookie(r: &reqwest::Response) {
    assert!(
        !sets_cookie(r.headers(), SESSION) && !sets_cookie(r.headers(), CSRF),
        "a failed callback never sets a session cookie"
    );
}

/// A failure page sends a person to /login?error=<code>.
async fn assert_failure_page(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_cleared_flow_cookie(&r);
    assert_page(r, status, code).await;
}

/// A callback that is not this browser's flow: refused, and the flow
/// cookie (if any) is left alone for the real callback.
async fn assert_unbound(r: reqwest::Response) {
    assert!(
        !sets_cookie(r.headers(), OAUTH),
        "an unbound callback leaves the flow cookie alone"
    );
    assert_page(r, StatusCode::FORBIDDEN, "oauth_state_mismatch").await;
}

async fn assert_page(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status, "status for {code}");
    assert_no_session_cookie(&r);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!("content=\"0;url=/login?error={code}\"")),
        "meta refresh to /login?error={code}: {body}"
    );
    assert!(body.contains(&format!("href=\"/login?error={code}\"")));
}

#[tokio::test]
async fn github_sign_in_creates_a_user_with_the_primary_verified_email() {
    let (app, gh) = app_with_github(|_| {}).await;
    let email = unique("octo");
    let mut user = GithubUser::new(gh_id(), &email);
    user.emails = vec![
        ("old@example.com".into(), false, true),
        ("unverified-primary@example.com".into(), true, false),
        (email.to_uppercase(), true, true),
    ];
    user.emails.swap(1, 2);
    gh.sign_in_as(user.clone());

    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, Some("/dashboard?tab=1")).await;
    // The provider URL: PKCE S256, state, the registered redirect URI, the
    // default scopes; no nonce (GitHub is not OIDC).
    let parsed = url::Url::parse(&url).unwrap();
    let q: std::collections::HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["code_challenge"].len(), 43);
    assert!(q["state"].len() >= 43);
    assert_eq!(
        q["redirect_uri"],
        format!("{REDIRECT_BASE}/github/callback")
    );
    assert_eq!(q["scope"], "read:user user:email");
    assert!(!q.contains_key("nonce"));

    let back = at_provider(&app, &url).await;
    let r = callback(&app, "github", &jar, &back.query).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    assert!(
        r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let session = set_cookie(r.headers(), SESSION);
    assert_eq!(session.http_only(), Some(true));
    assert_eq!(session.same_site(), Some(SameSite::Strict));
    assert_eq!(session.secure(), Some(true));
    set_cookie(r.headers(), CSRF);
    assert_cleared_flow_cookie(&r);
    jar.absorb(r.headers());
    let body = r.text().await.unwrap();
    assert!(
        body.contains("content=\"0;url=/dashboard?tab=1\""),
        "{body}"
    );
    assert!(body.contains("href=\"/dashboard?tab=1\""));
    assert!(!body.contains("<script"), "no JavaScript needed");

    let me = whoami(&app, &jar).await;
    assert_eq!(
        me["user"]["email"], email,
        "the primary verified email, lowercased"
    );
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(me["user"]["name"], user.name.clone().unwrap());
    // The token request carried the PKCE verifier.
    assert!(gh.token_requests()[0].contains_key("code_verifier"));

    let ids = identities(&app, &jar).await;
    assert_eq!(ids["identities"][0]["provider"], "github");
    assert_eq!(ids["identities"][0]["subject"], user.id.to_string());
    assert_eq!(ids["identities"][0]["email"], email);

    // Password sign-in is impossible for a user made by a provider.
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_same_github_identity_twice_is_the_same_user() {
    let (app, gh) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("twice")));
    let mut first = Jar::default();
    assert_eq!(
        sign_in(&app, &mut first, None).await.status(),
        StatusCode::OK
    );
    let mut second = Jar::default();
    assert_eq!(
        sign_in(&app, &mut second, None).await.status(),
        StatusCode::OK
    );
    let (a, b) = (whoami(&app, &first).await, whoami(&app, &second).await);
    assert_eq!(a["user"]["id"], b["user"]["id"]);
    assert_ne!(
        a["session"]["id"], b["session"]["id"],
        "each sign-in is a new session"
    );
}

#[tokio::test]
async fn no_verified_email_means_no_new_user() {
    let (app, gh) = app_with_github(|_| {}).await;
    let mut user = GithubUser::new(gh_id(), &unique("noverify"));
    user.emails[0].2 = false;
    gh.sign_in_as(user);
    let mut jar = Jar::default();
    let r = sign_in(&app, &mut jar, None).await;
    assert_failure_page(r, StatusCode::UNPROCESSABLE_ENTITY, "email_required").await;
}

#[tokio::test]
async fn an_existing_password_account_is_never_taken_over_by_email() {
    // Default: refused with account_exists.
    let (app, gh) = app_with_github(|_| {}).await;
    let email = unique("taken");
    app.register(&email).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &email));
    let mut jar = Jar::default();
    let r = sign_in(&app, &mut jar, None).await;
    assert_failure_page(r, StatusCode::CONFLICT, "account_exists").await;

    // Configured to link verified emails: still refused, because the
    // password account's email was never verified. Whoever registered it
    // (perhaps an attacker, before its owner came) must not receive the
    // owner's GitHub account.
    let (app, gh) = app_with_github(|c| c.oauth_providers[0].link_verified_email = true).await;
    let (password_jar, _) = app.register(&email).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &email));
    let mut jar = Jar::default();
    let r = sign_in(&app, &mut jar, None).await;
    assert_failure_page(r, StatusCode::CONFLICT, "account_exists").await;
    let ids = identities(&app, &password_jar).await;
    assert_eq!(
        ids["identities"],
        serde_json::json!([]),
        "nothing was linked"
    );
}

#[tokio::test]
async fn a_signed_in_start_links_and_identities_can_be_unlinked_but_not_the_last() {
    let (app, gh) = app_with_github(|_| {}).await;
    let email = unique("linker");
    let (mut jar, me) = app.register(&email).await;
    // Another email at GitHub: linking does not care, the user is signed in.
    let octo = GithubUser::new(gh_id(), &unique("other-address"));
    gh.sign_in_as(octo.clone());
    let r = sign_in(&app, &mut jar, Some("/account")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !sets_cookie(r.headers(), SESSION),
        "linking keeps the current session"
    );
    assert!(r.text().await.unwrap().contains("url=/account"));
    let listed = identities(&app, &jar).await;
    assert_eq!(listed["identities"].as_array().unwrap().len(), 1);

    // Signing in with GitHub now reaches the same user.
    let mut other = Jar::default();
    sign_in(&app, &mut other, None).await;
    assert_eq!(whoami(&app, &other).await["user"]["id"], me["user"]["id"]);

    // Someone else cannot link the same GitHub account.
    let (mut stranger, _) = app.register(&unique("stranger")).await;
    let r = sign_in(&app, &mut stranger, None).await;
    assert_failure_page(r, StatusCode::CONFLICT, "identity_taken").await;

    // Unlink needs CSRF like every unsafe request.
    let r = app
        .req(Method::DELETE, "/v1/identities/github")
        .header("cookie", jar.header())
        .header("origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .browser(Method::DELETE, "/v1/identities/github", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::NO_CONTENT,
        "a password user may unlink"
    );
    let r = app
        .browser(Method::DELETE, "/v1/identities/github", &jar)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // A GitHub-only user cannot unlink their only way in.
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("only-github")));
    let mut only = Jar::default();
    sign_in(&app, &mut only, None).await;
    let r = app
        .browser(Method::DELETE, "/v1/identities/github", &only)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CONFLICT);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "last_sign_in_method");
    assert_eq!(
        app.req(Method::GET, "/v1/identities")
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn the_callback_is_bound_to_the_browser_that_started_it() {
    let (app, gh) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("bound")));

    // Missing cookie.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let r = callback(&app, "github", &Jar::default(), &back.query).await;
    assert_unbound(r).await;

    // State mismatch: the right cookie, another state.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let code = back.param("code").unwrap();
    let r = callback(&app, "github", &jar, &format!("code={code}&state=forged")).await;
    assert_unbound(r).await;
    // A forged denial for this flow is unbound too.
    let r = callback(&app, "github", &jar, "error=access_denied&state=forged").await;
    assert_unbound(r).await;
    // The forged callbacks spent nothing: the real one still signs in.
    let r = callback(&app, "github", &jar, &back.query).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_cleared_flow_cookie(&r);

    // Tampered cookie: one character changed.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let sealed = jar.cookies[OAUTH].clone();
    let mut bytes = sealed.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    jar.cookies
        .insert(OAUTH.into(), String::from_utf8(bytes).unwrap());
    let r = callback(&app, "github", &jar, &back.query).await;
    assert_unbound(r).await;

    // Junk cookie.
    let mut junk = Jar::default();
    junk.cookies.insert(
        OAUTH.into(),
        "%%%not-base64\u{7f}".escape_default().to_string(),
    );
    let r = callback(&app, "github", &junk, &back.query).await;
    assert_unbound(r).await;

    // Expired flow: the cookie outlived its ten minutes.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    app.clock.advance(time::Duration::seconds(601));
    let r = callback(&app, "github", &jar, &back.query).await;
    assert_failure_page(r, StatusCode::FORBIDDEN, "oauth_state_mismatch").await;
}

#[tokio::test]
async fn a_cookie_sealed_by_another_deployment_is_refused() {
    let (app, gh) = app_with_github(|_| {}).await;
    let (other, _) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("foreign")));
    let mut theirs = Jar::default();
    start(&other, "github", &mut theirs, None).await;
    let mut ours = Jar::default();
    let url = start(&app, "github", &mut ours, None).await;
    let back = at_provider(&app, &url).await;
    let r = callback(&app, "github", &theirs, &back.query).await;
    assert_unbound(r).await;
}

#[tokio::test]
async fn a_code_injected_from_another_browser_fails_pkce_and_replays_fail() {
    let (app, gh) = app_with_github(|_| {}).await;
    // The attacker runs a flow as themselves and keeps the code.
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("attacker")));
    let mut attacker = Jar::default();
    let url = start(&app, "github", &mut attacker, None).await;
    let attackers = at_provider(&app, &url).await;
    // The victim starts a flow; the attacker gets the victim's browser to
    // the callback with the victim's state but the attacker's code.
    let mut victim = Jar::default();
    let url = start(&app, "github", &mut victim, None).await;
    let victims = at_provider(&app, &url).await;
    let injected = format!(
        "code={}&state={}",
        attackers.param("code").unwrap(),
        victims.param("state").unwrap()
    );
    let r = callback(&app, "github", &victim, &injected).await;
    assert_failure_page(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;

    // The attacker's own flow, done once, then replayed (cookie kept).
    let r = callback(&app, "github", &attacker, &attackers.query).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = callback(&app, "github", &attacker, &attackers.query).await;
    assert_failure_page(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;

    // A made-up code.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let made_up = format!("code=made-up&state={}", back.param("state").unwrap());
    let r = callback(&app, "github", &jar, &made_up).await;
    assert_failure_page(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;
}

#[tokio::test]
async fn denied_consent_sends_the_person_back_with_a_reason() {
    let (app, gh) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("denier")));
    gh.deny_next();
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    assert_eq!(back.param("error").as_deref(), Some("access_denied"));
    let r = callback(&app, "github", &jar, &back.query).await;
    assert_failure_page(r, StatusCode::BAD_REQUEST, "access_denied").await;

    // A client asking for JSON gets problem+json.
    let r = app
        .browser(
            Method::GET,
            &format!("/v1/oauth/github/callback?{}", back.query),
            &jar,
        )
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["code"], "access_denied");
    assert_eq!(p["type"], "urn:tessera:error:access_denied");
}

#[tokio::test]
async fn return_to_is_only_ever_a_local_path() {
    let (app, gh) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("returner")));
    for (given, lands) in [
        ("/account?x=1&y=2", "/account?x=1&amp;y=2"),
        ("//evil.example/path", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/a\r\nSet-Cookie: x=y", "/"),
        (
            "/\"><script>alert(1)</script>",
            "/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        ),
    ] {
        let mut jar = Jar::default();
        let r = sign_in(&app, &mut jar, Some(given)).await;
        assert_eq!(r.status(), StatusCode::OK, "{given:?}");
        let body = r.text().await.unwrap();
        assert!(
            body.contains(&format!("content=\"0;url={lands}\"")),
            "{given:?} lands on {lands:?}: {body}"
        );
    }
    // Over 2 KiB is refused at start.
    let long = format!("/{}", "a".repeat(2048));
    let r = app
        .req(
            Method::GET,
            &format!("/v1/oauth/github/start?return_to={long}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        set_cookies(r.headers())
            .iter()
            .all(|c| c.name() != OAUTH || c.max_age() == Some(time::Duration::ZERO))
    );
}

#[tokio::test]
async fn the_flow_cookie_has_the_contracted_attributes() {
    let (app, _gh) = app_with_github(|_| {}).await;
    let r = app
        .req(Method::GET, "/v1/oauth/github/start?return_to=/x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()["cache-control"], "no-store");
    let c = set_cookie(r.headers(), OAUTH);
    assert_eq!(c.http_only(), Some(true));
    assert_eq!(c.secure(), Some(true));
    assert_eq!(c.same_site(), Some(SameSite::Lax));
    assert_eq!(c.path(), Some("/"));
    assert_eq!(c.domain(), None);
    assert_eq!(c.max_age(), Some(time::Duration::minutes(10)));
    // Sealed: neither the state nor the verifier is readable in it.
    let location = r.headers()["location"].to_str().unwrap();
    let state = url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    assert!(!c.value().contains(&state));
}

#[tokio::test]
async fn garbage_at_both_endpoints_is_a_4xx_never_a_5xx() {
    let (app, gh) = app_with_github(|_| {}).await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("garbage")));
    let huge = "x".repeat(10_000);
    let cases = [
        "/v1/oauth/nope/start".to_owned(),
        "/v1/oauth/nope/callback?code=a&state=b".to_owned(),
        "/v1/oauth/github/callback".to_owned(),
        "/v1/oauth/github/callback?code=&state=".to_owned(),
        "/v1/oauth/github/callback?code=a".to_owned(),
        "/v1/oauth/github/callback?code=a&code=b&state=c".to_owned(),
        format!("/v1/oauth/github/callback?code={huge}&state=x"),
        "/v1/oauth/github/callback?code=%ff%fe&state=%00".to_owned(),
        "/v1/oauth/github/callback?code=a&state=%0d%0aSet-Cookie:x".to_owned(),
        "/v1/oauth/github/start?return_to=/a&return_to=/b".to_owned(),
        format!("/v1/oauth/{huge}/start"),
        "/v1/oauth/%2e%2e/start".to_owned(),
    ];
    for path in &cases {
        for cookie in [
            String::new(),
            format!("{OAUTH}=junk"),
            format!("{OAUTH}={huge}"),
            format!("{OAUTH}=\u{1}"),
        ] {
            let r = app
                .req(Method::GET, path)
                .header("cookie", cookie.escape_default().to_string())
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert!(
                status.is_client_error(),
                "{path} with cookie {cookie:.20}: {status}"
            );
            assert!(
                !sets_cookie(r.headers(), SESSION),
                "{path}: never a session cookie"
            );
        }
    }
    // With a valid flow cookie and its state: garbage codes and extras.
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let state = back.param("state").unwrap();
    for query in [
        format!("code=%00%01&state={state}"),
        format!("code={}&state={state}", "y".repeat(2000)),
        format!("code=a%0d%0aX:y&state={state}&iss=%ff"),
        format!("state={state}"),
        format!("error=&state={state}"),
    ] {
        let r = callback(&app, "github", &jar, &query).await;
        assert!(r.status().is_client_error(), "{query:.40}: {}", r.status());
        assert!(!sets_cookie(r.headers(), SESSION));
    }

    // Unknown provider: 404 with the code.
    let r = app
        .req(Method::GET, "/v1/oauth/nope/start")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "unknown_provider");
}

/// A start or callback with more query parameters than any provider sends
/// is refused (400 `invalid_request`) before it costs anything: the
/// duplicate check once took O(n²) (4 300 parameters: about 20 ms a
/// request, before any rate limit). Issue 18 item 4.
#[tokio::test]
async fn too_many_query_parameters_are_refused() {
    let (app, _gh) = app_with_github(|_| {}).await;
    let many = |n: usize| {
        (0..n)
            .map(|i| format!("p{i}=x"))
            .collect::<Vec<_>>()
            .join("&")
    };
    for endpoint in ["start", "callback"] {
        for n in [65, 4_300] {
            let r = app
                .req(
                    Method::GET,
                    &format!("/v1/oauth/github/{endpoint}?{}", many(n)),
                )
                .header("accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{endpoint}, {n}");
            assert_eq!(
                r.json::<Value>().await.unwrap()["code"],
                "invalid_request",
                "{endpoint}, {n}"
            );
        }
    }
    // At the limit, a start still starts (the extra names are ignored).
    let r = app
        .req(
            Method::GET,
            &format!("/v1/oauth/github/start?return_to=/a&{}", many(63)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn no_providers_configured_means_oauth_is_404() {
    let app = spawn_with(|_| {}).await;
    let r = app
        .req(Method::GET, "/v1/oauth/github/start")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn token_exchange_turns_a_github_token_into_tessera_tokens() {
    let (app, gh) = app_with_github(|_| {}).await;
    let email = unique("bridge");
    let octo = GithubUser::new(gh_id(), &email);
    let token = gh.issue_token(octo.clone());
    let (status, body) = exchange(&app, "github", &token, ACCESS_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Once only: one leaked GitHub token mints at most one refresh family
    // (issue 18 item 7; it was taken again and again before).
    let (again, refused) = exchange(&app, "github", &token, ACCESS_TOKEN).await;
    assert_eq!(again, StatusCode::BAD_REQUEST, "{refused}");
    assert_eq!(refused["error"], "invalid_grant");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["issued_token_type"], ACCESS_TOKEN);
    assert!(body["refresh_token"].is_string());
    let access = body["access_token"].as_str().unwrap();

    // The same GitHub user signing in through the browser is that user.
    gh.sign_in_as(octo);
    let mut jar = Jar::default();
    sign_in(&app, &mut jar, None).await;
    let me = whoami(&app, &jar).await;
    let claims: Value = {
        use base64::Engine;
        let payload = access.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(payload)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(claims["sub"], me["user"]["id"]);

    // The refresh token works like any other.
    let (status, _) = post_token(
        &app,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", body["refresh_token"].as_str().unwrap()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A real GitHub token, but issued to another GitHub app: refused, or
    // any app the user ever authorised could sign in as them here.
    let foreign = gh.issue_foreign_token(GithubUser::new(gh_id(), &unique("foreign")));
    for (form, error) in [
        (
            vec![
                ("provider", "github"),
                ("subject_token", foreign.as_str()),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("provider", "github"),
                ("subject_token", "gho_unknown"),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("provider", "gitlab"),
                ("subject_token", &token),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            "invalid_target",
        ),
        (
            vec![
                ("provider", "github"),
                ("subject_token", "bad\u{1}token"),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            "invalid_grant",
        ),
        (
            vec![
                ("provider", "github"),
                ("subject_token", &token),
                ("subject_token_type", "urn:x"),
            ],
            "invalid_request",
        ),
        (
            vec![("provider", "github"), ("subject_token_type", ACCESS_TOKEN)],
            "invalid_request",
        ),
    ] {
        let mut full = vec![("grant_type", EXCHANGE)];
        full.extend(form.iter().copied());
        let (status, body) = post_token(&app, &full).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{form:?}: {body}");
        assert_eq!(body["error"], error, "{form:?}");
    }

    // The link rules hold here too: an existing password user's email.
    let existing = unique("bridge-taken");
    app.register(&existing).await;
    let t = gh.issue_token(GithubUser::new(gh_id(), &existing));
    let (status, body) = exchange(&app, "github", &t, ACCESS_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .starts_with("account_exists")
    );
}

#[tokio::test]
async fn an_unreachable_provider_is_a_502_not_a_500() {
    let (app, gh) = app_with_github(|c| {
        c.oauth_providers[0].token_url = Some("http://127.0.0.1:9/token".into());
        c.oauth_providers[0].api_url = Some("http://127.0.0.1:9/api".into());
    })
    .await;
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("down")));
    let mut jar = Jar::default();
    let r = sign_in(&app, &mut jar, None).await;
    assert_failure_page(r, StatusCode::BAD_GATEWAY, "provider_unavailable").await;
    let (status, body) = exchange(&app, "github", "gho_x", ACCESS_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
}

#[tokio::test]
async fn junk_sent_on_to_the_provider_is_limited_per_client_ip() {
    let (app, gh) = app_with_github(|c| c.login_limits.max_failures_per_ip = 3).await;
    let from = |ip: &'static str, token: String| {
        app.req(Method::POST, "/v1/token")
            .header("tessera-client-ip", ip)
            .form(&[
                ("grant_type", EXCHANGE.to_owned()),
                ("provider", "github".to_owned()),
                ("subject_token", token),
                ("subject_token_type", ACCESS_TOKEN.to_owned()),
            ])
            .send()
    };
    let user = GithubUser::new(gh_id(), &unique("limited"));
    // Successes are given back: any number of them (each token is taken
    // once, so each is a new one).
    for _ in 0..5 {
        let good = gh.issue_token(user.clone());
        assert_eq!(
            from("192.0.2.9", good).await.unwrap().status(),
            StatusCode::OK
        );
    }
    for _ in 0..3 {
        let r = from("192.0.2.9", "gho_junk".into()).await.unwrap();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    let r = from("192.0.2.9", "gho_junk".into()).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
    let good = gh.issue_token(user.clone());
    assert_eq!(
        from("192.0.2.9", good.clone()).await.unwrap().status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the address is limited, whatever it sends"
    );
    assert_eq!(
        from("198.51.100.7", good).await.unwrap().status(),
        StatusCode::OK,
        "other addresses are not"
    );

    // Callbacks with codes the provider refuses count the same.
    gh.sign_in_as(GithubUser::new(gh_id(), &unique("cb")));
    let mut jar = Jar::default();
    let url = start(&app, "github", &mut jar, None).await;
    let back = at_provider(&app, &url).await;
    let made_up = format!("code=made-up&state={}", back.param("state").unwrap());
    let r = app
        .browser(
            Method::GET,
            &format!("/v1/oauth/github/callback?{made_up}"),
            &jar,
        )
        .header("tessera-client-ip", "192.0.2.9")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("/login?error=rate_limited")
    );
}

/// Issue 21: a provider sign-in of a user with TOTP on stops at the
/// challenge like a password sign-in: no session cookie, the challenge in
/// its cookie, and the browser sent on to the app's code form with the
/// flow's `return_to`; the token exchange stops there too.
#[tokio::test]
async fn a_provider_sign_in_with_totp_on_goes_to_the_code_form_first() {
    use crate::mfa::{code, next_step};
    let (app, gh) = app_with_github(|_| {}).await;
    let email = unique("octo-mfa");
    let octo = GithubUser::new(gh_id(), &email);
    gh.sign_in_as(octo.clone());
    let mut jar = Jar::default();
    let r = sign_in(&app, &mut jar, None).await;
    assert_eq!(r.status(), StatusCode::OK);

    // No password: a sign-in in the last 5 minutes stands in for it.
    let r = app
        .browser(Method::POST, "/v1/mfa/totp", &jar)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let uri: Value = r.json().await.unwrap();
    let b32 = uri["secret"].as_str().unwrap();
    let secret = totp_rs::Secret::try_from_base32(b32)
        .unwrap()
        .as_ref()
        .to_vec();
    let r = app
        .browser(Method::POST, "/v1/mfa/totp/confirm", &jar)
        .json(&serde_json::json!({"code": code(&app, &secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    let mut browser = Jar::default();
    let r = sign_in(&app, &mut browser, Some("/dashboard?tab=2")).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_no_session_cookie(&r);
    assert_cleared_flow_cookie(&r);
    let challenge = set_cookie(r.headers(), "__Host-tessera_mfa");
    assert_eq!(challenge.http_only(), Some(true));
    assert_eq!(challenge.same_site(), Some(SameSite::Strict));
    let body = r.text().await.unwrap();
    assert!(
        body.contains("content=\"0;url=/login/mfa?next=%2Fdashboard%3Ftab%3D2\""),
        "{body}"
    );
    next_step(&app);
    let r = app
        .browser(Method::POST, "/v1/login/mfa", &browser)
        .json(&serde_json::json!({"code": code(&app, &secret)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    browser.absorb(r.headers());
    let me = whoami(&app, &browser).await;
    assert_eq!(me["user"]["email"], email);
    assert_eq!(
        me["session"]["amr"],
        serde_json::json!(["fed", "otp", "mfa"])
    );

    // The token exchange of the same GitHub identity: the challenge too.
    let token = gh.issue_token(octo);
    let (status, body) = exchange(&app, "github", &token, ACCESS_TOKEN).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "mfa_required");
    assert!(body["challenge"].is_string());
    assert!(body.get("access_token").is_none());
}
