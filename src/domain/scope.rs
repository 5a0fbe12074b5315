//! Scopes (RFC 6749 §3.3): a space-separated set, order irrelevant.

use std::fmt;

/// The scopes OpenID Connect defines, and guichet's `establishments` (the user's memberships
/// and rights); any other registered scope passes through to the access token.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
    "establishments",
];

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// A scope token with characters RFC 6749 §3.3 does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scope contains characters RFC 6749 does not allow")]
pub struct InvalidScope;

/// A set of distinct scope tokens, in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Splits a scope parameter into distinct tokens, keeping first-seen order.
    pub fn parse(s: &str) -> Result<Scopes, InvalidScope> {
        let mut out: Vec<String> = Vec::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            if !valid_scope_token(token) {
                return Err(InvalidScope);
            }
            if !out.iter().any(|t| t == token) {
                out.push(token.to_owned());
            }
        }
        Ok(Scopes(out))
    }

    /// Scopes already validated (registered, stored): the tokens are kept as they are.
    pub fn from_tokens<I: IntoIterator<Item = String>>(tokens: I) -> Scopes {
        let mut out: Vec<String> = Vec::new();
        for t in tokens {
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Scopes(out)
    }

    pub fn contains(&self, s: &str) -> bool {
        self.0.iter().any(|t| t == s)
    }

    /// Whether every scope of `self` is in `have`.
    pub fn covered_by(&self, have: &[String]) -> bool {
        self.0.iter().all(|w| have.contains(w))
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn as_slice(&self) -> &[String] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The scopes of `self` that `keep` accepts.
    pub fn filter(&self, keep: impl Fn(&str) -> bool) -> Scopes {
        Scopes(self.0.iter().filter(|s| keep(s)).cloned().collect())
    }
}

/// Space-separated, as in a `scope` parameter or claim.
impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing_dedups_and_rejects_bad_characters() {
        let s = Scopes::parse("email  openid email").ok();
        assert_eq!(
            s.as_ref().map(Scopes::as_slice),
            Some(&["email".to_owned(), "openid".to_owned()][..])
        );
        assert_eq!(s.map(|s| s.to_string()), Some("email openid".to_owned()));
        assert!(Scopes::parse("open\"id").is_err());
        assert!(Scopes::parse("a\\b").is_err());
    }

    #[test]
    fn a_set_is_covered_by_a_larger_one_and_filters_keep_order() {
        let s = Scopes::from_tokens(["openid".to_owned(), "email".to_owned()]);
        assert!(s.covered_by(&["email".into(), "openid".into(), "x".into()]));
        assert!(!s.covered_by(&["openid".into()]));
        assert_eq!(s.filter(|t| t != "openid").to_string(), "email");
    }
}
