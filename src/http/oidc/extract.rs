//! Extractors of the OAuth endpoints: a single-valued form, an authenticated client, a bearer
//! token. Each is `#[instrument(skip_all)]`: no secret reaches a span.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::domain::client::Client;
use crate::http::state::AppState;
use crate::http::{form_pairs, param, repeated};
use crate::service::clients;
use crate::service::oauth::OAuthError;

/// Parameters that may appear at most once in a token, revocation or introspection request
/// (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1).
const SINGLE: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
];

/// An `application/x-www-form-urlencoded` body whose parameters are each sent at most once;
/// otherwise `invalid_request`. Read by `ClientAuth`, with the client's credentials.
pub struct OAuthForm(pub Vec<(String, String)>);

impl OAuthForm {
    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        param(&self.0, name).filter(|v| !v.is_empty())
    }

    fn read(headers: &HeaderMap, body: &[u8]) -> Result<OAuthForm, OAuthError> {
        let pairs = form_pairs(headers, body).map_err(|_| {
            OAuthError::invalid_request("the body must be application/x-www-form-urlencoded")
        })?;
        if SINGLE.iter().any(|n| repeated(&pairs, n)) {
            return Err(OAuthError::invalid_request("a parameter is repeated"));
        }
        Ok(OAuthForm(pairs))
    }
}

/// The request's headers and body (at most 64 KiB, as everywhere), without copying either.
async fn headers_and_body(req: Request) -> Result<(HeaderMap, Bytes), OAuthError> {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, BODY_LIMIT)
        .await
        .map_err(|_| OAuthError::invalid_request("the body could not be read"))?;
    Ok((parts.headers, body))
}

const BODY_LIMIT: usize = 64 * 1024;

/// The client that authenticated the request, and the request's form: client_secret_basic
/// (RFC 6749 §2.3.1: id and secret form-urlencoded before base64), client_secret_post, or
/// none for public clients. Both at once is `invalid_request`; any failure `invalid_client`.
pub struct ClientAuth {
    pub client: Arc<Client>,
    pub form: OAuthForm,
}

impl FromRequest<AppState> for ClientAuth {
    type Rejection = OAuthError;

    #[tracing::instrument(skip_all)]
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (headers, body) = headers_and_body(req).await?;
        let form = OAuthForm::read(&headers, &body)?;
        let body_id = param(&form.0, "client_id");
        let body_secret = param(&form.0, "client_secret");
        let basic = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => {
                let v = v.to_str().map_err(|_| OAuthError::invalid_client())?;
                match v.split_once(' ') {
                    Some((scheme, creds)) if scheme.eq_ignore_ascii_case("basic") => {
                        Some(parse_basic(creds.trim()).ok_or_else(OAuthError::invalid_client)?)
                    }
                    _ => return Err(OAuthError::invalid_client()),
                }
            }
        };
        let (client_id, secret) = match basic {
            Some((id, secret)) => {
                if body_secret.is_some() {
                    return Err(OAuthError::invalid_request(
                        "use one client authentication method only",
                    ));
                }
                if body_id.is_some_and(|b| b != id) {
                    return Err(OAuthError::invalid_request(
                        "client_id differs from the authenticated client",
                    ));
                }
                (id, Some(secret))
            }
            None => match body_id {
                Some(id) => (id.to_owned(), body_secret.map(str::to_owned)),
                None => return Err(OAuthError::invalid_client()),
            },
        };
        let client = clients::authenticate(&state.core, &client_id, secret.as_deref()).await?;
        Ok(ClientAuth { client, form })
    }
}

pub(crate) fn parse_basic(b64: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(b64).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (id, secret) = raw.split_once(':')?;
    let decode = |s: &str| -> Option<String> {
        let plus = s.replace('+', " ");
        percent_encoding::percent_decode_str(&plus)
            .decode_utf8()
            .ok()
            .map(|c| c.into_owned())
    };
    Some((decode(id)?, decode(secret)?))
}
