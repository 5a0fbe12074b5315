//! Relying parties and the rules for their redirect URIs.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::alg::Alg;
use crate::domain::grant::GrantType;

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
    pub grant_types: Vec<GrantType>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// A resource server: may introspect other clients' access tokens (RFC 7662 §4).
    #[serde(default)]
    pub introspect: bool,
    /// Every sign-in for this client takes a second factor, whatever the user's own policy.
    #[serde(default)]
    pub require_mfa: bool,
    pub id_token_alg: Alg,
    pub access_token_alg: Alg,
    pub code_ttl: Option<i64>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub offline_ttl: Option<i64>,
    /// Where the client receives logout tokens (Back-Channel Logout 1.0 §2.2).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens (§2.2); guichet always sends it.
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Client {
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Exact string match (RFC 9700 §2.1, §4.1.3), with two allowances: an explicit default
    /// port (`:80` for http, `:443` for https) is the same as none (RFC 3986 §6.2.3), and a
    /// public client registered with a loopback IP literal over http may use any port
    /// (RFC 8252 §7.3). No other normalisation: not of case, path or query.
    pub fn redirect_uri_registered(&self, uri: &str) -> bool {
        let presented = without_default_port(uri);
        self.redirect_uris
            .iter()
            .any(|r| without_default_port(r) == presented)
            || (self.public
                && self
                    .redirect_uris
                    .iter()
                    .any(|r| loopback_any_port(r, &presented)))
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

/// `uri` with an explicit default port removed from its authority (`http://h:80/…` and
/// `https://h:443/…`), so that it compares equal to the same URI without it. Only the scheme's
/// own default port, written exactly so, is removed; everything else is kept byte for byte.
fn without_default_port(uri: &str) -> Cow<'_, str> {
    let (scheme, port) = if uri.starts_with("http://") {
        ("http://", ":80")
    } else if uri.starts_with("https://") {
        ("https://", ":443")
    } else {
        return Cow::Borrowed(uri);
    };
    let rest = &uri[scheme.len()..];
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..end].strip_suffix(port) {
        // The host ends before the colon; `[::80]` ends with `]`, not with `:80`.
        Some(host) if !host.is_empty() => Cow::Owned(format!("{scheme}{host}{}", &rest[end..])),
        _ => Cow::Borrowed(uri),
    }
}

/// Whether `c` may appear in a URI as written (RFC 3986 §2: unreserved, reserved, and `%` of
/// a percent-encoding). Anything else (a space, a control character, a non-ASCII letter) the
/// URL parser would percent-encode or drop, so the URI registered would not be the URI used.
fn is_uri_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=%".contains(c)
}

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error(
        "redirect URI {0:?} has characters a URI cannot hold as written (spaces, non-ASCII or \
         control characters): percent-encode them"
    )]
    Characters(String),
    #[error("redirect URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("redirect URI {0:?} must not have a fragment")]
    Fragment(String),
    #[error("redirect URI {0:?} must not carry credentials")]
    Credentials(String),
    #[error("redirect URI {0:?} must use https (http only on loopback)")]
    PlainHttp(String),
    #[error(
        "redirect URI {0:?} must use https, http on loopback, or a private-use scheme named \
         after a reverse domain name such as com.example.app (RFC 8252 §7.1)"
    )]
    Scheme(String),
}

/// Checks a redirect URI an administrator registers: only URI characters, absolute, no
/// fragment, no credentials, and https, or http on a loopback host, or a private-use scheme
/// named after a reverse domain name (RFC 8252 §7.1, e.g. `com.example.app:/cb`).
pub fn validate_redirect_uri(uri: &str) -> Result<(), RedirectUriError> {
    let owned = || uri.to_owned();
    // On the raw string: the parser would quietly encode spaces and non-ASCII characters and
    // drop tabs and newlines.
    if !uri.chars().all(is_uri_char) {
        return Err(RedirectUriError::Characters(owned()));
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute(owned()))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(RedirectUriError::Fragment(owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::Credentials(owned()));
    }
    match url.scheme() {
        "https" => {}
        "http" => {
            if !is_loopback(&url) {
                return Err(RedirectUriError::PlainHttp(owned()));
            }
        }
        // RFC 8252 §7.1: a private-use scheme is a reverse domain name the app's owner
        // controls, so it holds a dot; `myapp:` could be claimed by any app, and
        // `javascript:` or `data:` are no place to send a code.
        scheme if scheme.contains('.') => {}
        _ => return Err(RedirectUriError::Scheme(owned())),
    }
    Ok(())
}

/// A loopback host: 127.0.0.0/8, `::1` or `localhost`, where plain http never leaves the machine.
fn is_loopback(url: &Url) -> bool {
    matches!(url.host(), Some(url::Host::Ipv4(ip)) if ip.is_loopback())
        || matches!(url.host(), Some(url::Host::Ipv6(ip)) if ip.is_loopback())
        || url.host_str() == Some("localhost")
}

/// Why a back-channel logout URI cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackchannelUriError {
    #[error(
        "back-channel logout URI {0:?} has characters a URI cannot hold as written: \
         percent-encode them"
    )]
    Characters(String),
    #[error("back-channel logout URI {0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("back-channel logout URI {0:?} must not have a fragment")]
    Fragment(String),
    #[error("back-channel logout URI {0:?} must not carry credentials")]
    Credentials(String),
    #[error("back-channel logout URI {0:?} must use https (http only on loopback)")]
    Scheme(String),
}

/// Checks a back-channel logout URI (Back-Channel Logout 1.0 §2.2): an absolute URI, port,
/// path and query allowed, no fragment; guichet posts logout tokens to it, so https, or http
/// on a loopback host as for redirect URIs. No credentials: they would reach the logs.
pub fn validate_backchannel_logout_uri(uri: &str) -> Result<(), BackchannelUriError> {
    let owned = || uri.to_owned();
    if !uri.chars().all(is_uri_char) {
        return Err(BackchannelUriError::Characters(owned()));
    }
    let url = Url::parse(uri).map_err(|_| BackchannelUriError::NotAbsolute(owned()))?;
    if url.fragment().is_some() || uri.contains('#') {
        return Err(BackchannelUriError::Fragment(owned()));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(BackchannelUriError::Credentials(owned()));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        _ => Err(BackchannelUriError::Scheme(owned())),
    }
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
            require_mfa: false,
            id_token_alg: Alg::RS256,
            access_token_alg: Alg::ES256,
            code_ttl: None,
            access_token_ttl: None,
            id_token_ttl: None,
            offline_ttl: None,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
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
    fn an_explicit_default_port_matches_none() {
        let c = client(
            false,
            &[
                "http://127.0.0.1/cb",
                "https://rp.example:443/cb?x=1",
                "http://[::1]:80/cb",
                "https://rp.example:8443/cb",
            ],
        );
        for good in [
            "http://127.0.0.1/cb",
            "http://127.0.0.1:80/cb",
            "https://rp.example/cb?x=1",
            "https://rp.example:443/cb?x=1",
            "http://[::1]/cb",
            "http://[::1]:80/cb",
            "https://rp.example:8443/cb",
        ] {
            assert!(c.redirect_uri_registered(good), "{good} refused");
        }
        for bad in [
            // another scheme's default port is a port like any other
            "http://127.0.0.1:443/cb",
            "https://rp.example:80/cb?x=1",
            "https://rp.example:0443/cb?x=1",
            "https://rp.example:8443/cb?x=1",
            "http://127.0.0.1:8080/cb",
            // still exact otherwise
            "HTTP://127.0.0.1:80/cb",
            "http://127.0.0.1:80/CB",
            "http://127.0.0.1:80/cb/",
            "https://rp.example:443/cb?x=2",
            "https://rp.example:443/cb",
            "https://rp.example:443/cb?x=1#f",
        ] {
            assert!(!c.redirect_uri_registered(bad), "{bad} accepted");
        }
        // a public loopback client's port is free, an explicit :80 included
        let public = client(true, &["http://127.0.0.1:9000/cb"]);
        assert!(public.redirect_uri_registered("http://127.0.0.1:80/cb"));
        assert!(public.redirect_uri_registered("http://127.0.0.1/cb"));
    }

    #[test]
    fn default_ports_are_removed_from_the_authority_only() {
        for (uri, normal) in [
            ("http://h:80/p", "http://h/p"),
            ("http://h:80", "http://h"),
            ("http://h:80?q=:80", "http://h?q=:80"),
            ("https://h:443#x", "https://h#x"),
            ("http://[::1]:80/", "http://[::1]/"),
            ("http://[::80]/", "http://[::80]/"),
            ("http://h:8080/", "http://h:8080/"),
            ("http://h/p:80", "http://h/p:80"),
            ("https://h:80/", "https://h:80/"),
            ("http://:80/", "http://:80/"),
            ("com.example.app://h:80/", "com.example.app://h:80/"),
        ] {
            assert_eq!(without_default_port(uri), normal, "{uri}");
        }
    }

    #[test]
    fn registration_refuses_schemes_other_than_https_loopback_http_and_reverse_domains() {
        for bad in [
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "myapp:/cb",
            "file:///etc/passwd",
            "ftp://rp.example/cb",
            "ws://127.0.0.1/cb",
            "http://rp.example/cb",
            "http://127.0.0.1.nip.io/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad} accepted");
        }
        for good in [
            "https://rp.example/cb",
            "http://127.0.0.1:9000/cb",
            "http://[::1]/cb",
            "http://localhost/cb",
            "com.example.app:/cb",
            "com.example.app:/oauth2redirect/example-provider",
            "org.example.app://cb",
        ] {
            assert!(validate_redirect_uri(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn registration_refuses_characters_a_uri_cannot_hold() {
        for bad in [
            "https://rp.example/c b",
            "https://rp.example/café",
            "https://rp.éxample/cb",
            "https://rp.example/cb?x=a b",
            "https://rp.example/c\tb",
            "https://rp.example/c\nb",
            "https://rp.example/cb\r",
            "https://rp.example/c<b>",
            "https://rp.example/c\"b",
            "https://rp.example/c\\b",
            "com.example.app:/c b",
            " https://rp.example/cb",
        ] {
            assert!(validate_redirect_uri(bad).is_err(), "{bad:?} accepted");
        }
        for good in [
            "https://rp.example/caf%C3%A9",
            "https://rp.example/c%20b",
            "https://rp.example/cb?a=1&b=%2F;c=(x)*!$',~",
            "https://[2001:db8::1]:8443/cb",
        ] {
            assert!(validate_redirect_uri(good).is_ok(), "{good} refused");
        }
    }

    #[test]
    fn registration_refuses_fragments_and_plain_http() {
        assert!(validate_redirect_uri("https://rp.example/cb#x").is_err());
        assert!(validate_redirect_uri("http://rp.example/cb").is_err());
        assert!(validate_redirect_uri("http://127.0.0.1:9000/cb").is_ok());
        assert!(validate_redirect_uri("com.example.app:/cb").is_ok());
        assert!(validate_redirect_uri("relative/cb").is_err());
    }

    #[test]
    fn backchannel_logout_uris_are_https_or_loopback_http_without_fragment() {
        for good in [
            "https://rp.example/bcl",
            "https://rp.example:8443/bcl?tenant=a",
            "http://127.0.0.1:9000/bcl",
            "http://[::1]/bcl",
            "http://localhost/bcl",
        ] {
            assert!(
                validate_backchannel_logout_uri(good).is_ok(),
                "{good} refused"
            );
        }
        for bad in [
            "https://rp.example/bcl#x",
            "https://rp.example/bcl#",
            "http://rp.example/bcl",
            "com.example.app:/bcl",
            "javascript:alert(1)",
            "/bcl",
            "https://user:pw@rp.example/bcl",
            "https://rp.example/b cl",
        ] {
            assert!(
                validate_backchannel_logout_uri(bad).is_err(),
                "{bad} accepted"
            );
        }
    }
}
