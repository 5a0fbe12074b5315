//! Where a finished sign-in goes: the protocol that handed sign-in its continuation resumes
//! with the new session. Sign-in itself knows no protocol; this is the one place that maps a
//! continuation to its protocol's handler.

use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use crate::http::i18n::Locale;
use crate::http::state::AppState;
use crate::http::{cas, cookie, oidc, see_other, session_cookie_name};
use crate::service::authn::{Continuation, SignedIn};
use crate::service::session::Current;

/// Sets the new session's cookie and hands control back.
pub async fn resume(
    state: &AppState,
    jar: CookieJar,
    locale: Locale,
    signed: SignedIn,
) -> Response {
    let jar = jar.add(cookie(state, session_cookie_name(state), signed.cookie));
    let current = Current {
        session: signed.session,
        user: signed.user,
    };
    let back = signed.continuation.return_to(&state.core.urls);
    match signed.continuation {
        Continuation::Authorize(request) => {
            oidc::authorize::resume(state, jar, locale, &request, current).await
        }
        Continuation::Cas(query) => cas::resume(state, jar, locale, &query, current).await,
        // The console checks the new session itself (second factor, administration).
        Continuation::Account | Continuation::Invitation(_) | Continuation::Admin(_) => {
            (jar, see_other(&back)).into_response()
        }
    }
}
