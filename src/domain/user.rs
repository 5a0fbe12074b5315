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
    /// A temporary password: the person must choose a new one at first sign-in.
    pub must_change_password: bool,
    /// YYYY-MM-DD (see [`validate_birth_date`]); with a personal number it identifies the
    /// person in the recovery flow.
    pub birth_date: Option<String>,
    /// (kind, value) pairs: student number, staff number… (see [`normalize_personal_number`]).
    pub personal_numbers: Vec<(String, String)>,
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

/// A personal number as compared: NFKC, lower case, without spaces ("0123 456 a" and
/// "0123456A" are one number). Two people cannot share a number of one kind.
pub fn normalize_personal_number(raw: &str) -> String {
    raw.nfkc()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Why a personal number or a birth date is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PersonalDataError {
    #[error("a personal number is KIND=VALUE, with a kind of letters, digits, '-' or '_': {0:?}")]
    PersonalNumber(String),
    #[error("a birth date is YYYY-MM-DD, a real date: {0:?}")]
    BirthDate(String),
}

/// Parses `KIND=VALUE` (as `--personal-number` takes it): a kind of ASCII letters, digits,
/// `-` or `_` (lower-cased) and a value that is not blank once normalised.
pub fn parse_personal_number(raw: &str) -> Result<(String, String), PersonalDataError> {
    let bad = || PersonalDataError::PersonalNumber(raw.to_owned());
    let (kind, value) = raw.split_once('=').ok_or_else(bad)?;
    let kind = kind.trim().to_ascii_lowercase();
    if kind.is_empty()
        || kind.len() > 64
        || !kind
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(bad());
    }
    let value = value.trim();
    let normalized = normalize_personal_number(value);
    if normalized.is_empty() || normalized.chars().count() > 255 {
        return Err(bad());
    }
    Ok((kind, value.to_owned()))
}

/// Checks a birth date: `YYYY-MM-DD`, a date that exists (leap years included).
pub fn validate_birth_date(raw: &str) -> Result<(), PersonalDataError> {
    let bad = || PersonalDataError::BirthDate(raw.to_owned());
    let b = raw.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(bad());
    }
    let number = |r: std::ops::Range<usize>| -> Result<u32, PersonalDataError> {
        let part = raw.get(r).ok_or_else(bad)?;
        if !part.bytes().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        part.parse().map_err(|_| bad())
    };
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if year < 1000 || day == 0 || day > days {
        return Err(bad());
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

    #[test]
    fn personal_numbers_compare_without_case_or_spaces() {
        assert_eq!(normalize_personal_number(" 0123 456 a "), "0123456a");
        assert_eq!(normalize_personal_number("０１２３"), "0123");
        assert_eq!(
            parse_personal_number("Student = 2024 0017"),
            Ok(("student".into(), "2024 0017".into()))
        );
        for bad in ["student", "=1", "student=", "stu dent=1", "student=  "] {
            assert!(parse_personal_number(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn birth_dates_are_real_dates_in_iso_form() {
        for good in ["2000-02-29", "1999-12-31", "1970-01-01"] {
            assert_eq!(validate_birth_date(good), Ok(()), "{good}");
        }
        for bad in [
            "1900-02-29",
            "2001-02-29",
            "2000-13-01",
            "2000-04-31",
            "2000-1-01",
            "01/02/2000",
            "2000-00-10",
            "+200-01-01",
            "",
        ] {
            assert!(validate_birth_date(bad).is_err(), "{bad}");
        }
    }
}
