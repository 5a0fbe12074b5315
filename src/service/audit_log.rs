//! Reading the audit log back: a search by user, client, kind and date, page by page, and its
//! CSV export. What `guichet audit …` does, and what the console and the JSON API will call.

use chrono::{DateTime, SecondsFormat};

use crate::domain::audit::{AUDIT_PAGE_MAX, AuditCursor, AuditFilter, AuditKind, AuditRecord};
use crate::domain::user::normalize_identifier;
use crate::service::admin::AdminError;
use crate::store::Db;

type Result<T> = std::result::Result<T, AdminError>;

/// What an administrator asks for; every field left empty matches every row.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Any identifier of the user (login, e-mail, number), or a user id (a deleted user's
    /// rows stay in the audit).
    pub user: Option<String>,
    pub client_id: Option<String>,
    /// Stored names (`login.failure`…); empty means every kind.
    pub kinds: Vec<String>,
    /// Unix seconds, inclusive.
    pub since: Option<i64>,
    /// Unix seconds, exclusive.
    pub until: Option<i64>,
    /// A page's `next`, to continue where it ended.
    pub before: Option<String>,
    /// 1 to 10,000; `None` is 100.
    pub limit: Option<usize>,
}

pub const DEFAULT_LIMIT: usize = 100;

/// One page of rows, newest first, and where the next one starts (`None`: no more rows).
#[derive(Debug, Clone)]
pub struct Page {
    pub events: Vec<AuditRecord>,
    pub next: Option<AuditCursor>,
}

/// Checks a search and turns it into the store's filter: the user resolved to their id, the
/// kinds parsed, the limit bounded.
pub async fn filter(db: &Db, search: &Search) -> Result<AuditFilter> {
    let user_id = match &search.user {
        None => None,
        Some(login) => Some(resolve_user(db, login).await?),
    };
    let kinds = search
        .kinds
        .iter()
        .map(|k| {
            AuditKind::parse(k.trim()).ok_or_else(|| {
                AdminError::Invalid(format!(
                    "unknown audit kind {k:?} (known: {})",
                    AuditKind::ALL.map(AuditKind::as_str).join(", ")
                ))
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let limit = search.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > AUDIT_PAGE_MAX {
        return Err(AdminError::Invalid(format!(
            "the limit must be between 1 and {AUDIT_PAGE_MAX}"
        )));
    }
    if let (Some(s), Some(u)) = (search.since, search.until)
        && s >= u
    {
        return Err(AdminError::Invalid("since must be before until".into()));
    }
    let before = match &search.before {
        None => None,
        Some(b) => Some(
            AuditCursor::parse(b)
                .ok_or_else(|| AdminError::Invalid(format!("not a page cursor: {b:?}")))?,
        ),
    };
    Ok(AuditFilter {
        user_id,
        client_id: search.client_id.clone(),
        kinds,
        from: search.since,
        to: search.until,
        before,
        limit,
    })
}

/// The user any of whose identifiers is `login`; failing that, a user id as such, so that a
/// removed user's rows can still be searched.
async fn resolve_user(db: &Db, login: &str) -> Result<String> {
    if let Some(user) = db.user_by_identifier(&normalize_identifier(login)).await? {
        return Ok(user.id);
    }
    if uuid::Uuid::parse_str(login.trim()).is_ok() {
        return Ok(login.trim().to_ascii_lowercase());
    }
    Err(AdminError::NotFound(format!(
        "no user has the identifier {login:?}"
    )))
}

/// One page of the rows a search matches, newest first.
pub async fn search(db: &Db, search: &Search) -> Result<Page> {
    let f = filter(db, search).await?;
    page(db, &f).await
}

/// One page of the rows a checked filter matches; the next page is asked for with
/// `filter.before = page.next`.
pub async fn page(db: &Db, f: &AuditFilter) -> Result<Page> {
    // One row more than asked says whether there is a next page.
    let mut wider = f.clone();
    wider.limit = f.limit.saturating_add(1);
    let mut events = db.audit_query(&wider).await?;
    let more = events.len() > f.limit;
    events.truncate(f.limit);
    let next = match events.last() {
        Some(last) if more => Some(AuditCursor {
            at: last.at,
            id: last.id.clone(),
        }),
        _ => None,
    };
    Ok(Page { events, next })
}

/// A unix time from the command line or a form: unix seconds, or RFC 3339 (`2026-03-01T00:00:00Z`,
/// any offset).
pub fn parse_time(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Some(n);
    }
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
}

/// RFC 3339 in UTC, to the second.
pub fn rfc3339(at: i64) -> String {
    DateTime::from_timestamp(at, 0)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| at.to_string())
}

pub const CSV_HEADER: &str = "at,kind,user_id,client_id,ip,detail\r\n";

/// RFC 4180 CSV of the rows, header first, CRLF line ends.
pub fn to_csv(rows: &[AuditRecord]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push_str(&csv_rows(rows));
    out
}

/// The rows without the header (the pages of an export after the first).
pub fn csv_rows(rows: &[AuditRecord]) -> String {
    let mut out = String::new();
    for r in rows {
        let fields = [
            rfc3339(r.at),
            r.kind.clone(),
            r.user_id.clone().unwrap_or_default(),
            r.client_id.clone().unwrap_or_default(),
            r.ip.clone().unwrap_or_default(),
            r.detail.clone().unwrap_or_default(),
        ];
        let cells: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One field. A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and tab or CR,
/// which some strip first) as a formula, so such a field gets a leading `'` (OWASP, CSV
/// Injection); the audit holds text others chose (a client's name, a typed identifier).
/// Then RFC 4180 §2: a field with a comma, a quote, CR or LF is quoted, its quotes doubled.
fn csv_field(value: &str) -> String {
    let mut v = String::with_capacity(value.len() + 2);
    if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        v.push('\'');
    }
    v.push_str(value);
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(detail: &str) -> AuditRecord {
        AuditRecord {
            id: "0190".into(),
            at: 1_764_503_275,
            kind: "login.failure".into(),
            user_id: Some("u1".into()),
            client_id: None,
            ip: Some("192.0.2.1".into()),
            detail: Some(detail.into()),
        }
    }

    #[test]
    fn the_csv_has_the_header_then_one_line_a_row_with_the_time_in_rfc_3339() {
        let csv = to_csv(&[row("x")]);
        assert_eq!(
            csv,
            "at,kind,user_id,client_id,ip,detail\r\n\
             2025-11-30T11:47:55Z,login.failure,u1,,192.0.2.1,x\r\n"
        );
    }

    #[test]
    fn fields_with_commas_quotes_or_line_breaks_are_quoted_and_quotes_doubled() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field(r#"{"amr":["pwd"]}"#), r#""{""amr"":[""pwd""]}""#);
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv_field("a\rb"), "\"a\rb\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn fields_a_spreadsheet_would_run_as_formulas_get_a_leading_quote() {
        assert_eq!(csv_field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_field("+1"), "'+1");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("\tx"), "'\tx");
        assert_eq!(csv_field("\rx"), "\"'\rx\"");
        assert_eq!(csv_field("=1,2"), "\"'=1,2\"");
        assert_eq!(csv_field("=\"x\""), "\"'=\"\"x\"\"\"");
        assert_eq!(csv_field("a=b"), "a=b");
    }

    #[test]
    fn times_are_unix_seconds_or_rfc_3339_with_any_offset() {
        assert_eq!(parse_time("1764503275"), Some(1_764_503_275));
        assert_eq!(parse_time("2025-11-30T11:47:55Z"), Some(1_764_503_275));
        assert_eq!(parse_time("2025-11-30T12:47:55+01:00"), Some(1_764_503_275));
        assert_eq!(parse_time("yesterday"), None);
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
