//! Extractors for what page handlers repeat: a form body, a CSRF-checked form, the session
//! cookie and the session it names, the page language. Each is `#[instrument(skip_all)]`: no secret reaches a span.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use axum_extra::extract::CookieJar;

use crate::http::error::{OrPage, PageError};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{csrf_ok, form_pairs, locale, param, session_cookie_name};
use crate::service::session::{self, Lookup};

/// The language of a page from `Accept-Language` (a protocol's `ui_locales`, when there is
/// one, is applied by the handler).
pub struct PageLocale(pub Locale);

impl<S: Send + Sync> FromRequestParts<S> for PageLocale {
    type Rejection = std::convert::Infallible;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PageLocale(locale(&parts.headers, None)))
    }
}

/// An `application/x-www-form-urlencoded` body as pairs; anything else is a 400 page.
pub struct Form(pub Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        param(&self.0, name)
    }
}

async fn read_form(req: Request, state: &AppState) -> Result<(HeaderMap, Form), PageError> {
    let headers = req.headers().clone();
    let l = locale(&headers, None);
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|_| PageError::bad_request(l))?;
    let pairs = form_pairs(&headers, &body).map_err(|_| PageError::bad_request(l))?;
    Ok((headers, Form(pairs)))
}

impl FromRequest<AppState> for Form {
    type Rejection = PageError;

    #[tracing::instrument(skip_all)]
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        Ok(read_form(req, state).await?.1)
    }
}

/// A form whose `csrf` field matches the signed double-submit cookie, posted from our own
/// origin (or `null`); otherwise a 403 page and nothing done.
pub struct CsrfForm(pub Form);

impl CsrfForm {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name)
    }
}

impl FromRequest<AppState> for CsrfForm {
    type Rejection = PageError;

    #[tracing::instrument(skip_all)]
    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(req.headers());
        let (headers, form) = read_form(req, state).await?;
        if !csrf_ok(state, &jar, &headers, form.get("csrf")) {
            return Err(PageError::csrf(locale(&headers, None)));
        }
        Ok(CsrfForm(form))
    }
}

/// The session cookie's value, if the browser sent one (checked by `session::current`).
pub struct SessionCookie(pub Option<String>);

impl SessionCookie {
    pub fn value(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

impl FromRequestParts<AppState> for SessionCookie {
    type Rejection = std::convert::Infallible;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let name = session_cookie_name(state);
        let value = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned());
        Ok(SessionCookie(value))
    }
}

/// The browser's session as `service::session::current` judges it: valid for its user, just
/// ended (the handler removes the cookie), or none. A backend failure is a page error.
pub struct CurrentSession {
    pub lookup: Lookup,
    pub cookie: SessionCookie,
}

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = PageError;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Ok(cookie) = SessionCookie::from_request_parts(parts, state).await;
        let core = &state.core;
        let lookup = session::current(core, cookie.value(), core.now())
            .await
            .page(locale(&parts.headers, None))?;
        Ok(CurrentSession { lookup, cookie })
    }
}
