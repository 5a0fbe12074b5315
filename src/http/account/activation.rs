//! `/activate` (the eight steps of an account's activation), `/activate/verify` and
//! `/activate/redirect` (the mailed links). Each handler translates: `service::activation`
//! decides, keeps the state and counts the failures.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::{Deserialize, Serialize};

use super::views::{PasswordRules, render_with_csrf};
use crate::domain::password_policy::Violation;
use crate::http::ClientIp;
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, PageLocale};
use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::service::activation::{self, CharterText, Input, Outcome, STEPS, Step, View};

/// The longest identifier echoed back to step 2.
const MAX_IDENTIFIER: usize = 256;

/// Every step's page: the view, plus what the step's template needs.
#[derive(Serialize)]
struct Page<'a> {
    #[serde(flatten)]
    view: &'a View,
    steps: u8,
    notice: Option<&'static str>,
    violation_keys: Vec<&'static str>,
    rules: PasswordRules,
    charter: Option<&'a CharterText>,
}

fn template(step: Step) -> &'static str {
    match step {
        Step::Identifier => "account/activate_identifier.html",
        Step::TemporaryPassword => "account/activate_password.html",
        Step::Backup => "account/activate_backup.html",
        Step::BackupMailed | Step::RedirectMailed => "account/activate_mailed.html",
        Step::Charter => "account/activate_charter.html",
        Step::Redirect => "account/activate_redirect.html",
        Step::NewPassword => "account/activate_new_password.html",
        Step::Done => "account/activate_done.html",
    }
}

fn step_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    view: &View,
    notice: Option<&'static str>,
    violations: &[Violation],
) -> Response {
    let charter = (view.step == Step::Charter)
        .then(|| state.core.policy.activation.charter.text(locale.tag()));
    render_with_csrf(
        state,
        jar,
        locale,
        template(view.step),
        Page {
            view,
            steps: STEPS,
            notice,
            violation_keys: violations.iter().map(|v| v.key()).collect(),
            rules: PasswordRules::of(&state.core.policy.password),
            charter,
        },
    )
}

/// Steps 1 and 2, before any state exists: the identifier travels in the page.
fn first_steps(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    step: Step,
    username: &str,
    notice: Option<&'static str>,
) -> Response {
    let username = if username.len() > MAX_IDENTIFIER {
        ""
    } else {
        username
    };
    let view = View {
        id: String::new(),
        step,
        number: step.number(),
        login: username.to_owned(),
        email: None,
        backup: None,
        redirect: None,
        valid_until: String::new(),
    };
    step_page(state, jar, locale, &view, notice, &[])
}

/// The page for a category that may not activate on its own: the help desk does it.
fn denied_page(state: &AppState, locale: Locale) -> Response {
    #[derive(Serialize)]
    struct Denied {}
    state.pages.render_status(
        StatusCode::FORBIDDEN,
        locale,
        "account/activate_denied.html",
        &Denied {},
    )
}

/// Maps a service outcome to its page.
fn answer(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    outcome: Outcome,
    username: &str,
) -> Result<Response, PageError> {
    Ok(match outcome {
        Outcome::Show {
            view,
            notice,
            violations,
        } => step_page(state, jar, locale, &view, notice, &violations),
        Outcome::Failed => first_steps(
            state,
            jar,
            locale,
            Step::Identifier,
            username,
            Some("activate_failed"),
        ),
        Outcome::Locked(_) => first_steps(
            state,
            jar,
            locale,
            Step::Identifier,
            username,
            Some("login_locked"),
        ),
        Outcome::Throttled(wait) => return Err(PageError::throttled(locale, wait)),
        Outcome::Denied => denied_page(state, locale),
        Outcome::Expired => first_steps(
            state,
            jar,
            locale,
            Step::Identifier,
            "",
            Some("activate_expired"),
        ),
        Outcome::OutOfOrder => {
            return Err(PageError::new(
                StatusCode::BAD_REQUEST,
                "activate_out_of_order",
                locale,
            ));
        }
    })
}

/// `GET /activate`: step 1, or the help desk when nobody may activate on their own.
pub async fn activate_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
) -> Response {
    if !activation::open_to_all(&state.core) {
        return denied_page(&state, locale);
    }
    first_steps(&state, jar, locale, Step::Identifier, "", None)
}

/// `POST /activate`: `step` names the step answered; `activation` carries the state from
/// step 3 on. Step 1 (`username`) stores nothing; step 2 adds `password`; then `email`,
/// `accept`, `redirect_email`, `new_password` and `confirm_password`.
pub async fn activate_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let now = core.now();
    let field = |name: &str| form.get(name).unwrap_or("").to_owned();
    let username = field("username").trim().to_owned();
    let input = match form.get("step").unwrap_or("") {
        "1" | "2" if username.is_empty() => {
            return Ok(first_steps(&state, jar, locale, Step::Identifier, "", None));
        }
        "1" => {
            return Ok(first_steps(
                &state,
                jar,
                locale,
                Step::TemporaryPassword,
                &username,
                None,
            ));
        }
        "2" => {
            let outcome =
                activation::start(core, &username, field("password"), locale.tag(), ip.0, now)
                    .await
                    .page(locale)?;
            return answer(&state, jar, locale, outcome, &username);
        }
        "3" => Input::Backup(field("email")),
        "4" => Input::Resend,
        "5" => Input::Charter {
            accept: form.get("accept").is_some_and(|v| !v.is_empty()),
        },
        "6" => Input::Redirect(field("redirect_email")),
        "7" => Input::NewPassword {
            new: field("new_password"),
            confirm: field("confirm_password"),
        },
        _ => return Err(PageError::bad_request(locale)),
    };
    let id = form.get("activation").unwrap_or("");
    let outcome = activation::advance(core, id, input, locale.tag(), ip.0, now)
        .await
        .page(locale)?;
    answer(&state, jar, locale, outcome, "")
}

#[derive(Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /activate/verify?token=…`: the link mailed to the backup address; the activation goes
/// on at step 5 in the browser that opened it.
pub async fn verify_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    follow(state, jar, locale, "verify", q.token.unwrap_or_default()).await
}

/// `GET /activate/redirect?token=…`: the link mailed to the redirection address; the
/// activation goes on at step 7.
pub async fn redirect_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    follow(state, jar, locale, "redirect", q.token.unwrap_or_default()).await
}

async fn follow(
    state: AppState,
    jar: CookieJar,
    locale: Locale,
    kind: &str,
    token: String,
) -> Result<Response, PageError> {
    let core = &state.core;
    let outcome = activation::follow(core, kind, &token, locale.tag(), core.now())
        .await
        .page(locale)?;
    answer(&state, jar, locale, outcome, "")
}
