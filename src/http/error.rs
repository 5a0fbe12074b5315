//! The edge's page errors. A page handler returns `Result<_, PageError>`; the error says what
//! went wrong (a strings-table key, a status) and in which language, and the edge's one
//! middleware renders it as a page ([`render_page_error`]). Unexpected errors are logged with an id and
//! shown as that id only; a full short-lived store or a saturated hashing pool is a 503 with
//! `Retry-After`, never a 500, and so is an unreachable short-lived store or database (the
//! "temporarily unavailable" page: sign-in fails closed). Protocol errors live with their protocol (the
//! OAuth error, the authorization redirect, RFC 6750 challenges).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::service::error::Error;

/// `Retry-After` of the "temporarily unavailable" page, in seconds.
const UNAVAILABLE_RETRY_AFTER: i64 = 10;

#[derive(Debug, Clone)]
pub struct PageError {
    pub status: StatusCode,
    /// A key of the strings table.
    pub message: &'static str,
    pub locale: Locale,
    /// The id an internal error was logged under.
    pub reference: Option<String>,
    pub retry_after: Option<i64>,
}

impl PageError {
    pub fn new(status: StatusCode, message: &'static str, locale: Locale) -> PageError {
        PageError {
            status,
            message,
            locale,
            reference: None,
            retry_after: None,
        }
    }

    pub fn bad_request(locale: Locale) -> PageError {
        PageError::new(StatusCode::BAD_REQUEST, "err_bad_request", locale)
    }

    pub fn csrf(locale: Locale) -> PageError {
        PageError::new(StatusCode::FORBIDDEN, "err_csrf", locale)
    }

    pub fn busy(locale: Locale) -> PageError {
        PageError {
            retry_after: Some(2),
            ..PageError::new(StatusCode::SERVICE_UNAVAILABLE, "err_busy", locale)
        }
    }

    /// The short-lived store or the database is down: sign-in cannot count attempts, check
    /// locks or read accounts, so it refuses everyone until they are back.
    pub fn unavailable(locale: Locale) -> PageError {
        PageError {
            retry_after: Some(UNAVAILABLE_RETRY_AFTER),
            ..PageError::new(StatusCode::SERVICE_UNAVAILABLE, "err_unavailable", locale)
        }
    }

    pub fn throttled(locale: Locale, wait: i64) -> PageError {
        PageError {
            retry_after: Some(wait),
            ..PageError::new(StatusCode::TOO_MANY_REQUESTS, "err_throttled", locale)
        }
    }

    /// Logs `e` with a fresh id; the page names only the id.
    pub fn internal(locale: Locale, e: impl std::fmt::Display) -> PageError {
        let id = uuid::Uuid::new_v4().to_string();
        tracing::error!(error = %e, %id, "internal error");
        PageError {
            reference: Some(id),
            ..PageError::new(StatusCode::INTERNAL_SERVER_ERROR, "err_internal", locale)
        }
    }

    /// A service error: 503 when a backend is temporarily unavailable, else internal.
    pub fn service(locale: Locale, e: Error) -> PageError {
        if e.is_outage() {
            tracing::error!(error = %e, "backend unavailable: refusing");
            PageError::unavailable(locale)
        } else if e.is_unavailable() {
            tracing::warn!(error = %e, "temporarily unavailable");
            PageError::busy(locale)
        } else {
            PageError::internal(locale, e)
        }
    }
}

/// `.page(locale)?` turns a service error into a page error.
pub trait OrPage<T> {
    fn page(self, locale: Locale) -> Result<T, PageError>;
}

impl<T, E: Into<Error>> OrPage<T> for Result<T, E> {
    fn page(self, locale: Locale) -> Result<T, PageError> {
        self.map_err(|e| PageError::service(locale, e.into()))
    }
}

/// The error travels to [`render_page_error`] in the response's extensions.
impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let mut res = self.status.into_response();
        res.extensions_mut().insert(self);
        res
    }
}

/// Renders a response that carries a `PageError` as the page, in its language, with
/// `Retry-After` when it has one; any other response passes through. Called by the edge's one
/// middleware (`http::edge`), so that every handler's page errors are rendered in one place.
pub fn render_page_error(state: &AppState, mut res: Response) -> Response {
    let Some(e) = res.extensions_mut().remove::<PageError>() else {
        return res;
    };
    let mut page = state
        .pages
        .error(e.status, e.locale, e.message, e.reference.as_deref());
    if let Some(wait) = e.retry_after
        && let Ok(v) = HeaderValue::from_str(&wait.to_string())
    {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    // Cookies set on the way (a removed session) still reach the browser.
    for c in res.headers().get_all(header::SET_COOKIE) {
        page.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    page
}
