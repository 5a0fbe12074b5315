//! UserInfo (OpenID Connect Core §5.3), bearer token per RFC 6750.

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{cors, no_store_json};
use crate::http::state::AppState;
use crate::http::{form_pairs, param, repeated};
use crate::service::resource::{self, BearerError, UserInfo};

/// RFC 6750 §2: the access token from `Authorization: Bearer` or (POST) a form body's
/// `access_token`, never both; anything else is the matching challenge.
pub struct BearerToken(pub String);

impl FromRequest<AppState> for BearerToken {
    type Rejection = Response;

    #[tracing::instrument(skip_all)]
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let headers = req.headers().clone();
        let from_header = match headers.get(header::AUTHORIZATION) {
            None => None,
            Some(v) => match v.to_str().ok().and_then(|v| v.split_once(' ')) {
                Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") => {
                    Some(t.trim().to_owned())
                }
                _ => return Err(challenge(StatusCode::UNAUTHORIZED, Some("invalid_token"))),
            },
        };
        let from_body = if req.method() == axum::http::Method::POST {
            let body = axum::body::Bytes::from_request(req, state)
                .await
                .map_err(|_| challenge(StatusCode::BAD_REQUEST, Some("invalid_request")))?;
            match form_pairs(&headers, &body) {
                Ok(pairs) => {
                    if repeated(&pairs, "access_token") {
                        return Err(challenge(StatusCode::BAD_REQUEST, Some("invalid_request")));
                    }
                    param(&pairs, "access_token").map(str::to_owned)
                }
                Err(_) => None,
            }
        } else {
            None
        };
        match (from_header, from_body) {
            (Some(_), Some(_)) => Err(challenge(StatusCode::BAD_REQUEST, Some("invalid_request"))),
            (Some(t), None) | (None, Some(t)) => Ok(BearerToken(t)),
            (None, None) => Err(challenge(StatusCode::UNAUTHORIZED, None)),
        }
    }
}

/// RFC 6750 §3: no token → 401 with a bare challenge; a bad token → `invalid_token`.
pub(super) fn challenge(status: StatusCode, error: Option<&str>) -> Response {
    let value = match error {
        Some(e) => format!("Bearer realm=\"guichet\", error=\"{e}\""),
        None => "Bearer realm=\"guichet\"".to_owned(),
    };
    let mut res = status.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

pub async fn userinfo_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: BearerToken,
) -> Response {
    userinfo(state, headers, token).await
}

pub async fn userinfo_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    token: BearerToken,
) -> Response {
    userinfo(state, headers, token).await
}

async fn userinfo(
    state: AppState,
    headers: HeaderMap,
    BearerToken(token): BearerToken,
) -> Response {
    let core = &state.core;
    match resource::userinfo(core, &token, core.now()).await {
        Ok(UserInfo::Claims { body, client }) => {
            let mut res = no_store_json(body.to_string());
            cors(&headers, Some(&client), &mut res);
            res
        }
        Ok(UserInfo::InsufficientScope) => {
            challenge(StatusCode::FORBIDDEN, Some("insufficient_scope"))
        }
        Err(BearerError::Invalid) => challenge(StatusCode::UNAUTHORIZED, Some("invalid_token")),
        Err(BearerError::Internal(e)) if e.is_unavailable() => {
            tracing::warn!(error = %e, "userinfo: temporarily unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, HeaderValue::from_static("2"))],
            )
                .into_response()
        }
        Err(BearerError::Internal(e)) => {
            let id = uuid::Uuid::new_v4();
            tracing::error!(error = %e, %id, "userinfo failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
