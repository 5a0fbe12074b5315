//! `POST /consent`: the answer to the consent page. The page belongs to sign-in; what the
//! answer means belongs to the protocol whose request it carries (OpenID Connect today).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use axum_extra::extract::CookieJar;

use crate::http::error::PageError;
use crate::http::extract::{CsrfForm, CurrentSession};
use crate::http::locale;
use crate::http::oidc::authorize::answer_consent;
use crate::http::state::AppState;
use crate::service::authorize::ConsentAnswer;

pub async fn consent_post(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let answer = match form.get("decision") {
        Some("approve") => ConsentAnswer::Approve,
        Some("deny") => ConsentAnswer::Deny,
        _ => return Err(PageError::bad_request(locale(&headers, None))),
    };
    let request = form.get("request").unwrap_or("");
    let binding = form.get("binding").unwrap_or("");
    Ok(answer_consent(
        &state,
        jar,
        current.lookup,
        &headers,
        request,
        binding,
        answer,
    )
    .await)
}
