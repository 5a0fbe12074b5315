//! `/administrators`: the global administrators (global administrators only).

use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiErrorBody, ApiPath, ApiResult, json};
use super::users::no_content;
use crate::http::state::AppState;
use crate::service::admin::Admin;

#[derive(Debug, Serialize, ToSchema)]
pub struct AdministratorOut {
    #[schema(format = Uuid)]
    pub id: String,
    pub login: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdministratorList {
    pub administrators: Vec<AdministratorOut>,
}

/// The global administrators.
#[utoipa::path(get, path = "/administrators", tag = "administrators",
    responses((status = 200, body = AdministratorList), (status = 403, body = ApiErrorBody)))]
pub async fn administrators_list_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult {
    let all = Admin::new(&state.core, &actor).administrators().await?;
    Ok(json(
        StatusCode::OK,
        &AdministratorList {
            administrators: all
                .into_iter()
                .map(|(id, login)| AdministratorOut { id, login })
                .collect(),
        },
    ))
}

/// Make a user a global administrator.
#[utoipa::path(put, path = "/administrators/{id}", tag = "administrators",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The user is a global administrator"),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn administrators_put(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    set(state, actor, id, true).await
}

/// Make a global administrator an ordinary user again (not yourself).
#[utoipa::path(delete, path = "/administrators/{id}", tag = "administrators",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The user is no longer a global administrator"),
        (status = 400, body = ApiErrorBody), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn administrators_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    set(state, actor, id, false).await
}

async fn set(
    state: AppState,
    actor: crate::domain::admin::Actor,
    id: String,
    on: bool,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    // Refused before the lookup: an establishment administrator learns nothing of anyone.
    admin.check_global()?;
    let user = admin.find_user_by_id(&id).await?;
    admin
        .set_global_administrator(&user, on, state.core.now())
        .await?;
    Ok(no_content())
}
