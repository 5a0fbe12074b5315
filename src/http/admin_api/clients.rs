//! `/clients`: the OIDC clients (global administrators only), by client id.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiErrorBody, ApiPath, ApiResult, json};
use super::users::RevokedGrants;
use crate::http::state::AppState;
use crate::service::admin::Admin;

#[derive(Debug, Serialize, ToSchema)]
pub struct NewSecret {
    /// Shown this once: only its digest is kept.
    pub client_secret: String,
}

/// A new secret for a confidential client (the old one stops working at once).
#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = NewSecret), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn clients_secret_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult {
    let client_secret = Admin::new(&state.core, &actor)
        .rotate_client_secret(&client_id, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &NewSecret { client_secret }))
}

async fn set_disabled(
    state: AppState,
    actor: ApiActor,
    client_id: String,
    disabled: bool,
) -> ApiResult {
    let revoked_grants = Admin::new(&state.core, &actor.0)
        .set_client_disabled(&client_id, disabled, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &RevokedGrants { revoked_grants }))
}

/// Disable a client: its grants are revoked, its tokens refused while it is disabled.
#[utoipa::path(post, path = "/clients/{client_id}/disable", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn clients_disable_post(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult {
    set_disabled(state, actor, client_id, true).await
}

/// Enable a disabled client again (its revoked grants stay revoked).
#[utoipa::path(post, path = "/clients/{client_id}/enable", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn clients_enable_post(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult {
    set_disabled(state, actor, client_id, false).await
}

/// Remove a client for good (its grants revoked first, then deleted with its tokens and
/// consents).
#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn clients_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult {
    let revoked_grants = Admin::new(&state.core, &actor)
        .remove_client(&client_id, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &RevokedGrants { revoked_grants }))
}
