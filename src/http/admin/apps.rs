//! The console's applications (global administrators): OpenID Connect clients (list,
//! register — the secret shown once —, edit, rotate the secret, disable, delete) and CAS
//! services (list, register, edit, delete). The rules are registration's
//! (`service::admin_clients`); a refused value is a 400 page with the reason.

use axum::extract::{Path, State};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{AdminSession, Answer, OrFail, back_to, done_notice};
use crate::domain::alg::Alg;
use crate::domain::cas::{ATTRIBUTES, CasService, PatternKind};
use crate::domain::client::Client;
use crate::http::extract::{CsrfForm, Form};
use crate::http::state::AppState;
use crate::service::admin::AdminError;
use crate::service::cas::registry::{ServiceChanges, ServiceSpec};
use crate::service::clients::{ClientChanges, ClientSpec};

/// Values typed one a line (URIs), or separated by spaces or commas (scopes, grant types).
fn list(form: &Form, name: &str) -> Vec<String> {
    form.get(name)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

/// A client id as one path segment (registration allows more than URL-safe characters).
fn segment(client_id: &str) -> String {
    percent_encoding::utf8_percent_encode(client_id, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn checked(form: &Form, name: &str) -> bool {
    form.get(name) == Some("true")
}

/// The secret of a client, shown once on its own page (never stored: only its digest).
fn secret_page(
    state: &AppState,
    jar: CookieJar,
    s: &AdminSession,
    client_id: &str,
    secret: &str,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        client_id: &'a str,
        secret: &'a str,
    }
    s.render(
        state,
        jar,
        "clients",
        "admin/client_secret.html",
        Page { client_id, secret },
    )
}

/// `GET /admin/clients`: the clients and the registration form.
pub async fn clients_get(State(state): State<AppState>, jar: CookieJar, s: AdminSession) -> Answer {
    #[derive(Serialize)]
    struct Page {
        clients: Vec<Client>,
    }
    let clients = s.admin(&state).clients().await.or_fail(&state, s.locale)?;
    Ok(s.render(
        &state,
        jar,
        "clients",
        "admin/clients.html",
        Page { clients },
    ))
}

/// `POST /admin/clients`: registers a client; a confidential one's secret is shown once.
pub async fn client_create_post(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let spec = ClientSpec {
        client_id: form.get("client_id").unwrap_or("").trim().to_owned(),
        name: form
            .get("name")
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        public: checked(&form, "public"),
        redirect_uris: list(&form, "redirect_uris"),
        post_logout_redirect_uris: list(&form, "post_logout_redirect_uris"),
        grant_types: list(&form, "grant_types"),
        scopes: list(&form, "scopes"),
        first_party: checked(&form, "first_party"),
        introspect: false,
        require_mfa: checked(&form, "require_mfa"),
        id_token_alg: Alg::RS256,
        access_token_alg: Alg::ES256,
        lifetimes: Default::default(),
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
    };
    let (client, secret) = s
        .admin(&state)
        .register_client(spec, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(match secret {
        Some(secret) => secret_page(&state, jar, &s, &client.client_id, &secret),
        None => back_to(
            &state,
            &format!("/admin/clients/{}?done=created", segment(&client.client_id)),
        ),
    })
}

/// `GET /admin/clients/{id}`: the client's options to edit, and its actions.
pub async fn client_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        client: Client,
        notice: Option<&'static str>,
    }
    let client = s
        .admin(&state)
        .client(&id)
        .await
        .or_fail(&state, s.locale)?;
    let pairs = crate::http::parse_pairs(query.unwrap_or_default().as_bytes());
    Ok(s.render(
        &state,
        jar,
        "clients",
        "admin/client.html",
        Page {
            client,
            notice: done_notice(crate::http::param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/clients/{id}`: the options as posted (a client made confidential gets a
/// secret, shown once).
pub async fn client_update_post(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let backchannel = form
        .get("backchannel_logout_uri")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned);
    let changes = ClientChanges {
        name: Some(
            form.get("name")
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        ),
        redirect_uris: Some(list(&form, "redirect_uris")),
        post_logout_redirect_uris: Some(list(&form, "post_logout_redirect_uris")),
        grant_types: Some(list(&form, "grant_types")),
        scopes: Some(list(&form, "scopes")),
        public: Some(checked(&form, "public")),
        first_party: Some(checked(&form, "first_party")),
        introspect: Some(checked(&form, "introspect")),
        require_mfa: Some(checked(&form, "require_mfa")),
        backchannel_logout_session_required: Some(
            backchannel.is_some() && checked(&form, "backchannel_logout_session_required"),
        ),
        backchannel_logout_uri: Some(backchannel),
        ..ClientChanges::default()
    };
    let (client, secret) = s
        .admin(&state)
        .update_client(&id, changes, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(match secret {
        Some(secret) => secret_page(&state, jar, &s, &client.client_id, &secret),
        None => back_to(
            &state,
            &format!("/admin/clients/{}?done=updated", segment(&client.client_id)),
        ),
    })
}

/// `POST /admin/clients/{id}/secret`: a new secret, shown once; the old one stops working.
pub async fn client_secret_post(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    let secret = s
        .admin(&state)
        .rotate_client_secret(&id, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(secret_page(&state, jar, &s, &id, &secret))
}

/// `POST /admin/clients/{id}/disabled` (`disabled=true|false`).
pub async fn client_disabled_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let disabled = checked(&form, "disabled");
    let admin = s.admin(&state);
    let client = admin.client(&id).await.or_fail(&state, s.locale)?;
    admin
        .set_client_disabled(&client.client_id, disabled, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    let done = if disabled { "disabled" } else { "enabled" };
    Ok(back_to(
        &state,
        &format!("/admin/clients/{}?done={done}", segment(&client.client_id)),
    ))
}

/// `POST /admin/clients/{id}/delete`: removes the client (grants revoked first).
pub async fn client_delete_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    s.admin(&state)
        .remove_client(&id, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/clients?done=deleted"))
}

/// What the service forms share: kind and attributes checked against the known ones.
fn pattern_kind(form: &Form) -> Result<PatternKind, AdminError> {
    let kind = form.get("pattern_kind").unwrap_or("prefix");
    PatternKind::parse(kind)
        .ok_or_else(|| AdminError::Invalid(format!("unknown pattern kind {kind:?}")))
}

fn attributes(form: &Form) -> Vec<String> {
    form.0
        .iter()
        .filter(|(k, _)| k == "attribute")
        .map(|(_, v)| v.clone())
        .collect()
}

#[derive(Serialize)]
struct ServicesPage {
    services: Vec<CasService>,
    attributes: &'static [&'static str],
    notice: Option<&'static str>,
}

/// `GET /admin/services`: the CAS services and the registration form.
pub async fn services_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Answer {
    let services = s
        .admin(&state)
        .cas_services()
        .await
        .or_fail(&state, s.locale)?;
    let pairs = crate::http::parse_pairs(query.unwrap_or_default().as_bytes());
    Ok(s.render(
        &state,
        jar,
        "services",
        "admin/services.html",
        ServicesPage {
            services,
            attributes: ATTRIBUTES,
            notice: done_notice(crate::http::param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/services`: registers a CAS service.
pub async fn service_create_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let spec = ServiceSpec {
        name: form.get("name").unwrap_or("").to_owned(),
        pattern: form.get("pattern").unwrap_or("").trim().to_owned(),
        pattern_kind: pattern_kind(&form).or_fail(&state, s.locale)?,
        attributes: attributes(&form),
        allow_proxy: checked(&form, "allow_proxy"),
        require_mfa: checked(&form, "require_mfa"),
        single_logout: checked(&form, "single_logout"),
    };
    let service = s
        .admin(&state)
        .register_cas_service(spec, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/services/{}?done=created", service.id),
    ))
}

/// `GET /admin/services/{id}`: the service's options to edit.
pub async fn service_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        service: CasService,
        attributes: &'static [&'static str],
        notice: Option<&'static str>,
    }
    let service = s
        .admin(&state)
        .cas_service(&id)
        .await
        .or_fail(&state, s.locale)?;
    let pairs = crate::http::parse_pairs(query.unwrap_or_default().as_bytes());
    Ok(s.render(
        &state,
        jar,
        "services",
        "admin/service.html",
        Page {
            service,
            attributes: ATTRIBUTES,
            notice: done_notice(crate::http::param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/services/{id}`: the options as posted.
pub async fn service_update_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let changes = ServiceChanges {
        name: form.get("name").map(str::to_owned),
        pattern: form.get("pattern").map(|p| p.trim().to_owned()),
        pattern_kind: Some(pattern_kind(&form).or_fail(&state, s.locale)?),
        attributes: Some(attributes(&form)),
        allow_proxy: Some(checked(&form, "allow_proxy")),
        require_mfa: Some(checked(&form, "require_mfa")),
        single_logout: Some(checked(&form, "single_logout")),
        enabled: Some(checked(&form, "enabled")),
    };
    let service = s
        .admin(&state)
        .update_cas_service(&id, changes, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/services/{}?done=updated", service.id),
    ))
}

/// `POST /admin/services/{id}/delete`.
pub async fn service_delete_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    s.admin(&state)
        .remove_cas_service(&id, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/services?done=deleted"))
}
