//! The API's errors: JSON `{error, error_description}` (the shape of RFC 6749 §5.2, which the
//! rest of guichet's JSON speaks), with the status the service's error calls for, and the
//! RFC 6750 §3 challenge when the bearer token is missing, invalid or short of the scope.

use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::oidc::no_store_json;
use crate::service::admin::AdminError;
use crate::service::error::Error;

/// An error answered by the API.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `forbidden`, `not_found`,
    /// `conflict`, `temporarily_unavailable` or `server_error`.
    #[schema(example = "not_found")]
    pub error: String,
    /// What went wrong, for a person to read.
    pub error_description: String,
}

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    error: &'static str,
    description: String,
    /// The `WWW-Authenticate` challenge of a 401 or of a 403 `insufficient_scope`.
    challenge: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error,
            description: description.into(),
            challenge: None,
        }
    }

    pub fn invalid(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn not_found(description: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    /// RFC 6750 §3.1: no credentials at all: a bare challenge, no error code in it.
    pub fn no_token() -> ApiError {
        ApiError {
            challenge: Some("Bearer realm=\"guichet\"".into()),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "an access token is required (Authorization: Bearer)",
            )
        }
    }

    /// RFC 6750 §3.1 `invalid_token`: malformed, expired, revoked, or of a disabled client or
    /// user.
    pub fn invalid_token() -> ApiError {
        ApiError {
            challenge: Some("Bearer realm=\"guichet\", error=\"invalid_token\"".into()),
            ..ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "the access token is invalid, expired or revoked",
            )
        }
    }

    /// RFC 6750 §3.1 `insufficient_scope`: a valid token that does not carry `admin`, or whose
    /// person administers nothing.
    pub fn insufficient_scope(description: &str) -> ApiError {
        ApiError {
            challenge: Some(
                "Bearer realm=\"guichet\", error=\"insufficient_scope\", scope=\"admin\"".into(),
            ),
            ..ApiError::new(StatusCode::FORBIDDEN, "insufficient_scope", description)
        }
    }

    /// A service error: 503 when a backend is temporarily unavailable, else logged under an
    /// id that alone is shown.
    pub fn service(e: Error) -> ApiError {
        if e.is_unavailable() {
            tracing::warn!(error = %e, "admin api: temporarily unavailable");
            return ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the service is temporarily unavailable; try again shortly",
            );
        }
        let id = uuid::Uuid::new_v4();
        tracing::error!(error = %e, %id, "admin api: internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            format!("internal error {id}"),
        )
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> ApiError {
        match e {
            AdminError::NotFound(d) => ApiError::not_found(d),
            AdminError::Invalid(d) => ApiError::invalid(d),
            AdminError::Forbidden(d) => ApiError::new(StatusCode::FORBIDDEN, "forbidden", d),
            AdminError::Conflict(d) => ApiError::new(StatusCode::CONFLICT, "conflict", d),
            AdminError::Service(e) => ApiError::service(e),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        ApiError::service(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        ApiError::invalid(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::invalid(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        let mut res = (self.status, no_store_json(body.to_string())).into_response();
        if let Some(c) = self.challenge
            && let Ok(v) = HeaderValue::from_str(&c)
        {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
        }
        res
    }
}

/// A JSON request body; a malformed one is a 400 in the API's error shape.
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// Path parameters; a malformed one is a 400 in the API's error shape.
#[derive(axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A JSON response body.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    match serde_json::to_string(body) {
        Ok(s) => (status, no_store_json(s)).into_response(),
        Err(e) => ApiError::service(Error::Corrupt(e.to_string())).into_response(),
    }
}

pub type ApiResult = Result<Response, ApiError>;
