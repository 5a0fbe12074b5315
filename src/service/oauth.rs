//! The OAuth 2.0 error (RFC 6749 §5.2), shared by the token, revocation and introspection
//! endpoints. Its HTTP form lives in `http::oidc`.

use std::borrow::Cow;

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: Cow<'static, str>,
    /// Failed client authentication: 401 with `WWW-Authenticate: Basic`.
    pub unauthorized: bool,
    /// A failure of ours, logged with this id and shown as it only.
    pub internal: Option<String>,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError {
            error,
            description: description.into(),
            unauthorized: false,
            internal: None,
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new("invalid_request", d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new("invalid_grant", d)
    }

    pub fn invalid_client() -> OAuthError {
        OAuthError {
            unauthorized: true,
            ..OAuthError::new("invalid_client", "client authentication failed")
        }
    }

    /// Logs `e` with a fresh id and answers `server_error` naming only that id.
    pub fn internal(e: impl std::fmt::Display) -> OAuthError {
        let id = uuid::Uuid::new_v4().to_string();
        tracing::error!(error = %e, %id, "internal error");
        OAuthError {
            internal: Some(id.clone()),
            ..OAuthError::new("server_error", format!("internal error {id}"))
        }
    }

    /// `temporarily_unavailable` (the hashing pool is saturated).
    pub fn busy() -> OAuthError {
        OAuthError::new(
            "temporarily_unavailable",
            "the server is busy, retry shortly",
        )
    }
}
