//! Token (RFC 6749 §3.2), revocation (RFC 7009) and introspection (RFC 7662) endpoints: each
//! authenticates the client (`ClientAuth`), calls the service, and maps the outcome.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::extract::ClientAuth;
use super::{cors, no_store_json};
use crate::domain::grant::GrantType;
use crate::http::state::AppState;
use crate::service::oauth::{ErrorCode, OAuthError};
use crate::service::{resource, tokens};

pub async fn token_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAuth { client, form }: ClientAuth,
) -> Response {
    let core = &state.core;
    let result = match form.get("grant_type").map(GrantType::parse) {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some(None) => Err(OAuthError::new(
            ErrorCode::UnsupportedGrantType,
            "this grant type is not supported",
        )),
        Some(Some(GrantType::AuthorizationCode)) => {
            if client.allows_grant(GrantType::AuthorizationCode) {
                tokens::exchange_code(
                    core,
                    &client,
                    form.get("code"),
                    form.get("redirect_uri"),
                    form.get("code_verifier"),
                )
                .await
            } else {
                Err(OAuthError::unauthorized_client(
                    "this client may not use this grant",
                ))
            }
        }
        Some(Some(GrantType::RefreshToken)) => {
            tokens::refresh(core, &client, form.get("refresh_token"), form.get("scope")).await
        }
        Some(Some(GrantType::ClientCredentials)) => {
            tokens::client_credentials(core, &client, form.get("scope"))
        }
    };
    let mut res = match result.and_then(|t| serde_json::to_string(&t).map_err(OAuthError::internal))
    {
        Ok(body) => no_store_json(body),
        Err(e) => e.into_response(),
    };
    cors(&headers, Some(&client), &mut res);
    res
}

/// RFC 7009 §2.2: 200 whatever the token was (unknown and other clients' tokens change
/// nothing); the body is not read.
pub async fn revoke_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    ClientAuth { client, form }: ClientAuth,
) -> Response {
    let Some(token) = form.get("token") else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    let core = &state.core;
    let mut res = match resource::revoke(core, &client, token, core.now()).await {
        Ok(()) => (StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => OAuthError::from(e).into_response(),
    };
    cors(&headers, Some(&client), &mut res);
    res
}

/// RFC 7662: for an authenticated confidential client; anything not live, or not the
/// caller's to see, is `{"active": false}`.
pub async fn introspect_post(
    State(state): State<AppState>,
    ClientAuth { client, form }: ClientAuth,
) -> Response {
    if client.public {
        return OAuthError::invalid_client().into_response();
    }
    let Some(token) = form.get("token") else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    let core = &state.core;
    match resource::introspect(core, &client, token, core.now()).await {
        Ok(Some(body)) => no_store_json(body.to_string()),
        Ok(None) => no_store_json(r#"{"active":false}"#.to_owned()),
        Err(e) => OAuthError::from(e).into_response(),
    }
}
