//! OAuth 2.0 grant types (RFC 6749 §4), parsed once at the edge.

use serde::{Deserialize, Serialize};

/// The grant types guichet implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantType {
    AuthorizationCode,
    RefreshToken,
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::ClientCredentials => "client_credentials",
        }
    }

    /// The grant type a `grant_type` value names, if guichet implements it.
    pub fn parse(s: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == s)
    }
}

impl std::fmt::Display for GrantType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_grant_type_parses_back_from_its_name() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
        }
        assert_eq!(GrantType::parse("password"), None);
        assert_eq!(GrantType::parse("Authorization_Code"), None);
    }

    #[test]
    fn serde_names_are_the_rfc_names() {
        for g in GrantType::ALL {
            assert_eq!(
                serde_json::to_value(g).ok(),
                Some(serde_json::Value::String(g.as_str().to_owned()))
            );
        }
    }
}
