//! Users and their login identifiers.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// A person who signs in. `id` is a UUID that never changes: it is the `sub` of every token.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct User {
    pub id: String,
    pub login: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub middle_name: Option<String>,
    pub nickname: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub phone_number: Option<String>,
    pub phone_number_verified: bool,
    /// OpenID Connect Core §5.1.1 address object.
    pub address: Option<serde_json::Value>,
    pub birthdate: Option<String>,
    pub locale: Option<String>,
    pub zoneinfo: Option<String>,
    pub picture: Option<String>,
    pub website: Option<String>,
    pub gender: Option<String>,
    pub category: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub must_change_password: bool,
    /// When the password last changed: SSO sessions that began before it are over.
    pub password_changed_at: Option<i64>,
    /// When the user was last disabled: SSO sessions from before it are over for good.
    pub sessions_revoked_at: Option<i64>,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the administrator gives to create a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub login: String,
    pub password_hash: Option<String>,
    pub email: Option<String>,
    pub email_verified: bool,
    pub identifiers: Vec<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone_number: Option<String>,
    pub category: Option<String>,
}

/// An identifier as compared: trimmed, NFKC-normalised, lower-cased. Two identifiers that
/// normalise alike belong to one user at most (unique index).
pub fn normalize_identifier(raw: &str) -> String {
    raw.trim().nfkc().flat_map(char::to_lowercase).collect()
}

/// The kind recorded for an extra identifier: e-mail when it looks like one, else a number.
pub fn identifier_kind(raw: &str) -> &'static str {
    if raw.contains('@') { "email" } else { "number" }
}

/// Why an identifier cannot be given to a user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    #[error("an identifier must not be empty")]
    Empty,
    #[error("an identifier must be at most 255 characters")]
    TooLong,
    #[error("identifier {0:?} contains spaces or control characters")]
    Characters(String),
}

/// Checks a login or identifier an administrator types: not empty, no control characters,
/// at most 255 characters once normalised.
pub fn validate_identifier(raw: &str) -> Result<(), IdentifierError> {
    let n = normalize_identifier(raw);
    if n.is_empty() {
        return Err(IdentifierError::Empty);
    }
    if n.chars().count() > 255 {
        return Err(IdentifierError::TooLong);
    }
    if n.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(IdentifierError::Characters(raw.to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_compare_after_trim_nfkc_and_lowercase() {
        assert_eq!(
            normalize_identifier("  Alice@Example.ORG "),
            "alice@example.org"
        );
        // Full-width letters and the "ﬁ" ligature fold under NFKC.
        assert_eq!(normalize_identifier("ＡＢＣ"), "abc");
        assert_eq!(normalize_identifier("ﬁle"), "file");
    }

    #[test]
    fn identifiers_with_spaces_or_nothing_are_refused() {
        assert!(validate_identifier("   ").is_err());
        assert!(validate_identifier("a b").is_err());
        assert!(validate_identifier("e12345").is_ok());
    }
}
