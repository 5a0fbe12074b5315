//! The console's invitations: the form (name, e-mail, establishment, rights, administrator),
//! the list with each one's status, and the resend and revoke buttons. The mail goes out in
//! the administrator's page language; the page says the same whether or not the address has
//! an account (`service::invitations`).

use axum::extract::{Path, RawQuery, State};
use axum_extra::extract::CookieJar;
use serde::Serialize;

use super::establishments::rights_field;
use super::{AdminSession, Answer, OrFail, Pager, back_to, done_notice, page_number};
use crate::http::extract::CsrfForm;
use crate::http::state::AppState;
use crate::http::{param, parse_pairs};
use crate::service::invitations::{Listed, NewInvitation, PER_PAGE};
use crate::service::mailing::Post;

/// `GET /admin/invitations?establishment=&page=`: the form, then the invitations (of one
/// establishment if asked), newest first.
pub async fn list_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Choice {
        code: String,
        name: String,
        rights: Vec<String>,
    }
    #[derive(Serialize)]
    struct Page {
        establishment: String,
        establishments: Vec<Choice>,
        invitations: Vec<Listed>,
        pager: Pager,
        notice: Option<&'static str>,
    }
    let l = s.locale;
    let admin = s.admin(&state);
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let establishment = param(&pairs, "establishment")
        .unwrap_or("")
        .trim()
        .to_owned();
    let page = page_number(param(&pairs, "page"));
    let invitations = admin
        .invitations(
            Some(establishment.as_str()).filter(|e| !e.is_empty()),
            page,
            state.core.now(),
        )
        .await
        .or_fail(&state, l)?;
    let establishments = admin
        .establishments()
        .await
        .or_fail(&state, l)?
        .into_iter()
        .map(|e| Choice {
            code: e.code,
            name: e.name,
            rights: e.rights,
        })
        .collect();
    let base = format!("{}/admin/invitations", state.core.urls.base_path);
    let more = i64::try_from(invitations.len()).unwrap_or(i64::MAX) == PER_PAGE;
    let pager = Pager::of(&base, &[("establishment", &establishment)], page, more);
    Ok(s.render(
        &state,
        jar,
        "invitations",
        "admin/invitations.html",
        Page {
            establishment,
            establishments,
            invitations,
            pager,
            notice: done_notice(param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/invitations` (`email`, `given_name`, `family_name`, `establishment`,
/// `rights`, `admin`): invites and mails the link.
pub async fn invite_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let rights = rights_field(&form.0, "rights");
    let new = NewInvitation {
        email: form.get("email").unwrap_or(""),
        given_name: form.get("given_name"),
        family_name: form.get("family_name"),
        establishment: form.get("establishment").unwrap_or(""),
        rights: &rights,
        admin: form.get("admin") == Some("true"),
        locale: s.locale.tag(),
    };
    s.admin(&state)
        .invite(&new, &Post::of(&state.core), state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/invitations?done=invited"))
}

/// `POST /admin/invitations/{id}/resend`: a new link, seven days again; the old one dies.
pub async fn resend_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    s.admin(&state)
        .resend(
            &id,
            &Post::of(&state.core),
            s.locale.tag(),
            state.core.now(),
        )
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/invitations?done=resent"))
}

/// `POST /admin/invitations/{id}/revoke`: the link is refused from now on.
pub async fn revoke_post(
    State(state): State<AppState>,
    s: AdminSession,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm,
) -> Answer {
    s.admin(&state)
        .revoke_invitation(&id, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(&state, "/admin/invitations?done=revoked"))
}
