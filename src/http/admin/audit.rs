//! What only global administrators see: the global administrators (list, add, remove) and the
//! audit log (filters by user, client, kind and dates, pages newest first, CSV export).

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;
use chrono::NaiveDate;
use serde::Serialize;

use super::{AdminSession, Answer, Fail, OrFail, back_to, done_notice};
use crate::domain::audit::{AuditKind, AuditRecord};
use crate::http::extract::CsrfForm;
use crate::http::state::AppState;
use crate::http::{param, parse_pairs};
use crate::service::admin::AdminError;
use crate::service::audit_log::{self, CSV_HEADER, Search, csv_rows};

/// `GET /admin/administrators`.
pub async fn administrators_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Line {
        id: String,
        login: String,
    }
    #[derive(Serialize)]
    struct Page {
        administrators: Vec<Line>,
        notice: Option<&'static str>,
    }
    let all = s
        .admin(&state)
        .administrators()
        .await
        .or_fail(&state, s.locale)?;
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    Ok(s.render(
        &state,
        jar,
        "administrators",
        "admin/administrators.html",
        Page {
            administrators: all
                .into_iter()
                .map(|(id, login)| Line { id, login })
                .collect(),
            notice: done_notice(param(&pairs, "done")),
        },
    ))
}

/// `POST /admin/administrators` (`login`): makes someone a global administrator.
pub async fn administrator_add_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    admin.check_global().or_fail(&state, s.locale)?;
    let user = admin
        .find_user(form.get("login").unwrap_or(""))
        .await
        .or_fail(&state, s.locale)?;
    admin
        .set_global_administrator(&user, true, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        "/admin/administrators?done=administrator_added",
    ))
}

/// `POST /admin/administrators/remove` (`user`: the id): one's own administration stays.
pub async fn administrator_remove_post(
    State(state): State<AppState>,
    s: AdminSession,
    CsrfForm(form): CsrfForm,
) -> Answer {
    let admin = s.admin(&state);
    admin.check_global().or_fail(&state, s.locale)?;
    let user = admin
        .find_user_by_id(form.get("user").unwrap_or(""))
        .await
        .or_fail(&state, s.locale)?;
    admin
        .set_global_administrator(&user, false, state.core.now())
        .await
        .or_fail(&state, s.locale)?;
    Ok(back_to(
        &state,
        "/admin/administrators?done=administrator_removed",
    ))
}

/// Rows a page of the audit log shows.
const AUDIT_PER_PAGE: usize = 50;

/// The audit filters of a query, as typed (shown again in the form).
#[derive(Serialize, Default)]
struct Filters {
    user: String,
    client: String,
    kind: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    since: String,
    /// `YYYY-MM-DD`, UTC, inclusive.
    until: String,
}

impl Filters {
    fn of(pairs: &[(String, String)]) -> Filters {
        let get = |n: &str| param(pairs, n).unwrap_or("").trim().to_owned();
        Filters {
            user: get("user"),
            client: get("client"),
            kind: get("kind"),
            since: get("since"),
            until: get("until"),
        }
    }

    fn params(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("user", &self.user),
            ("client", &self.client),
            ("kind", &self.kind),
            ("since", &self.since),
            ("until", &self.until),
        ]
    }

    /// The service's search: empty fields match everything; the last day is included.
    fn search(&self) -> Result<Search, AdminError> {
        let day = |s: &str| -> Result<Option<i64>, AdminError> {
            if s.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| Some(t.and_utc().timestamp()))
                .ok_or_else(|| AdminError::Invalid(format!("not a date (YYYY-MM-DD): {s:?}")))
        };
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Ok(Search {
            user: some(&self.user),
            client_id: some(&self.client),
            kinds: some(&self.kind).into_iter().collect(),
            since: day(&self.since)?,
            until: day(&self.until)?.map(|t| t + 86_400),
            before: None,
            limit: Some(AUDIT_PER_PAGE),
        })
    }
}

/// One audit row as the page shows it.
#[derive(Serialize)]
struct Row {
    at: i64,
    kind: String,
    user_id: Option<String>,
    client_id: Option<String>,
    ip: Option<String>,
    detail: Option<String>,
}

impl From<AuditRecord> for Row {
    fn from(r: AuditRecord) -> Row {
        Row {
            at: r.at,
            kind: r.kind,
            user_id: r.user_id,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
        }
    }
}

/// `GET /admin/audit?user=&client=&kind=&since=&until=&before=&trail=`: a page of matching
/// rows, newest first. Pages follow one another by the cursor of the last row (`before`);
/// `trail` keeps the cursors of the pages before, so that "previous" needs no state.
pub async fn audit_get(
    State(state): State<AppState>,
    jar: CookieJar,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Answer {
    #[derive(Serialize)]
    struct Page {
        filters: Filters,
        kinds: Vec<&'static str>,
        rows: Vec<Row>,
        prev: Option<String>,
        next: Option<String>,
        export: String,
    }
    let l = s.locale;
    s.admin(&state).check_global().or_fail(&state, l)?;
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let filters = Filters::of(&pairs);
    let before = param(&pairs, "before").filter(|b| !b.is_empty());
    let trail: Vec<&str> = param(&pairs, "trail")
        .filter(|t| !t.is_empty())
        .map(|t| t.split('~').collect())
        .unwrap_or_default();
    let mut search = filters.search().or_fail(&state, l)?;
    search.before = before.map(str::to_owned);
    let page = audit_log::search(&state.core.db, &search)
        .await
        .or_fail(&state, l)?;
    let path = format!("{}/admin/audit", state.core.urls.base_path);
    let link = |before: Option<&str>, trail: &[&str]| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in filters.params() {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if let Some(b) = before {
            q.append_pair("before", b);
        }
        if !trail.is_empty() {
            q.append_pair("trail", &trail.join("~"));
        }
        format!("{path}?{}", q.finish())
    };
    let next = page.next.as_ref().map(|n| {
        let mut t = trail.clone();
        t.push(before.unwrap_or("-"));
        link(Some(&n.encode()), &t)
    });
    let prev = trail.split_last().map(|(last, rest)| {
        let b = (*last != "-").then_some(*last);
        link(b, rest)
    });
    let mut export = form_urlencoded::Serializer::new(String::new());
    for (k, v) in filters.params() {
        if !v.is_empty() {
            export.append_pair(k, v);
        }
    }
    let export = format!("{path}/export?{}", export.finish());
    Ok(s.render(
        &state,
        jar,
        "audit",
        "admin/audit.html",
        Page {
            filters,
            kinds: AuditKind::ALL.iter().map(|k| k.as_str()).collect(),
            rows: page.events.into_iter().map(Row::from).collect(),
            prev,
            next,
            export,
        },
    ))
}

/// `GET /admin/audit/export?…filters`: every matching row as CSV (RFC 4180), read and sent a
/// page of 10,000 at a time. A store failure part-way ends the download with an error rather
/// than a shorter file that would pass for a whole one.
pub async fn export_get(
    State(state): State<AppState>,
    s: AdminSession,
    RawQuery(query): RawQuery,
) -> Result<Response, Fail> {
    let l = s.locale;
    s.admin(&state).check_global().or_fail(&state, l)?;
    let pairs = parse_pairs(query.unwrap_or_default().as_bytes());
    let mut search = Filters::of(&pairs).search().or_fail(&state, l)?;
    search.limit = Some(crate::domain::audit::AUDIT_PAGE_MAX);
    // Checked once before the first byte, so that a bad filter is an error page.
    let filter = audit_log::filter(&state.core.db, &search)
        .await
        .or_fail(&state, l)?;
    let core = state.core.clone();
    let rows = futures_util::stream::unfold(Some(filter), move |filter| {
        let core = core.clone();
        async move {
            let mut filter = filter?;
            match audit_log::page(&core.db, &filter).await {
                Ok(page) => {
                    let chunk = csv_rows(&page.events);
                    let rest = page.next.map(|n| {
                        filter.before = Some(n);
                        filter
                    });
                    Some((Ok::<_, AdminError>(chunk), rest))
                }
                Err(e) => {
                    tracing::error!(error = %e, "audit export failed part-way");
                    Some((Err(e), None))
                }
            }
        }
    });
    let header_row =
        futures_util::stream::once(async { Ok::<_, AdminError>(CSV_HEADER.to_owned()) });
    let body = Body::from_stream(futures_util::StreamExt::chain(header_row, rows));
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"guichet-audit.csv\"",
            ),
        ],
        body,
    )
        .into_response())
}
