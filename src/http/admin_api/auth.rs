//! Who calls the API: a bearer access token (RFC 6750 §2.1, the `Authorization` header only:
//! never a form body, a query string or a cookie) with the scope `admin`, verified as userinfo
//! and introspection verify tokens (signature, `typ`, issuer, audience, expiry, revocation
//! markers, an enabled client, read afresh). A client_credentials token acts as its client, reaching
//! everything; a person's token acts with that person's administration (global or of their
//! establishments).

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::domain::admin::{Actor, Principal, Reach};
use crate::http::state::AppState;
use crate::service::admin::actor_for_user;
use crate::service::error::Error;
use crate::service::resource::{Bearer, BearerError, verify_access_token};

/// The scope a token must carry, and its client be registered for.
pub const ADMIN_SCOPE: &str = "admin";

/// The actor a valid admin token names.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        let core = &state.core;
        let now = core.now();
        let Bearer { claims, .. } = match verify_access_token(core, token, now).await {
            Ok(b) => b,
            Err(BearerError::Invalid) => return Err(ApiError::invalid_token()),
            Err(BearerError::Internal(e)) => return Err(ApiError::service(e)),
        };
        // The client read afresh, not from the 10 s cache that token requests use: a client
        // disabled (or no longer registered for `admin`) stops administering at once.
        let client = match core
            .db
            .client_by_id(&claims.client_id)
            .await
            .map_err(Error::from)?
        {
            Some(c) if !c.disabled => c,
            _ => return Err(ApiError::invalid_token()),
        };
        // The token carries the scope, and its client is (still) registered for it: a client
        // that lost `admin` loses it at once for the tokens it already holds.
        if !claims.has_scope(ADMIN_SCOPE) || !client.scopes.iter().any(|s| s == ADMIN_SCOPE) {
            return Err(ApiError::insufficient_scope(
                "the access token does not carry the scope admin",
            ));
        }
        let actor = match claims.gid {
            // client_credentials (RFC 6749 §4.4): no grant, no person; the client acts.
            None => Actor {
                principal: Principal::Client(client.client_id.clone()),
                reach: Reach::All,
            },
            Some(_) => {
                let user = match core.db.user_by_id(&claims.sub).await.map_err(Error::from)? {
                    Some(u) if !u.disabled => u,
                    // Deleted or disabled since: the token is dead (as at userinfo).
                    _ => return Err(ApiError::invalid_token()),
                };
                actor_for_user(&core.db, &user)
                    .await?
                    .ok_or_else(|| ApiError::insufficient_scope("you administer nothing"))?
            }
        };
        Ok(ApiActor(actor))
    }
}

/// The token of `Authorization: Bearer <token>`; anything else there is an invalid token.
fn bearer_token(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::no_token());
    };
    match value.to_str().ok().and_then(|v| v.split_once(' ')) {
        Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => {
            Ok(t.trim())
        }
        _ => Err(ApiError::invalid_token()),
    }
}
