//! Establishments (tenants) and memberships: a user belongs to any number of establishments,
//! with a set of rights (roles) in each, taken from the list the establishment defines. They
//! reach applications as the `establishments` claim and as CAS attributes.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Establishment {
    pub id: String,
    /// A short code applications may key on (`UPEC`, `iut-creteil`): letters, digits, `-`, `_`.
    pub code: String,
    pub name: String,
    /// The rights its members may be given.
    pub rights: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A user's membership of an establishment, with the establishment's code and name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub establishment_id: String,
    pub code: String,
    pub name: String,
    pub rights: Vec<String>,
    /// The member administers the establishment (its members and their rights).
    pub admin: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EstablishmentError {
    #[error("code {0:?} must be 1 to 32 letters, digits, '-' or '_'")]
    Code(String),
    #[error("the name must be 1 to 200 characters")]
    Name,
    #[error("right {0:?} must be 1 to 64 lower-case letters, digits, '-', '_', '.' or ':'")]
    Right(String),
    #[error("right {right:?} is not defined for establishment {code}: {defined}")]
    Undefined {
        right: String,
        code: String,
        defined: String,
    },
}

pub fn validate_code(code: &str) -> Result<(), EstablishmentError> {
    let ok = (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(EstablishmentError::Code(code.to_owned()))
    }
}

pub fn validate_name(name: &str) -> Result<(), EstablishmentError> {
    let n = name.trim().chars().count();
    if (1..=200).contains(&n) && !name.chars().any(char::is_control) {
        Ok(())
    } else {
        Err(EstablishmentError::Name)
    }
}

/// A right's name: short, lower-case, safe in a claim and as part of a CAS attribute value.
pub fn validate_right(right: &str) -> Result<(), EstablishmentError> {
    let ok = (1..=64).contains(&right.len())
        && right.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'-' | b'_' | b'.' | b':')
        });
    if ok {
        Ok(())
    } else {
        Err(EstablishmentError::Right(right.to_owned()))
    }
}

/// The rights, each defined for `e`, without repeats, in the establishment's order.
pub fn allowed_rights(
    e: &Establishment,
    wanted: &[String],
) -> Result<Vec<String>, EstablishmentError> {
    for w in wanted {
        if !e.rights.contains(w) {
            return Err(EstablishmentError::Undefined {
                right: w.clone(),
                code: e.code.clone(),
                defined: if e.rights.is_empty() {
                    "none".into()
                } else {
                    e.rights.join(", ")
                },
            });
        }
    }
    Ok(e.rights
        .iter()
        .filter(|r| wanted.contains(r))
        .cloned()
        .collect())
}

/// The `establishments` claim (scope `establishments`): one object per membership.
pub fn claim(memberships: &[Membership]) -> serde_json::Value {
    serde_json::Value::Array(
        memberships
            .iter()
            .map(|m| serde_json::json!({"code": m.code, "name": m.name, "rights": m.rights}))
            .collect(),
    )
}

/// The CAS attributes: `establishments` (one code per membership) and `establishment_rights`
/// (`CODE:right`, one per right held).
pub fn cas_values(memberships: &[Membership], attribute: &str) -> Vec<String> {
    match attribute {
        "establishments" => memberships.iter().map(|m| m.code.clone()).collect(),
        "establishment_rights" => memberships
            .iter()
            .flat_map(|m| m.rights.iter().map(move |r| format!("{}:{r}", m.code)))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn est(rights: &[&str]) -> Establishment {
        Establishment {
            id: "e1".into(),
            code: "UPEC".into(),
            name: "Université".into(),
            rights: rights.iter().map(|r| (*r).to_owned()).collect(),
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn codes_names_and_rights_are_checked() {
        assert!(validate_code("iut-creteil_2").is_ok());
        assert!(validate_code("").is_err());
        assert!(validate_code("a b").is_err());
        assert!(validate_code(&"a".repeat(33)).is_err());
        assert!(validate_name("Université Paris-Est").is_ok());
        assert!(validate_name("  ").is_err());
        assert!(validate_right("print:colour").is_ok());
        assert!(validate_right("Admin").is_err());
    }

    #[test]
    fn only_defined_rights_are_given_in_the_establishment_order() {
        let e = est(&["staff", "print", "admin"]);
        assert_eq!(
            allowed_rights(&e, &["admin".into(), "staff".into(), "admin".into()]).unwrap(),
            ["staff", "admin"]
        );
        assert!(matches!(
            allowed_rights(&e, &["root".into()]),
            Err(EstablishmentError::Undefined { .. })
        ));
    }

    #[test]
    fn claims_and_cas_values() {
        let m = vec![Membership {
            establishment_id: "e1".into(),
            code: "UPEC".into(),
            name: "U".into(),
            rights: vec!["staff".into(), "print".into()],
            admin: false,
        }];
        assert_eq!(
            claim(&m),
            serde_json::json!([{"code": "UPEC", "name": "U", "rights": ["staff", "print"]}])
        );
        assert_eq!(cas_values(&m, "establishments"), ["UPEC"]);
        assert_eq!(
            cas_values(&m, "establishment_rights"),
            ["UPEC:staff", "UPEC:print"]
        );
    }
}
