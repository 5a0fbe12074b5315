//! `/recover` (a forgotten password, recovered with personal data and the security question,
//! in four stages: `/recover`, `/recover/answer`, `/recover/password`, done) and
//! `/account/security-question` (setting that question). Each handler translates: the
//! services in `service::recovery` decide.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::through_login;
use super::views::{PasswordRules, render_with_csrf};
use crate::domain::password_policy::Violation;
use crate::domain::self_service::SelfService;
use crate::http::error::{OrPage, PageError};
use crate::http::extract::{CsrfForm, CurrentSession, PageLocale};
use crate::http::i18n::{Locale, lookup};
use crate::http::state::AppState;
use crate::http::{ClientIp, see_other};
use crate::service::recovery::{self, Answered, Finished, QuestionSet, Started};
use crate::service::session::Lookup;

/// A kind of personal number as the `<select>` shows it.
#[derive(Serialize)]
struct KindOption {
    value: String,
    label: String,
}

/// The configured kinds, labelled in the page's language (an unknown kind by its name).
fn kinds(state: &AppState, locale: Locale) -> Vec<KindOption> {
    state
        .core
        .policy
        .personal_number_kinds
        .iter()
        .map(|k| KindOption {
            value: k.clone(),
            label: lookup(locale, &format!("recover_kind_{k}"))
                .map_or_else(|| k.clone(), str::to_owned),
        })
        .collect()
}

/// What stage 1 shows again.
#[derive(Default)]
struct Typed<'a> {
    kind: &'a str,
    identifier: &'a str,
    birth_date: &'a str,
}

/// Stage 1 (25 %): the form, with the refusal or a notice on top.
fn details_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    typed: Typed<'_>,
    refused: bool,
    notice: Option<&'static str>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        step: u8,
        open: bool,
        refused: bool,
        notice: Option<&'static str>,
        kinds: Vec<KindOption>,
        kind: &'a str,
        identifier: &'a str,
        birth_date: &'a str,
    }
    // Nobody may recover here: the help desk only.
    let open = state
        .core
        .policy
        .self_service
        .allows(None, SelfService::Recover);
    render_with_csrf(
        state,
        jar,
        locale,
        "account/recover_details.html",
        Page {
            step: 1,
            open,
            refused: refused || !open,
            notice,
            kinds: kinds(state, locale),
            kind: echo(typed.kind),
            identifier: echo(typed.identifier),
            birth_date: echo(typed.birth_date),
        },
    )
}

/// What was typed, shown again unless too long to be real.
fn echo(s: &str) -> &str {
    if s.len() > 255 { "" } else { s }
}

/// Too many attempts: the page with a notice, 429 and `Retry-After`.
fn locked(mut page: Response, wait: i64) -> Response {
    *page.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(v) = HeaderValue::from_str(&wait.max(1).to_string()) {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    page
}

/// An unknown, used or expired recovery: stage 1 again with the reason, 400.
fn expired(state: &AppState, jar: CookieJar, locale: Locale) -> Response {
    let mut page = details_page(
        state,
        jar,
        locale,
        Typed::default(),
        false,
        Some("recover_expired"),
    );
    *page.status_mut() = StatusCode::BAD_REQUEST;
    page
}

/// Stage 2 (50 %): the question.
fn question_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    recovery: &str,
    question: &str,
    notice: Option<&'static str>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        step: u8,
        recovery: &'a str,
        question: &'a str,
        notice: Option<&'static str>,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/recover_question.html",
        Page {
            step: 2,
            recovery,
            question,
            notice,
        },
    )
}

/// Stage 3 (75 %): the new password and the house rules.
fn password_page(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    recovery: &str,
    login: &str,
    notice: Option<&'static str>,
    violations: &[Violation],
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        step: u8,
        recovery: &'a str,
        login: &'a str,
        notice: Option<&'static str>,
        violation_keys: Vec<&'static str>,
        rules: PasswordRules,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/recover_password.html",
        Page {
            step: 3,
            recovery,
            login,
            notice,
            violation_keys: violations.iter().map(|v| v.key()).collect(),
            rules: PasswordRules::of(&state.core.policy.password),
        },
    )
}

/// `GET /recover`.
pub async fn recover_get(
    State(state): State<AppState>,
    jar: CookieJar,
    PageLocale(locale): PageLocale,
) -> Response {
    details_page(&state, jar, locale, Typed::default(), false, None)
}

/// `POST /recover`: `identifier_kind`, `identifier`, `birth_date` (YYYY-MM-DD).
pub async fn recover_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let typed = Typed {
        kind: form.get("identifier_kind").unwrap_or("").trim(),
        identifier: form.get("identifier").unwrap_or("").trim(),
        birth_date: form.get("birth_date").unwrap_or("").trim(),
    };
    if !core.policy.self_service.allows(None, SelfService::Recover) {
        return Ok(details_page(&state, jar, locale, typed, true, None));
    }
    let outcome = recovery::start(
        core,
        typed.kind,
        typed.identifier,
        typed.birth_date,
        ip.0,
        core.now(),
    )
    .await
    .page(locale)?;
    Ok(match outcome {
        Started::Question { recovery, question } => {
            question_page(&state, jar, locale, &recovery, &question, None)
        }
        Started::NotHere => details_page(&state, jar, locale, typed, true, None),
        Started::Locked(wait) => locked(
            details_page(&state, jar, locale, typed, false, Some("recover_locked")),
            wait,
        ),
    })
}

/// `POST /recover/answer`: `recovery`, `answer`.
pub async fn answer_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let outcome = recovery::answer(
        core,
        form.get("recovery").unwrap_or(""),
        form.get("answer").unwrap_or(""),
        ip.0,
        core.now(),
    )
    .await
    .page(locale)?;
    Ok(match outcome {
        Answered::Password { recovery, login } => {
            password_page(&state, jar, locale, &recovery, &login, None, &[])
        }
        Answered::Wrong { recovery, question } => question_page(
            &state,
            jar,
            locale,
            &recovery,
            &question,
            Some("recover_wrong_answer"),
        ),
        Answered::Locked(wait) => locked(
            details_page(
                &state,
                jar,
                locale,
                Typed::default(),
                false,
                Some("recover_locked"),
            ),
            wait,
        ),
        Answered::Expired => expired(&state, jar, locale),
    })
}

/// `POST /recover/password`: `recovery`, `new_password`, `confirm_password`, `accept`.
pub async fn password_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let core = &state.core;
    let outcome = recovery::finish(
        core,
        form.get("recovery").unwrap_or(""),
        form.get("new_password").unwrap_or("").to_owned(),
        form.get("confirm_password").unwrap_or(""),
        form.get("accept").is_some_and(|v| !v.is_empty()),
        locale.tag(),
        ip.0,
        core.now(),
    )
    .await
    .page(locale)?;
    Ok(match outcome {
        Finished::Done { login } => {
            #[derive(Serialize)]
            struct Done<'a> {
                step: u8,
                login: &'a str,
            }
            state.pages.render(
                locale,
                "account/recover_done.html",
                &Done {
                    step: 4,
                    login: &login,
                },
            )
        }
        Finished::Again {
            recovery,
            login,
            notice,
            violations,
        } => password_page(
            &state,
            jar,
            locale,
            &recovery,
            &login,
            Some(notice),
            &violations,
        ),
        Finished::Expired => expired(&state, jar, locale),
    })
}

/// The security question form of the account page.
fn question_form(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    question: &str,
    notice: Option<&'static str>,
) -> Response {
    #[derive(Serialize)]
    struct Page<'a> {
        question: &'a str,
        notice: Option<&'static str>,
    }
    render_with_csrf(
        state,
        jar,
        locale,
        "account/security_question.html",
        Page { question, notice },
    )
}

/// `GET /account/security-question`: the form, with the current question.
pub async fn question_get(
    State(state): State<AppState>,
    jar: CookieJar,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
) -> Result<Response, PageError> {
    let current = match current.lookup {
        Lookup::Valid(c) => *c,
        other => return Ok(through_login(&state, jar, &other)),
    };
    let question = recovery::question_of(&state.core, &current.user.id)
        .await
        .page(locale)?;
    Ok(question_form(
        &state,
        jar,
        locale,
        question.as_deref().unwrap_or(""),
        None,
    ))
}

/// `POST /account/security-question`: `password` (the current one), `question`, `answer`.
pub async fn question_post(
    State(state): State<AppState>,
    jar: CookieJar,
    ip: ClientIp,
    current: CurrentSession,
    PageLocale(locale): PageLocale,
    CsrfForm(form): CsrfForm,
) -> Result<Response, PageError> {
    let current = match current.lookup {
        Lookup::Valid(c) => *c,
        other => return Ok(through_login(&state, jar, &other)),
    };
    let core = &state.core;
    let question = form.get("question").unwrap_or("");
    let outcome = recovery::set_question(
        core,
        &current.user,
        form.get("password").unwrap_or("").to_owned(),
        question,
        form.get("answer").unwrap_or(""),
        ip.0,
        core.now(),
    )
    .await
    .page(locale)?;
    let notice = match outcome {
        QuestionSet::Done => {
            return Ok(see_other(&format!(
                "{}/account?changed=question",
                core.urls.base_path
            )));
        }
        QuestionSet::WrongPassword => "account_wrong_password",
        QuestionSet::Locked(_) => "login_locked",
        QuestionSet::Invalid => "question_invalid",
    };
    let echo = if question.chars().count() > recovery::MAX_QUESTION {
        ""
    } else {
        question
    };
    Ok(question_form(&state, jar, locale, echo, Some(notice)))
}
