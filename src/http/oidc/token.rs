//! Token (RFC 6749 §3.2), revocation (RFC 7009) and introspection (RFC 7662) endpoints.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{authenticate_client, cors, no_store_json};
use crate::crypto::token::digest;
use crate::http::state::AppState;
use crate::http::{form_pairs, param};
use crate::service::oauth::OAuthError;
use crate::service::tokens::{
    BearerError, client_credentials, exchange_code, mark_grants_revoked, refresh,
    revoke_access_token, verify_access_token,
};

/// Parameters that may appear at most once in a token request (RFC 6749 §3.2).
const SINGLE: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
];

fn form(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    let pairs = form_pairs(headers, body).map_err(|_| {
        OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
    })?;
    if SINGLE.iter().any(|n| crate::http::repeated(&pairs, n)) {
        return Err(OAuthError::invalid_request("a parameter is repeated"));
    }
    Ok(pairs)
}

pub async fn token_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = match form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let client = match authenticate_client(&state, &headers, &pairs).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let p = |n: &str| param(&pairs, n).filter(|v| !v.is_empty());
    let result = match p("grant_type") {
        None => Err(OAuthError::invalid_request("grant_type is required")),
        Some("authorization_code") => {
            if client.allows_grant("authorization_code") {
                exchange_code(
                    &state.core,
                    &client,
                    p("code"),
                    p("redirect_uri"),
                    p("code_verifier"),
                )
                .await
            } else {
                Err(OAuthError::new(
                    "unauthorized_client",
                    "this client may not use this grant",
                ))
            }
        }
        Some("refresh_token") => {
            refresh(&state.core, &client, p("refresh_token"), p("scope")).await
        }
        Some("client_credentials") => client_credentials(&state.core, &client, p("scope")),
        Some(_) => Err(OAuthError::new(
            "unsupported_grant_type",
            "this grant type is not supported",
        )),
    };
    let mut res = match result {
        Ok(t) => no_store_json(serde_json::to_string(&t).unwrap_or_default()),
        Err(e) => e.into_response(),
    };
    cors(&headers, Some(&client), &mut res);
    res
}

/// RFC 7009: revoking a refresh token revokes its grant (and the grant's access tokens);
/// revoking an access token revokes its `jti`. Unknown tokens and other clients' tokens get
/// 200 and change nothing.
pub async fn revoke_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = match form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let client = match authenticate_client(&state, &headers, &pairs).await {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Some(token) = param(&pairs, "token").filter(|t| !t.is_empty()) else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    let now = state.core.now();
    let result: Result<(), OAuthError> = async {
        if token.len() <= 64
            && let Some((grant, _)) = state
                .core
                .db
                .refresh_lookup(&digest(token), now)
                .await
                .map_err(OAuthError::internal)?
        {
            {
                if grant.client_id == client.client_id {
                    state
                        .core
                        .db
                        .grant_revoke(&grant.id, now)
                        .await
                        .map_err(OAuthError::internal)?;
                    let ttl = client
                        .access_token_ttl
                        .unwrap_or(state.core.policy.access_token_ttl);
                    mark_grants_revoked(&state.core, &[grant.id], ttl).await?;
                }
                return Ok(());
            }
        }
        match verify_access_token(&state.core, token).await {
            Ok(claims) if claims.client_id == client.client_id => {
                revoke_access_token(&state.core, &claims).await
            }
            Ok(_) | Err(BearerError::Invalid) => Ok(()),
            Err(BearerError::Internal(e)) => Err(OAuthError::internal(e)),
        }
    }
    .await;
    let mut res = match result {
        // RFC 7009 §2.2: 200, and the body is not read.
        Ok(()) => (
            StatusCode::OK,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
        )
            .into_response(),
        Err(e) => e.into_response(),
    };
    cors(&headers, Some(&client), &mut res);
    res
}

/// RFC 7662: for an authenticated confidential client; anything not live is
/// `{"active": false}`.
pub async fn introspect_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let pairs = match form(&headers, &body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let client = match authenticate_client(&state, &headers, &pairs).await {
        Ok(c) if !c.public => c,
        Ok(_) => return OAuthError::invalid_client().into_response(),
        Err(e) => return e.into_response(),
    };
    let Some(token) = param(&pairs, "token").filter(|t| !t.is_empty()) else {
        return OAuthError::invalid_request("token is required").into_response();
    };
    let now = state.core.now();
    let inactive = || no_store_json(r#"{"active":false}"#.to_owned());
    match verify_access_token(&state.core, token).await {
        Ok(claims) => {
            match state.core.db.user_by_id(&claims.sub).await {
                // client_credentials tokens are about the client, not a user.
                Ok(None) if claims.gid.is_none() => {}
                Ok(Some(u)) if !u.disabled => {}
                Ok(_) => return inactive(),
                Err(e) => return OAuthError::internal(e).into_response(),
            }
            let mut body = json!({
                "active": true,
                "scope": claims.scope,
                "client_id": claims.client_id,
                "token_type": "Bearer",
                "exp": claims.exp,
                "iat": claims.iat,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "jti": claims.jti,
            });
            if let Some(t) = claims.auth_time {
                body["auth_time"] = json!(t);
            }
            return no_store_json(body.to_string());
        }
        Err(BearerError::Internal(e)) => return OAuthError::internal(e).into_response(),
        Err(BearerError::Invalid) => {}
    }
    if token.len() <= 64 {
        match state.core.db.refresh_lookup(&digest(token), now).await {
            Ok(Some((g, exp)))
                if g.client_id == client.client_id && !g.revoked && !g.user_disabled =>
            {
                let body = json!({
                    "active": true,
                    "scope": g.scope,
                    "client_id": g.client_id,
                    "exp": exp,
                    "sub": g.user_id,
                    "iss": state.core.urls.issuer,
                });
                return no_store_json(body.to_string());
            }
            Ok(_) => {}
            Err(e) => return OAuthError::internal(e).into_response(),
        }
    }
    inactive()
}
