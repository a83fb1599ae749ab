//! Sign in with an OpenID Connect provider: a real one (npm `oidc-provider`,
//! `tests/oidc-provider`) on a free port, one per test. The `id_token` checks
//! (signature, nonce, iss, aud, exp), denied consent, expired codes, the
//! email-linking rules and the token exchange through userinfo.

use crate::common::oauth::{
    ACCESS_TOKEN, EXCHANGE, OAUTH, callback, exchange, identities, query_param, redirect_uri,
    start, whoami,
};
use crate::common::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OidcProvider};
use crate::common::{Jar, SESSION, TestApp, oauth, process, set_cookie, sets_cookie, spawn_with};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const CALLBACK: &str = "http://localhost:3000/api/auth/oauth/acme/callback";
/// A second provider at the same issuer, as if it were another one.
const CALLBACK2: &str = "http://localhost:3000/api/auth/oauth/acme2/callback";

fn unique(tag: &str) -> String {
    format!("{tag}-{}", tessera_core::SessionId::new())
}

fn acme(issuer: &str) -> tessera_oauth::ProviderConfig {
    tessera_oauth::ProviderConfig {
        name: "acme".into(),
        kind: tessera_oauth::ProviderKind::Oidc,
        client_id: CLIENT_ID.into(),
        client_secret: CLIENT_SECRET.to_owned().into(),
        issuer: Some(issuer.to_owned()),
        scopes: None,
        authorize_url: None,
        token_url: None,
        api_url: None,
        link_verified_email: false,
        redirect_uri: CALLBACK.into(),
    }
}

async fn setup(
    env: &[(&str, &str)],
    tweak: impl FnOnce(&mut tessera_oauth::ProviderConfig),
) -> (TestApp, OidcProvider) {
    let provider = OidcProvider::start(&[CALLBACK, CALLBACK2], env);
    let mut config = acme(&provider.issuer);
    tweak(&mut config);
    let mut second = config.clone();
    second.name = "acme2".into();
    second.redirect_uri = CALLBACK2.into();
    let app = spawn_with(move |c| {
        c.oauth_providers.push(config);
        c.oauth_providers.push(second);
    })
    .await;
    (app, provider)
}

/// Start, the provider, the callback: the callback's response.
async fn flow(app: &TestApp, provider: &OidcProvider, jar: &mut Jar) -> reqwest::Response {
    flow_with(app, provider, jar, "acme").await
}

/// The same through the provider configured as `name` (`acme`, `acme2`).
async fn flow_with(
    app: &TestApp,
    provider: &OidcProvider,
    jar: &mut Jar,
    name: &str,
) -> reqwest::Response {
    oauth::sign_in(app, name, jar, Some("/dashboard"), async |url| {
        provider.browse(url, &redirect_uri(name)).await
    })
    .await
}

/// A failure: the status, the code in problem+json, never a session.
async fn assert_fails(r: reqwest::Response, status: StatusCode, code: &str) {
    assert_eq!(r.status(), status, "expected {code}");
    assert!(
        !sets_cookie(r.headers(), SESSION),
        "no session cookie on failure"
    );
    let body = r.text().await.unwrap();
    assert!(
        body.contains(&format!("/login?error={code}")),
        "sends the person to /login?error={code}: {body}"
    );
}

#[tokio::test]
async fn oidc_sign_in_checks_the_id_token_and_creates_the_user() {
    let (app, provider) = setup(&[], |_| {}).await;
    let sub = unique("sub");
    let email = format!("{sub}@Oidc.Test");
    provider.sign_in_as(&sub, Some(&email), true).await;
    let mut jar = Jar::default();
    let url = start(&app, "acme", &mut jar, Some("/dashboard")).await;
    let q: std::collections::HashMap<String, String> = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert!(url.starts_with(&format!("{}/auth?", provider.issuer)));
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid email profile");
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["nonce"].len() >= 43, "a fresh nonce");
    assert_eq!(q["redirect_uri"], CALLBACK);

    let back = provider.browse(&url, CALLBACK).await;
    let r = callback(&app, "acme", &jar, &back).await;
    assert_eq!(r.status(), StatusCode::OK);
    set_cookie(r.headers(), SESSION);
    jar.absorb(r.headers());
    assert!(r.text().await.unwrap().contains("url=/dashboard"));
    let me = whoami(&app, &jar).await;
    assert_eq!(me["user"]["email"], email.to_lowercase());
    assert_eq!(me["user"]["email_verified"], true);
    assert_eq!(me["user"]["name"], format!("Name of {sub}"));
    let ids = identities(&app, &jar).await;
    assert_eq!(ids["identities"][0]["provider"], "acme");
    assert_eq!(ids["identities"][0]["subject"], sub);

    // The same identity again is the same user.
    let mut again = Jar::default();
    assert_eq!(
        flow(&app, &provider, &mut again).await.status(),
        StatusCode::OK
    );
    assert_eq!(whoami(&app, &again).await["user"]["id"], me["user"]["id"]);
}

#[tokio::test]
async fn id_tokens_that_fail_a_check_are_refused() {
    let (app, provider) = setup(&[], |_| {}).await;
    provider
        .sign_in_as(
            &unique("forged"),
            Some(&format!("{}@oidc.test", unique("f"))),
            true,
        )
        .await;
    let invalid = (StatusCode::BAD_REQUEST, "id_token_invalid");
    for (how, what, (status, code)) in [
        // Not issued for this flow: a binding failure, like a wrong state.
        (
            json!({"nonce": "not-the-flow-nonce"}),
            "nonce mismatch",
            (StatusCode::FORBIDDEN, "oauth_state_mismatch"),
        ),
        (
            json!({"wrong_key": true}),
            "signed by a key not in the issuer's JWKS",
            invalid,
        ),
        (json!({"aud": "someone-else"}), "wrong audience", invalid),
        (
            json!({"iss": "http://127.0.0.1:9"}),
            "wrong issuer",
            invalid,
        ),
        (json!({"exp_offset": -3600}), "expired", invalid),
    ] {
        provider.misbehave(how).await;
        let mut jar = Jar::default();
        let r = flow(&app, &provider, &mut jar).await;
        assert_eq!(r.status(), status, "{what}");
        assert_fails(r, status, code).await;
    }
    // Honest again: it works.
    provider.misbehave(json!({})).await;
    let mut jar = Jar::default();
    assert_eq!(
        flow(&app, &provider, &mut jar).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn denied_consent_expired_replayed_and_injected_codes_are_refused() {
    let (app, provider) = setup(&[("OIDC_CODE_TTL", "1")], |_| {}).await;
    provider
        .sign_in_as(
            &unique("d"),
            Some(&format!("{}@oidc.test", unique("d"))),
            true,
        )
        .await;
    provider.deny(true).await;
    let mut jar = Jar::default();
    let r = flow(&app, &provider, &mut jar).await;
    assert_fails(r, StatusCode::BAD_REQUEST, "access_denied").await;
    provider.deny(false).await;

    // Expired code: the provider's codes live one second here.
    let mut jar = Jar::default();
    let url = start(&app, "acme", &mut jar, Some("/")).await;
    let back = provider.browse(&url, CALLBACK).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let r = callback(&app, "acme", &jar, &back).await;
    assert_fails(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;

    // Replayed callback: the code was spent by the first use.
    let mut jar = Jar::default();
    let url = start(&app, "acme", &mut jar, Some("/")).await;
    let back = provider.browse(&url, CALLBACK).await;
    assert_eq!(
        callback(&app, "acme", &jar, &back).await.status(),
        StatusCode::OK
    );
    let r = callback(&app, "acme", &jar, &back).await;
    assert_fails(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;

    // A code from another browser's flow (the attacker's), injected with
    // this browser's state: the real provider refuses it, as it was bound
    // to the other flow's PKCE challenge.
    let mut attacker = Jar::default();
    let url = start(&app, "acme", &mut attacker, Some("/")).await;
    let attackers = provider.browse(&url, CALLBACK).await;
    let mut victim = Jar::default();
    let url = start(&app, "acme", &mut victim, Some("/")).await;
    let victims = provider.browse(&url, CALLBACK).await;
    let injected = format!(
        "code={}&state={}",
        query_param(&attackers, "code").unwrap(),
        query_param(&victims, "state").unwrap()
    );
    let r = callback(&app, "acme", &victim, &injected).await;
    assert_fails(r, StatusCode::BAD_REQUEST, "oauth_code_rejected").await;

    // The authorization response's `iss` (RFC 9207) must be this issuer.
    let mut jar = Jar::default();
    let url = start(&app, "acme", &mut jar, Some("/")).await;
    let back = provider.browse(&url, CALLBACK).await;
    let mixed_up = back.replace("iss=http", "iss=https");
    let r = callback(&app, "acme", &jar, &mixed_up).await;
    assert_fails(r, StatusCode::FORBIDDEN, "oauth_state_mismatch").await;
}

#[tokio::test]
async fn emails_link_only_when_both_sides_verified_them_and_it_is_configured() {
    // Default: an existing user's email is refused, verified or not.
    let (app, provider) = setup(&[], |_| {}).await;
    let email = format!("{}@example.com", unique("existing"));
    app.register(&email).await;
    provider.sign_in_as(&unique("s1"), Some(&email), true).await;
    let mut jar = Jar::default();
    let r = flow(&app, &provider, &mut jar).await;
    assert_fails(r, StatusCode::CONFLICT, "account_exists").await;

    // Configured to link verified emails.
    let (app, provider) = setup(&[], |p| p.link_verified_email = true).await;
    // A password account (its email never verified) is not taken over,
    // even by a provider that verified the address.
    app.register(&email).await;
    provider.sign_in_as(&unique("s2"), Some(&email), true).await;
    let mut jar = Jar::default();
    let r = flow(&app, &provider, &mut jar).await;
    assert_fails(r, StatusCode::CONFLICT, "account_exists").await;
    // Once the password user has verified the address (the link from the
    // sign-up mail, here in the outbox), that provider links to them.
    while app.server.mailer.run_once().await.unwrap() > 0 {}
    let mail = crate::common::smtp::outbox(app.dir.path())
        .into_iter()
        .find(|m| m.to == email)
        .expect("the sign-up's verification mail");
    let r = app
        .req(reqwest::Method::POST, "/v1/email/verify")
        .json(&serde_json::json!({"token": mail.token()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    provider
        .sign_in_as(&unique("s2b"), Some(&email), true)
        .await;
    let mut linked = Jar::default();
    assert_eq!(
        flow(&app, &provider, &mut linked).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        whoami(&app, &linked).await["user"]["email"],
        email.as_str(),
        "linked to the verified password user"
    );

    // A user made by one provider with a verified email is reached by
    // another provider that verified the same email...
    let shared = format!("{}@example.com", unique("shared"));
    provider
        .sign_in_as(&unique("s3"), Some(&shared), true)
        .await;
    let mut first = Jar::default();
    assert_eq!(
        flow(&app, &provider, &mut first).await.status(),
        StatusCode::OK
    );
    assert_eq!(whoami(&app, &first).await["user"]["email_verified"], true);
    // ... but not when the second provider did not verify it.
    provider
        .sign_in_as(&unique("s4"), Some(&shared), false)
        .await;
    let mut jar = Jar::default();
    let r = flow_with(&app, &provider, &mut jar, "acme2").await;
    assert_fails(r, StatusCode::CONFLICT, "account_exists").await;
    provider
        .sign_in_as(&unique("s5"), Some(&shared), true)
        .await;
    let mut second = Jar::default();
    assert_eq!(
        flow_with(&app, &provider, &mut second, "acme2")
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        whoami(&app, &second).await["user"]["id"],
        whoami(&app, &first).await["user"]["id"],
        "linked by the verified email"
    );
    // Another account at a provider the user has linked already.
    provider
        .sign_in_as(&unique("s6"), Some(&shared), true)
        .await;
    let mut jar = Jar::default();
    let r = flow(&app, &provider, &mut jar).await;
    assert_fails(r, StatusCode::CONFLICT, "provider_already_linked").await;

    // A new user with an unverified email is created as unverified.
    let fresh = format!("{}@example.com", unique("fresh"));
    provider
        .sign_in_as(&unique("s7"), Some(&fresh), false)
        .await;
    let mut jar = Jar::default();
    assert_eq!(
        flow(&app, &provider, &mut jar).await.status(),
        StatusCode::OK
    );
    assert_eq!(whoami(&app, &jar).await["user"]["email_verified"], false);

    // No email at all: no new user.
    provider.sign_in_as(&unique("s8"), None, false).await;
    let mut jar = Jar::default();
    let r = flow(&app, &provider, &mut jar).await;
    assert_fails(r, StatusCode::UNPROCESSABLE_ENTITY, "email_required").await;
}

const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";

#[tokio::test]
async fn token_exchange_takes_only_an_id_token_issued_to_this_client() {
    let (app, provider) = setup(&[], |_| {}).await;
    let sub = unique("bridge");
    provider
        .sign_in_as(&sub, Some(&format!("{sub}@oidc.test")), true)
        .await;
    let tokens = provider.tokens(CALLBACK).await;
    let (status, body) = exchange(&app, "acme", &tokens.id_token, ID_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
    assert!(body["refresh_token"].is_string());

    // The browser sign-in of the same subject is the same user.
    let mut jar = Jar::default();
    flow(&app, &provider, &mut jar).await;
    let ids = identities(&app, &jar).await;
    assert_eq!(ids["identities"].as_array().unwrap().len(), 1);
    assert_eq!(ids["identities"][0]["subject"], sub);

    // An OIDC access token is refused: userinfo would vouch for a token
    // any other client of this provider obtained.
    let (status, body) = exchange(&app, "acme", &tokens.access_token, ACCESS_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    // An access token passed off as an id_token, and made-up tokens.
    for junk in [tokens.access_token.as_str(), "made-up", "a.b.c"] {
        let (status, body) = exchange(&app, "acme", junk, ID_TOKEN).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{junk}");
        assert_eq!(body["error"], "invalid_grant");
    }
    // id_tokens issued to another client, expired, or signed by another key.
    for how in [
        json!({"aud": "another-client"}),
        json!({"exp_offset": -60}),
        json!({"wrong_key": true}),
    ] {
        provider.misbehave(how.clone()).await;
        let forged = provider.tokens(CALLBACK).await;
        let (status, body) = exchange(&app, "acme", &forged.id_token, ID_TOKEN).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{how}");
        assert_eq!(body["error"], "invalid_grant", "{how}");
    }
}

/// One leaked `id_token` mints at most one refresh family: each is taken
/// once, and only while recent (`iat` at most `TESSERA_EXCHANGE_MAX_AGE`, 10
/// min, ago). Before, one `id_token` could be exchanged any number of times
/// until it expired. Issue 18 item 7.
#[tokio::test]
async fn an_id_token_is_exchanged_once_and_only_while_recent() {
    let (app, provider) = setup(&[], |_| {}).await;
    let sub = unique("once");
    provider
        .sign_in_as(&sub, Some(&format!("{sub}@oidc.test")), true)
        .await;
    let tokens = provider.tokens(CALLBACK).await;
    let (status, body) = exchange(&app, "acme", &tokens.id_token, ID_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = exchange(&app, "acme", &tokens.id_token, ID_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("exchanged already"),
        "{body}"
    );
    // Another id_token (of another subject: the provider's id_tokens carry
    // whole-second times and no jti, so two for one subject within a second
    // are the same bytes) is fine 9 minutes on, refused 11 minutes on.
    let id_token_of = |sub: String| {
        let provider = &provider;
        async move {
            provider
                .sign_in_as(&sub, Some(&format!("{sub}@oidc.test")), true)
                .await;
            provider.tokens(CALLBACK).await.id_token
        }
    };
    let fresh = id_token_of(unique("fresh")).await;
    app.clock.advance(time::Duration::minutes(9));
    let (status, body) = exchange(&app, "acme", &fresh, ID_TOKEN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stale = id_token_of(unique("stale")).await;
    app.clock.advance(time::Duration::minutes(2));
    let (status, body) = exchange(&app, "acme", &stale, ID_TOKEN).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("older than"),
        "{body}"
    );
}

/// The registration policy holds for provider sign-ups too: closed, a new
/// subject is refused while one already linked still signs in; an email
/// domain allow-list refuses a new user at another domain. Issue 18 item 10.
#[tokio::test]
async fn the_registration_policy_applies_to_provider_sign_ups() {
    let provider = OidcProvider::start(&[CALLBACK, CALLBACK2], &[]);
    let config = acme(&provider.issuer);
    let with = |tweak: fn(&mut tessera_core::RegistrationPolicy)| {
        let config = config.clone();
        move |c: &mut tessera::Config| {
            c.oauth_providers.push(config);
            tweak(&mut c.registration);
        }
    };
    // Open: a first sign-in makes the user and links the identity.
    let open = spawn_with(with(|_| {})).await;
    let known = unique("known");
    provider
        .sign_in_as(&known, Some(&format!("{known}@oidc.test")), true)
        .await;
    let r = flow(&open, &provider, &mut Jar::default()).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Closed, on the same database.
    let data_dir = open.dir.path().to_path_buf();
    let closed = spawn_with(move |c| {
        with(|p| p.open = false)(c);
        c.data_dir = data_dir;
    })
    .await;
    let r = flow(&closed, &provider, &mut Jar::default()).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "a linked identity still signs in"
    );
    let stranger = unique("stranger");
    provider
        .sign_in_as(&stranger, Some(&format!("{stranger}@oidc.test")), true)
        .await;
    let r = flow(&closed, &provider, &mut Jar::default()).await;
    assert_fails(r, StatusCode::FORBIDDEN, "registration_closed").await;
    // Open to one domain only.
    let domains = spawn_with(with(|p| p.email_domains = vec!["company.test".into()])).await;
    let r = flow(&domains, &provider, &mut Jar::default()).await;
    assert_fails(r, StatusCode::FORBIDDEN, "email_domain_not_allowed").await;
    let staff = unique("staff");
    provider
        .sign_in_as(&staff, Some(&format!("{staff}@company.test")), true)
        .await;
    let r = flow(&domains, &provider, &mut Jar::default()).await;
    assert_eq!(r.status(), StatusCode::OK, "an address at the domain");
}

#[tokio::test]
async fn a_provider_that_is_down_is_a_502() {
    let (app, provider) = setup(&[], |_| {}).await;
    drop(provider);
    let r = app
        .req(Method::GET, "/v1/oauth/acme/start")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        r.json::<Value>().await.unwrap()["code"],
        "provider_unavailable"
    );
}

/// The real binary at trace level through a GitHub sign-in, an OIDC
/// sign-in, a failed callback and both token exchanges: no code, state,
/// nonce, flow cookie, session or CSRF value, provider token, client secret
/// or issued token appears in its output.
#[tokio::test]
async fn trace_logs_carry_no_code_state_token_or_secret() {
    use crate::common::github_double::{
        CLIENT_ID as GH_ID, CLIENT_SECRET as GH_SECRET, GithubDouble, GithubUser,
    };
    use std::process::Stdio;

    let gh = GithubDouble::start().await;
    let provider = OidcProvider::start(&[CALLBACK], &[]);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr.log");
    let mut cmd = process::command(dir.path());
    cmd.env("TESSERA_LOG", "trace")
        .env("TESSERA_OAUTH_PROVIDERS", "github,acme")
        .env("TESSERA_OAUTH_GITHUB_CLIENT_ID", GH_ID)
        .env("TESSERA_OAUTH_GITHUB_CLIENT_SECRET", GH_SECRET)
        .env(
            "TESSERA_OAUTH_GITHUB_AUTHORIZE_URL",
            format!("{}/login/oauth/authorize", gh.base),
        )
        .env(
            "TESSERA_OAUTH_GITHUB_TOKEN_URL",
            format!("{}/login/oauth/access_token", gh.base),
        )
        .env("TESSERA_OAUTH_GITHUB_API_URL", format!("{}/api", gh.base))
        .env("TESSERA_OAUTH_ACME_ISSUER", &provider.issuer)
        .env("TESSERA_OAUTH_ACME_CLIENT_ID", CLIENT_ID)
        .env("TESSERA_OAUTH_ACME_CLIENT_SECRET", CLIENT_SECRET)
        .stderr(Stdio::from(std::fs::File::create(&log).unwrap()));
    let server = process::serve(cmd);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut secrets: Vec<String> = vec![GH_SECRET.into(), CLIENT_SECRET.into()];

    // One browser flow per provider; `fail` sends a forged state instead.
    let mut run = async |name: &str, redirect: &str, fail: bool| -> Jar {
        let mut jar = Jar::default();
        let r = http
            .get(format!(
                "{}/v1/oauth/{name}/start?return_to=/x",
                server.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        jar.absorb(r.headers());
        secrets.push(jar.cookies[OAUTH].clone());
        let url = r.headers()["location"].to_str().unwrap().to_owned();
        let q: std::collections::HashMap<String, String> = url::Url::parse(&url)
            .unwrap()
            .query_pairs()
            .into_owned()
            .collect();
        secrets.push(q["state"].clone());
        secrets.push(q["code_challenge"].clone());
        if let Some(n) = q.get("nonce") {
            secrets.push(n.clone());
        }
        let back = if name == "github" {
            let r = http.get(&url).send().await.unwrap();
            let location = r.headers()["location"].to_str().unwrap().to_owned();
            location.split_once('?').unwrap().1.to_owned()
        } else {
            provider.browse(&url, redirect).await
        };
        let code = query_param(&back, "code").unwrap();
        secrets.push(code.clone());
        let query = if fail {
            format!("code={code}&state=forged-state-value")
        } else {
            back
        };
        let r = http
            .get(format!("{}/v1/oauth/{name}/callback?{query}", server.base))
            .header("cookie", jar.header())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().is_success(), !fail, "{name} fail={fail}");
        jar.absorb(r.headers());
        jar
    };
    gh.sign_in_as(GithubUser::new(4242, "logs-gh@example.com"));
    let gh_jar = run("github", &redirect_uri("github"), false).await;
    provider
        .sign_in_as("logs-sub", Some("logs-oidc@example.com"), true)
        .await;
    let oidc_jar = run("acme", CALLBACK, false).await;
    run("acme", CALLBACK, true).await;
    for jar in [&gh_jar, &oidc_jar] {
        secrets.push(jar.session().to_owned());
        secrets.push(jar.csrf().to_owned());
    }

    let gh_token = gh.issue_token(GithubUser::new(4343, "logs-gh2@example.com"));
    let oidc = provider.tokens(CALLBACK).await;
    secrets.push(oidc.access_token.clone());
    let oidc_token = oidc.id_token.clone();
    for (name, token, kind) in [
        ("github", &gh_token, ACCESS_TOKEN),
        ("acme", &oidc_token, ID_TOKEN),
    ] {
        secrets.push(token.clone());
        let r: Value = http
            .post(format!("{}/v1/token", server.base))
            .form(&[
                ("grant_type", EXCHANGE),
                ("provider", name),
                ("subject_token", token.as_str()),
                ("subject_token_type", kind),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let access = r["access_token"].as_str().unwrap().to_owned();
        secrets.push(access.rsplit('.').next().unwrap().to_owned());
        secrets.push(r["refresh_token"].as_str().unwrap().to_owned());
    }
    // What only the providers saw: GitHub's PKCE verifiers and the tokens
    // it issued to tessera.
    for form in gh.token_requests() {
        secrets.push(form["code_verifier"].clone());
    }
    secrets.extend(gh.all_tokens());
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.len() > 1000, "trace logging produced output");
    assert!(
        text.contains("/v1/oauth/acme/callback"),
        "requests are logged, by path"
    );
    for secret in &secrets {
        assert!(secret.len() >= 8, "a real value ({secret:?})");
        assert!(
            !text.contains(secret.as_str()),
            "log leaks a secret ({} chars)",
            secret.len()
        );
    }
}
