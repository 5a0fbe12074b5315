//! Sign-in as its own area: the login form and its steps, the consent page, the signed-in
//! page. Any protocol hands sign-in a continuation (`service::authn::Continuation`) and gets
//! control back, with a live session, through `http::resume`. URLs: `/login`, `/consent`, and
//! the account page with its second factors: `/account`, `/account/mfa/totp`,
//! `/account/mfa/sms`, `/account/mfa/remove`, `/account/recovery-codes`, `/account/password`;
//! and the self-service of a forgotten password or login: `/reset`, `/reset/confirm`,
//! `/reset/login`; the activation of a new account: `/activate`, `/activate/verify`,
//! `/activate/redirect`; and recovery with personal data: `/recover`, `/recover/answer`,
//! `/recover/password`, with `/account/security-question`; an invitation's link:
//! `/invitation/{token}` (with `/login` and `/accept`).

pub mod activation;
pub mod consent;
pub mod invitation;
pub mod login;
pub mod manage;
pub mod recovery;
pub mod reset;
pub mod views;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;

use crate::http::state::AppState;
use crate::http::{removal_cookie, see_other, session_cookie_name};
use crate::service::session::Lookup;

/// To sign-in (which comes back to the account page), removing the cookie of a session that
/// has just ended: what every signed-in page answers a visitor without a valid session.
fn through_login(state: &AppState, jar: CookieJar, lookup: &Lookup) -> Response {
    let jar = match lookup {
        Lookup::Ended => jar.add(removal_cookie(state, session_cookie_name(state))),
        _ => jar,
    };
    (
        jar,
        see_other(&format!("{}/login", state.core.urls.base_path)),
    )
        .into_response()
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login::login_get).post(login::login_post))
        .route("/consent", post(consent::consent_post))
        .route("/account", get(manage::account_get))
        .route(
            "/account/mfa/totp",
            get(manage::totp_get).post(manage::totp_post),
        )
        .route(
            "/account/mfa/sms",
            get(manage::sms_get).post(manage::sms_post),
        )
        .route("/account/mfa/remove", post(manage::remove_post))
        .route("/account/recovery-codes", post(manage::recovery_codes_post))
        .route(
            "/account/password",
            get(reset::change_get).post(reset::change_post),
        )
        .route("/reset", get(reset::reset_get).post(reset::reset_post))
        .route(
            "/reset/login",
            get(reset::forgot_login_get).post(reset::forgot_login_post),
        )
        .route(
            "/reset/confirm",
            get(reset::confirm_get).post(reset::confirm_post),
        )
        .route(
            "/activate",
            get(activation::activate_get).post(activation::activate_post),
        )
        .route("/activate/verify", get(activation::verify_get))
        .route("/activate/redirect", get(activation::redirect_get))
        .route(
            "/recover",
            get(recovery::recover_get).post(recovery::recover_post),
        )
        .route("/recover/answer", post(recovery::answer_post))
        .route("/recover/password", post(recovery::password_post))
        .route(
            "/invitation/{token}",
            get(invitation::invitation_get).post(invitation::invitation_post),
        )
        .route(
            "/invitation/{token}/login",
            get(invitation::invitation_login_get),
        )
        .route(
            "/invitation/{token}/accept",
            post(invitation::invitation_accept_post),
        )
        .route(
            "/account/security-question",
            get(recovery::question_get).post(recovery::question_post),
        )
}
