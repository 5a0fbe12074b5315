//! The console's users: a search, a user's page (account, factors, memberships) and its
//! actions, each a form with its CSRF token that comes back to the user's page with a notice.
//! A user beyond the administrator's reach is "not found", whether they exist or not.

use axum::extract::{Path, RawQuery, State};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{AdminSession, Answer, OrFail, Pager, back_to, done_notice, page_number};
use crate::domain::establishment::Membership;
use crate::domain::user::{NewUser, User, normalize_identifier};
use crate::http::extract::CsrfForm;
use crate::http::state::AppState;
use crate::http::{param, parse_pairs};
use crate::service::admin_users::ProfileChanges;

/// What `search_users` returns a page of.
const PER_PAGE: usize = 100;

/// Back to the user's page with the notice `done`.
fn done(state: &AppState, user: &User, done: &str) -> axum::response::Response {
    back_to(state, &format!("/admin/users/{}?done={done}", user.id))
}

/// `GET /admin/users?q=&page=`: the search box and a page of the users it finds (everyone,
/// in the reach, for an empty search).
pub async fn list_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        query: String,
        users: Vec<serde_json::Value>,
        pager: Pager,
        notice: Option<&'static str>,
    }
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let q = param(&pairs, "q").unwrap_or("").trim().to_owned();
    let page = page_number(param(&pairs, "page"));
    let users = s
        .admin(&state)
        .search_users(&q, page)
        .await
        .or_fail(&state, s.locale)?;
    let base = format!("{}/admin/users", state.core.urls.base_path);
    let pager = Pager::of(&base, &[("q", &q)], page, users.len() == PER_PAGE);
    Ok(s.render(
        &state,
        jar,
        "users",
        "admin/users.html",
        Page {
            query: q,
            users,
            pager,
            notice: done_notice(param(&pairs, "done")),
        },
    ))
}

/// `GET /admin/users/{id}`: the account, its factors, its memberships (those in the reach)
/// and the actions.
pub async fn show_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        user: serde_json::Value,
        /// The profile, for its form.
        profile: User,
        /// Identifiers other than the login (those may be removed).
        identifiers: Vec<String>,
        memberships: Vec<Membership>,
        is_self: bool,
        notice: Option<&'static str>,
    }
    let admin = s.admin(&state);
    let l = s.locale;
    let user = admin.find_user_by_id(&id).await.or_fail(&state, l)?;
    let shown = admin
        .show_user(&user, state.core.now())
        .await
        .or_fail(&state, l)?;
    let login = normalize_identifier(&user.login);
    let identifiers = shown["identifiers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .filter(|v| *v != login)
        .map(str::to_owned)
        .collect();
    let memberships = admin.memberships(&user).await.or_fail(&state, l)?;
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    Ok(s.render(
        &state,
        jar,
        "users",
        "admin/user.html",
        Page {
            user: shown,
            profile: user.clone(),
            identifiers,
            memberships,
            is_self: user.id == s.user.id,
            notice: done_notice(param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/users/{id}/disabled` (`disabled=true|false`): disables (sessions and grants
/// end) or enables the user.
pub async fn disabled_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    let disabled = form.get("disabled") == Some("true");
    admin
        .set_user_disabled(&user, disabled, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(
        &state,
        &user,
        if disabled { "disabled" } else { "enabled" },
    ))
}

/// `POST /admin/users/{id}/unlock`: lifts a lockout.
pub async fn unlock_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .unlock(&user, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "unlocked"))
}

/// `POST /admin/users/{id}/mfa-reset`: removes every second factor (a lost phone).
pub async fn mfa_reset_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .mfa_reset(&user, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "mfa_reset"))
}

/// `POST /admin/users/{id}/password-change`: the next sign-in asks for a new password.
pub async fn password_change_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .require_password_change(&user, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "password_change"))
}

/// `POST /admin/users/{id}/identifiers/remove` (`identifier`): removes an identifier other
/// than the login.
pub async fn identifier_remove_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .remove_identifier(
            &user,
            form.get("identifier").unwrap_or(""),
            state.core.now(),
        )
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "identifier_removed"))
}

/// `POST /admin/users/{id}/memberships/revoke` (`establishment`: its code).
pub async fn membership_revoke_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .revoke(
            &user,
            form.get("establishment").unwrap_or(""),
            state.core.now(),
        )
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "membership_revoked"))
}

/// `GET /admin/users/{id}/delete`: the confirmation step.
pub async fn delete_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(id): Path<String>,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        id: String,
        login: String,
        name: Option<String>,
    }
    let user = s
        .admin(&state)
        .find_user_by_id(&id)
        .await
        .or_fail(&state, s.locale)?;
    Ok(s.render(
        &state,
        jar,
        "users",
        "admin/user_delete.html",
        Page {
            id: user.id,
            login: user.login,
            name: user.name,
        },
    ))
}

/// `POST /admin/users/{id}/delete`: deletes the user for good (the audit trail stays).
pub async fn delete_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .delete_user(&user, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/users?done=deleted"))
}

/// `GET /admin/users/new`: the account form (no password: the person activates their account
/// or is invited); an establishment administrator places the person in one of theirs.
pub async fn new_get(State(state): State<AppState>, jar: CookieJar, s: AdminSession) -> Answer {
    #[derive(Serialize)]
    struct Page {
        establishments: Vec<(String, String)>,
    }
    let establishments = s
        .admin(&state)
        .establishments()
        .await
        .or_fail(&state, s.locale)?
        .into_iter()
        .map(|e| (e.code, e.name))
        .collect();
    Ok(s.render(
        &state,
        jar,
        "users",
        "admin/user_new.html",
        Page { establishments },
    ))
}

/// `POST /admin/users` (`login`, `given_name`, `family_name`, `email`, `category`,
/// `establishment`, `rights`): creates the account, then its page.
pub async fn create_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let text = |n: &str| {
        form.get(n)
            .map(str::to_owned)
            .filter(|v| !v.trim().is_empty())
    };
    let new = NewUser {
        login: form.get("login").unwrap_or("").to_owned(),
        email: text("email"),
        given_name: text("given_name"),
        family_name: text("family_name"),
        category: text("category"),
        ..NewUser::default()
    };
    let rights = super::establishments::rights_field(&form.0, "rights");
    let code = form.get("establishment").unwrap_or("").trim();
    let membership = (!code.is_empty()).then_some((code, rights.as_slice()));
    let user = s
        .admin(&state)
        .create_user(new, membership, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "created"))
}

/// `POST /admin/users/{id}/profile`: the profile's fields as posted (an emptied field is
/// cleared; a field not in the form stays).
pub async fn profile_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    let posted = |n: &str| {
        form.get(n)
            .map(|v| Some(v.trim().to_owned()).filter(|v| !v.is_empty()))
    };
    let changes = ProfileChanges {
        name: posted("name"),
        given_name: posted("given_name"),
        family_name: posted("family_name"),
        email: posted("email"),
        email_verified: None,
        phone_number: posted("phone_number"),
        category: posted("category"),
        locale: None,
    };
    admin
        .update_profile(&user, &changes, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "updated"))
}

/// `POST /admin/users/{id}/identifiers` (`identifier`): another identifier that signs in.
pub async fn identifier_add_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin.find_user_by_id(&id).await.or_fail(&state, s.locale)?;
    admin
        .add_identifier(
            &user,
            form.get("identifier").unwrap_or(""),
            state.core.now(),
        )
        .await
        .or_fail(&state, s.locale)?;
    Ok(done(&state, &user, "identifier_added"))
}
