//! The authorization endpoint with its login and consent forms.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;
use serde_json::json;

use crate::app::AppState;
use crate::audit::AuditEvent;
use crate::crypto::password::HashError;
use crate::crypto::token::random_token;
use crate::domain::scope::{self, OIDC_SCOPES};
use crate::error::internal_page as internal;
use crate::http::i18n::Locale;
use crate::http::{
    ClientIp, cookie, csrf_ok, csrf_token, form_pairs, locale, param, parse_pairs, removal_cookie,
    see_other, session_cookie_name,
};
use crate::service::authorize::{
    AuthError, AuthRequest, Callback, ResponseMode, issue_code, parse, scopes_to_grant,
    session_satisfies,
};
use crate::service::login::{LoginError, check_password, throttle};
use crate::service::session::{self, Session, credential_stamp};

pub async fn authorize_get(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    authorize(state, jar, &headers, pairs, false).await
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
            see_other(&format!("{}/authorize?{query}", state.urls.base_path))
        }
        Err(_) => state.pages.error(
            StatusCode::BAD_REQUEST,
            locale(&headers, None),
            "err_bad_request",
            None,
        ),
    }
}

async fn authorize(
    state: AppState,
    jar: CookieJar,
    headers: &HeaderMap,
    pairs: Vec<(String, String)>,
    via_post: bool,
) -> Response {
    let locale = locale(headers, param(&pairs, "ui_locales"));
    let req = match parse(&state, &pairs).await {
        Ok(r) => r,
        Err(e) => return auth_error(&state, locale, e, via_post),
    };
    let session = match current_session(&state, &jar).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(s) = session
        && session_satisfies(&req, &s, state.now(), false)
    {
        return proceed(&state, jar, locale, &req, s, via_post).await;
    }
    if req.prompt_none {
        return redirect_error(
            &state,
            locale,
            &req.callback,
            "login_required",
            "the user must sign in",
            via_post,
        );
    }
    let hint = req.login_hint.clone().unwrap_or_default();
    render_login(&state, jar, locale, Some(&req), &hint, false)
}

/// The user is signed in well enough for this request: ask consent if needed, else issue the
/// code.
async fn proceed(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &AuthRequest,
    session: Session,
    via_post: bool,
) -> Response {
    let user = match state.db.user_by_id(&session.user_id).await {
        // A password change since sign-in ends the session too (the refresh tokens bound to it
        // were revoked with the change).
        Ok(u) => u.filter(|u| !u.disabled && session.stamp == credential_stamp(u)),
        Err(e) => return internal(state, locale, e),
    };
    if user.is_none() {
        // The account was disabled or removed since sign-in: the session is over.
        if let Err(e) = session::end(state.store.as_ref(), &session.sid).await {
            return internal(state, locale, e);
        }
        let jar = jar.add(removal_cookie(state, session_cookie_name(state)));
        if req.prompt_none {
            return redirect_error(
                state,
                locale,
                &req.callback,
                "login_required",
                "the user must sign in",
                via_post,
            );
        }
        return render_login(state, jar, locale, Some(req), "", false);
    }
    let consented = if req.client.first_party {
        req.scopes.clone()
    } else {
        match state
            .db
            .consent_get(&session.user_id, &req.client.client_id)
            .await
        {
            Ok(c) => c.unwrap_or_default(),
            Err(e) => return internal(state, locale, e),
        }
    };
    // offline_access alone never forces the consent page: without consent it is dropped.
    let needed: Vec<String> = req
        .scopes
        .iter()
        .filter(|s| *s != "offline_access")
        .cloned()
        .collect();
    let needs_consent =
        !req.client.first_party && (req.prompt_consent || !scope::covered(&needed, &consented));
    if needs_consent {
        if req.prompt_none {
            return redirect_error(
                state,
                locale,
                &req.callback,
                "consent_required",
                "the user must consent",
                via_post,
            );
        }
        return render_consent(state, jar, locale, req);
    }
    let scopes = scopes_to_grant(req, &consented);
    issue(state, jar, locale, req, &session, &scopes, via_post).await
}

async fn issue(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &AuthRequest,
    session: &Session,
    scopes: &[String],
    via_post: bool,
) -> Response {
    match issue_code(state, req, session, scopes).await {
        Ok(code) => {
            let mut params = vec![("code", code.as_str())];
            if let Some(s) = &req.callback.state {
                params.push(("state", s));
            }
            params.push(("iss", &state.urls.issuer));
            let res = callback_response(state, locale, &req.callback, &params, via_post);
            (jar, res).into_response()
        }
        Err(e) => internal(state, locale, e),
    }
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
                Redirect::to(&location)
                    .into_response()
                    .with_status(StatusCode::FOUND)
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

trait WithStatus {
    fn with_status(self, s: StatusCode) -> Response;
}

impl WithStatus for Response {
    fn with_status(mut self, s: StatusCode) -> Response {
        *self.status_mut() = s;
        self
    }
}

fn redirect_error(
    state: &AppState,
    locale: Locale,
    cb: &Callback,
    error: &str,
    description: &str,
    via_post: bool,
) -> Response {
    let mut params = vec![("error", error), ("error_description", description)];
    if let Some(s) = &cb.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.urls.issuer));
    // error_description is for the client's developers (RFC 6749 §4.1.2.1), in English; only
    // the form_post page around it is in the user's language.
    callback_response(state, locale, cb, &params, via_post)
}

fn auth_error(state: &AppState, locale: Locale, e: AuthError, via_post: bool) -> Response {
    match e {
        AuthError::Page(key) => state
            .pages
            .error(StatusCode::BAD_REQUEST, locale, key, None),
        AuthError::Redirect {
            callback,
            error,
            description,
        } => redirect_error(state, locale, &callback, error, description, via_post),
        AuthError::Internal(e) => internal(state, locale, e),
    }
}

async fn current_session(state: &AppState, jar: &CookieJar) -> Result<Option<Session>, Response> {
    let Some(c) = jar.get(session_cookie_name(state)) else {
        return Ok(None);
    };
    session::load(
        state.store.as_ref(),
        state.session_lifetimes(),
        c.value(),
        state.now(),
    )
    .await
    .map_err(|e| internal(state, Locale::Fr, e))
}

#[derive(Serialize)]
struct LoginPage<'a> {
    csrf: &'a str,
    request: Option<&'a str>,
    username: &'a str,
    failed: bool,
    client_name: Option<&'a str>,
}

fn render_login(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: Option<&AuthRequest>,
    username: &str,
    failed: bool,
) -> Response {
    let (jar, csrf) = csrf_token(state, jar);
    let page = LoginPage {
        csrf: &csrf,
        request: req.map(|r| r.encoded.as_str()),
        username,
        failed,
        client_name: req.map(|r| r.client.name.as_deref().unwrap_or(&r.client.client_id)),
    };
    (jar, state.pages.render(locale, "oidc/login.html", &page)).into_response()
}

fn render_consent(state: &AppState, jar: CookieJar, locale: Locale, req: &AuthRequest) -> Response {
    #[derive(Serialize)]
    struct ScopeLine<'a> {
        name: &'a str,
        key: String,
        known: bool,
    }
    #[derive(Serialize)]
    struct ConsentPage<'a> {
        csrf: &'a str,
        request: &'a str,
        client_name: &'a str,
        scopes: Vec<ScopeLine<'a>>,
    }
    let (jar, csrf) = csrf_token(state, jar);
    let scopes = req
        .scopes
        .iter()
        .map(|s| ScopeLine {
            name: s,
            key: format!("scope_{s}"),
            known: OIDC_SCOPES.contains(&s.as_str()),
        })
        .collect();
    let page = ConsentPage {
        csrf: &csrf,
        request: &req.encoded,
        client_name: req.client.name.as_deref().unwrap_or(&req.client.client_id),
        scopes,
    };
    (jar, state.pages.render(locale, "oidc/consent.html", &page)).into_response()
}

/// `GET /login`: the form on its own, or who is signed in.
pub async fn login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
) -> Response {
    let locale = locale(&headers, None);
    let session = match current_session(&state, &jar).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Some(s) = session
        && let Ok(Some(user)) = state.db.user_by_id(&s.user_id).await
        && !user.disabled
        && s.stamp == credential_stamp(&user)
    {
        #[derive(Serialize)]
        struct SignedIn<'a> {
            login: &'a str,
            csrf: &'a str,
        }
        let (jar, csrf) = csrf_token(&state, jar);
        let page = SignedIn {
            login: &user.login,
            csrf: &csrf,
        };
        return (
            jar,
            state.pages.render(locale, "account/signed_in.html", &page),
        )
            .into_response();
    }
    render_login(&state, jar, locale, None, "", false)
}

/// `POST /login`: check the password, start a new session, go on with the authorization
/// request that came in the hidden `request` field.
pub async fn login_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = form_pairs(&headers, &body) else {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            locale(&headers, None),
            "err_bad_request",
            None,
        );
    };
    let request_pairs = param(&form, "request").map(|r| parse_pairs(r.as_bytes()));
    let locale = locale(
        &headers,
        request_pairs
            .as_deref()
            .and_then(|p| param(p, "ui_locales")),
    );
    if !csrf_ok(&state, &jar, &headers, param(&form, "csrf")) {
        return state
            .pages
            .error(StatusCode::FORBIDDEN, locale, "err_csrf", None);
    }
    let req = match &request_pairs {
        Some(pairs) => match parse(&state, pairs).await {
            Ok(r) => Some(r),
            Err(e) => return auth_error(&state, locale, e, true),
        },
        None => None,
    };
    let username = param(&form, "username").unwrap_or("");
    let password = param(&form, "password").unwrap_or("").to_owned();
    let now = state.now();
    let store = state.store.as_ref();
    match throttle::blocked(store, username, ip.0, now).await {
        Ok(None) => {}
        Ok(Some(wait)) => {
            state.audit.record(
                AuditEvent::new(now, "login.throttled")
                    .ip(ip.string())
                    .detail(json!({"retry_after": wait})),
            );
            let mut res =
                state
                    .pages
                    .error(StatusCode::TOO_MANY_REQUESTS, locale, "err_throttled", None);
            if let Ok(v) = HeaderValue::from_str(&wait.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            return res;
        }
        Err(e) => return internal(&state, locale, e),
    }
    let user = match check_password(&state.db, &state.hasher, username, password).await {
        Ok(u) => u,
        Err(LoginError::Hash(HashError::Busy)) => {
            return state
                .pages
                .error(StatusCode::SERVICE_UNAVAILABLE, locale, "err_busy", None);
        }
        Err(e) => return internal(&state, locale, e),
    };
    let Some(user) = user else {
        if let Err(e) = throttle::failed(store, username, ip.0, now).await {
            return internal(&state, locale, e);
        }
        state.audit.record(
            AuditEvent::new(now, "login.failure")
                .ip(ip.string())
                .detail(json!({"reason": "bad_credentials"})),
        );
        let username = if username.len() > 256 { "" } else { username };
        return render_login(&state, jar, locale, req.as_ref(), username, true);
    };
    if let Err(e) = throttle::succeeded(store, username, now).await {
        return internal(&state, locale, e);
    }
    // A new session id at every sign-in (OWASP ASVS 7.2.4): the old one ends.
    let name = session_cookie_name(&state);
    if let Some(old) = jar
        .get(name)
        .and_then(|c| c.value().split_once('.').map(|(sid, _)| sid.to_owned()))
        && let Err(e) = session::end(state.store.as_ref(), &old).await
    {
        return internal(&state, locale, e);
    }
    let (cookie_value, session) = match session::create(
        state.store.as_ref(),
        state.session_lifetimes(),
        &user.id,
        credential_stamp(&user),
        vec!["pwd".into()],
        now,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return internal(&state, locale, e),
    };
    state.audit.record(
        AuditEvent::new(now, "login.success")
            .user(&user.id)
            .ip(ip.string())
            .detail(json!({"amr": ["pwd"]})),
    );
    let jar = jar.add(cookie(&state, name, cookie_value));
    match req {
        Some(req) => proceed(&state, jar, locale, &req, session, true).await,
        None => (jar, see_other(&format!("{}/login", state.urls.base_path))).into_response(),
    }
}

/// `POST /consent`: approve or deny; an approval is remembered per user, client and scopes.
pub async fn consent_post(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(form) = form_pairs(&headers, &body) else {
        return state.pages.error(
            StatusCode::BAD_REQUEST,
            locale(&headers, None),
            "err_bad_request",
            None,
        );
    };
    let pairs = parse_pairs(param(&form, "request").unwrap_or("").as_bytes());
    let locale = locale(&headers, param(&pairs, "ui_locales"));
    if !csrf_ok(&state, &jar, &headers, param(&form, "csrf")) {
        return state
            .pages
            .error(StatusCode::FORBIDDEN, locale, "err_csrf", None);
    }
    let req = match parse(&state, &pairs).await {
        Ok(r) => r,
        Err(e) => return auth_error(&state, locale, e, true),
    };
    let session = match current_session(&state, &jar).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    // The consent form follows a fresh sign-in, so prompt=login and max_age are not asked
    // again; but it must be the same person the request is about.
    let Some(session) = session.filter(|s| req.hint_sub.as_ref().is_none_or(|h| h == &s.user_id))
    else {
        return render_login(&state, jar, locale, Some(&req), "", false);
    };
    match param(&form, "decision") {
        Some("approve") => {}
        Some("deny") => {
            return redirect_error(
                &state,
                locale,
                &req.callback,
                "access_denied",
                "the user denied the request",
                true,
            );
        }
        _ => {
            return state
                .pages
                .error(StatusCode::BAD_REQUEST, locale, "err_bad_request", None);
        }
    }
    let now = state.now();
    let mut consented = match state
        .db
        .consent_get(&session.user_id, &req.client.client_id)
        .await
    {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => return internal(&state, locale, e),
    };
    for s in &req.scopes {
        if !consented.contains(s) {
            consented.push(s.clone());
        }
    }
    if let Err(e) = state
        .db
        .consent_put(&session.user_id, &req.client.client_id, &consented, now)
        .await
    {
        return internal(&state, locale, e);
    }
    state.audit.record(
        AuditEvent::new(now, "consent.granted")
            .user(&session.user_id)
            .client(&req.client.client_id)
            .detail(json!({"scope": scope::join(&req.scopes)})),
    );
    let scopes = scopes_to_grant(&req, &consented);
    issue(&state, jar, locale, &req, &session, &scopes, true).await
}
