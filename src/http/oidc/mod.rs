//! OpenID Connect endpoints.

pub mod authorize;
pub mod discovery;
pub mod logout;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::Arc;

use crate::crypto::token::verify_digest;
use crate::domain::client::Client;
use crate::http::state::AppState;
use crate::service::oauth::OAuthError;

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
        .route(
            "/login",
            get(authorize::login_get).post(authorize::login_post),
        )
        .route("/consent", post(authorize::consent_post))
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
}

/// RFC 6749 §5.2 error body; 401 + `WWW-Authenticate: Basic` for failed client authentication.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = if self.unauthorized {
            StatusCode::UNAUTHORIZED
        } else if self.internal.is_some() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else if self.error == "temporarily_unavailable" {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::BAD_REQUEST
        };
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        let mut res = (status, no_store_json(body.to_string())).into_response();
        if self.unauthorized {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"guichet\", charset=\"UTF-8\""),
            );
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
        Ok(o) => state
            .core
            .clients
            .origin_known(&state.core.db, o)
            .await
            .unwrap_or(false),
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

/// Client authentication at the token, revocation and introspection endpoints:
/// client_secret_basic (RFC 6749 §2.3.1: id and secret form-urlencoded before base64),
/// client_secret_post, or none for public clients. Both basic and post at once is
/// `invalid_request`.
pub async fn authenticate_client(
    state: &AppState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
) -> Result<Arc<Client>, OAuthError> {
    let body_id = crate::http::param(pairs, "client_id");
    let body_secret = crate::http::param(pairs, "client_secret");
    if crate::http::repeated(pairs, "client_id") || crate::http::repeated(pairs, "client_secret") {
        return Err(OAuthError::invalid_request(
            "client_id or client_secret is repeated",
        ));
    }
    let basic = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v.to_str().map_err(|_| OAuthError::invalid_client())?;
            match v.split_once(' ') {
                Some((scheme, creds)) if scheme.eq_ignore_ascii_case("basic") => {
                    Some(parse_basic(creds.trim()).ok_or_else(OAuthError::invalid_client)?)
                }
                _ => return Err(OAuthError::invalid_client()),
            }
        }
    };
    let (client_id, secret) = match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(OAuthError::invalid_request(
                    "use one client authentication method only",
                ));
            }
            if body_id.is_some_and(|b| b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, Some(secret))
        }
        None => match body_id {
            Some(id) => (id.to_owned(), body_secret.map(str::to_owned)),
            None => return Err(OAuthError::invalid_client()),
        },
    };
    let client = state
        .core
        .clients
        .get(&state.core.db, &client_id)
        .await
        .map_err(OAuthError::internal)?
        .ok_or_else(OAuthError::invalid_client)?;
    let ok = match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => verify_digest(&secret, hash),
        (None, None) => client.public,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client())
    }
}

fn parse_basic(b64: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let decode = |s: &str| -> Option<String> {
        let plus = s.replace('+', " ");
        percent_encoding::percent_decode_str(&plus)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}

#[cfg(test)]
mod tests {
    use super::*;

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
