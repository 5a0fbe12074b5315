//! CAS services (CAS Protocol 3.0, Apereo) and the rules for the URLs they own.
//!
//! A CAS application is known by its service URL, which each request brings (`service`): a
//! registered service owns the URLs its pattern matches. An unregistered service gets an error
//! page, never a ticket nor a redirect (CAS §2.2.1, an open redirector otherwise).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::domain::user::User;

/// How a service's pattern matches a service URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PatternKind {
    /// The URL as registered, byte for byte (query included).
    Exact,
    /// Any URL that starts with the pattern, which ends its authority with a `/`.
    Prefix,
    /// A regular expression that must match the whole URL.
    Regex,
}

impl PatternKind {
    pub fn parse(s: &str) -> Option<PatternKind> {
        match s {
            "exact" => Some(PatternKind::Exact),
            "prefix" => Some(PatternKind::Prefix),
            "regex" => Some(PatternKind::Regex),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PatternKind::Exact => "exact",
            PatternKind::Prefix => "prefix",
            PatternKind::Regex => "regex",
        }
    }
}

/// The user attributes a service may be released, named as the OpenID Connect standard claims
/// (Core §5.1) they come from, plus `category` and the memberships. `preferred_username` is the login, which is
/// also `cas:user`.
pub const ATTRIBUTES: &[&str] = &[
    "sub",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "email",
    "email_verified",
    "phone_number",
    "locale",
    "category",
    "establishments",
    "establishment_rights",
];

/// The attributes that come from the user's memberships (`domain::establishment::cas_values`):
/// `establishments` (one code per membership), `establishment_rights` (`CODE:right`).
pub const MEMBERSHIP_ATTRIBUTES: &[&str] = &["establishments", "establishment_rights"];

/// The values of one released attribute of `user` (none when the user has no such value).
pub fn attribute_values(user: &User, name: &str) -> Vec<String> {
    let one = |v: &Option<String>| v.iter().cloned().collect();
    match name {
        "sub" => vec![user.id.clone()],
        "preferred_username" => vec![user.login.clone()],
        "name" => one(&user.name),
        "given_name" => one(&user.given_name),
        "family_name" => one(&user.family_name),
        "email" => one(&user.email),
        "email_verified" if user.email.is_some() => vec![user.email_verified.to_string()],
        "phone_number" => one(&user.phone_number),
        "locale" => one(&user.locale),
        "category" => one(&user.category),
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CasService {
    pub id: String,
    pub name: String,
    pub pattern: String,
    pub pattern_kind: PatternKind,
    /// Released attribute names, from [`ATTRIBUTES`].
    pub attributes: Vec<String>,
    /// May ask for proxy-granting tickets (`pgtUrl`) and so for proxy tickets (CAS §2.5.4).
    pub allow_proxy: bool,
    /// Every sign-in for this service takes a second factor.
    pub require_mfa: bool,
    /// Sent a SAML `LogoutRequest` when a session it got a ticket from ends (CAS §2.3.3).
    pub single_logout: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A service with its pattern compiled, as the registry keeps it.
#[derive(Debug, Clone)]
pub struct CompiledService {
    pub service: Arc<CasService>,
    regex: Option<regex::Regex>,
}

impl CompiledService {
    pub fn new(service: CasService) -> Result<CompiledService, ServiceError> {
        let regex = match service.pattern_kind {
            PatternKind::Regex => Some(compile(&service.pattern)?),
            _ => None,
        };
        Ok(CompiledService {
            service: Arc::new(service),
            regex,
        })
    }

    /// Whether this service owns `url` (already checked by [`valid_service_url`]).
    pub fn matches(&self, url: &str) -> bool {
        let s = &self.service;
        match s.pattern_kind {
            PatternKind::Exact => url == s.pattern,
            PatternKind::Prefix => url.starts_with(&s.pattern),
            PatternKind::Regex => self.regex.as_ref().is_some_and(|r| r.is_match(url)),
        }
    }
}

/// The service among `services` that owns `url`: an exact match first, then the longest
/// prefix, then the first regular expression in registration order. Disabled services own
/// nothing. `None` for a URL that is not a plain absolute http(s) URL.
pub fn find<'a>(services: &'a [CompiledService], url: &str) -> Option<&'a CompiledService> {
    if !valid_service_url(url) {
        return None;
    }
    let enabled = || services.iter().filter(|c| !c.service.disabled);
    enabled()
        .find(|c| c.service.pattern_kind == PatternKind::Exact && c.matches(url))
        .or_else(|| {
            enabled()
                .filter(|c| c.service.pattern_kind == PatternKind::Prefix && c.matches(url))
                .max_by_key(|c| c.service.pattern.len())
        })
        .or_else(|| {
            enabled()
                .filter(|c| c.service.pattern_kind == PatternKind::Regex && c.matches(url))
                .min_by_key(|c| c.service.created_at)
        })
}

/// Longest service URL accepted (CAS §2.1.1 sets no bound; browsers handle 2 KB URLs well
/// beyond that, and a ticket must still fit after it).
pub const MAX_SERVICE_URL: usize = 2048;

/// Whether `url` may be a service URL at all: an absolute http or https URL with a host, no
/// credentials, no fragment, no whitespace or control character, and printed back by the URL
/// parser exactly as given, so that what is matched is what the browser is sent to.
pub fn valid_service_url(url: &str) -> bool {
    if url.len() > MAX_SERVICE_URL || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return false;
    }
    let Ok(u) = Url::parse(url) else {
        return false;
    };
    matches!(u.scheme(), "http" | "https")
        && u.host_str().is_some_and(|h| !h.is_empty())
        && u.username().is_empty()
        && u.password().is_none()
        && u.fragment().is_none()
        && same_url(&u, url)
}

/// The parser may add a `/` for an empty path (`https://a.example` → `https://a.example/`);
/// anything else it changes makes the URL ambiguous.
fn same_url(parsed: &Url, given: &str) -> bool {
    let printed = parsed.as_str();
    printed == given
        || (parsed.path() == "/"
            && parsed.query().is_none()
            && printed.strip_suffix('/') == Some(given))
}

/// `url` with `name=value` added to its query (before any fragment).
pub fn with_param(url: &str, name: &str, value: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let pair = form_urlencoded::Serializer::new(String::new())
        .append_pair(name, value)
        .finish();
    match fragment {
        Some(f) => format!("{base}{sep}{pair}#{f}"),
        None => format!("{base}{sep}{pair}"),
    }
}

/// Why a service cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    #[error("the name must not be empty")]
    NoName,
    #[error(
        "pattern {0:?} is not a valid service URL (absolute http/https, no fragment or credentials)"
    )]
    BadUrl(String),
    #[error(
        "prefix {0:?} must include the whole host and a '/' after it (https://app.example/), so \
         that it cannot match another host"
    )]
    OpenPrefix(String),
    #[error("regular expression {0:?} does not compile: {1}")]
    BadRegex(String, String),
    #[error("unknown attribute {0:?}; released attributes are: {list}", list = ATTRIBUTES.join(", "))]
    UnknownAttribute(String),
}

/// Compiles a service regex to match whole URLs only (`^(?:…)$`), with bounded size.
fn compile(pattern: &str) -> Result<regex::Regex, ServiceError> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ServiceError::BadRegex(pattern.to_owned(), e.to_string()))
}

/// Checks a registration: the pattern for its kind, the attribute names.
pub fn validate(
    name: &str,
    pattern: &str,
    kind: PatternKind,
    attributes: &[String],
) -> Result<(), ServiceError> {
    if name.trim().is_empty() {
        return Err(ServiceError::NoName);
    }
    match kind {
        PatternKind::Exact => {
            if !valid_service_url(pattern) {
                return Err(ServiceError::BadUrl(pattern.to_owned()));
            }
        }
        PatternKind::Prefix => {
            if !valid_service_url(pattern) {
                return Err(ServiceError::BadUrl(pattern.to_owned()));
            }
            // After `scheme://host[:port]` there must be a `/`: `https://app.example` would
            // also match `https://app.example.evil.test`.
            let after_scheme = pattern.split_once("://").map_or("", |(_, r)| r);
            if !after_scheme.contains('/') {
                return Err(ServiceError::OpenPrefix(pattern.to_owned()));
            }
        }
        PatternKind::Regex => {
            compile(pattern)?;
        }
    }
    if let Some(a) = attributes
        .iter()
        .find(|a| !ATTRIBUTES.contains(&a.as_str()))
    {
        return Err(ServiceError::UnknownAttribute(a.clone()));
    }
    Ok(())
}

/// The kinds of CAS ticket (CAS §3), by prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TicketKind {
    Service,
    Proxy,
    ProxyGranting,
}

impl TicketKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TicketKind::Service => "ST-",
            TicketKind::Proxy => "PT-",
            TicketKind::ProxyGranting => "PGT-",
        }
    }

    /// The kind a ticket's prefix names, if it is one of ours in shape (the prefix then 64 hex
    /// digits).
    pub fn of(ticket: &str) -> Option<TicketKind> {
        [
            TicketKind::Service,
            TicketKind::Proxy,
            TicketKind::ProxyGranting,
        ]
        .into_iter()
        .find(|k| ticket.starts_with(k.prefix()))
    }
}

/// Whether `ticket` has the shape guichet gives tickets of `kind`: its prefix, then 64 hex
/// digits (256 random bits).
pub fn well_formed(ticket: &str, kind: TicketKind) -> bool {
    ticket
        .strip_prefix(kind.prefix())
        .is_some_and(|r| r.len() == 64 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn svc(pattern: &str, kind: PatternKind, created_at: i64) -> CompiledService {
        CompiledService::new(CasService {
            id: pattern.to_owned(),
            name: "s".into(),
            pattern: pattern.into(),
            pattern_kind: kind,
            attributes: vec![],
            allow_proxy: false,
            require_mfa: false,
            single_logout: true,
            disabled: false,
            created_at,
            updated_at: created_at,
        })
        .unwrap()
    }

    #[test]
    fn service_urls_must_be_plain_absolute_urls() {
        assert!(valid_service_url("https://app.example/cas?x=1"));
        assert!(valid_service_url("https://app.example"));
        assert!(valid_service_url("http://127.0.0.1:8080/"));
        assert!(!valid_service_url("javascript:alert(1)"));
        assert!(!valid_service_url("https://u:p@app.example/"));
        assert!(!valid_service_url("https://app.example/#frag"));
        assert!(!valid_service_url("https://app.example/a b"));
        assert!(!valid_service_url("https://APP.example/"));
        assert!(!valid_service_url("https://app.example/\\evil"));
        assert!(!valid_service_url("/relative"));
        assert!(!valid_service_url("https://app.example/\n"));
    }

    #[test]
    fn exact_beats_prefix_beats_regex_and_longer_prefixes_win() {
        let all = vec![
            svc("https://app\\.example/.*", PatternKind::Regex, 1),
            svc("https://app.example/", PatternKind::Prefix, 2),
            svc("https://app.example/admin/", PatternKind::Prefix, 3),
            svc("https://app.example/login", PatternKind::Exact, 4),
        ];
        let owner = |u: &str| find(&all, u).map(|c| c.service.id.clone());
        assert_eq!(
            owner("https://app.example/login").as_deref(),
            Some("https://app.example/login")
        );
        assert_eq!(
            owner("https://app.example/admin/x").as_deref(),
            Some("https://app.example/admin/")
        );
        assert_eq!(
            owner("https://app.example/other").as_deref(),
            Some("https://app.example/")
        );
        assert_eq!(owner("https://app.example.evil.test/"), None);
        assert_eq!(owner("https://other.example/"), None);
    }

    #[test]
    fn regexes_match_the_whole_url() {
        let all = vec![svc(r"https://app\.example/[a-z]+", PatternKind::Regex, 1)];
        assert!(find(&all, "https://app.example/abc").is_some());
        assert!(find(&all, "https://app.example/abc?x=https://evil").is_none());
        assert!(find(&all, "https://evil.test/?https://app.example/abc").is_none());
    }

    #[test]
    fn registrations_are_checked() {
        let none: Vec<String> = vec![];
        assert!(validate("a", "https://app.example/", PatternKind::Prefix, &none).is_ok());
        assert_eq!(
            validate("a", "https://app.example", PatternKind::Prefix, &none),
            Err(ServiceError::OpenPrefix("https://app.example".into()))
        );
        assert!(validate("a", "(", PatternKind::Regex, &none).is_err());
        assert!(validate("", "https://a.example/", PatternKind::Exact, &none).is_err());
        assert!(
            validate(
                "a",
                "https://a.example/",
                PatternKind::Exact,
                &["password".into()]
            )
            .is_err()
        );
    }

    #[test]
    fn tickets_go_before_the_fragment() {
        assert_eq!(
            with_param("https://a.example/p?x=1", "ticket", "ST-1"),
            "https://a.example/p?x=1&ticket=ST-1"
        );
        assert_eq!(
            with_param("https://a.example/p#top", "ticket", "ST-1"),
            "https://a.example/p?ticket=ST-1#top"
        );
    }

    #[test]
    fn ticket_shapes() {
        let t = format!("ST-{}", "a".repeat(64));
        assert!(well_formed(&t, TicketKind::Service));
        assert!(!well_formed(&t, TicketKind::Proxy));
        assert!(!well_formed("ST-nope", TicketKind::Service));
        assert_eq!(TicketKind::of("PGT-x"), Some(TicketKind::ProxyGranting));
        assert_eq!(TicketKind::of("XYZ-1"), None);
    }
}
