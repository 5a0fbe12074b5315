//! Scopes (RFC 6749 §3.3): a space-separated set, order irrelevant.

/// The scopes OpenID Connect defines; any other registered scope passes through to the access
/// token.
pub const OIDC_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub fn valid_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// Splits a scope parameter into distinct tokens, keeping first-seen order.
pub fn parse(s: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for token in s.split(' ').filter(|t| !t.is_empty()) {
        if !valid_scope_token(token) {
            return Err("scope contains characters RFC 6749 does not allow".into());
        }
        if !out.iter().any(|t| t == token) {
            out.push(token.to_owned());
        }
    }
    Ok(out)
}

pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

pub fn contains(scopes: &[String], s: &str) -> bool {
    scopes.iter().any(|t| t == s)
}

/// Whether every scope of `wanted` is in `have`.
pub fn covered(wanted: &[String], have: &[String]) -> bool {
    wanted.iter().all(|w| have.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing_dedups_and_rejects_bad_characters() {
        assert_eq!(
            parse("email  openid email").ok(),
            Some(vec!["email".into(), "openid".into()])
        );
        assert!(parse("open\"id").is_err());
        assert!(parse("a\\b").is_err());
    }
}
