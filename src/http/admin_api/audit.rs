//! `/audit`: the audit log searched by user, client, kind and date (global administrators
//! only), a page at a time or as CSV.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;

use super::auth::ApiActor;
use super::error::{ApiError, ApiErrorBody, ApiResult, json};
use crate::domain::audit::{AUDIT_PAGE_MAX, AuditRecord};
use crate::http::state::AppState;
use crate::http::{param, parse_pairs, repeated};
use crate::service::admin::Admin;
use crate::service::audit_log::{self, Search};

/// The most rows one CSV export answers; past them, `X-Next-Cursor` says where to go on.
const EXPORT_MAX: usize = 100_000;

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventOut {
    pub id: String,
    /// Unix seconds.
    pub at: i64,
    /// `at` in RFC 3339, UTC.
    pub time: String,
    #[schema(example = "login.failure")]
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// The event's detail as written (JSON; text if a row holds something else).
    #[schema(value_type = Option<Object>)]
    pub detail: Option<serde_json::Value>,
}

impl From<&AuditRecord> for AuditEventOut {
    fn from(r: &AuditRecord) -> AuditEventOut {
        AuditEventOut {
            id: r.id.clone(),
            at: r.at,
            time: audit_log::rfc3339(r.at),
            kind: r.kind.clone(),
            user_id: r.user_id.clone(),
            client_id: r.client_id.clone(),
            ip: r.ip.clone(),
            detail: r.detail.as_deref().map(|d| {
                serde_json::from_str(d).unwrap_or_else(|_| serde_json::Value::String(d.into()))
            }),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<AuditEventOut>,
    /// Pass it as `cursor` for the next page; absent on the last.
    pub next: Option<String>,
}

/// The search of a query string: `user`, `client`, `kind` (repeatable), `from`, `to`,
/// `cursor`, `limit`.
fn search(query: Option<&str>) -> Result<Search, ApiError> {
    let pairs = parse_pairs(query.unwrap_or("").as_bytes());
    for (k, _) in &pairs {
        if !matches!(
            k.as_str(),
            "user" | "client" | "kind" | "from" | "to" | "cursor" | "limit"
        ) {
            return Err(ApiError::invalid(format!("unknown parameter {k:?}")));
        }
        if k != "kind" && repeated(&pairs, k) {
            return Err(ApiError::invalid(format!("{k} is repeated")));
        }
    }
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        param(&pairs, name)
            .map(|v| {
                audit_log::parse_time(v).ok_or_else(|| {
                    ApiError::invalid(format!(
                        "{name}: {v:?} is neither RFC 3339 nor unix seconds"
                    ))
                })
            })
            .transpose()
    };
    let limit = param(&pairs, "limit")
        .map(|v| {
            v.parse::<usize>()
                .map_err(|_| ApiError::invalid(format!("limit: {v:?} is not a number")))
        })
        .transpose()?;
    Ok(Search {
        user: param(&pairs, "user").map(str::to_owned),
        client_id: param(&pairs, "client").map(str::to_owned),
        kinds: pairs
            .iter()
            .filter(|(k, _)| k == "kind")
            .map(|(_, v)| v.clone())
            .collect(),
        since: time("from")?,
        until: time("to")?,
        before: param(&pairs, "cursor").map(str::to_owned),
        limit,
    })
}

/// Search the audit log, newest first, a page at a time.
#[utoipa::path(get, path = "/audit", tag = "audit",
    params(
        ("user" = Option<String>, Query, description = "Any identifier of the user, or a user id"),
        ("client" = Option<String>, Query, description = "A client id (or a CAS service id)"),
        ("kind" = Option<Vec<String>>, Query, explode = true,
            description = "An event kind (login.failure…); repeat it for several"),
        ("from" = Option<String>, Query, description = "From this time on (inclusive): RFC 3339 or unix seconds"),
        ("to" = Option<String>, Query, description = "Before this time (exclusive): RFC 3339 or unix seconds"),
        ("cursor" = Option<String>, Query, description = "A previous page's `next`"),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 10000, description = "Events a page (default 100)"),
    ),
    responses((status = 200, body = AuditPage), (status = 400, body = ApiErrorBody),
        (status = 403, body = ApiErrorBody), (status = 404, body = ApiErrorBody)))]
pub async fn audit_search_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    admin.check_global()?;
    let page = audit_log::search(admin.db, &search(query.as_deref())?).await?;
    Ok(json(
        StatusCode::OK,
        &AuditPage {
            events: page.events.iter().map(Into::into).collect(),
            next: page.next.map(|c| c.encode()),
        },
    ))
}

/// The matching events as CSV (RFC 4180: `at,kind,user_id,client_id,ip,detail`), newest first,
/// at most `limit` (default and most: 100,000); when more match, `X-Next-Cursor` names where
/// to go on (as `cursor`).
#[utoipa::path(get, path = "/audit/export", tag = "audit",
    params(
        ("user" = Option<String>, Query), ("client" = Option<String>, Query),
        ("kind" = Option<Vec<String>>, Query, explode = true),
        ("from" = Option<String>, Query), ("to" = Option<String>, Query),
        ("cursor" = Option<String>, Query),
        ("limit" = Option<usize>, Query, minimum = 1, maximum = 100000),
    ),
    responses(
        (status = 200, description = "CSV, header first", content_type = "text/csv", body = String,
            headers(("X-Next-Cursor" = String, description = "Present when more events match"))),
        (status = 400, body = ApiErrorBody), (status = 403, body = ApiErrorBody)))]
pub async fn audit_export_get(
    State(state): State<AppState>,
    ApiActor(actor): ApiActor,
    RawQuery(query): RawQuery,
) -> ApiResult {
    let admin = Admin::new(&state.core, &actor);
    admin.check_global()?;
    let mut s = search(query.as_deref())?;
    let wanted = s.limit.unwrap_or(EXPORT_MAX);
    if wanted == 0 || wanted > EXPORT_MAX {
        return Err(ApiError::invalid(format!(
            "the limit must be between 1 and {EXPORT_MAX}"
        )));
    }
    // Pages of at most 10,000 rows, as the CLI's export reads them.
    let mut csv = String::from(audit_log::CSV_HEADER);
    let mut left = wanted;
    let next = loop {
        s.limit = Some(left.min(AUDIT_PAGE_MAX));
        let page = audit_log::search(admin.db, &s).await?;
        csv.push_str(&audit_log::csv_rows(&page.events));
        left -= page.events.len();
        match page.next {
            Some(c) if left > 0 => s.before = Some(c.encode()),
            other => break other,
        }
    };
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/csv; charset=utf-8"),
        )],
        csv,
    )
        .into_response();
    if let Some(c) = next
        && let Ok(v) = HeaderValue::from_str(&c.encode())
    {
        res.headers_mut().insert("x-next-cursor", v);
    }
    Ok(res)
}
