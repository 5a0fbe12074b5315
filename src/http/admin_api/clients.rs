//! `/clients`: the OIDC clients (global administrators only), by client id: registered,
//! read, changed, disabled, given a new secret, removed.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiJson, ApiPath, ApiResult, json};
use super::users::RevokedGrants;
use crate::domain::alg::Alg;
use crate::domain::client::Client;
use crate::http::state::AppState;
use crate::service::admin::Admin;
use crate::service::clients::{ClientChanges, ClientSpec, Lifetimes};

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

/// A client as administrators see it (never its secret: only a digest is kept).
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientOut {
    pub client_id: String,
    pub name: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub introspect: bool,
    pub require_mfa: bool,
    /// `RS256`, `ES256` or `EdDSA`.
    pub id_token_alg: String,
    pub access_token_alg: String,
    pub code_ttl: Option<i64>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub offline_ttl: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: bool,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

impl From<Client> for ClientOut {
    fn from(c: Client) -> ClientOut {
        ClientOut {
            client_id: c.client_id,
            name: c.name,
            public: c.public,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: c.scopes,
            first_party: c.first_party,
            introspect: c.introspect,
            require_mfa: c.require_mfa,
            id_token_alg: c.id_token_alg.as_str().to_owned(),
            access_token_alg: c.access_token_alg.as_str().to_owned(),
            code_ttl: c.code_ttl,
            access_token_ttl: c.access_token_ttl,
            id_token_ttl: c.id_token_ttl,
            offline_ttl: c.offline_ttl,
            backchannel_logout_uri: c.backchannel_logout_uri,
            backchannel_logout_session_required: c.backchannel_logout_session_required,
            disabled: c.disabled,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClientList {
    pub clients: Vec<ClientOut>,
}

/// A client and, for a confidential one just registered (or made confidential), its secret,
/// shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientWithSecret {
    pub client: ClientOut,
    pub client_secret: Option<String>,
}

/// A client to register, under the rules of `guichet client add`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewClientIn {
    pub client_id: String,
    pub name: Option<String>,
    /// No secret, PKCE mandatory.
    #[serde(default)]
    pub public: bool,
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Default: authorization_code and refresh_token.
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Default: openid profile email. `admin` lets the client's tokens use this API.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// No consent page.
    #[serde(default)]
    pub first_party: bool,
    #[serde(default)]
    pub introspect: bool,
    #[serde(default)]
    pub require_mfa: bool,
    /// Default RS256.
    pub id_token_alg: Option<String>,
    /// Default ES256.
    pub access_token_alg: Option<String>,
    pub code_ttl: Option<i64>,
    pub access_token_ttl: Option<i64>,
    pub id_token_ttl: Option<i64>,
    pub offline_ttl: Option<i64>,
    pub backchannel_logout_uri: Option<String>,
    #[serde(default)]
    pub backchannel_logout_session_required: bool,
}

/// A present field, even `null`, is `Some` (`null` clears an optional setting).
fn some<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A client's changes: a field left out stays; `null` clears the name, a lifetime (back to
/// the server's) or the back-channel logout URI.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientChangesIn {
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, nullable)]
    pub name: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// Becoming confidential issues a secret (shown once); becoming public drops it.
    pub public: Option<bool>,
    pub first_party: Option<bool>,
    pub introspect: Option<bool>,
    pub require_mfa: Option<bool>,
    pub id_token_alg: Option<String>,
    pub access_token_alg: Option<String>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, nullable)]
    pub code_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, nullable)]
    pub access_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, nullable)]
    pub id_token_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<i64>, nullable)]
    pub offline_ttl: Option<Option<i64>>,
    #[serde(default, deserialize_with = "some")]
    #[schema(value_type = Option<String>, nullable)]
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
}

fn alg(name: &str, value: Option<&str>, default: Alg) -> Result<Alg, ApiError> {
    match value {
        None => Ok(default),
        Some(v) => Alg::parse(v)
            .ok_or_else(|| ApiError::invalid(format!("{name}: unknown algorithm {v:?}"))),
    }
}

/// Every client, enabled or not.
#[utoipa::path(get, path = "/clients", tag = "clients",
    responses((status = 200, body = ClientList), (status = 403, body = ApiErrorBody)))]
pub async fn clients_list_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
) -> ApiResult {
    let all = Admin::new(&state.core, &actor).clients().await?;
    Ok(json(
        StatusCode::OK,
        &ClientList {
            clients: all.into_iter().map(Into::into).collect(),
        },
    ))
}

/// Register a client; a confidential client's secret is in the answer, this once.
#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClientIn,
    responses((status = 201, body = ClientWithSecret), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody)))]
pub async fn clients_create_post(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiJson(c): ApiJson<NewClientIn>,
) -> ApiResult {
    let spec = ClientSpec {
        client_id: c.client_id,
        name: c.name,
        public: c.public,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        scopes: c.scopes,
        first_party: c.first_party,
        introspect: c.introspect,
        require_mfa: c.require_mfa,
        id_token_alg: alg("id_token_alg", c.id_token_alg.as_deref(), Alg::RS256)?,
        access_token_alg: alg(
            "access_token_alg",
            c.access_token_alg.as_deref(),
            Alg::ES256,
        )?,
        lifetimes: Lifetimes {
            code: c.code_ttl,
            access_token: c.access_token_ttl,
            id_token: c.id_token_ttl,
            offline: c.offline_ttl,
        },
        backchannel_logout_uri: c.backchannel_logout_uri,
        backchannel_logout_session_required: c.backchannel_logout_session_required,
    };
    let (client, client_secret) = Admin::new(&state.core, &actor)
        .register_client(spec, state.core.now())
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &ClientWithSecret {
            client: client.into(),
            client_secret,
        },
    ))
}

/// One client.
#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)),
    responses((status = 200, body = ClientOut), (status = 403, body = ApiErrorBody),
        (status = 404, body = ApiErrorBody)))]
pub async fn clients_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(client_id): ApiPath<String>,
) -> ApiResult {
    let c = Admin::new(&state.core, &actor).client(&client_id).await?;
    Ok(json(StatusCode::OK, &ClientOut::from(c)))
}

/// Change any of a client's options, checked as at registration.
#[utoipa::path(patch, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path)), request_body = ClientChangesIn,
    responses((status = 200, body = ClientWithSecret), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn clients_update_patch(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    ApiPath(client_id): ApiPath<String>,
    ApiJson(c): ApiJson<ClientChangesIn>,
) -> ApiResult {
    let parse = |name: &str, v: Option<String>| -> Result<Option<Alg>, ApiError> {
        v.map(|v| alg(name, Some(&v), Alg::RS256)).transpose()
    };
    let changes = ClientChanges {
        name: c.name,
        redirect_uris: c.redirect_uris,
        post_logout_redirect_uris: c.post_logout_redirect_uris,
        grant_types: c.grant_types,
        scopes: c.scopes,
        public: c.public,
        first_party: c.first_party,
        introspect: c.introspect,
        require_mfa: c.require_mfa,
        id_token_alg: parse("id_token_alg", c.id_token_alg)?,
        access_token_alg: parse("access_token_alg", c.access_token_alg)?,
        code_ttl: c.code_ttl,
        access_token_ttl: c.access_token_ttl,
        id_token_ttl: c.id_token_ttl,
        offline_ttl: c.offline_ttl,
        backchannel_logout_uri: c.backchannel_logout_uri,
        backchannel_logout_session_required: c.backchannel_logout_session_required,
    };
    let (client, client_secret) = Admin::new(&state.core, &actor)
        .update_client(&client_id, changes, state.core.now())
        .await?;
    Ok(json(
        StatusCode::OK,
        &ClientWithSecret {
            client: client.into(),
            client_secret,
        },
    ))
}
