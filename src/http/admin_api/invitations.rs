//! `/invitations`: people invited to an establishment, with rights; the person receives a
//! single-use link for seven days. The answer never says whether the address already has an
//! account.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiJson, ApiPath, ApiResult, json};
use crate::domain::invitation::Invitation;
use crate::http::state::AppState;
use crate::service::admin::Admin;
use crate::service::invitations::{Listed, NewInvitation, PER_PAGE};
use crate::service::mailing::Post;

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    #[schema(example = "inv-3f9c0a1b2c3d4e5f")]
    pub id: String,
    /// The invited address (absent for a first administrator's set-up link).
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The establishment's code.
    pub establishment: Option<String>,
    pub rights: Vec<String>,
    /// The person will administer the establishment.
    pub admin: bool,
    /// Who invited: `cli`, `user:<id>`, `client:<id>`.
    pub invited_by: Option<String>,
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

impl InvitationOut {
    fn new(i: Invitation, now: i64) -> InvitationOut {
        let status = i.status(now).as_str().to_owned();
        InvitationOut {
            id: i.id,
            email: i.email,
            given_name: i.given_name,
            family_name: i.family_name,
            establishment: i.establishment_code,
            rights: i.rights,
            admin: i.admin,
            invited_by: i.invited_by,
            status,
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationPage {
    /// Newest first.
    pub invitations: Vec<InvitationOut>,
    pub page: u32,
    pub next_page: Option<u32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InvitationQuery {
    /// Only this establishment's (by code); default: every one the caller administers.
    pub establishment: Option<String>,
    /// From 0; 100 a page.
    #[serde(default)]
    pub page: u32,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInvitationIn {
    pub email: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// The establishment's code.
    pub establishment: String,
    #[serde(default)]
    pub rights: Vec<String>,
    #[serde(default)]
    pub admin: bool,
    /// The mail's language: `fr` (default) or `en`.
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResendQuery {
    /// The mail's language: `fr` (default) or `en`.
    pub locale: Option<String>,
}

/// Invitations, newest first.
#[utoipa::path(get, path = "/invitations", tag = "invitations", params(InvitationQuery),
    responses((status = 200, body = InvitationPage), (status = 400, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn invitations_list_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<InvitationQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let now = state.core.now();
    let listed = Admin::new(&state.core, &actor)
        .invitations(q.establishment.as_deref(), q.page, now)
        .await?;
    let full = listed.len() as i64 == PER_PAGE;
    Ok(json(
        StatusCode::OK,
        &InvitationPage {
            invitations: listed
                .into_iter()
                .map(|Listed { invitation, .. }| InvitationOut::new(invitation, now))
                .collect(),
            page: q.page,
            next_page: full.then(|| q.page.saturating_add(1)),
        },
    ))
}

/// Invite a person (the link is mailed to them).
#[utoipa::path(post, path = "/invitations", tag = "invitations", request_body = NewInvitationIn,
    responses((status = 201, body = InvitationOut), (status = 400, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn invitations_create_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<NewInvitationIn>,
) -> ApiResult {
    let core = &state.core;
    let new = NewInvitation {
        email: &body.email,
        given_name: body.given_name.as_deref(),
        family_name: body.family_name.as_deref(),
        establishment: &body.establishment,
        rights: &body.rights,
        admin: body.admin,
        locale: body.locale.as_deref().unwrap_or("fr"),
    };
    let now = core.now();
    let i = Admin::new(core, &actor)
        .invite(&new, &Post::of(core), now)
        .await?;
    Ok(json(StatusCode::CREATED, &InvitationOut::new(i, now)))
}

/// Send a new link (seven days again; the old link dies).
#[utoipa::path(post, path = "/invitations/{id}/resend", tag = "invitations",
    params(("id" = String, Path), ResendQuery),
    responses((status = 200, body = InvitationOut), (status = 400, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn invitations_resend_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
    query: Result<Query<ResendQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(body) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let core = &state.core;
    let now = core.now();
    let i = Admin::new(core, &actor)
        .resend(
            &id,
            &Post::of(core),
            body.locale.as_deref().unwrap_or("fr"),
            now,
        )
        .await?;
    Ok(json(StatusCode::OK, &InvitationOut::new(i, now)))
}

/// Revoke an invitation not used yet.
#[utoipa::path(post, path = "/invitations/{id}/revoke", tag = "invitations",
    params(("id" = String, Path)),
    responses((status = 200, body = InvitationOut), (status = 400, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn invitations_revoke_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let now = state.core.now();
    let i = Admin::new(&state.core, &actor)
        .revoke_invitation(&id, now)
        .await?;
    Ok(json(StatusCode::OK, &InvitationOut::new(i, now)))
}
