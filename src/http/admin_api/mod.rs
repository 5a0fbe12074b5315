//! The administration JSON API under `/admin/api/v1` (issue 9): what the console does, for
//! programs (users, establishments and memberships, administrators, clients, CAS services,
//! invitations, the audit log). Bearer access tokens with the scope `admin` authorise it (`auth`), never cookies,
//! so no CSRF token is needed. Each handler extracts, calls `service::admin::Admin` (whose
//! actor bounds what it reaches) and maps the result. The OpenAPI 3.1 document is generated
//! from the handlers (utoipa): each route is registered with `routes!`, which puts it in the
//! document too, served at `/admin/api/v1/openapi.json` without authentication.

pub mod administrators;
pub mod audit;
pub mod auth;
pub mod cas_services;
pub mod clients;
pub mod error;
pub mod establishments;
pub mod invitations;
pub mod users;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::Server;
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::state::AppState;
use error::{ApiError, ApiErrorBody, json};

/// Where the API is mounted (under the issuer's base path).
pub const PREFIX: &str = "/admin/api/v1";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "guichet administration API",
        version = "1",
        description = "Users, establishments and memberships, administrators, clients, CAS \
            services, invitations and the audit log. Authorise with an access token carrying the scope `admin` \
            (`Authorization: Bearer`): a client_credentials token of a client registered for \
            the scope, or an administrator's own token (an establishment administrator \
            reaches only their establishments). Errors are JSON `{error, error_description}`.",
        license(name = "AGPL-3.0-or-later", identifier = "AGPL-3.0-or-later"),
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    components(schemas(ApiErrorBody)),
    tags(
        (name = "users", description = "People: search, view and act on one"),
        (name = "establishments", description = "Establishments, members and memberships"),
        (name = "administrators", description = "Global administrators"),
        (name = "clients", description = "OIDC clients"),
        (name = "cas-services", description = "CAS services"),
        (name = "invitations", description = "Invitations to an establishment"),
        (name = "audit", description = "The audit log"),
        (name = "document", description = "This document"),
    )
)]
struct ApiDoc;

/// RFC 6750 bearer tokens (JWT access tokens, RFC 9068).
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An access token from the token endpoint with the scope `admin`",
                    ))
                    .build(),
            ),
        );
    }
}

/// The API's routes and its document, paths relative to `PREFIX`. Every route goes through
/// `routes!`, so that none escapes the document (a test checks it).
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(openapi_get))
        .routes(routes!(users::users_search_get, users::users_create_post))
        .routes(routes!(
            users::users_get,
            users::users_update_patch,
            users::users_delete
        ))
        .routes(routes!(users::users_identifier_post))
        .routes(routes!(users::users_disable_post))
        .routes(routes!(users::users_enable_post))
        .routes(routes!(users::users_unlock_post))
        .routes(routes!(users::users_mfa_reset_post))
        .routes(routes!(users::users_require_password_change_post))
        .routes(routes!(users::users_identifier_delete))
        .routes(routes!(
            establishments::establishments_list_get,
            establishments::establishments_create_post
        ))
        .routes(routes!(
            establishments::establishments_get,
            establishments::establishments_update_patch
        ))
        .routes(routes!(establishments::establishments_members_get))
        .routes(routes!(
            establishments::memberships_put,
            establishments::memberships_delete
        ))
        .routes(routes!(administrators::administrators_list_get))
        .routes(routes!(
            administrators::administrators_put,
            administrators::administrators_delete
        ))
        .routes(routes!(
            clients::clients_list_get,
            clients::clients_create_post
        ))
        .routes(routes!(
            clients::clients_get,
            clients::clients_update_patch,
            clients::clients_delete
        ))
        .routes(routes!(clients::clients_secret_post))
        .routes(routes!(clients::clients_disable_post))
        .routes(routes!(clients::clients_enable_post))
        .routes(routes!(
            cas_services::cas_services_list_get,
            cas_services::cas_services_create_post
        ))
        .routes(routes!(
            cas_services::cas_services_get,
            cas_services::cas_services_update_patch,
            cas_services::cas_services_delete
        ))
        .routes(routes!(
            invitations::invitations_list_get,
            invitations::invitations_create_post
        ))
        .routes(routes!(invitations::invitations_resend_post))
        .routes(routes!(invitations::invitations_revoke_post))
        .routes(routes!(audit::audit_search_get))
        .routes(routes!(audit::audit_export_get))
        .split_for_parts()
}

/// The document as served: paths under `PREFIX`.
pub fn document() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = api();
    let paths = std::mem::take(&mut doc.paths.paths);
    doc.paths.paths = paths
        .into_iter()
        .map(|(p, item)| (format!("{PREFIX}{p}"), item))
        .collect();
    doc
}

pub fn router() -> Router<AppState> {
    let (routes, _) = api();
    let routes = routes
        .fallback(api_not_found)
        .layer(Extension(Arc::new(document())));
    Router::new().nest(PREFIX, routes)
}

/// This document (OpenAPI 3.1), with the issuer as its server.
#[utoipa::path(get, path = "/openapi.json", tag = "document", security(()),
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_get(
    State(state): State<AppState>,
    Extension(doc): Extension<Arc<utoipa::openapi::OpenApi>>,
) -> Response {
    let mut doc = (*doc).clone();
    doc.servers = Some(vec![Server::new(state.core.urls.issuer.clone())]);
    json(StatusCode::OK, &doc)
}

async fn api_not_found() -> Response {
    ApiError::not_found("no such resource in the administration API").into_response()
}
