//! `/invitation/{token}`: an invitation's link. The page shows the invitation and decides:
//! a new person creates their account here (`POST /invitation/{token}`); the owner of an
//! account with the invited address signs in (`/invitation/{token}/login`, a sign-in that
//! comes back here) and accepts (`POST /invitation/{token}/accept`). Used, revoked, expired
//! and unknown links get one page. `service::invitations` decides; this only translates.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::views::{LoginView, PasswordRules, login_page, render_with_csrf};
use crate::domain::invitation::Invitation;
use crate::domain::password_policy::Violation;
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{removal_cookie, see_other, session_cookie_name};
use crate::service::authn::{self, Continuation, Display, Flow, Requirements};
use crate::service::invitations::{self, Accepted, Created, NewAccount};
use crate::service::session::Lookup;

fn invalid(locale: Locale) -> PageError {
    PageError::new(StatusCode::BAD_REQUEST, "invitation_invalid", locale)
}

/// What the invitation page shows below the invitation.
#[derive(Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Mode {
    /// The account form (a new person, or the set-up link).
    New,
    /// The address has an account; nobody is signed in.
    SignIn,
    /// Signed in as the address's account: the accept button.
    Accept,
    /// Signed in as another account.
    OtherAccount,
}

/// What the page shows below the invitation: the mode, the signed-in login or the account
/// form's fields shown again, and why.
struct Typed<'a> {
    mode: Mode,
    /// The signed-in login, or the login typed in the form.
    login: &'a str,
    given_name: Option<&'a str>,
    family_name: Option<&'a str>,
    email: Option<&'a str>,
    notice: Option<&'static str>,
    violations: &'a [Violation],
}

impl<'a> Typed<'a> {
    fn shown(mode: Mode, login: &'a str) -> Typed<'a> {
        Typed {
            mode,
            login,
            given_name: None,
            family_name: None,
            email: None,
            notice: None,
            violations: &[],
        }
    }
}

fn page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    token: &str,
    i: &Invitation,
    typed: Typed<'_>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        token: &'a str,
        setup: bool,
        establishment: &'a str,
        rights: &'a [String],
        admin: bool,
        mode: Mode,
        /// The signed-in login, or the login typed in the form.
        login: &'a str,
        email: &'a str,
        given_name: &'a str,
        family_name: &'a str,
        notice: Option<&'static str>,
        violation_keys: Vec<&'static str>,
        rules: PasswordRules,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/invitation.html",
        Page {
            token,
            setup: i.is_setup(),
            establishment: i
                .establishment_name
                .as_deref()
                .or(i.establishment_code.as_deref())
                .unwrap_or_default(),
            rights: &i.rights,
            admin: i.admin,
            mode: typed.mode,
            login: typed.login,
            email: typed.email.or(i.email.as_deref()).unwrap_or_default(),
            given_name: typed
                .given_name
                .or(i.given_name.as_deref())
                .unwrap_or_default(),
            family_name: typed
                .family_name
                .or(i.family_name.as_deref())
                .unwrap_or_default(),
            notice: typed.notice,
            violation_keys: typed.violations.iter().map(|v| v.key()).collect(),
            rules: PasswordRules::of(&state.core.policy.password),
        },
    )
}

/// `GET /invitation/{token}`.
pub async fn invitation_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let core = &state.core;
    let i = invitations::pending(core, &token, core.now())
        .await
        .page(locale)?
        .ok_or_else(|| invalid(locale))?;
    let owner = invitations::owner(core, &i).await.page(locale)?;
    let jar = match &current.lookup {
        Lookup::Ended => jar.add(removal_cookie(&state, session_cookie_name(&state))),
        _ => jar,
    };
    let (mode, login) = match (owner, &current.lookup) {
        (None, _) => (Mode::New, String::new()),
        (Some(o), Lookup::Valid(c)) if c.user.id == o.id => (Mode::Accept, c.user.login.clone()),
        (Some(_), Lookup::Valid(c)) => (Mode::OtherAccount, c.user.login.clone()),
        (Some(_), _) => (Mode::SignIn, String::new()),
    };
    Ok(page(
        &state,
        jar,
        locale,
        &token,
        &i,
        Typed::shown(mode, &login),
    ))
}

/// `GET /invitation/{token}/login`: the sign-in form, for the address's account only, coming
/// back to the invitation.
pub async fn invitation_login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let i = invitations::pending(core, &token, now)
        .await
        .page(locale)?
        .ok_or_else(|| invalid(locale))?;
    let owner = invitations::owner(core, &i)
        .await
        .page(locale)?
        .ok_or_else(|| invalid(locale))?;
    let flow = Flow::start(
        Continuation::Invitation(token),
        Requirements {
            user: Some(owner.id),
            mfa: false,
        },
        Display {
            ui_locales: Some(locale.tag().to_owned()),
            ..Display::default()
        },
        now,
    );
    let sealed = authn::seal(core, &flow).page(locale)?;
    Ok(login_page(
        &state,
        jar,
        locale,
        LoginView {
            flow: &sealed,
            client_name: None,
            username: i.email.as_deref().unwrap_or_default(),
            notice: None,
        },
    ))
}

/// `POST /invitation/{token}`: `login`, `new_password`, `confirm_password`, `given_name`,
/// `family_name` (and `email` for a set-up link): the new account.
pub async fn invitation_post(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
    Path(token): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let login = form.get("login").unwrap_or("");
    let given_name = form.get("given_name").unwrap_or("");
    let family_name = form.get("family_name").unwrap_or("");
    let email = form.get("email").unwrap_or("");
    let outcome = invitations::create_account(
        core,
        &token,
        NewAccount {
            login,
            password: form.get("new_password").unwrap_or("").to_owned(),
            confirm: form.get("confirm_password").unwrap_or(""),
            given_name,
            family_name,
            email,
        },
        now,
    )
    .await
    .page(locale)?;
    let mut violations = Vec::new();
    let notice = match outcome {
        Created::Done { login } => {
            #[derive(Serialize)]
            struct Done<'a> {
                created: bool,
                login: &'a str,
            }
            let done = Done {
                created: true,
                login: &login,
            };
            return Ok(state
                .pages
                .render(locale, "account/invitation_done.html", &done));
        }
        Created::Gone => return Err(invalid(locale)),
        // The address has become an account's: the page now says to sign in.
        Created::AccountExists => None,
        Created::Invalid(key) => Some(key),
        Created::Mismatch => Some("pw_mismatch"),
        Created::Refused(v) => {
            violations = v;
            Some("pw_refused")
        }
    };
    let i = invitations::pending(core, &token, now)
        .await
        .page(locale)?
        .ok_or_else(|| invalid(locale))?;
    let Some(notice) = notice else {
        return Ok(page(
            &state,
            jar,
            locale,
            &token,
            &i,
            Typed::shown(Mode::SignIn, ""),
        ));
    };
    let typed = Typed {
        mode: Mode::New,
        login: if login.len() > 256 { "" } else { login },
        given_name: Some(given_name),
        family_name: Some(family_name),
        email: Some(email).filter(|_| i.is_setup()),
        notice: Some(notice),
        violations: &violations,
    };
    Ok(page(&state, jar, locale, &token, &i, typed))
}

/// `POST /invitation/{token}/accept`: the signed-in owner of the invited address takes the
/// membership; anyone else is refused and nothing is given.
pub async fn invitation_accept_post(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    Path(token): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let current = match current.lookup {
        Lookup::Valid(c) => *c,
        other => {
            let jar = match other {
                Lookup::Ended => jar.add(removal_cookie(&state, session_cookie_name(&state))),
                _ => jar,
            };
            let to = format!("{}/invitation/{token}/login", core.urls.base_path);
            return Ok((jar, see_other(&to)).into_response());
        }
    };
    let i = invitations::pending(core, &token, now)
        .await
        .page(locale)?
        .ok_or_else(|| invalid(locale))?;
    match invitations::accept(core, &token, &current.user, now)
        .await
        .page(locale)?
    {
        Accepted::Done => {
            #[derive(Serialize)]
            struct Done<'a> {
                created: bool,
                establishment: &'a str,
            }
            let done = Done {
                created: false,
                establishment: i
                    .establishment_name
                    .as_deref()
                    .or(i.establishment_code.as_deref())
                    .unwrap_or_default(),
            };
            Ok(state
                .pages
                .render(locale, "account/invitation_done.html", &done))
        }
        Accepted::Gone => Err(invalid(locale)),
        Accepted::WrongAccount => Err(PageError::new(
            StatusCode::FORBIDDEN,
            "invitation_wrong_account",
            locale,
        )),
    }
}
