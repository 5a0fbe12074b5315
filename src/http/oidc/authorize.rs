//! The authorization endpoint (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): it validates the
//! request, then either hands sign-in a continuation (the account area's pages), asks consent,
//! or answers the client. It also resumes after sign-in and after consent.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use crate::crypto::token::random_token;
use crate::http::account::views::{ConsentView, LoginView, consent_page, login_page};
use crate::http::error::PageError;
use crate::http::extract::CurrentSession;
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{
    form_pairs, locale, param, parse_pairs, removal_cookie, see_other, session_cookie_name,
};
use crate::service::authn;
use crate::service::authorize::{
    self, AuthError, AuthRequest, Callback, ConsentAnswer, ConsentOutcome, Decision, ResponseMode,
    client_name, session_satisfies,
};
use crate::service::oauth::ErrorCode;
use crate::service::session::{Current, Lookup};

pub async fn authorize_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    authorize(state, jar, current.lookup, &headers, pairs).await
}

/// Core §3.1.2.1: the authorization endpoint accepts POST with a form body too. The session
/// cookie is `SameSite=Lax`, so a browser leaves it out of a POST from another site (RFC 6265bis,
/// "Lax" enforcement): the answer is a 303 to the same request as a GET, a top-level navigation
/// that carries the cookie, so that SSO still holds.
pub async fn authorize_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match form_pairs(&headers, &body) {
        Ok(pairs) => {
            let query = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&pairs)
                .finish();
            see_other(&format!("{}/authorize?{query}", state.core.urls.base_path))
        }
        Err(_) => PageError::bad_request(locale(&headers, None)).into_response(),
    }
}

async fn authorize(
    state: AppState,
    jar: CookieJar,
    lookup: Lookup,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
) -> Response {
    // Always a GET here: a POST was sent back as one.
    let via_post = false;
    let locale = locale(headers, param(&pairs, "ui_locales"));
    let core = &state.core;
    let req = match authorize::parse(core, &pairs).await {
        Ok(r) => r,
        Err(e) => return auth_error(&state, locale, e, via_post),
    };
    let now = core.now();
    let (jar, current) = with_session(&state, jar, lookup);
    match current {
        Some(c) if session_satisfies(&req, &c.session, now) => {
            decide(&state, jar, locale, &req, &c, via_post).await
        }
        _ if req.prompt.none => (
            jar,
            redirect_error(
                &state,
                locale,
                &req.callback,
                ErrorCode::LoginRequired,
                "the user must sign in",
                via_post,
            ),
        )
            .into_response(),
        _ => sign_in(
            &state,
            jar,
            locale,
            &req,
            req.login_hint.as_deref().unwrap_or(""),
        ),
    }
}

/// The valid session, if any; an ended one's cookie is removed.
fn with_session(state: &AppState, jar: CookieJar, lookup: Lookup) -> (CookieJar, Option<Current>) {
    match lookup {
        Lookup::Valid(c) => (jar, Some(*c)),
        Lookup::Ended => (
            jar.add(removal_cookie(state, session_cookie_name(state))),
            None,
        ),
        Lookup::None => (jar, None),
    }
}

/// Hands sign-in the request as its continuation.
fn sign_in(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &AuthRequest,
    username: &str,
) -> Response {
    let flow = authorize::sign_in(req, state.core.now());
    let sealed = match authn::seal(&state.core, &flow) {
        Ok(s) => s,
        Err(e) => return PageError::service(locale, e).into_response(),
    };
    login_page(
        state,
        jar,
        locale,
        LoginView {
            flow: &sealed,
            client_name: Some(client_name(&req.client)),
            username,
            notice: None,
        },
    )
}

/// Sign-in finished: go on with the request it was for, with the new session.
pub async fn resume(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    request: &str,
    current: Current,
) -> Response {
    let pairs = parse_pairs(request.as_bytes());
    let locale = param(&pairs, "ui_locales").map_or(locale, |u| Locale::negotiate(Some(u), None));
    let req = match authorize::parse(&state.core, &pairs).await {
        Ok(r) => r,
        Err(e) => return (jar, auth_error(state, locale, e, true)).into_response(),
    };
    if !session_satisfies(&req, &current.session, state.core.now()) {
        return sign_in(state, jar, locale, &req, "");
    }
    decide(state, jar, locale, &req, &current, true).await
}

/// A valid session satisfies the request: consent if needed, else the code.
async fn decide(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &AuthRequest,
    current: &Current,
    via_post: bool,
) -> Response {
    let now = state.core.now();
    match authorize::decide(&state.core, req, &current.session, now).await {
        Ok(Decision::Code(code)) => {
            (jar, code_response(state, locale, req, &code, via_post)).into_response()
        }
        Ok(Decision::AskConsent { binding }) => consent_page(
            state,
            jar,
            locale,
            ConsentView {
                request: &req.encoded,
                binding: &binding,
                client_name: client_name(&req.client),
                scopes: &req.scopes,
            },
        ),
        Ok(Decision::Refuse(error, description)) => (
            jar,
            redirect_error(state, locale, &req.callback, error, description, via_post),
        )
            .into_response(),
        Err(e) => PageError::service(locale, e).into_response(),
    }
}

/// The consent form's answer, for the request it carries. The session must pass the same
/// checks as at `/authorize` (user enabled, credentials unchanged, `max_age`, `id_token_hint`)
/// and be the one the page was shown to.
pub async fn answer_consent(
    state: &AppState,
    jar: CookieJar,
    lookup: Lookup,
    headers: &HeaderMap,
    request: &str,
    binding: &str,
    answer: ConsentAnswer,
) -> Response {
    let pairs = parse_pairs(request.as_bytes());
    let locale = locale(headers, param(&pairs, "ui_locales"));
    let core = &state.core;
    let req = match authorize::parse(core, &pairs).await {
        Ok(r) => r,
        Err(e) => return auth_error(state, locale, e, true),
    };
    let now = core.now();
    let (jar, current) = with_session(state, jar, lookup);
    let Some(current) = current.filter(|c| session_satisfies(&req, &c.session, now)) else {
        return sign_in(state, jar, locale, &req, "");
    };
    match authorize::consent(core, &req, &current.session, binding, answer, now).await {
        Ok(ConsentOutcome::Code(code)) => {
            (jar, code_response(state, locale, &req, &code, true)).into_response()
        }
        Ok(ConsentOutcome::Denied) => redirect_error(
            state,
            locale,
            &req.callback,
            ErrorCode::AccessDenied,
            "the user denied the request",
            true,
        ),
        Ok(ConsentOutcome::Unbound) => {
            PageError::new(StatusCode::BAD_REQUEST, "err_consent_expired", locale).into_response()
        }
        Err(e) => PageError::service(locale, e).into_response(),
    }
}

fn code_response(
    state: &AppState,
    locale: Locale,
    req: &AuthRequest,
    code: &str,
    via_post: bool,
) -> Response {
    let mut params = vec![("code", code)];
    if let Some(s) = &req.callback.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.core.urls.issuer));
    callback_response(state, locale, &req.callback, &params, via_post)
}

/// An authorization response, success or error, by query redirect or auto-posted form.
/// Every one carries `iss` (RFC 9207).
fn callback_response(
    state: &AppState,
    locale: Locale,
    cb: &Callback,
    params: &[(&str, &str)],
    via_post: bool,
) -> Response {
    match cb.mode {
        ResponseMode::Query => {
            let mut ser = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                ser.append_pair(k, v);
            }
            let sep = if cb.redirect_uri.contains('?') {
                '&'
            } else {
                '?'
            };
            let location = format!("{}{sep}{}", cb.redirect_uri, ser.finish());
            if via_post {
                see_other(&location)
            } else {
                let mut res = Redirect::to(&location).into_response();
                *res.status_mut() = StatusCode::FOUND;
                res
            }
        }
        ResponseMode::FormPost => {
            #[derive(Serialize)]
            struct FormPost<'a> {
                action: &'a str,
                params: &'a [(&'a str, &'a str)],
                nonce: &'a str,
            }
            let nonce = random_token();
            let mut res = state.pages.render(
                locale,
                "oidc/form_post.html",
                &FormPost {
                    action: &cb.redirect_uri,
                    params,
                    nonce: &nonce,
                },
            );
            let csp = format!(
                "default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; \
                 frame-ancestors 'none'; base-uri 'none'"
            );
            if let Ok(v) = HeaderValue::from_str(&csp) {
                res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
            }
            res
        }
    }
}

fn redirect_error(
    state: &AppState,
    locale: Locale,
    cb: &Callback,
    error: ErrorCode,
    description: &str,
    via_post: bool,
) -> Response {
    let mut params = vec![
        ("error", error.as_str()),
        ("error_description", description),
    ];
    if let Some(s) = &cb.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.core.urls.issuer));
    // error_description is for the client's developers (RFC 6749 §4.1.2.1), in English; only
    // the form_post page around it is in the user's language.
    callback_response(state, locale, cb, &params, via_post)
}

fn auth_error(state: &AppState, locale: Locale, e: AuthError, via_post: bool) -> Response {
    match e {
        AuthError::Page(key) => {
            PageError::new(StatusCode::BAD_REQUEST, key, locale).into_response()
        }
        AuthError::Redirect {
            callback,
            error,
            description,
        } => redirect_error(state, locale, &callback, error, description, via_post),
        AuthError::Internal(e) => PageError::service(locale, e).into_response(),
    }
}
