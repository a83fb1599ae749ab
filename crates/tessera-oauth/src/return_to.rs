//! Where the browser goes after a provider sign-in: only a path of this
//! origin.

/// `return_to` values longer than this are refused at start (400).
pub const MAX_RETURN_TO_BYTES: usize = 2048;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("return_to is over {MAX_RETURN_TO_BYTES} bytes")]
pub struct TooLong;

/// A same-origin path (one leading `/`, not `//` or `/\`, no scheme, no
/// control characters or backslashes), query kept; anything else, or none,
/// is `/`.
pub fn sanitize(raw: Option<&str>) -> Result<String, TooLong> {
    let Some(raw) = raw else {
        return Ok("/".into());
    };
    if raw.len() > MAX_RETURN_TO_BYTES {
        return Err(TooLong);
    }
    let safe = raw.starts_with('/')
        && !raw.starts_with("//")
        && !raw.contains('\\')
        && !raw.chars().any(|c| c.is_control() || c.is_whitespace())
        && !raw.contains('#');
    Ok(if safe { raw.to_owned() } else { "/".into() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rules() {
        for ok in ["/", "/dashboard", "/a/b?x=1&y=%2F", "/account?tab=links"] {
            assert_eq!(sanitize(Some(ok)).unwrap(), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\/evil",
            "https://evil.example/",
            "javascript:alert(1)",
            "evil.example",
            "",
            "/a\nb",
            "/a\tb",
            "/a\u{0}",
            "/a b",
            "/\u{7f}",
            "/x\\y",
            "/#frag",
        ] {
            assert_eq!(sanitize(Some(bad)).unwrap(), "/", "{bad:?}");
        }
        assert_eq!(sanitize(None).unwrap(), "/");
        let long = format!("/{}", "a".repeat(MAX_RETURN_TO_BYTES));
        assert_eq!(sanitize(Some(&long)), Err(TooLong));
    }

    proptest! {
        #[test]
        fn result_is_always_a_local_path(raw in ".{0,100}") {
            let out = sanitize(Some(&raw)).unwrap();
            prop_assert!(out.starts_with('/'));
            prop_assert!(!out.starts_with("//"));
            prop_assert!(!out.contains('\\'));
            prop_assert!(!out.chars().any(char::is_control));
        }
    }
}
