//! `/establishments`: the establishments (tenants), their members, and memberships (a user's
//! rights in one establishment, and whether they administer it).

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiJson, ApiPath, ApiResult, json};
use super::users::no_content;
use crate::domain::establishment::{Establishment, Membership};
use crate::http::state::AppState;
use crate::service::admin::Admin;

#[derive(Debug, Serialize, ToSchema)]
pub struct EstablishmentOut {
    /// A short code applications key on (letters, digits, `-`, `_`).
    #[schema(example = "UPEC")]
    pub code: String,
    pub name: String,
    /// The rights its members may be given.
    pub rights: Vec<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Establishment> for EstablishmentOut {
    fn from(e: Establishment) -> EstablishmentOut {
        EstablishmentOut {
            code: e.code,
            name: e.name,
            rights: e.rights,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EstablishmentList {
    pub establishments: Vec<EstablishmentOut>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEstablishment {
    #[schema(example = "UPEC")]
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub rights: Vec<String>,
}

/// What is given changes; what is not stays. Rights no longer defined are taken from the
/// members who held them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EstablishmentChanges {
    pub name: Option<String>,
    pub rights: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Member {
    #[schema(format = Uuid)]
    pub id: String,
    pub login: String,
    pub rights: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MemberList {
    pub establishment: EstablishmentOut,
    pub members: Vec<Member>,
}

/// A membership to give: exactly these rights (each defined by the establishment).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipIn {
    #[serde(default)]
    pub rights: Vec<String>,
    /// The member administers the establishment (its members and their rights).
    #[serde(default)]
    pub admin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipOut {
    /// The establishment's code.
    pub establishment: String,
    pub name: String,
    pub rights: Vec<String>,
    pub admin: bool,
}

impl From<Membership> for MembershipOut {
    fn from(m: Membership) -> MembershipOut {
        MembershipOut {
            establishment: m.code,
            name: m.name,
            rights: m.rights,
            admin: m.admin,
        }
    }
}

/// The establishments the caller administers (all of them for a global administrator).
#[utoipa::path(get, path = "/establishments", tag = "establishments",
    responses((status = 200, body = EstablishmentList)))]
pub async fn establishments_list_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult {
    let all = Admin::new(&state.core, &actor).establishments().await?;
    Ok(json(
        StatusCode::OK,
        &EstablishmentList {
            establishments: all.into_iter().map(Into::into).collect(),
        },
    ))
}

/// Create an establishment (global administrators).
#[utoipa::path(post, path = "/establishments", tag = "establishments", request_body = NewEstablishment,
    responses((status = 201, body = EstablishmentOut), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
pub async fn establishments_create_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(new): ApiJson<NewEstablishment>,
) -> ApiResult {
    let e = Admin::new(&state.core, &actor)
        .create_establishment(&new.code, &new.name, &new.rights, state.core.now())
        .await?;
    Ok(json(StatusCode::CREATED, &EstablishmentOut::from(e)))
}

/// One establishment.
#[utoipa::path(get, path = "/establishments/{code}", tag = "establishments",
    params(("code" = String, Path)),
    responses((status = 200, body = EstablishmentOut), (status = 404, body = ApiErrorBody)))]
pub async fn establishments_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(code): ApiPath<String>,
) -> ApiResult {
    let e = Admin::new(&state.core, &actor).establishment(&code).await?;
    Ok(json(StatusCode::OK, &EstablishmentOut::from(e)))
}

/// Rename an establishment and/or replace its list of rights.
#[utoipa::path(patch, path = "/establishments/{code}", tag = "establishments",
    params(("code" = String, Path)), request_body = EstablishmentChanges,
    responses((status = 200, body = EstablishmentOut), (status = 400, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn establishments_update_patch(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(code): ApiPath<String>,
    ApiJson(changes): ApiJson<EstablishmentChanges>,
) -> ApiResult {
    let e = Admin::new(&state.core, &actor)
        .update_establishment(
            &code,
            changes.name.as_deref(),
            changes.rights.as_deref(),
            state.core.now(),
        )
        .await?;
    Ok(json(StatusCode::OK, &EstablishmentOut::from(e)))
}

/// The members of an establishment and their rights.
#[utoipa::path(get, path = "/establishments/{code}/members", tag = "establishments",
    params(("code" = String, Path)),
    responses((status = 200, body = MemberList), (status = 404, body = ApiErrorBody)))]
pub async fn establishments_members_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(code): ApiPath<String>,
) -> ApiResult {
    let (e, members) = Admin::new(&state.core, &actor).members(&code).await?;
    Ok(json(
        StatusCode::OK,
        &MemberList {
            establishment: e.into(),
            members: members
                .into_iter()
                .map(|(id, login, rights)| Member { id, login, rights })
                .collect(),
        },
    ))
}

/// Make a user a member of the establishment with exactly these rights (an existing
/// membership gets them instead of its own).
#[utoipa::path(put, path = "/establishments/{code}/members/{id}", tag = "establishments",
    params(("code" = String, Path), ("id" = String, Path, format = Uuid)),
    request_body = MembershipIn,
    responses((status = 200, body = MembershipOut), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn memberships_put(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath((code, id)): ApiPath<(String, String)>,
    ApiJson(m): ApiJson<MembershipIn>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let granted = admin
        .grant(&user, &code, &m.rights, m.admin, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &MembershipOut::from(granted)))
}

/// End a user's membership of the establishment.
#[utoipa::path(delete, path = "/establishments/{code}/members/{id}", tag = "establishments",
    params(("code" = String, Path), ("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The membership ended"),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn memberships_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath((code, id)): ApiPath<(String, String)>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    if admin.revoke(&user, &code, state.core.now()).await? {
        Ok(no_content())
    } else {
        Err(ApiError::not_found(format!(
            "{:?} is not a member of {code:?}",
            user.login
        )))
    }
}
