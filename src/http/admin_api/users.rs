//! `/users`: search, view, and the actions on one person (by their id, the `sub` of their
//! tokens).

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiJson, ApiPath, ApiResult, json};
use crate::domain::user::NewUser;
use crate::http::state::AppState;
use crate::service::admin::Admin;
use crate::service::admin_bearer::create_user_with_password;
use crate::service::admin_users::ProfileChanges;
use crate::service::error::Error;

/// The page size of `search_users`.
const PER_PAGE: usize = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Part of a login, identifier, name or e-mail address (empty: everyone in reach).
    #[serde(default)]
    pub q: String,
    /// The page, from 0; 100 users a page.
    #[serde(default)]
    pub page: u32,
}

/// A user as lists show them: no secret, no hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserSummary {
    #[schema(format = Uuid)]
    pub id: String,
    pub login: String,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub email: Option<String>,
    pub category: Option<String>,
    pub disabled: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub page: u32,
    /// The next page, when this one is full.
    pub next_page: Option<u32>,
}

/// A second factor (never its secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FactorOut {
    /// `totp` or `sms`.
    pub kind: String,
    /// The phone number, masked.
    pub phone: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserMembership {
    /// The establishment's code.
    pub establishment: String,
    pub rights: Vec<String>,
    /// The member administers the establishment.
    pub admin: bool,
}

/// One user, as an administrator sees them.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserDetail {
    #[schema(format = Uuid)]
    pub id: String,
    pub login: String,
    pub identifiers: Vec<String>,
    pub email: Option<String>,
    pub category: Option<String>,
    pub disabled: bool,
    pub locked: bool,
    /// Unix seconds.
    pub locked_until: Option<i64>,
    pub factors: Vec<FactorOut>,
    pub recovery_codes_left: i64,
    pub memberships: Vec<UserMembership>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevokedGrants {
    /// How many grants (refresh tokens, and their access tokens) were revoked.
    pub revoked_grants: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Unlocked {
    /// Whether the account was locked.
    pub was_locked: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MfaReset {
    pub factors_removed: u64,
}

/// The service's JSON as the typed body the document describes (a drift is an error, not a
/// silent change of the API).
fn typed<T: serde::de::DeserializeOwned>(v: serde_json::Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::service(Error::Corrupt(e.to_string())))
}

/// Search users by part of a login, identifier, name or e-mail address.
#[utoipa::path(get, path = "/users", tag = "users", params(SearchQuery),
    responses((status = 200, body = UserPage), (status = 400, body = ApiErrorBody)))]
pub async fn users_search_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    query: Result<Query<SearchQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult {
    let Query(q) = query.map_err(|e| ApiError::invalid(e.body_text()))?;
    let found = Admin::new(&state.core, &actor)
        .search_users(&q.q, q.page)
        .await?;
    let users: Vec<UserSummary> = typed(serde_json::Value::Array(found))?;
    let next_page = (users.len() == PER_PAGE).then(|| q.page.saturating_add(1));
    Ok(json(
        StatusCode::OK,
        &UserPage {
            users,
            page: q.page,
            next_page,
        },
    ))
}

/// One user: identifiers, lock, second factors, memberships.
#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = UserDetail), (status = 404, body = ApiErrorBody)))]
pub async fn users_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let shown = admin.show_user(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &typed::<UserDetail>(shown)?))
}

/// Delete a user for good (their grants revoked, sessions ended; the audit trail stays).
#[utoipa::path(delete, path = "/users/{id}", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn users_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let revoked_grants = admin.delete_user(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &RevokedGrants { revoked_grants }))
}

async fn set_disabled(state: AppState, actor: ApiActor, id: String, disabled: bool) -> ApiResult {
    let admin = Admin::new(&state.core, &actor.0);
    let user = admin.find_user_by_id(&id).await?;
    let revoked_grants = admin
        .set_user_disabled(&user, disabled, state.core.now())
        .await?;
    Ok(json(StatusCode::OK, &RevokedGrants { revoked_grants }))
}

/// Disable a user: their sessions and grants end, for good.
#[utoipa::path(post, path = "/users/{id}/disable", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn users_disable_post(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    set_disabled(state, actor, id, true).await
}

/// Enable a disabled user again.
#[utoipa::path(post, path = "/users/{id}/enable", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = RevokedGrants), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn users_enable_post(
    State(state): State<AppState>,
    actor: ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    set_disabled(state, actor, id, false).await
}

/// Lift a lockout at once.
#[utoipa::path(post, path = "/users/{id}/unlock", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = Unlocked), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn users_unlock_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let was_locked = admin.unlock(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &Unlocked { was_locked }))
}

/// Remove every second factor and recovery code of a user (a lost phone).
#[utoipa::path(post, path = "/users/{id}/mfa-reset", tag = "users", params(("id" = String, Path, format = Uuid)),
    responses((status = 200, body = MfaReset), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn users_mfa_reset_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let factors_removed = admin.mfa_reset(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &MfaReset { factors_removed }))
}

/// Make the user's next sign-in ask for a new password before anything else.
#[utoipa::path(post, path = "/users/{id}/require-password-change", tag = "users",
    params(("id" = String, Path, format = Uuid)),
    responses((status = 204, description = "The next sign-in asks for a new password first"),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn users_require_password_change_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    admin
        .require_password_change(&user, state.core.now())
        .await?;
    Ok(no_content())
}

/// Remove one of a user's identifiers (an old e-mail address or number).
#[utoipa::path(delete, path = "/users/{id}/identifiers/{identifier}", tag = "users",
    params(("id" = String, Path, format = Uuid),
        ("identifier" = String, Path, description = "The identifier to remove (never the login)")),
    responses((status = 204, description = "Removed"), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn users_identifier_delete(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath((id, identifier)): ApiPath<(String, String)>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    admin
        .remove_identifier(&user, &identifier, state.core.now())
        .await?;
    Ok(no_content())
}

pub fn no_content() -> axum::response::Response {
    use axum::response::IntoResponse;
    StatusCode::NO_CONTENT.into_response()
}

/// A new account. Without a password the person activates it or is invited; with one, it
/// must satisfy the password policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserIn {
    pub login: String,
    pub email: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    /// More identifiers the person signs in with (e-mail addresses, numbers).
    #[serde(default)]
    pub identifiers: Vec<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub phone_number: Option<String>,
    pub category: Option<String>,
    #[schema(format = Password)]
    pub password: Option<String>,
    /// A temporary password: the next sign-in asks for a new one.
    #[serde(default)]
    pub must_change_password: bool,
    /// The establishment to place the person in (required of an establishment
    /// administrator), with these rights.
    pub establishment: Option<String>,
    #[serde(default)]
    pub rights: Vec<String>,
}

/// A profile's changes: a field left out stays; `null` (or "") clears it.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ProfileChangesIn {
    #[schema(nullable)]
    pub name: Option<String>,
    #[schema(nullable)]
    pub given_name: Option<String>,
    #[schema(nullable)]
    pub family_name: Option<String>,
    /// A new address replaces the old one as an identifier.
    #[schema(nullable)]
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    #[schema(nullable)]
    pub phone_number: Option<String>,
    #[schema(nullable)]
    pub category: Option<String>,
    /// A BCP 47 language tag.
    #[schema(nullable)]
    pub locale: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentifierIn {
    /// An e-mail address or a number the person may sign in with.
    pub identifier: String,
}

/// Create an account (an establishment administrator places it in their establishment).
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserIn,
    responses((status = 201, body = UserDetail), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 409, body = ApiErrorBody)))]
pub async fn users_create_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(body): ApiJson<NewUserIn>,
) -> ApiResult {
    let core = &state.core;
    let new = NewUser {
        login: body.login,
        email: body.email,
        email_verified: body.email_verified,
        identifiers: body.identifiers,
        given_name: body.given_name,
        family_name: body.family_name,
        phone_number: body.phone_number,
        category: body.category,
        must_change_password: body.must_change_password,
        ..NewUser::default()
    };
    let admin = Admin::new(core, &actor);
    let membership = body.establishment.as_deref().map(|c| (c, &body.rights[..]));
    let user =
        create_user_with_password(core, &admin, new, body.password, membership, core.now()).await?;
    let shown = admin.show_user(&user, core.now()).await?;
    Ok(json(StatusCode::CREATED, &typed::<UserDetail>(shown)?))
}

/// Edit a profile.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = String, Path, format = Uuid)),
    request_body = ProfileChangesIn,
    responses((status = 200, body = UserDetail), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody)))]
pub async fn users_update_patch(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(changes): ApiJson<ProfileChanges>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    let user = admin
        .update_profile(&user, &changes, state.core.now())
        .await?;
    let shown = admin.show_user(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &typed::<UserDetail>(shown)?))
}

/// Add an identifier the person may sign in with.
#[utoipa::path(post, path = "/users/{id}/identifiers", tag = "users",
    params(("id" = String, Path, format = Uuid)), request_body = IdentifierIn,
    responses((status = 200, body = UserDetail), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody),
        (status = 409, body = ApiErrorBody)))]
pub async fn users_identifier_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<IdentifierIn>,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    let user = admin.find_user_by_id(&id).await?;
    admin
        .add_identifier(&user, &body.identifier, state.core.now())
        .await?;
    let shown = admin.show_user(&user, state.core.now()).await?;
    Ok(json(StatusCode::OK, &typed::<UserDetail>(shown)?))
}
