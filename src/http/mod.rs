//! The HTTP edge: one router per area, merged here, and the helpers every handler shares
//! (security headers, cookies, CSRF, forms, the client's address).

pub mod account;
pub mod admin;
pub mod admin_api;
pub mod cas;
pub mod error;
pub mod extract;
pub mod health;
pub mod i18n;
pub mod metrics;
pub mod oidc;
pub mod pages;
pub mod resume;
pub mod state;
pub mod theme;

use std::net::{IpAddr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequestParts, Request, State};
use axum::handler::Handler as _;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use tower::Layer as _;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::http::state::AppState;
use crate::service::csrf;
use i18n::Locale;

pub fn router(state: AppState) -> Router {
    build(state, false)
}

/// As [`router`], each route's requests counted and timed (`http::metrics`): when metrics are
/// on.
pub fn instrumented_router(state: AppState) -> Router {
    build(state, true)
}

fn build(state: AppState, instrumented: bool) -> Router {
    let base = state.core.urls.base_path.clone();
    let mut routes = Router::new()
        .merge(account::router())
        .merge(admin::router())
        .merge(admin_api::router())
        .merge(oidc::router())
        .merge(cas::router())
        .merge(health::router())
        .merge(theme::router())
        .route("/static/style.css", get(style_get));
    if instrumented {
        routes = routes.route_layer(metrics::RouteMetricsLayer::matched());
    }
    let fallback = |router: Router<AppState>| {
        if instrumented {
            router.fallback_service(
                metrics::RouteMetricsLayer::fixed(metrics::UNMATCHED)
                    .layer(not_found.with_state(state.clone())),
            )
        } else {
            router.fallback(not_found)
        }
    };
    let routes = fallback(routes);
    let app = if base.is_empty() {
        routes
    } else {
        fallback(Router::new().nest(&base, routes))
    };
    app.layer(middleware::from_fn_with_state(state.clone(), edge))
    .layer(DefaultBodyLimit::max(64 * 1024))
    .layer(CatchPanicLayer::custom(|_| {
        (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
    }))
    // Spans name the path only: query strings carry codes and ID token hints. Debug level: at
    // the default `info` they cost nothing on the hot paths.
    .layer(
        TraceLayer::new_for_http().make_span_with(|req: &Request| {
            tracing::debug_span!("http", method = %req.method(), path = %req.uri().path())
        }),
    )
    .with_state(state)
}

async fn style_get() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        pages::STYLE_CSS,
    )
        .into_response()
}

async fn not_found(State(state): State<AppState>, headers: HeaderMap) -> Response {
    state.pages.error(
        StatusCode::NOT_FOUND,
        locale(&headers, None),
        "err_not_found",
        None,
    )
}

const CSP: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The one middleware of every response: page errors rendered (`error::render_page_error`),
/// then the security headers. One layer, not two: discovery answers in about 10 µs of CPU, and
/// each layer costs a boxed future. No `form-action` in the CSP: browsers apply it to the
/// redirect that follows a form post back to the client.
async fn edge(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut res = error::render_page_error(&state, next.run(req).await);
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.secure_cookies {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    res
}

/// The page language: `ui_locales` if given, then `Accept-Language`.
pub fn locale(headers: &HeaderMap, ui_locales: Option<&str>) -> Locale {
    Locale::negotiate(
        ui_locales,
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    )
}

/// The value of `name` in urlencoded pairs, if present exactly once.
pub fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    let mut it = pairs.iter().filter(|(k, _)| k == name);
    match (it.next(), it.next()) {
        (Some((_, v)), None) => Some(v.as_str()),
        _ => None,
    }
}

pub fn repeated(pairs: &[(String, String)], name: &str) -> bool {
    pairs.iter().filter(|(k, _)| k == name).count() > 1
}

pub fn parse_pairs(s: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(s).into_owned().collect()
}

/// A body that is not `application/x-www-form-urlencoded`.
#[derive(Debug)]
pub struct NotAForm;

/// A form body, refusing anything not `application/x-www-form-urlencoded`.
pub fn form_pairs(headers: &HeaderMap, body: &[u8]) -> Result<Vec<(String, String)>, NotAForm> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_form = ct.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !is_form && !body.is_empty() {
        return Err(NotAForm);
    }
    Ok(parse_pairs(body))
}

/// The client's address: the peer, or, when the peer is a trusted proxy, the nearest
/// untrusted address in `X-Forwarded-For`.
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let trusted = |ip: &IpAddr| state.is_trusted_proxy(ip);
        let Some(peer) = peer else {
            return Ok(ClientIp(None));
        };
        if !trusted(&peer) {
            return Ok(ClientIp(Some(peer)));
        }
        let forwarded: Vec<IpAddr> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|s| s.trim().parse().ok())
            .collect();
        Ok(ClientIp(Some(
            forwarded
                .into_iter()
                .rev()
                .find(|ip| !trusted(ip))
                .unwrap_or(peer),
        )))
    }
}

impl ClientIp {
    pub fn string(&self) -> Option<String> {
        self.0.map(|ip| ip.to_string())
    }
}

pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-guichet_session"
    } else {
        "guichet_session"
    }
}

fn csrf_cookie_name(state: &AppState) -> &'static str {
    if state.secure_cookies {
        "__Host-guichet_csrf"
    } else {
        "guichet_csrf"
    }
}

/// A cookie with the house flags: HttpOnly, SameSite=Lax, Path=/, Secure over https.
pub fn cookie(state: &AppState, name: &'static str, value: String) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(state.secure_cookies);
    c
}

pub fn removal_cookie(state: &AppState, name: &'static str) -> Cookie<'static> {
    let mut c = cookie(state, name, String::new());
    c.make_removal();
    c
}

/// The CSRF token for a page's forms (`service::csrf`): the cookie is set (or kept), the
/// token goes in the form.
pub fn csrf_token(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
    let name = csrf_cookie_name(state);
    let value = csrf::cookie_value(jar.get(name).map(|c| c.value()));
    let token = csrf::token(&state.core, &value);
    (jar.add(cookie(state, name, value)), token)
}

/// Checks a posted CSRF token against the cookie, and that the post did not come from another
/// origin.
pub fn csrf_ok(
    state: &AppState,
    jar: &CookieJar,
    headers: &HeaderMap,
    token: Option<&str>,
) -> bool {
    if let Some(origin) = headers.get(header::ORIGIN) {
        // Browsers send `Origin: null` for posts from pages with `Referrer-Policy: no-referrer`
        // (Fetch, "serializing a request origin"): then the token alone decides.
        let origin = origin.to_str().unwrap_or("");
        if origin != "null" && origin != state.core.urls.origin {
            return false;
        }
    }
    match (jar.get(csrf_cookie_name(state)), token) {
        (Some(cookie), Some(token)) => csrf::verify(&state.core, cookie.value(), token),
        _ => false,
    }
}

/// 303 See Other: after a POST, the browser follows with a GET (RFC 9700 §4.12: never 307).
pub fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::SEE_OTHER, [(header::LOCATION, v)]).into_response(),
        Err(_) => StatusCode::BAD_REQUEST.into_response(),
    }
}
