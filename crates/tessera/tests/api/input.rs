//! Bad input gets a clear problem+json answer: never a 500, never a panic.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn malformed_bodies() {
    let app = spawn().await;
    let send = |ct: Option<&'static str>, body: Vec<u8>| {
        let mut r = app.req(Method::POST, "/v1/login").body(body);
        if let Some(ct) = ct {
            r = r.header("content-type", ct);
        }
        r.send()
    };
    for body in [
        b"{".to_vec(),
        b"{\"email\": }".to_vec(),
        b"nonsense".to_vec(),
        Vec::new(),
        b"{\"email\":\"a@b.co\",\"password\":\"\xff\xfe\"}".to_vec(),
        b"{\"email\":\"a@b.co\",\"password\":\"x\"} trailing".to_vec(),
        b"{\"email\":\"\\ud800\",\"password\":\"x\"}".to_vec(),
    ] {
        let resp = send(Some("application/json"), body.clone()).await.unwrap();
        problem(resp, StatusCode::BAD_REQUEST, "invalid_json").await;
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data"),
    ] {
        let resp = send(ct, br#"{"email":"a@b.co","password":"x"}"#.to_vec())
            .await
            .unwrap();
        problem(
            resp,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        )
        .await;
    }
    let resp = send(
        Some("application/json; charset=utf-8"),
        br#"{"email":"nobody@example.com","password":"xxxxxxxx"}"#.to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "charset parameter is fine"
    );
}

#[tokio::test]
async fn bodies_over_64_kib_are_413_and_at_the_limit_are_read() {
    let app = spawn().await;
    let filler = |n: usize| {
        let head = br#"{"email":"nobody@example.com","password":"xxxxxxxx","pad":""#;
        let mut v = head.to_vec();
        v.resize(n - 2, b'a');
        v.extend_from_slice(b"\"}");
        v
    };
    let resp = app
        .req(Method::POST, "/v1/login")
        .header("content-type", "application/json")
        .body(filler(64 * 1024 + 1))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    let resp = app
        .req(Method::POST, "/v1/login")
        .header("content-type", "application/json")
        .body(filler(64 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::UNAUTHORIZED,
        "exactly 64 KiB is accepted"
    );

    // Chunked (no Content-Length) is cut off just the same.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..80).map(|_| Ok(vec![b' '; 1024])).collect();
    let resp = app
        .req(Method::POST, "/v1/register")
        .header("content-type", "application/json")
        .body(reqwest::Body::wrap_stream(futures_stream(chunks)))
        .send()
        .await
        .unwrap();
    problem(resp, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
}

fn futures_stream(
    items: Vec<Result<Vec<u8>, std::io::Error>>,
) -> impl futures_core::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send + 'static {
    struct Iter(std::vec::IntoIter<Result<Vec<u8>, std::io::Error>>);
    impl futures_core::Stream for Iter {
        type Item = Result<Vec<u8>, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<Option<Self::Item>> {
            std::task::Poll::Ready(self.0.next())
        }
    }
    Iter(items.into_iter())
}

#[tokio::test]
async fn wrong_types_name_the_field() {
    let app = spawn().await;
    for (body, field) in [
        (
            json!({"email": "a@example.com", "password": 12_345_678}),
            "password",
        ),
        (json!({"email": null, "password": PASSWORD}), "email"),
        (json!(["a@example.com", PASSWORD]), "body"),
        (json!("a string"), "body"),
    ] {
        let resp = app
            .req(Method::POST, "/v1/login")
            .json(&body)
            .send()
            .await
            .unwrap();
        let p = problem(resp, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
        assert_eq!(p["errors"][0]["field"], field, "{body}");
    }
}

#[tokio::test]
async fn unknown_routes_and_methods() {
    let app = spawn().await;
    problem(
        app.req(Method::GET, "/v1/nope").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.req(Method::GET, "/").send().await.unwrap(),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    problem(
        app.req(Method::GET, "/v1/login").send().await.unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
    problem(
        app.req(Method::PUT, "/v1/session")
            .header("origin", ORIGIN)
            .send()
            .await
            .unwrap(),
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn hostile_headers_do_not_break_anything() {
    let app = spawn().await;
    let (jar, _) = app.register(&unique("hdr")).await;
    let long_ua = "A".repeat(8000);
    for (name, value) in [
        ("cookie", format!("{SESSION}=\u{e9}\u{e9}")),
        ("cookie", ";;;==;".to_owned()),
        ("cookie", format!("{SESSION}=; {SESSION}={}", jar.session())),
        ("authorization", "Bearer".to_owned()),
        ("authorization", "Bearer    ".to_owned()),
        ("user-agent", long_ua),
    ] {
        let resp = app
            .req(Method::GET, "/v1/session")
            .header(
                name,
                reqwest::header::HeaderValue::from_bytes(value.as_bytes()).unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert!(
            resp.status() == StatusCode::UNAUTHORIZED || resp.status() == StatusCode::OK,
            "{name}: {}",
            resp.status()
        );
    }
    // Invalid UTF-8 in the user agent is stored lossily, not refused.
    let resp = app
        .req(Method::POST, "/v1/login")
        .header(
            "user-agent",
            reqwest::header::HeaderValue::from_bytes(b"Bad \xff agent").unwrap(),
        )
        .json(&json!({"email": "nobody@example.com", "password": "xxxxxxxx"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

/// A handler that panics is answered 500 problem+json, with the headers
/// every answer carries, and the server goes on serving.
#[tokio::test]
async fn a_panicking_handler_is_a_500_problem_and_the_server_goes_on() {
    use tower::ServiceExt;
    let app = spawn().await;
    let state = app.server.state.clone();
    let routes = tessera_http::router(&state).route(
        "/v1/boom",
        axum::routing::get(|| async {
            assert!(
                !std::hint::black_box(true),
                "boom (a panic expected by this test)"
            );
        }),
    );
    let service = tessera_http::finish(routes, state);
    let request = |path: &str| {
        axum::http::Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let answer = service.clone().oneshot(request("/v1/boom")).await.unwrap();
    assert_eq!(answer.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let headers = answer.headers();
    assert_eq!(headers["content-type"], "application/problem+json");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let next = service.oneshot(request("/healthz")).await.unwrap();
    assert_eq!(next.status(), StatusCode::OK);
}
