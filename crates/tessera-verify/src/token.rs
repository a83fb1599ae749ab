//! Reading a token before and after its signature is checked.
//!
//! The header is parsed here rather than by `jsonwebtoken` so the `alg`
//! allow-list is applied to the raw string (`none`, `HS256`, unknown names
//! all stop here, before any key lookup or JWKS fetch) and `crit` can be
//! refused. The claim checks are here because they ask the injected clock.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::algorithm::Algorithm;
use crate::claims::Claims;
use crate::error::VerifyError;

/// The parts of a JOSE header that decide how a token is verified.
#[derive(Debug)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: String,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<Value>,
}

pub(crate) fn read_header(
    token: &str,
    max_len: usize,
    allowed: &[Algorithm],
) -> Result<Header, VerifyError> {
    if token.len() > max_len {
        return Err(VerifyError::Malformed("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(_payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed("not a compact JWS"));
    };
    let header = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed("header is not base64url"))?;
    let header: RawHeader = serde_json::from_slice(&header)
        .map_err(|_| VerifyError::Malformed("header is not a JOSE header"))?;

    let alg = Algorithm::from_jose_name(&header.alg)
        .filter(|alg| allowed.contains(alg))
        .ok_or(VerifyError::UnsupportedAlgorithm)?;
    // RFC 7515 §4.1.11: extensions we do not understand must be refused.
    if header.crit.is_some() {
        return Err(VerifyError::Malformed("crit header not supported"));
    }
    if let Some(typ) = &header.typ {
        let typ = typ.strip_prefix("application/").unwrap_or(typ);
        if !typ.eq_ignore_ascii_case("JWT") && !typ.eq_ignore_ascii_case("at+jwt") {
            return Err(VerifyError::Malformed("typ is not JWT or at+jwt"));
        }
    }
    let kid = header
        .kid
        .filter(|kid| !kid.is_empty())
        .ok_or(VerifyError::Malformed("no kid"))?;
    Ok(Header { alg, kid })
}

/// What the claims are checked against.
#[derive(Debug)]
pub(crate) struct Expectations<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audience: &'a str,
    pub(crate) now: i64,
    pub(crate) leeway: i64,
}

const REQUIRED: [&str; 5] = ["iss", "sub", "aud", "exp", "iat"];

/// Checks the claims of a token whose signature is already verified.
pub(crate) fn check_claims(
    raw: Map<String, Value>,
    expect: &Expectations<'_>,
) -> Result<Claims, VerifyError> {
    for name in REQUIRED {
        if raw.get(name).is_none_or(Value::is_null) {
            return Err(VerifyError::MissingClaim(name));
        }
    }
    let claims: Claims = serde_json::from_value(Value::Object(raw))
        .map_err(|_| VerifyError::Malformed("a claim has the wrong type"))?;
    if claims.sub.is_empty() {
        return Err(VerifyError::MissingClaim("sub"));
    }
    if claims.iss != expect.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if claims.aud != expect.audience {
        return Err(VerifyError::WrongAudience);
    }
    // exp is the first instant the token is no longer valid (RFC 7519 §4.1.4).
    if expect.now >= claims.exp.saturating_add(expect.leeway) {
        return Err(VerifyError::Expired);
    }
    let not_before = claims.nbf.unwrap_or(i64::MIN).max(claims.iat);
    if not_before > expect.now.saturating_add(expect.leeway) {
        return Err(VerifyError::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALL: [Algorithm; 3] = [Algorithm::EdDSA, Algorithm::ES256, Algorithm::ES384];

    fn token_with_header(header: &Value) -> String {
        format!(
            "{}.e30.c2ln",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap())
        )
    }

    fn header_error(header: &Value) -> VerifyError {
        read_header(&token_with_header(header), 8192, &ALL).unwrap_err()
    }

    #[test]
    fn header_alg_must_be_on_the_allow_list_exactly() {
        for alg in [
            "none", "None", "HS256", "HS512", "RS256", "PS256", "eddsa", "ES512", "",
        ] {
            assert_eq!(
                header_error(&json!({"alg": alg, "kid": "k"})),
                VerifyError::UnsupportedAlgorithm,
                "{alg}"
            );
        }
        let only_ed = read_header(
            &token_with_header(&json!({"alg": "ES256", "kid": "k"})),
            8192,
            &[Algorithm::EdDSA],
        );
        assert_eq!(only_ed.unwrap_err(), VerifyError::UnsupportedAlgorithm);
    }

    #[test]
    fn header_shape() {
        let ok = read_header(
            &token_with_header(&json!({"alg": "EdDSA", "kid": "k1", "typ": "at+jwt"})),
            8192,
            &ALL,
        )
        .unwrap();
        assert_eq!((ok.alg, ok.kid.as_str()), (Algorithm::EdDSA, "k1"));

        assert_eq!(header_error(&json!({"alg": "EdDSA"})).code(), "malformed");
        assert_eq!(
            header_error(&json!({"alg": "EdDSA", "kid": ""})).code(),
            "malformed"
        );
        let crit = json!({"alg": "EdDSA", "kid": "k", "crit": ["b64"], "b64": false});
        assert_eq!(header_error(&crit).code(), "malformed");
        let typ = json!({"alg": "EdDSA", "kid": "k", "typ": "dpop+jwt"});
        assert_eq!(header_error(&typ).code(), "malformed");
        assert_eq!(
            header_error(&json!({"alg": 5, "kid": "k"})).code(),
            "malformed"
        );

        for bad in ["", "a.b", "a.b.c.d.e", "!!.e30.c2ln", "bm9wZQ.e30.c2ln"] {
            assert_eq!(
                read_header(bad, 8192, &ALL).unwrap_err().code(),
                "malformed"
            );
        }
        let long = token_with_header(&json!({"alg": "EdDSA", "kid": "k".repeat(100)}));
        assert_eq!(
            read_header(&long, 64, &ALL).unwrap_err(),
            VerifyError::Malformed("token too large")
        );
    }

    fn expect(now: i64) -> Expectations<'static> {
        Expectations {
            issuer: "https://auth.example",
            audience: "api",
            now,
            leeway: 30,
        }
    }

    fn claims(extra: &Value) -> Map<String, Value> {
        let mut base = json!({
            "iss": "https://auth.example", "sub": "u1", "aud": "api",
            "iat": 1000, "exp": 1300, "jti": "j", "roles": ["admin"]
        });
        for (k, v) in extra.as_object().unwrap() {
            base[k] = v.clone();
        }
        let Value::Object(map) = base else {
            unreachable!()
        };
        map
    }

    #[test]
    fn claim_checks() {
        let ok = check_claims(claims(&json!({})), &expect(1100)).unwrap();
        assert_eq!(ok.sub, "u1");
        assert!(ok.has_role("admin"));

        let err = |extra: Value, now| check_claims(claims(&extra), &expect(now)).unwrap_err();
        // exp with leeway: valid until exp + leeway (exclusive).
        assert!(check_claims(claims(&json!({})), &expect(1329)).is_ok());
        assert_eq!(err(json!({}), 1330), VerifyError::Expired);
        assert_eq!(err(json!({"nbf": 1200}), 1100), VerifyError::NotYetValid);
        assert!(check_claims(claims(&json!({"nbf": 1120})), &expect(1100)).is_ok());
        assert_eq!(err(json!({"iat": 1200}), 1100), VerifyError::NotYetValid);
        assert_eq!(
            err(json!({"iss": "https://evil"}), 1100),
            VerifyError::WrongIssuer
        );
        assert_eq!(
            err(json!({"aud": "other"}), 1100),
            VerifyError::WrongAudience
        );
        assert_eq!(err(json!({"aud": ["api"]}), 1100).code(), "malformed");
        assert_eq!(err(json!({"exp": "1300"}), 1100).code(), "malformed");
        assert_eq!(err(json!({"exp": 1300.5}), 1100).code(), "malformed");
        assert_eq!(err(json!({"roles": "admin"}), 1100).code(), "malformed");
        assert_eq!(
            err(json!({"sub": ""}), 1100),
            VerifyError::MissingClaim("sub")
        );
        for name in REQUIRED {
            let mut raw = claims(&json!({}));
            raw.remove(name);
            assert_eq!(
                check_claims(raw, &expect(1100)).unwrap_err(),
                VerifyError::MissingClaim(name)
            );
            assert_eq!(
                err(json!({name: null}), 1100),
                VerifyError::MissingClaim(name)
            );
        }
    }
}
