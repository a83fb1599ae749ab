//! OAuth/OIDC providers from `TESSERA_OAUTH_PROVIDERS` and, for each NAME,
//! `TESSERA_OAUTH_<NAME>_*` variables (which beat) or an `[oauth.<name>]`
//! table in the config file.

use anyhow::{Context, bail};
use secrecy::SecretString;
use tessera_oauth::{ProviderConfig, ProviderKind};

/// The per-provider keys, as variable suffixes and file keys (lowercase).
const KEYS: [&str; 9] = [
    "KIND",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "ISSUER",
    "SCOPES",
    "AUTHORIZE_URL",
    "TOKEN_URL",
    "API_URL",
    "LINK_VERIFIED_EMAIL",
];

pub fn providers(
    names: Option<&str>,
    redirect_base: Option<&str>,
    first_origin: &str,
    file: &toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<Vec<ProviderConfig>> {
    let names: Vec<&str> = names
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .collect();
    for table in file.keys() {
        if !names.contains(&table.as_str()) {
            bail!("config file: [oauth.{table}] is not named in TESSERA_OAUTH_PROVIDERS");
        }
    }
    let base = redirect_base
        .map_or_else(
            || format!("{}/api/auth/oauth", first_origin.trim_end_matches('/')),
            str::to_owned,
        )
        .trim_end_matches('/')
        .to_owned();
    if !names.is_empty() {
        // Its scheme is the public origin's, which `tessera doctor` judges.
        url::Url::parse(&base)
            .with_context(|| format!("TESSERA_OAUTH_REDIRECT_BASE: {base:?} is not a URL"))?;
    }
    let mut out = Vec::new();
    for name in names {
        let first_ok = name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !first_ok
            || name.len() > 40
            || !name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
        {
            bail!(
                "TESSERA_OAUTH_PROVIDERS: {name:?} is not a provider name (up to 40 lowercase letters, digits, _ and -, starting with a letter or digit)"
            );
        }
        if out.iter().any(|p: &ProviderConfig| p.name == name) {
            bail!("TESSERA_OAUTH_PROVIDERS names {name} twice");
        }
        out.push(provider(name, &base, file.get(name), env)?);
    }
    Ok(out)
}

fn provider(
    name: &str,
    base: &str,
    table: Option<&toml::Value>,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<ProviderConfig> {
    let prefix = format!(
        "TESSERA_OAUTH_{}_",
        name.to_ascii_uppercase().replace('-', "_")
    );
    let table = match table {
        Some(toml::Value::Table(t)) => Some(t),
        Some(_) => bail!("config file: oauth.{name} must be a table"),
        None => None,
    };
    if let Some(t) = table {
        for key in t.keys() {
            if !KEYS.contains(&key.to_ascii_uppercase().as_str()) {
                bail!("config file: unknown key oauth.{name}.{key}");
            }
        }
    }
    let get = |key: &str| -> anyhow::Result<Option<String>> {
        if let Some(v) = env(&format!("{prefix}{key}")).filter(|v| !v.is_empty()) {
            return Ok(Some(v));
        }
        match table.and_then(|t| t.get(&key.to_ascii_lowercase())) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(toml::Value::Boolean(b)) => Ok(Some(b.to_string())),
            Some(toml::Value::Array(a)) => Ok(Some(
                a.iter()
                    .filter_map(toml::Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
            Some(_) => bail!(
                "config file: oauth.{name}.{} must be a string",
                key.to_ascii_lowercase()
            ),
        }
    };
    let kind = match get("KIND")?.as_deref() {
        Some("github") => ProviderKind::Github,
        None if name == "github" => ProviderKind::Github,
        Some("oidc") | None => ProviderKind::Oidc,
        Some(other) => bail!("{prefix}KIND={other:?}: use github or oidc"),
    };
    let client_id = get("CLIENT_ID")?.with_context(|| format!("{prefix}CLIENT_ID is required"))?;
    let client_secret =
        get("CLIENT_SECRET")?.with_context(|| format!("{prefix}CLIENT_SECRET is required"))?;
    let issuer = get("ISSUER")?;
    match (kind, &issuer) {
        (ProviderKind::Oidc, None) => bail!("{prefix}ISSUER is required for an OIDC provider"),
        (ProviderKind::Oidc, Some(i)) => check_url(i, &format!("{prefix}ISSUER"))?,
        (ProviderKind::Github, Some(_)) => {
            bail!(
                "{prefix}ISSUER is for OIDC providers; GitHub takes _AUTHORIZE_URL, _TOKEN_URL, _API_URL"
            )
        }
        (ProviderKind::Github, None) => {}
    }
    let mut urls = Vec::new();
    for key in ["AUTHORIZE_URL", "TOKEN_URL", "API_URL"] {
        let value = get(key)?;
        if let Some(v) = &value {
            if kind == ProviderKind::Oidc {
                bail!("{prefix}{key} is for GitHub providers; OIDC endpoints come from discovery");
            }
            check_url(v, &format!("{prefix}{key}"))?;
        }
        urls.push(value);
    }
    let scopes = get("SCOPES")?.map(|s| {
        s.split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    let link_verified_email = match get("LINK_VERIFIED_EMAIL")?.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => bail!("{prefix}LINK_VERIFIED_EMAIL={other:?}: use true or false"),
    };
    let [authorize_url, token_url, api_url]: [Option<String>; 3] =
        urls.try_into().map_err(|_| anyhow::anyhow!("three URLs"))?;
    Ok(ProviderConfig {
        name: name.to_owned(),
        kind,
        client_id,
        client_secret: SecretString::from(client_secret),
        issuer,
        scopes,
        authorize_url,
        token_url,
        api_url,
        link_verified_email,
        redirect_uri: format!("{base}/{name}/callback"),
    })
}

/// https, or http to a loopback host (development and tests).
fn check_url(url: &str, what: &str) -> anyhow::Result<()> {
    let parsed = url::Url::parse(url).with_context(|| format!("{what}: {url:?} is not a URL"))?;
    let loopback = match parsed.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bail!("{what}: {url:?} must be https (http only for localhost)"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use secrecy::ExposeSecret;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn github_and_oidc_from_env() {
        let env = env_of(&[
            ("TESSERA_OAUTH_GITHUB_CLIENT_ID", "gh-id"),
            ("TESSERA_OAUTH_GITHUB_CLIENT_SECRET", "gh-secret"),
            ("TESSERA_OAUTH_GITHUB_API_URL", "http://127.0.0.1:9/api"),
            ("TESSERA_OAUTH_ACME_SSO_CLIENT_ID", "acme"),
            ("TESSERA_OAUTH_ACME_SSO_CLIENT_SECRET", "s"),
            ("TESSERA_OAUTH_ACME_SSO_ISSUER", "https://sso.acme.test"),
            ("TESSERA_OAUTH_ACME_SSO_SCOPES", "openid email"),
            ("TESSERA_OAUTH_ACME_SSO_LINK_VERIFIED_EMAIL", "true"),
        ]);
        let p = providers(
            Some("github, acme-sso"),
            None,
            "https://app.example.com",
            &toml::Table::new(),
            &env,
        )
        .unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].kind, ProviderKind::Github);
        assert_eq!(p[0].client_secret.expose_secret(), "gh-secret");
        assert_eq!(p[0].api_url.as_deref(), Some("http://127.0.0.1:9/api"));
        assert!(!p[0].link_verified_email);
        assert_eq!(
            p[0].redirect_uri,
            "https://app.example.com/api/auth/oauth/github/callback"
        );
        assert_eq!(p[1].kind, ProviderKind::Oidc);
        assert_eq!(p[1].issuer.as_deref(), Some("https://sso.acme.test"));
        assert_eq!(
            p[1].scopes.as_deref(),
            Some(&["openid".to_owned(), "email".to_owned()][..])
        );
        assert!(p[1].link_verified_email);
    }

    #[test]
    fn file_tables_and_env_precedence() {
        let file: toml::Table = toml::from_str(
            r#"
            [acme]
            client_id = "from-file"
            client_secret = "file-secret"
            issuer = "https://id.acme.test"
            scopes = ["openid", "email"]
            link_verified_email = true
            "#,
        )
        .unwrap();
        let env = env_of(&[("TESSERA_OAUTH_ACME_CLIENT_ID", "from-env")]);
        let p = providers(
            Some("acme"),
            Some("https://x.test/cb/"),
            "http://localhost:3000",
            &file,
            &env,
        )
        .unwrap();
        assert_eq!(p[0].client_id, "from-env");
        assert_eq!(p[0].client_secret.expose_secret(), "file-secret");
        assert!(p[0].link_verified_email);
        assert_eq!(p[0].redirect_uri, "https://x.test/cb/acme/callback");
    }

    #[test]
    fn refusals_name_the_setting() {
        let none = env_of(&[]);
        let err = |names: &str, env: &dyn Fn(&str) -> Option<String>| {
            providers(
                Some(names),
                None,
                "http://localhost:3000",
                &toml::Table::new(),
                env,
            )
            .unwrap_err()
            .to_string()
        };
        assert!(err("Bad Name", &none).contains("not a provider name"));
        assert!(err("-x", &none).contains("not a provider name"));
        assert!(err("acme", &none).contains("TESSERA_OAUTH_ACME_CLIENT_ID"));
        let no_issuer = env_of(&[
            ("TESSERA_OAUTH_ACME_CLIENT_ID", "a"),
            ("TESSERA_OAUTH_ACME_CLIENT_SECRET", "b"),
        ]);
        assert!(err("acme", &no_issuer).contains("TESSERA_OAUTH_ACME_ISSUER"));
        let plain_http = env_of(&[
            ("TESSERA_OAUTH_ACME_CLIENT_ID", "a"),
            ("TESSERA_OAUTH_ACME_CLIENT_SECRET", "b"),
            ("TESSERA_OAUTH_ACME_ISSUER", "http://sso.acme.test"),
        ]);
        assert!(err("acme", &plain_http).contains("must be https"));
        let bad_kind = env_of(&[("TESSERA_OAUTH_X_KIND", "saml")]);
        assert!(err("x", &bad_kind).contains("use github or oidc"));
        assert!(err("a,a", &none).contains("twice") || err("a,a", &none).contains("CLIENT_ID"));
        let stray: toml::Table = toml::from_str("[other]\nclient_id = \"x\"").unwrap();
        assert!(
            providers(Some("acme"), None, "http://localhost:3000", &stray, &none)
                .unwrap_err()
                .to_string()
                .contains("[oauth.other]")
        );
    }
}
