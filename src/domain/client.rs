//! Relying parties and the rules for their redirect URIs.

use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::alg::Alg;

pub const GRANT_AUTHORIZATION_CODE: &str = "authorization_code";
pub const GRANT_REFRESH_TOKEN: &str = "refresh_token";
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";
pub const GRANT_TYPES: &[&str] = &[
    GRANT_AUTHORIZATION_CODE,
    GRANT_REFRESH_TOKEN,
    GRANT_CLIENT_CREDENTIALS,
];

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    pub name: Option<String>,
    /// SHA-256 (base64url) of the secret; `None` for public clients.
    #[serde(skip)]
    pub secret_hash: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// A resource server: may introspect other clients' access tokens (RFC 7662 §4).
    #[serde(default)]
    pub introspect: bool,
    pub id_token_alg: Alg,
    pub access_token_alg: Alg,
    pub code_ttl: Option<i64>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub offline_ttl: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }

    /// Exact match (RFC 9700 §2.1, §4.1.3), except that a public client registered with a
    /// loopback IP literal over http may use any port (RFC 8252 §7.3).
    pub fn redirect_uri_registered(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
            || (self.public && self.redirect_uris.iter().any(|r| loopback_any_port(r, uri)))
    }

    pub fn post_logout_uri_registered(&self, uri: &str) -> bool {
        self.post_logout_redirect_uris.iter().any(|r| r == uri)
    }

    /// Whether `origin` (an `Origin` header) is the origin of one of the redirect URIs.
    pub fn has_origin(&self, origin: &str) -> bool {
        self.redirect_uris
            .iter()
            .any(|r| Url::parse(r).is_ok_and(|u| u.origin().ascii_serialization() == origin))
    }
}

/// RFC 8252 §7.3: `http://127.0.0.1:{any port}/path` and `http://[::1]:{any port}/path` match
/// a registration that differs only in the port.
fn loopback_any_port(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (Url::parse(registered), Url::parse(presented)) else {
        return false;
    };
    let loopback = |u: &Url| {
        u.scheme() == "http"
            && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"))
            && u.username().is_empty()
            && u.password().is_none()
    };
    loopback(&r)
        && loopback(&p)
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        // The parsed form must print back as given, so encodings cannot smuggle a difference.
        && p.as_str() == presented
}

/// Checks a redirect URI an administrator registers: absolute, no fragment, https unless it
/// is a loopback or a private-use scheme (RFC 8252 §7.1).
pub fn validate_redirect_uri(uri: &str) -> Result<(), String> {
    let url =
        Url::parse(uri).map_err(|_| format!("redirect URI {uri:?} is not an absolute URI"))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(format!("redirect URI {uri:?} must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!("redirect URI {uri:?} must not carry credentials"));
    }
    if url.scheme() == "http" {
        let loopback = matches!(
            url.host(),
            Some(url::Host::Ipv4(ip)) if ip.is_loopback()
        ) || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
            || url.host_str() == Some("localhost");
        if !loopback {
            return Err(format!(
                "redirect URI {uri:?} must use https (http only on loopback)"
            ));
        }
    }
    if url.scheme() == "javascript" || url.scheme() == "data" {
        return Err(format!("redirect URI {uri:?} has a forbidden scheme"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(public: bool, uris: &[&str]) -> Client {
        Client {
            client_id: "c".into(),
            name: None,
            secret_hash: None,
            public,
            redirect_uris: uris.iter().map(|s| s.to_string()).collect(),
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            first_party: false,
            introspect: false,
            id_token_alg: Alg::RS256,
            access_token_alg: Alg::ES256,
            code_ttl: None,
            access_token_ttl: None,
            id_token_ttl: None,
            offline_ttl: None,
            disabled: false,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn redirect_uris_match_exactly() {
        let c = client(
            false,
            &["https://rp.example/cb", "https://rp.example/q?foo=bar"],
        );
        assert!(c.redirect_uri_registered("https://rp.example/cb"));
        for bad in [
            "https://rp.example/cb/",
            "https://RP.example/cb",
            "http://rp.example/cb",
            "https://rp.example:444/cb",
            "https://rp.example@evil/cb",
            "https://rp.example/%63b",
            "https://rp.example/cb/x",
            "https://rp.example/q?foo=baz",
            "https://rp.example/cb?foo=bar",
        ] {
            assert!(!c.redirect_uri_registered(bad), "{bad} accepted");
        }
        assert!(c.redirect_uri_registered("https://rp.example/q?foo=bar"));
    }

    #[test]
    fn only_public_loopback_clients_may_vary_the_port() {
        let public = client(true, &["http://127.0.0.1/cb", "http://[::1]:80/cb"]);
        assert!(public.redirect_uri_registered("http://127.0.0.1:53121/cb"));
        assert!(public.redirect_uri_registered("http://[::1]:1234/cb"));
        assert!(!public.redirect_uri_registered("http://127.0.0.1:53121/other"));
        assert!(!public.redirect_uri_registered("http://localhost:53121/cb"));
        let confidential = client(false, &["http://127.0.0.1/cb"]);
        assert!(!confidential.redirect_uri_registered("http://127.0.0.1:53121/cb"));
    }

    #[test]
    fn registration_refuses_fragments_and_plain_http() {
        assert!(validate_redirect_uri("https://rp.example/cb#x").is_err());
        assert!(validate_redirect_uri("http://rp.example/cb").is_err());
        assert!(validate_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
        assert!(validate_redirect_uri("relative/cb").is_err());
    }
}
