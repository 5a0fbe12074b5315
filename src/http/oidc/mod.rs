//! OpenID Connect endpoints.

pub mod authorize;
pub mod discovery;
pub mod extract;
pub mod logout;
pub mod register;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::domain::client::Client;
use crate::http::state::AppState;
use crate::service::clients;
use crate::service::oauth::{ErrorCode, OAuthError};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::discovery_get),
        )
        .route("/jwks", get(discovery::jwks_get))
        .route(
            "/authorize",
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route("/token", post(token::token_post).options(preflight))
        .route("/revoke", post(token::revoke_post).options(preflight))
        .route("/introspect", post(token::introspect_post))
        .route(
            "/userinfo",
            get(userinfo::userinfo_get)
                .post(userinfo::userinfo_post)
                .options(preflight),
        )
        .route(
            "/logout",
            get(logout::end_session_get).post(logout::end_session_post),
        )
        .route("/logout/confirm", post(logout::logout_confirm_post))
        .route("/register", post(register::register_post))
        .route("/register/{client_id}", get(register::register_read_get))
}

/// RFC 6749 §5.2 error body; 401 + `WWW-Authenticate: Basic` for failed client
/// authentication, 503 + `Retry-After` when temporarily unavailable.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = match self.error {
            ErrorCode::InvalidClient => StatusCode::UNAUTHORIZED,
            ErrorCode::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        let body = serde_json::json!({"error": self.error.as_str(), "error_description": self.description});
        let mut res = (status, no_store_json(body.to_string())).into_response();
        match self.error {
            ErrorCode::InvalidClient => {
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Basic realm=\"guichet\", charset=\"UTF-8\""),
                );
            }
            ErrorCode::TemporarilyUnavailable => {
                res.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("2"));
            }
            _ => {}
        }
        res
    }
}

/// A JSON body with `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1).
pub fn no_store_json(body: String) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
        .into_response()
}

/// CORS for token, userinfo and revocation: echo the `Origin` if it is the origin of one of
/// `client`'s redirect URIs. No credentials.
pub fn cors(headers: &HeaderMap, client: Option<&Client>, res: &mut Response) {
    res.headers_mut()
        .insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = headers.get(header::ORIGIN) else {
        return;
    };
    let Ok(o) = origin.to_str() else { return };
    if client.is_some_and(|c| c.has_origin(o)) {
        res.headers_mut()
            .insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    }
}

/// Preflight: allowed for an origin that belongs to some registered client's redirect URIs.
async fn preflight(
    axum::extract::State(state): axum::extract::State<AppState>,
    headers: HeaderMap,
) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    let h = res.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("Origin"));
    let Some(origin) = headers.get(header::ORIGIN) else {
        return res;
    };
    let known = match origin.to_str() {
        Ok(o) => clients::origin_known(&state.core, o).await.unwrap_or(false),
        Err(_) => false,
    };
    if known {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("Authorization, Content-Type"),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    res
}

#[cfg(test)]
mod tests {
    use super::extract::parse_basic;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;

    #[test]
    fn basic_credentials_are_urldecoded_after_base64() {
        // RFC 6749 §2.3.1: "a:b+%/" is sent as "a%3Ab%2B%25%2F".
        let header = STANDARD.encode("my%20client:a%3Ab%2B%25%2F");
        assert_eq!(
            parse_basic(&header),
            Some(("my client".to_owned(), "a:b+%/".to_owned()))
        );
        assert_eq!(parse_basic("!!!"), None);
        assert_eq!(parse_basic(&STANDARD.encode("nocolon")), None);
    }
}
