//! The OAuth 2.0 error (RFC 6749 §4.1.2.1, §5.2), shared by the authorization, token,
//! revocation and introspection endpoints. Its HTTP form lives in `http::oidc`.

use std::borrow::Cow;

use crate::service::error::Error;

/// The error codes guichet answers with (RFC 6749 §4.1.2.1 and §5.2, OpenID Connect Core
/// §3.1.2.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    UnsupportedResponseType,
    InvalidScope,
    AccessDenied,
    ServerError,
    TemporarilyUnavailable,
    LoginRequired,
    ConsentRequired,
    RequestNotSupported,
    RequestUriNotSupported,
    /// RFC 7591 §3.2.2: a redirect URI the registration refuses.
    InvalidRedirectUri,
    /// RFC 7591 §3.2.2: other client metadata the registration refuses.
    InvalidClientMetadata,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnauthorizedClient => "unauthorized_client",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::UnsupportedResponseType => "unsupported_response_type",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::AccessDenied => "access_denied",
            ErrorCode::ServerError => "server_error",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::LoginRequired => "login_required",
            ErrorCode::ConsentRequired => "consent_required",
            ErrorCode::RequestNotSupported => "request_not_supported",
            ErrorCode::RequestUriNotSupported => "request_uri_not_supported",
            ErrorCode::InvalidRedirectUri => "invalid_redirect_uri",
            ErrorCode::InvalidClientMetadata => "invalid_client_metadata",
        }
    }
}

#[derive(Debug, Clone)]
pub struct OAuthError {
    pub error: ErrorCode,
    pub description: Cow<'static, str>,
}

impl OAuthError {
    pub fn new(error: ErrorCode, description: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidRequest, d)
    }

    pub fn invalid_grant(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidGrant, d)
    }

    pub fn invalid_scope(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::InvalidScope, d)
    }

    pub fn unauthorized_client(d: impl Into<Cow<'static, str>>) -> OAuthError {
        OAuthError::new(ErrorCode::UnauthorizedClient, d)
    }

    /// Failed client authentication: 401 with `WWW-Authenticate: Basic` at the edge.
    pub fn invalid_client() -> OAuthError {
        OAuthError::new(ErrorCode::InvalidClient, "client authentication failed")
    }

    /// Logs `e` with a fresh id and answers `server_error` naming only that id.
    pub fn internal(e: impl std::fmt::Display) -> OAuthError {
        let id = uuid::Uuid::new_v4().to_string();
        tracing::error!(error = %e, %id, "internal error");
        OAuthError::new(ErrorCode::ServerError, format!("internal error {id}"))
    }

    /// `temporarily_unavailable`: the hashing pool is saturated or the short-lived store full.
    pub fn busy() -> OAuthError {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the server is busy, retry shortly",
        )
    }

    /// `temporarily_unavailable`: the short-lived store or the database cannot be reached.
    pub fn unavailable() -> OAuthError {
        OAuthError::new(
            ErrorCode::TemporarilyUnavailable,
            "the service is temporarily unavailable, retry later",
        )
    }
}

/// A full or unreachable store or a saturated pool is `temporarily_unavailable` (503),
/// anything else `server_error` (500).
impl From<Error> for OAuthError {
    fn from(e: Error) -> OAuthError {
        if e.is_outage() {
            tracing::error!(error = %e, "backend unavailable: refusing");
            OAuthError::unavailable()
        } else if e.is_unavailable() {
            tracing::warn!(error = %e, "temporarily unavailable");
            OAuthError::busy()
        } else {
            OAuthError::internal(e)
        }
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> OAuthError {
        Error::from(e).into()
    }
}

impl From<crate::ephemeral::EphemeralError> for OAuthError {
    fn from(e: crate::ephemeral::EphemeralError) -> OAuthError {
        Error::from(e).into()
    }
}
