//! The administration console under `/admin`: server-rendered pages in French and English,
//! usable without JavaScript, a CSRF token in every form. Administrators sign in through
//! guichet's own sign-in with a second factor ([`AdminSession`]); each page calls the
//! administration service (`service::admin`), whose actor bounds what it shows and changes
//! (an establishment administrator's lists shrink, and other people are "not found").
//!
//! Pages: `/admin` (home), `/admin/users` (search, a user's page and its actions),
//! `/admin/establishments` (list, create, edit, members), `/admin/invitations`,
//! `/admin/clients` and `/admin/services` (applications), `/admin/administrators`,
//! `/admin/audit` (filters, pages, CSV export).

mod apps;
mod audit;
mod establishments;
mod invitations;
mod users;

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use crate::domain::acr::AMR_MFA;
use crate::domain::admin::Actor;
use crate::domain::user::User;
use crate::http::account::views::{LoginView, login_page, render_with_csrf};
use crate::http::error::{OrPage, PageError};
use crate::http::extract::SessionCookie;
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{locale, removal_cookie, see_other, session_cookie_name};
use crate::service::admin::{AdminError, actor_for_user};
use crate::service::authn::{self, Continuation, Display, Flow, Requirements};
use crate::service::session::{self, Lookup};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin", get(home_get))
        .route(
            "/admin/users",
            get(users::list_get).post(users::create_post),
        )
        .route("/admin/users/new", get(users::new_get))
        .route("/admin/users/{id}/profile", post(users::profile_post))
        .route(
            "/admin/users/{id}/identifiers",
            post(users::identifier_add_post),
        )
        .route("/admin/users/{id}", get(users::show_get))
        .route("/admin/users/{id}/disabled", post(users::disabled_post))
        .route("/admin/users/{id}/unlock", post(users::unlock_post))
        .route("/admin/users/{id}/mfa-reset", post(users::mfa_reset_post))
        .route(
            "/admin/users/{id}/password-change",
            post(users::password_change_post),
        )
        .route(
            "/admin/users/{id}/identifiers/remove",
            post(users::identifier_remove_post),
        )
        .route(
            "/admin/users/{id}/memberships/revoke",
            post(users::membership_revoke_post),
        )
        .route(
            "/admin/users/{id}/delete",
            get(users::delete_get).post(users::delete_post),
        )
        .route(
            "/admin/establishments",
            get(establishments::list_get).post(establishments::create_post),
        )
        .route("/admin/establishments/new", get(establishments::new_get))
        .route(
            "/admin/establishments/{code}",
            get(establishments::show_get).post(establishments::update_post),
        )
        .route(
            "/admin/establishments/{code}/members",
            post(establishments::grant_post),
        )
        .route(
            "/admin/establishments/{code}/members/revoke",
            post(establishments::revoke_post),
        )
        .route(
            "/admin/administrators",
            get(audit::administrators_get).post(audit::administrator_add_post),
        )
        .route(
            "/admin/administrators/remove",
            post(audit::administrator_remove_post),
        )
        .route(
            "/admin/invitations",
            get(invitations::list_get).post(invitations::invite_post),
        )
        .route(
            "/admin/invitations/{id}/resend",
            post(invitations::resend_post),
        )
        .route(
            "/admin/invitations/{id}/revoke",
            post(invitations::revoke_post),
        )
        .route(
            "/admin/clients",
            get(apps::clients_get).post(apps::client_create_post),
        )
        .route(
            "/admin/clients/{id}",
            get(apps::client_get).post(apps::client_update_post),
        )
        .route("/admin/clients/{id}/secret", post(apps::client_secret_post))
        .route(
            "/admin/clients/{id}/disabled",
            post(apps::client_disabled_post),
        )
        .route("/admin/clients/{id}/delete", post(apps::client_delete_post))
        .route(
            "/admin/services",
            get(apps::services_get).post(apps::service_create_post),
        )
        .route(
            "/admin/services/{id}",
            get(apps::service_get).post(apps::service_update_post),
        )
        .route(
            "/admin/services/{id}/delete",
            post(apps::service_delete_post),
        )
        .route("/admin/audit", get(audit::audit_get))
        .route("/admin/audit/export", get(audit::export_get))
}

/// A signed-in administrator: a live session with a second factor, whose user administers
/// something (`service::admin::actor_for_user`).
///
/// Without a session, the sign-in form answers in place (the flow comes back to this page:
/// `Continuation::Admin`, our own path only); a person who administers nothing gets a 403
/// page; an administrator whose session lacks a second factor signs in again with one (the
/// flow requires it, so one who has none enrols an authenticator app on the way).
pub struct AdminSession {
    pub actor: Actor,
    pub user: User,
    pub locale: Locale,
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Response;

    #[tracing::instrument(skip_all)]
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let locale = locale(&parts.headers, None);
        let core = &state.core;
        let now = core.now();
        let Ok(cookie) = SessionCookie::from_request_parts(parts, state).await;
        let jar = CookieJar::from_headers(&parts.headers);
        let lookup = session::current(core, cookie.value(), now)
            .await
            .page(locale)
            .map_err(IntoResponse::into_response)?;
        // A form posted without a session goes back to the console's home, not to a POST.
        let asked = if parts.method == Method::GET {
            parts.uri.path_and_query().map_or("/admin", |p| p.as_str())
        } else {
            "/admin"
        };
        let current = match lookup {
            Lookup::Valid(current) => *current,
            Lookup::Ended => {
                let jar = jar.add(removal_cookie(state, session_cookie_name(state)));
                return Err(sign_in(state, jar, locale, asked, "", "admin_sign_in"));
            }
            Lookup::None => return Err(sign_in(state, jar, locale, asked, "", "admin_sign_in")),
        };
        let actor = match actor_for_user(&core.db, &current.user).await {
            Ok(Some(actor)) => actor,
            Ok(None) => {
                return Err(PageError::new(
                    StatusCode::FORBIDDEN,
                    "admin_not_administrator",
                    locale,
                )
                .into_response());
            }
            Err(e) => return Err(fail(state, locale, e).into_response()),
        };
        if !current.session.amr.iter().any(|m| m == AMR_MFA) {
            return Err(sign_in(
                state,
                jar,
                locale,
                asked,
                &current.user.login,
                "admin_step_up",
            ));
        }
        Ok(AdminSession {
            actor,
            user: current.user,
            locale,
        })
    }
}

/// The sign-in form, for a flow that requires a second factor and comes back to `asked`.
fn sign_in(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    asked: &str,
    username: &str,
    notice: &'static str,
) -> Response {
    let flow = Flow::start(
        Continuation::admin(asked),
        Requirements {
            user: None,
            mfa: true,
        },
        Display::default(),
        state.core.now(),
    );
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
            client_name: None,
            username,
            notice: Some(notice),
        },
    )
}

/// What every console page shows around its content: who is signed in, and which sections
/// their reach opens.
#[derive(Serialize)]
struct Chrome<'a, T: Serialize> {
    me: Me<'a>,
    /// The menu entry of this page.
    section: &'static str,
    #[serde(flatten)]
    page: T,
}

#[derive(Serialize)]
struct Me<'a> {
    login: &'a str,
    global: bool,
}

impl AdminSession {
    /// Renders a console page with the menu and a fresh CSRF token.
    fn render<T: Serialize>(
        &self,
        state: &AppState,
        jar: CookieJar,
        section: &'static str,
        template: &str,
        page: T,
    ) -> Response {
        let chrome = Chrome {
            me: Me {
                login: &self.user.login,
                global: self.actor.is_global(),
            },
            section,
            page,
        };
        render_with_csrf(state, jar, self.locale, template, chrome)
    }

    fn admin<'a>(&'a self, state: &'a AppState) -> crate::service::admin::Admin<'a> {
        crate::service::admin::Admin::new(&state.core, &self.actor)
    }
}

/// A console answer that is not the page asked for: an error page in the person's language.
pub struct Fail(Box<Response>);

impl IntoResponse for Fail {
    fn into_response(self) -> Response {
        *self.0
    }
}

impl From<PageError> for Fail {
    fn from(e: PageError) -> Fail {
        Fail(Box::new(e.into_response()))
    }
}

type Answer = Result<Response, Fail>;

/// An administration error as a page: not found (within the reach: another establishment's
/// person is not found either) 404, beyond the reach 403, refused input 400 (a clash with
/// what exists, 409) with the reason,
/// a backend 503/500 as elsewhere.
fn fail(state: &AppState, locale: Locale, e: AdminError) -> Fail {
    match e {
        AdminError::NotFound(_) => {
            PageError::new(StatusCode::NOT_FOUND, "admin_not_found", locale).into()
        }
        AdminError::Forbidden(_) => {
            PageError::new(StatusCode::FORBIDDEN, "admin_beyond_reach", locale).into()
        }
        AdminError::Invalid(reason) => refused(state, locale, StatusCode::BAD_REQUEST, &reason),
        AdminError::Conflict(reason) => refused(state, locale, StatusCode::CONFLICT, &reason),
        AdminError::Service(e) => PageError::service(locale, e).into(),
    }
}

/// The page of a refused request, with the service's reason.
fn refused(state: &AppState, locale: Locale, status: StatusCode, reason: &str) -> Fail {
    #[derive(Serialize)]
    struct Invalid<'a> {
        reason: &'a str,
    }
    Fail(Box::new(state.pages.render_status(
        status,
        locale,
        "admin/invalid.html",
        &Invalid { reason },
    )))
}

trait OrFail<T> {
    fn or_fail(self, state: &AppState, locale: Locale) -> Result<T, Fail>;
}

impl<T> OrFail<T> for Result<T, AdminError> {
    fn or_fail(self, state: &AppState, locale: Locale) -> Result<T, Fail> {
        self.map_err(|e| fail(state, locale, e))
    }
}

/// 303 to a console page (under the issuer's path) after a form.
fn back_to(state: &AppState, path: &str) -> Response {
    see_other(&format!("{}{path}", state.core.urls.base_path))
}

/// The notice a page shows after an action, from its `done` parameter: only the keys listed
/// here (a link cannot make the page say anything else).
fn done_notice(done: Option<&str>) -> Option<&'static str> {
    const DONE: &[(&str, &str)] = &[
        ("disabled", "admin_done_disabled"),
        ("enabled", "admin_done_enabled"),
        ("unlocked", "admin_done_unlocked"),
        ("mfa_reset", "admin_done_mfa_reset"),
        ("password_change", "admin_done_password_change"),
        ("identifier_removed", "admin_done_identifier_removed"),
        ("identifier_added", "admin_done_identifier_added"),
        ("membership_revoked", "admin_done_membership_revoked"),
        ("membership_granted", "admin_done_membership_granted"),
        ("deleted", "admin_done_deleted"),
        ("created", "admin_done_created"),
        ("updated", "admin_done_updated"),
        ("administrator_added", "admin_done_administrator_added"),
        ("administrator_removed", "admin_done_administrator_removed"),
        ("invited", "admin_done_invited"),
        ("resent", "admin_done_resent"),
        ("revoked", "admin_done_revoked"),
    ];
    let done = done?;
    DONE.iter().find(|(d, _)| *d == done).map(|(_, key)| *key)
}

/// Previous and next links of a paginated list.
#[derive(Serialize, Default)]
struct Pager {
    /// 1-based, as shown.
    number: u32,
    prev: Option<String>,
    next: Option<String>,
}

impl Pager {
    /// The links of page `page` (0-based) of `path`, whose other parameters are `params`.
    fn of(path: &str, params: &[(&str, &str)], page: u32, has_next: bool) -> Pager {
        let link = |p: u32| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            for (k, v) in params {
                if !v.is_empty() {
                    q.append_pair(k, v);
                }
            }
            if p > 0 {
                q.append_pair("page", &p.to_string());
            }
            let q = q.finish();
            if q.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{q}")
            }
        };
        Pager {
            number: page + 1,
            prev: (page > 0).then(|| link(page - 1)),
            next: has_next.then(|| link(page + 1)),
        }
    }
}

/// A page number from the query: absent or not a number is the first page.
fn page_number(raw: Option<&str>) -> u32 {
    raw.and_then(|p| p.parse().ok()).unwrap_or(0).min(100_000)
}

/// `GET /admin`: who is signed in and what they administer.
async fn home_get(State(state): State<AppState>, jar: CookieJar, s: AdminSession) -> Answer {
    #[derive(Serialize)]
    struct Home {
        establishments: Vec<(String, String)>,
    }
    let establishments = if s.actor.is_global() {
        Vec::new()
    } else {
        s.admin(&state)
            .establishments()
            .await
            .or_fail(&state, s.locale)?
            .into_iter()
            .map(|e| (e.code, e.name))
            .collect()
    };
    Ok(s.render(
        &state,
        jar,
        "home",
        "admin/home.html",
        Home { establishments },
    ))
}
