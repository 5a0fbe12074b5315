//! Who calls the API: `Authorization: Bearer <access token>` (RFC 6750 §2.1: the header only,
//! never a form body, a query string or a cookie) with the scope `admin`, as
//! `service::admin_bearer` resolves it to an actor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::domain::admin::Actor;
use crate::http::state::AppState;
use crate::service::admin_bearer::{AdminBearer, admin_bearer};

/// The actor a valid admin token names.
pub struct ApiActor(pub Actor);

impl FromRequestParts<AppState> for ApiActor {
    type Rejection = ApiError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(parts)?;
        match admin_bearer(&state.core, token, state.core.now()).await? {
            AdminBearer::Actor(actor) => Ok(ApiActor(actor)),
            AdminBearer::InvalidToken => Err(ApiError::invalid_token()),
            AdminBearer::InsufficientScope(why) => Err(ApiError::insufficient_scope(why)),
        }
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
