//! The JSON body extractor: every way a body can be wrong gets its own clear
//! answer (415, 413, 400, 422 naming the field), never a 500.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use serde::de::DeserializeOwned;
use tessera_core::{AuthError, FieldError};

use crate::problem::ApiError;

/// Bodies are capped at 64 KiB (also enforced by `DefaultBodyLimit`).
pub const BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, Copy, Default)]
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::InvalidJson("the body could not be read".into())
            }
        })?;
        parse(&bytes).map(JsonBody)
    }
}

/// `application/json` or any `application/*+json`, parameters allowed.
fn is_json(value: Option<&axum::http::HeaderValue>) -> bool {
    let Some(essence) = value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
    else {
        return false;
    };
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Two steps, so each failure gets its own status: bytes that are not JSON
/// are 400; JSON that is not an object of the right shape is 422 naming the
/// field. (Serde alone would also accept an array for a struct.)
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::InvalidJson(format!(
            "line {}, column {}: {}",
            e.line(),
            e.column(),
            syntax_reason(&e)
        ))
    })?;
    if !value.is_object() {
        return Err(ApiError::Auth(AuthError::Validation(vec![
            FieldError::new("body", "must be a JSON object"),
        ])));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ApiError::Auth(AuthError::Validation(vec![field_error(&path, e.inner())]))
    })
}

/// [`parse`] for property tests outside the crate.
#[doc(hidden)]
pub fn parse_for_tests<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    parse(bytes)
}

/// Names the field: the path where decoding stopped, or for a missing field
/// the field itself.
fn field_error(path: &str, e: &serde_json::Error) -> FieldError {
    let text = e.to_string();
    let message = text.split(" at line ").next().unwrap_or(&text).to_owned();
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.trim_end_matches('`');
        let field = if path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        };
        return FieldError::new(&field, "is required");
    }
    let field = if path == "." { "body" } else { path };
    FieldError::new(field, message)
}

fn syntax_reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.split(" at line ").next().unwrap_or(&text).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    fn problem(r: Result<Login, ApiError>) -> ApiError {
        r.expect_err("should fail")
    }

    #[test]
    fn content_types() {
        assert!(is_json(Some(&HeaderValue::from_static("application/json"))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "Application/JSON; charset=utf-8"
        ))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "application/merge-patch+json"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
        assert!(!is_json(Some(&HeaderValue::from_static(
            "application/x-www-form-urlencoded"
        ))));
        assert!(!is_json(None));
    }

    #[test]
    fn syntax_errors_are_400() {
        for bad in [
            &b"{"[..],
            b"{\"email\": }",
            b"not json",
            b"",
            b"{\"email\":\"\xff\"}",
            b"{} {}",
        ] {
            assert!(
                matches!(problem(parse(bad)), ApiError::InvalidJson(_)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn wrong_types_and_missing_fields_name_the_field() {
        let ApiError::Auth(AuthError::Validation(errs)) =
            problem(parse(br#"{"email": 5, "password": "x"}"#))
        else {
            panic!("expected validation")
        };
        assert_eq!(errs[0].field, "email");
        let ApiError::Auth(AuthError::Validation(errs)) = problem(parse(br#"{"email": "a@b.co"}"#))
        else {
            panic!("expected validation")
        };
        assert_eq!(errs[0].field, "password");
        assert_eq!(errs[0].message, "is required");
        let ApiError::Auth(AuthError::Validation(errs)) = problem(parse(b"[1,2]")) else {
            panic!("expected validation")
        };
        assert_eq!(errs[0].field, "body");
    }
}
