//! `tessera doctor`: reads the configuration the server would run with and
//! says what is unsafe, with an exit status for CI (1 when anything is an
//! error; warnings count only with `--strict`).

use std::fmt;

use secrecy::ExposeSecret;

use crate::config::Config;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tag = match self.level {
            Level::Ok => "ok     ",
            Level::Warning => "warning",
            Level::Error => "error  ",
        };
        write!(f, "{tag} {}", self.message)
    }
}

fn finding(level: Level, message: impl Into<String>) -> Finding {
    Finding {
        level,
        message: message.into(),
    }
}

fn is_local_origin(origin: &str) -> bool {
    let host = origin
        .trim_start_matches("http://")
        .split([':', '/'])
        .next()
        .unwrap_or_default();
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// The checks that need nothing but the configuration.
pub fn check_config(config: &Config) -> Vec<Finding> {
    use Level::{Error, Ok, Warning};
    let mut out = Vec::new();
    let public = !config.listen.ip().is_loopback();
    match (&config.bff_key, public) {
        (None, true) => out.push(finding(
            Error,
            format!("listening on {} without TESSERA_BFF_KEY: any client on the network can call tessera directly", config.listen),
        )),
        (None, false) => out.push(finding(Ok, "no BFF key, loopback only (development)")),
        (Some(k), _) if k.expose_secret().len() < 32 => out.push(finding(
            Warning,
            "the BFF key is shorter than 32 characters; use e.g. `openssl rand -hex 32`",
        )),
        (Some(_), _) => out.push(finding(Ok, "BFF key set")),
    }
    for origin in &config.public_origins {
        if origin.starts_with("http://") && !is_local_origin(origin) {
            out.push(finding(
                Error,
                format!("public origin {origin} is plain http: cookies are Secure, so browsers will not send them"),
            ));
        }
    }
    let a = config.argon2;
    let default = tessera_core::Argon2Settings::default();
    if a.m_cost < default.m_cost || a.t_cost < default.t_cost {
        out.push(finding(
            if a.m_cost < 8 * 1024 { Error } else { Warning },
            format!(
                "Argon2id m={} KiB t={} is weaker than the OWASP minimum m={} t={}",
                a.m_cost, a.t_cost, default.m_cost, default.t_cost
            ),
        ));
    } else {
        out.push(finding(
            Ok,
            format!("Argon2id m={} KiB t={} p={}", a.m_cost, a.t_cost, a.p_cost),
        ));
    }
    let sqlite = config
        .database_url
        .as_ref()
        .is_none_or(|u| u.expose_secret().starts_with("sqlite:"));
    if sqlite && public {
        out.push(finding(
            Warning,
            "SQLite is for one instance: several instances need TESSERA_DATABASE_URL=postgres://… and TESSERA_SESSION_STORE=redis://…",
        ));
    }
    if config.session_store.is_none() && !sqlite {
        out.push(finding(
            Warning,
            "no TESSERA_SESSION_STORE: login-failure counters stay in each instance's memory, so limits are per instance",
        ));
    }
    if config.session_idle_timeout > config.session_absolute_timeout {
        out.push(finding(
            Warning,
            "the idle timeout is longer than the absolute lifetime; it never applies",
        ));
    }
    if config.key_activation_delay < std::time::Duration::from_mins(5) {
        out.push(finding(
            Warning,
            "TESSERA_KEY_ACTIVATION_DELAY is below the JWKS max-age (300 s): verifiers may meet unknown keys after a rotation",
        ));
    }
    out
}

/// The embedded database's files: the data dir 0700 and the database files
/// 0600 at most (they hold the signing keys and every server secret).
pub fn check_files(data_dir: &std::path::Path) -> Vec<Finding> {
    let loose = crate::files::loose_modes(data_dir);
    if loose.is_empty() {
        return vec![finding(
            Level::Ok,
            format!("{} is private to its user", data_dir.display()),
        )];
    }
    loose
        .into_iter()
        .map(|(path, mode)| {
            let want = if path == data_dir { "0700" } else { "0600" };
            finding(
                Level::Error,
                format!(
                    "{} is {mode:04o}: other users can read tessera's signing keys and secrets; chmod {want} it",
                    path.display()
                ),
            )
        })
        .collect()
}

/// The clock skew between this machine and a store, with the verdict.
pub fn check_skew(store: &str, skew_seconds: i64) -> Finding {
    let level = match skew_seconds.unsigned_abs() {
        0..=2 => Level::Ok,
        3..=30 => Level::Warning,
        _ => Level::Error,
    };
    finding(
        level,
        format!(
            "clock skew to {store}: {skew_seconds:+} s (expiry decisions use this machine's clock)"
        ),
    )
}

/// What the Redis session store needs of its server: 7.0 or later
/// (`PEXPIRETIME`, `GETDEL`), and no eviction (an evicted user index hides
/// that user's sessions from "sign out everywhere": docs/security.md, item
/// 28).
pub fn check_redis(version: &str, policy: &str) -> Vec<Finding> {
    let major: u32 = version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    vec![
        if major >= 7 {
            finding(Level::Ok, format!("Redis {version}"))
        } else {
            finding(
                Level::Error,
                format!("Redis {version}: the session store needs Redis 7.0 or later"),
            )
        },
        if policy == "noeviction" {
            finding(Level::Ok, "Redis maxmemory-policy noeviction".to_owned())
        } else {
            finding(
                Level::Warning,
                format!(
                    "Redis maxmemory-policy is {policy}: set noeviction (an evicted user index hides that user's sessions from sign-out everywhere)"
                ),
            )
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(c: &Config) -> Vec<(Level, String)> {
        check_config(c)
            .into_iter()
            .map(|f| (f.level, f.message))
            .collect()
    }

    fn worst(c: &Config) -> Level {
        check_config(c).into_iter().map(|f| f.level).max().unwrap()
    }

    #[test]
    fn defaults_are_fine_for_development() {
        assert_eq!(
            worst(&Config::defaults().unwrap()),
            Level::Ok,
            "{:?}",
            levels(&Config::defaults().unwrap())
        );
    }

    #[test]
    fn unsafe_settings_are_named() {
        let mut c = Config::defaults().unwrap();
        c.listen = "0.0.0.0:4000".parse().unwrap();
        assert_eq!(worst(&c), Level::Error);
        c.bff_key = Some("0123456789abcdef0123456789abcdef01".to_owned().into());
        c.public_origins = vec!["http://app.example.com".into()];
        assert!(
            levels(&c)
                .iter()
                .any(|(l, m)| *l == Level::Error && m.contains("plain http"))
        );
        c.public_origins = vec!["https://app.example.com".into()];
        c.argon2.m_cost = 1024;
        assert!(
            levels(&c)
                .iter()
                .any(|(l, m)| *l == Level::Error && m.contains("Argon2id"))
        );
        c.argon2 = tessera_core::Argon2Settings::default();
        assert!(
            levels(&c)
                .iter()
                .any(|(l, m)| *l == Level::Warning && m.contains("SQLite"))
        );
    }

    #[test]
    fn skew() {
        assert_eq!(check_skew("x", 1).level, Level::Ok);
        assert_eq!(check_skew("x", -10).level, Level::Warning);
        assert_eq!(check_skew("x", 120).level, Level::Error);
    }

    #[test]
    fn redis_before_seven_is_an_error_and_eviction_a_warning() {
        let levels = |v: &str, p: &str| {
            check_redis(v, p)
                .into_iter()
                .map(|f| f.level)
                .collect::<Vec<_>>()
        };
        assert_eq!(levels("7.0.15", "noeviction"), [Level::Ok, Level::Ok]);
        assert_eq!(levels("6.2.14", "noeviction"), [Level::Error, Level::Ok]);
        assert_eq!(levels("", "volatile-lru"), [Level::Error, Level::Warning]);
    }
}
