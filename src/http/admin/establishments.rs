//! The console's establishments: the list (those the administrator administers), creating
//! one (global administrators), an establishment's page with its name and rights, its members,
//! and the forms that grant and revoke memberships.

use axum::extract::{Path, RawQuery, State};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::{AdminSession, Answer, OrFail, Pager, back_to, done_notice, page_number};
use crate::domain::establishment::Establishment;
use crate::http::extract::CsrfForm;
use crate::http::state::AppState;
use crate::http::{param, parse_pairs};

/// Establishments and members a page.
const PER_PAGE: usize = 50;

/// Rights typed in one field, separated by spaces, commas or line breaks.
pub(super) fn rights_field(pairs: &[(String, String)], name: &str) -> Vec<String> {
    crate::http::param(pairs, name)
        .unwrap_or("")
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Page `page` of `all`, and whether another follows.
fn slice<T>(all: Vec<T>, page: u32) -> (Vec<T>, bool) {
    let start = usize::try_from(page)
        .unwrap_or(usize::MAX)
        .saturating_mul(PER_PAGE);
    let more = all.len() > start.saturating_add(PER_PAGE);
    (all.into_iter().skip(start).take(PER_PAGE).collect(), more)
}

/// `GET /admin/establishments?page=`.
pub async fn list_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        establishments: Vec<Establishment>,
        pager: Pager,
    }
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let page = page_number(param(&pairs, "page"));
    let all = s
        .admin(&state)
        .establishments()
        .await
        .or_fail(&state, s.locale)?;
    let (establishments, more) = slice(all, page);
    let base = format!("{}/admin/establishments", state.core.urls.base_path);
    Ok(s.render(
        &state,
        jar,
        "establishments",
        "admin/establishments.html",
        Page {
            establishments,
            pager: Pager::of(&base, &[], page, more),
        },
    ))
}

/// `GET /admin/establishments/new`: the creation form (global administrators).
pub async fn new_get(State(state): State<AppState>, jar: CookieJar, s: AdminSession) -> Answer {
    s.admin(&state).check_global().or_fail(&state, s.locale)?;
    Ok(s.render(
        &state,
        jar,
        "establishments",
        "admin/establishment_new.html",
        (),
    ))
}

/// `POST /admin/establishments` (`code`, `name`, `rights`).
pub async fn create_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let e = s
        .admin(&state)
        .create_establishment(
            form.get("code").unwrap_or("").trim(),
            form.get("name").unwrap_or(""),
            &rights_field(&form.0, "rights"),
            state.core.now(),
        )
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/establishments/{}?done=created", e.code),
    ))
}

/// `GET /admin/establishments/{code}?page=`: name and rights (to edit), a page of members
/// (to revoke), the form that grants a membership.
pub async fn show_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    Path(code): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Member {
        id: String,
        login: String,
        rights: Vec<String>,
    }
    #[derive(Serialize)]
    struct Page {
        establishment: Establishment,
        members: Vec<Member>,
        pager: Pager,
        notice: Option<&'static str>,
    }
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let page = page_number(param(&pairs, "page"));
    let (establishment, members) = s
        .admin(&state)
        .members(&code)
        .await
        .or_fail(&state, s.locale)?;
    let (members, more) = slice(members, page);
    let base = format!(
        "{}/admin/establishments/{}",
        state.core.urls.base_path, establishment.code
    );
    Ok(s.render(
        &state,
        jar,
        "establishments",
        "admin/establishment.html",
        Page {
            establishment,
            members: members
                .into_iter()
                .map(|(id, login, rights)| Member { id, login, rights })
                .collect(),
            pager: Pager::of(&base, &[], page, more),
            notice: done_notice(param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/establishments/{code}` (`name`, `rights`): renames it and replaces its
/// rights (members lose those no longer defined).
pub async fn update_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let rights = rights_field(&form.0, "rights");
    let e = s
        .admin(&state)
        .update_establishment(&code, form.get("name"), Some(&rights), state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/establishments/{}?done=updated", e.code),
    ))
}

/// `POST /admin/establishments/{code}/members` (`login`, `right` repeated, `admin`): makes
/// someone a member with these rights (an existing membership gets them instead of its own).
pub async fn grant_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin
        .find_user(form.get("login").unwrap_or(""))
        .await
        .or_fail(&state, s.locale)?;
    let rights: Vec<String> = form
        .0
        .iter()
        .filter(|(k, _)| k == "right")
        .map(|(_, v)| v.clone())
        .collect();
    let is_admin = form.get("admin") == Some("true");
    let m = admin
        .grant(&user, &code, &rights, is_admin, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/establishments/{}?done=membership_granted", m.code),
    ))
}

/// `POST /admin/establishments/{code}/members/revoke` (`user`: the member's id).
pub async fn revoke_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(code): Path<String>,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    let user = admin
        .find_user_by_id(form.get("user").unwrap_or(""))
        .await
        .or_fail(&state, s.locale)?;
    let e = admin.establishment(&code).await.or_fail(&state, s.locale)?;
    admin
        .revoke(&user, &e.code, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        &format!("/admin/establishments/{}?done=membership_revoked", e.code),
    ))
}
