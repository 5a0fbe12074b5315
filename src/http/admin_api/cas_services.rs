//! `/cas-services`: the CAS services (global administrators only), by their id (`cas-…`).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiJson, ApiPath, ApiResult, json};
use super::users::no_content;
use crate::domain::cas::{CasService, PatternKind};
use crate::http::state::AppState;
use crate::service::admin::Admin;
use crate::service::cas::registry::{ServiceChanges, ServiceSpec};

#[derive(Debug, Serialize, ToSchema)]
pub struct CasServiceOut {
    #[schema(example = "cas-3f9c0a1b2c3d4e5f")]
    pub id: String,
    pub name: String,
    pub pattern: String,
    /// `exact`, `prefix` or `regex`.
    pub pattern_kind: String,
    /// The attributes released to the service.
    pub attributes: Vec<String>,
    pub allow_proxy: bool,
    pub require_mfa: bool,
    pub single_logout: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<CasService> for CasServiceOut {
    fn from(s: CasService) -> CasServiceOut {
        CasServiceOut {
            id: s.id,
            name: s.name,
            pattern: s.pattern,
            pattern_kind: s.pattern_kind.as_str().to_owned(),
            attributes: s.attributes,
            allow_proxy: s.allow_proxy,
            require_mfa: s.require_mfa,
            single_logout: s.single_logout,
            disabled: s.disabled,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CasServiceList {
    pub services: Vec<CasServiceOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCasServiceIn {
    pub name: String,
    /// The service URLs it matches (see `pattern_kind`).
    pub pattern: String,
    /// `exact` (default), `prefix` or `regex`.
    pub pattern_kind: Option<String>,
    #[serde(default)]
    pub attributes: Vec<String>,
    #[serde(default)]
    pub allow_proxy: bool,
    #[serde(default)]
    pub require_mfa: bool,
    #[serde(default)]
    pub single_logout: bool,
}

/// A service's changes: a field left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasServiceChangesIn {
    pub name: Option<String>,
    pub pattern: Option<String>,
    pub pattern_kind: Option<String>,
    pub attributes: Option<Vec<String>>,
    pub allow_proxy: Option<bool>,
    pub require_mfa: Option<bool>,
    pub single_logout: Option<bool>,
    pub enabled: Option<bool>,
}

fn kind(v: &str) -> Result<PatternKind, ApiError> {
    PatternKind::parse(v)
        .ok_or_else(|| ApiError::invalid(format!("pattern_kind {v:?}: exact, prefix or regex")))
}

/// Every CAS service, in registration order.
#[utoipa::path(get, path = "/cas-services", tag = "cas-services",
    responses((status = 200, body = CasServiceList), (status = 403, body = ApiErrorBody)))]
pub async fn cas_services_list_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult {
    let all = Admin::new(&state.core, &actor).cas_services().await?;
    Ok(json(
        StatusCode::OK,
        &CasServiceList {
            services: all.into_iter().map(Into::into).collect(),
        },
    ))
}

/// Register a CAS service (its id is chosen by guichet).
#[utoipa::path(post, path = "/cas-services", tag = "cas-services", request_body = NewCasServiceIn,
    responses((status = 201, body = CasServiceOut), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody)))]
pub async fn cas_services_create_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(s): ApiJson<NewCasServiceIn>,
) -> ApiResult {
    let spec = ServiceSpec {
        name: s.name,
        pattern: s.pattern,
        pattern_kind: kind(s.pattern_kind.as_deref().unwrap_or("exact"))?,
        attributes: s.attributes,
        allow_proxy: s.allow_proxy,
        require_mfa: s.require_mfa,
        single_logout: s.single_logout,
    };
    let service = Admin::new(&state.core, &actor)
        .register_cas_service(spec, state.core.now())
        .await?;
    Ok(json(StatusCode::CREATED, &CasServiceOut::from(service)))
}

/// One CAS service.
#[utoipa::path(get, path = "/cas-services/{id}", tag = "cas-services",
    params(("id" = String, Path)),
    responses((status = 200, body = CasServiceOut), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn cas_services_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let s = Admin::new(&state.core, &actor).cas_service(&id).await?;
    Ok(json(StatusCode::OK, &CasServiceOut::from(s)))
}

/// Change any of a service's options (`enabled: false` disables it).
#[utoipa::path(patch, path = "/cas-services/{id}", tag = "cas-services",
    params(("id" = String, Path)), request_body = CasServiceChangesIn,
    responses((status = 200, body = CasServiceOut), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn cas_services_update_patch(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(c): ApiJson<CasServiceChangesIn>,
) -> ApiResult {
    let changes = ServiceChanges {
        name: c.name,
        pattern: c.pattern,
        pattern_kind: c.pattern_kind.as_deref().map(kind).transpose()?,
        attributes: c.attributes,
        allow_proxy: c.allow_proxy,
        require_mfa: c.require_mfa,
        single_logout: c.single_logout,
        enabled: c.enabled,
    };
    let s = Admin::new(&state.core, &actor)
        .update_cas_service(&id, changes, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &CasServiceOut::from(s)))
}

/// Remove a CAS service for good.
#[utoipa::path(delete, path = "/cas-services/{id}", tag = "cas-services",
    params(("id" = String, Path)),
    responses((status = 204, description = "Removed"), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn cas_services_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    Admin::new(&state.core, &actor)
        .remove_cas_service(&id, state.core.now())
        .await?;
    Ok(no_content())
}
