//! The CAS protocol (CAS Protocol 3.0, Apereo) under `/cas`: `/login`, `/logout`, `/validate`
//! (1.0), `/serviceValidate` and `/proxyValidate` (2.0), `/p3/serviceValidate` and
//! `/p3/proxyValidate` (3.0, with attributes), `/proxy`. Sign-in is the account area's: a
//! `/cas/login` that needs credentials hands it a CAS continuation and resumes here
//! (`http::resume`) with the same SSO session OpenID Connect uses.

mod render;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use self::render::Format;
use crate::crypto::token::random_token;
use crate::http::account::views::{LoginView, login_page, render_with_csrf, signed_in_page};
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, SessionCookie};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{
    locale, param, parse_pairs, removal_cookie, repeated, see_other, session_cookie_name,
};
use crate::service::authn;
use crate::service::cas::tickets::{self, Accepts, ValidateRequest};
use crate::service::cas::{self, LoginDecision, LoginRequest};
use crate::service::logout;
use crate::service::session::{Current, Lookup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cas/login", get(login_get))
        .route("/cas/login/continue", post(continue_post))
        .route("/cas/logout", get(logout_get))
        .route("/cas/validate", get(validate_get))
        .route("/cas/serviceValidate", get(service_validate_get))
        .route("/cas/proxyValidate", get(proxy_validate_get))
        .route("/cas/p3/serviceValidate", get(p3_service_validate_get))
        .route("/cas/p3/proxyValidate", get(p3_proxy_validate_get))
        .route("/cas/proxy", get(proxy_get))
}

/// CAS §2.1.1's flags are set by their presence with any value but an explicit false.
fn flag(pairs: &[(String, String)], name: &str) -> bool {
    param(pairs, name).is_some_and(|v| !v.eq_ignore_ascii_case("false"))
}

fn login_request(pairs: &[(String, String)]) -> LoginRequest {
    LoginRequest {
        service: param(pairs, "service")
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        renew: flag(pairs, "renew"),
        gateway: flag(pairs, "gateway"),
        method_post: param(pairs, "method").is_some_and(|m| m.eq_ignore_ascii_case("post")),
        warn: flag(pairs, "warn"),
    }
}

/// `GET /cas/login` (CAS §2.1): a ticket from the SSO session, or the sign-in.
pub async fn login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let locale = locale(&headers, None);
    let (jar, current) = match current.lookup {
        Lookup::Valid(c) => (jar, Some(*c)),
        Lookup::Ended => (
            jar.add(removal_cookie(&state, session_cookie_name(&state))),
            None,
        ),
        Lookup::None => (jar, None),
    };
    // A repeated `service` is ambiguous (a proxy in front may read the other one): refused
    // like an unknown service, not read as no service at all (CAS §2.2.1).
    if repeated(&pairs, "service") {
        return PageError::new(StatusCode::BAD_REQUEST, "err_cas_service", locale).into_response();
    }
    let req = login_request(&pairs);
    decide(&state, jar, locale, &req, current.as_ref(), false, false).await
}

/// Sign-in finished for a CAS request (its query): the ticket, with the new session.
pub async fn resume(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    query: &str,
    current: Current,
) -> Response {
    let pairs = parse_pairs(query.as_bytes());
    let req = login_request(&pairs);
    decide(state, jar, locale, &req, Some(&current), true, true).await
}

/// `warn`'s confirmation (CAS §2.2.1): the person chose to go on to the service.
pub async fn continue_post(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    headers: HeaderMap,
    CsrfForm(form): CsrfForm,
) -> Response {
    let locale = locale(&headers, None);
    let pairs = parse_pairs(form.get("request").unwrap_or("").as_bytes());
    let mut req = login_request(&pairs);
    req.warn = false;
    req.gateway = false;
    let current = current.lookup.valid();
    decide(&state, jar, locale, &req, current.as_ref(), false, true).await
}

/// The `/cas/login` answer, never cached: CAS Appendix B asks for `Pragma: no-cache` and a
/// past `Expires` besides `Cache-Control: no-store` (which every page has), for old caches.
async fn decide(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &LoginRequest,
    current: Option<&Current>,
    fresh: bool,
    via_post: bool,
) -> Response {
    let mut res = answer(state, jar, locale, req, current, fresh, via_post).await;
    let h = res.headers_mut();
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        header::EXPIRES,
        HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"),
    );
    res
}

async fn answer(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    req: &LoginRequest,
    current: Option<&Current>,
    fresh: bool,
    via_post: bool,
) -> Response {
    let core = &state.core;
    let now = core.now();
    let decision = match cas::login(core, req, current, fresh, now).await {
        Ok(d) => d,
        Err(e) => return PageError::service(locale, e).into_response(),
    };
    match decision {
        LoginDecision::UnknownService => {
            PageError::new(StatusCode::BAD_REQUEST, "err_cas_service", locale).into_response()
        }
        LoginDecision::Ticket {
            service_url,
            ticket,
            method_post: true,
        } => (jar, post_ticket(state, locale, &service_url, &ticket)).into_response(),
        LoginDecision::Ticket {
            service_url,
            ticket,
            method_post: false,
        } => {
            let to = cas::ticket_url(&service_url, &ticket);
            // Appendix B: the browser must GET the service; after a POST (the sign-in form, the
            // `warn` confirmation), 303.
            let res = if via_post { see_other(&to) } else { found(&to) };
            (jar, res).into_response()
        }
        LoginDecision::GatewayBack { url } => (jar, found(&url)).into_response(),
        LoginDecision::SignIn(flow) => {
            let sealed = match authn::seal(core, &flow) {
                Ok(s) => s,
                Err(e) => return PageError::service(locale, e).into_response(),
            };
            login_page(
                state,
                jar,
                locale,
                LoginView {
                    flow: &sealed,
                    client_name: flow.display.client_name.as_deref(),
                    username: "",
                    notice: None,
                },
            )
        }
        LoginDecision::Confirm { service } => {
            #[derive(Serialize)]
            struct Warn<'a> {
                service_name: &'a str,
                request: String,
            }
            let request = req.query();
            render_with_csrf(
                state,
                jar,
                locale,
                "cas/warn.html",
                Warn {
                    service_name: &service.name,
                    request,
                },
            )
        }
        LoginDecision::SignedIn => match current {
            Some(c) => signed_in_page(state, jar, locale, &c.user.login),
            None => PageError::bad_request(locale).into_response(),
        },
    }
}

fn found(location: &str) -> Response {
    let mut res = Redirect::to(location).into_response();
    *res.status_mut() = StatusCode::FOUND;
    res
}

/// `method=POST` (CAS §2.1.1): the ticket reaches the service in an auto-submitted form.
fn post_ticket(state: &AppState, locale: Locale, service_url: &str, ticket: &str) -> Response {
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
            action: service_url,
            params: &[("ticket", ticket)],
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

/// `GET /cas/logout` (CAS §2.3): ends the browser's SSO session (CAS and OpenID Connect
/// alike; the services and clients that took part are told), then back to `service` if it is
/// registered, else the signed-out page. The old `url` parameter is ignored (§2.3.1).
pub async fn logout_get(
    State(state): State<AppState>,
    jar: CookieJar,
    cookie: SessionCookie,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let locale = locale(&headers, None);
    let core = &state.core;
    let now = core.now();
    logout::confirm(core, cookie.value(), None, None, None, now)
        .await
        .page(locale)?;
    let jar = match cookie.value() {
        Some(_) => jar.add(removal_cookie(&state, session_cookie_name(&state))),
        None => jar,
    };
    let back = match param(&pairs, "service").filter(|s| !s.is_empty()) {
        Some(url) => core
            .cas
            .find(&core.db, url)
            .await
            .page(locale)?
            .map(|_| url.to_owned()),
        None => None,
    };
    #[derive(Serialize)]
    struct LoggedOut {
        bad_uri: bool,
    }
    Ok(match back {
        Some(url) => (jar, found(&url)).into_response(),
        None => (
            jar,
            state.pages.render(
                locale,
                "oidc/logged_out.html",
                &LoggedOut { bad_uri: false },
            ),
        )
            .into_response(),
    })
}

async fn validate_common(
    state: &AppState,
    query: Option<String>,
    accepts: Accepts,
    v1: bool,
    attributes: bool,
) -> Response {
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let format = if v1 {
        Some(Format::Xml)
    } else {
        Format::parse(param(&pairs, "format"))
    };
    let Some(format) = format else {
        return render::validation(
            Format::Xml,
            &Err(tickets::Failure {
                code: tickets::FailureCode::InvalidRequest,
                description: "format must be XML or JSON".into(),
            }),
            attributes,
        );
    };
    let req = ValidateRequest {
        service: param(&pairs, "service"),
        ticket: param(&pairs, "ticket"),
        pgt_url: if v1 { None } else { param(&pairs, "pgtUrl") },
        renew: flag(&pairs, "renew"),
    };
    let core = &state.core;
    match tickets::validate(core, accepts, req, core.now()).await {
        Ok(outcome) if v1 => render::v1(&outcome),
        Ok(outcome) => render::validation(format, &outcome, attributes),
        Err(e) => {
            tracing::error!(error = %e, "CAS validation failed");
            if v1 {
                let mut res = render::v1(&Err(tickets::Failure {
                    code: tickets::FailureCode::InternalError,
                    description: String::new(),
                }));
                *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                res
            } else {
                render::internal(format, "authenticationFailure")
            }
        }
    }
}

/// `/validate` (CAS 1.0, §2.4): service tickets only, `yes`/`no`.
pub async fn validate_get(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    validate_common(&state, q, Accepts::ServiceTickets, true, false).await
}

/// `/serviceValidate` (CAS 2.0, §2.5).
pub async fn service_validate_get(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    validate_common(&state, q, Accepts::ServiceTickets, false, false).await
}

/// `/proxyValidate` (CAS 2.0, §2.6): service and proxy tickets.
pub async fn proxy_validate_get(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    validate_common(&state, q, Accepts::ProxyTickets, false, false).await
}

/// `/p3/serviceValidate` (CAS 3.0, §2.8): with attributes.
pub async fn p3_service_validate_get(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    validate_common(&state, q, Accepts::ServiceTickets, false, true).await
}

/// `/p3/proxyValidate` (CAS 3.0, §2.9): service and proxy tickets, with attributes.
pub async fn p3_proxy_validate_get(
    State(state): State<AppState>,
    RawQuery(q): RawQuery,
) -> Response {
    validate_common(&state, q, Accepts::ProxyTickets, false, true).await
}

/// `/proxy` (CAS 2.0, §2.7): a proxy ticket from a proxy-granting ticket.
pub async fn proxy_get(State(state): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let pairs = parse_pairs(q.unwrap_or_default().as_bytes());
    let Some(format) = Format::parse(param(&pairs, "format")) else {
        return render::proxy(
            Format::Xml,
            &Err(tickets::Failure {
                code: tickets::FailureCode::InvalidRequest,
                description: "format must be XML or JSON".into(),
            }),
        );
    };
    let core = &state.core;
    match tickets::proxy(
        core,
        param(&pairs, "pgt"),
        param(&pairs, "targetService"),
        core.now(),
    )
    .await
    {
        Ok(outcome) => render::proxy(format, &outcome),
        Err(e) => {
            tracing::error!(error = %e, "CAS proxy request failed");
            render::internal(format, "proxyFailure")
        }
    }
}
