//! The one HTML page Tessera serves: the same-site hop at the end of a
//! provider sign-in.
//!
//! The session cookie is `SameSite=Strict`; one set inside a cross-site
//! redirect chain (provider → callback) is not sent on that chain's last
//! navigation. So the callback answers 200 with this page, which moves the
//! browser on without JavaScript (`<meta http-equiv="refresh">` and a link),
//! and the next navigation is same-site. Failures use it too, to send a
//! person to `/login?error=<code>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Nothing loads, nothing frames it, no form posts from it.
const PAGE_CSP: &str =
    "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The tiny same-site page that moves the browser on to `to` (a path
/// sanitised by `tessera_oauth::return_to::sanitize` or a fixed
/// `/login?error=` path),
/// without JavaScript.
pub fn bounce_page(status: StatusCode, to: &str, message: &str) -> Response {
    let to = escape(to);
    let message = escape(message);
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"0;url={to}\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>{message}</title></head>\
         <body><p>{message}</p><p><a href=\"{to}\">Continue</a></p></body></html>"
    );
    let mut r = (status, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
