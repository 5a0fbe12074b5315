//! Checks shared by several areas: OAuth errors (RFC 6749 §5.2), Bearer challenges (RFC 6750
//! §3), dead and live tokens, caching, CORS, and the pages a browser is shown.

use reqwest::StatusCode;
use reqwest::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL, CONTENT_TYPE,
    HeaderMap, LOCATION, PRAGMA, VARY, WWW_AUTHENTICATE,
};

use url::Url;

use super::{
    TestApp, TestClient, cookie_value, first_form, is_consent_form, is_login_form, query_param,
    refresh, set_cookie, str_of, userinfo_get,
};

// ---- OAuth errors ---------------------------------------------------------------------------

/// RFC 6749 §5.2: a JSON body with `error` = `code` and an `error_description` in
/// %x20-21 / %x23-5B / %x5D-7E. Returns the status and headers for the caller to check.
pub async fn oauth_error(res: reqwest::Response, code: &str) -> (StatusCode, HeaderMap) {
    let status = res.status();
    let headers = res.headers().clone();
    let ct = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let text = res.text().await.unwrap();
    assert!(
        ct.starts_with("application/json"),
        "error with content type {ct:?}: {text}"
    );
    let body: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    assert_eq!(body["error"], code, "{status} {body}");
    let allowed = |s: &str| {
        s.bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E))
    };
    let description = str_of(&body, "error_description");
    assert!(!description.is_empty());
    assert!(
        allowed(description) && allowed(str_of(&body, "error")),
        "characters outside RFC 6749 §5.2: {body}"
    );
    (status, headers)
}

/// A refresh with `token` as `client` is 400 `invalid_grant` (the body's error only).
pub async fn assert_refresh_refused(app: &TestApp, client: &TestClient, token: &str) {
    let (status, err) = refresh(app, client, token).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"], "invalid_grant");
}

pub async fn assert_invalid_grant(res: reqwest::Response) {
    let (status, _) = oauth_error(res, "invalid_grant").await;
    assert_eq!(status, 400);
}

/// RFC 6749 §5.2: 401 with a Basic challenge.
pub async fn assert_invalid_client(res: reqwest::Response) {
    let (status, headers) = oauth_error(res, "invalid_client").await;
    assert_eq!(status, 401);
    let challenge = headers
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate on invalid_client")
        .to_str()
        .unwrap();
    assert!(
        challenge.to_ascii_lowercase().starts_with("basic"),
        "challenge {challenge:?}"
    );
}

// ---- Bearer tokens at userinfo --------------------------------------------------------------

/// The `WWW-Authenticate` challenge of a response.
pub fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .expect("WWW-Authenticate header")
        .to_str()
        .unwrap()
        .to_owned()
}

/// The `error` attribute of a Bearer challenge (RFC 6750 §3), if any.
pub fn bearer_error(res: &reqwest::Response) -> Option<String> {
    let c = challenge(res);
    assert!(
        c.to_ascii_lowercase().starts_with("bearer"),
        "not a Bearer challenge: {c}"
    );
    let start = c.find("error=\"")? + "error=\"".len();
    let end = c[start..].find('"')? + start;
    Some(c[start..end].to_owned())
}

/// A 401 at userinfo with `error="invalid_token"`.
pub async fn assert_invalid_token(res: reqwest::Response, what: &str) {
    assert_eq!(res.status(), 401, "{what}");
    assert_eq!(
        bearer_error(&res).as_deref(),
        Some("invalid_token"),
        "{what}"
    );
    assert_no_store(&res);
    let body = res.text().await.unwrap();
    assert!(!body.contains("\"sub\""), "{what}: claims leaked: {body}");
}

/// RFC 6750 §3.1: a dead token at userinfo is 401 `error="invalid_token"`.
pub async fn assert_token_dead(app: &TestApp, access_token: &str) {
    let res = userinfo_get(app, access_token).await;
    assert_eq!(res.status(), 401, "the access token still works");
    let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap();
    assert!(
        challenge.contains("error=\"invalid_token\""),
        "challenge {challenge:?}"
    );
}

pub async fn assert_token_alive(app: &TestApp, access_token: &str) {
    assert_eq!(userinfo_get(app, access_token).await.status(), 200);
}

pub fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

// ---- Caching --------------------------------------------------------------------------------

/// Every response about tokens or token metadata: `Cache-Control: no-store`.
pub fn assert_no_store(res: &reqwest::Response) {
    assert_eq!(
        res.headers()
            .get(CACHE_CONTROL)
            .map(|v| v.to_str().unwrap()),
        Some("no-store"),
        "Cache-Control on {} {}",
        res.status(),
        res.url()
    );
}

/// RFC 6749 §5.1, a token response: `Cache-Control: no-store` and `Pragma: no-cache`.
pub fn assert_no_store_no_cache(res: &reqwest::Response) {
    assert_no_store(res);
    assert_eq!(res.headers()[PRAGMA], "no-cache");
}

// ---- CORS ---------------------------------------------------------------------------------

/// The `Access-Control-Allow-Origin` of a response, if any.
pub fn allowed_origin(res: &reqwest::Response) -> Option<&str> {
    res.headers()
        .get(ACCESS_CONTROL_ALLOW_ORIGIN)
        .map(|v| v.to_str().unwrap())
}

/// The response is readable by pages of `origin` alone: that origin echoed, `Vary: Origin`,
/// and never credentials.
pub fn assert_cors_echoes(res: &reqwest::Response, origin: &str) {
    assert_eq!(allowed_origin(res), Some(origin));
    assert!(
        res.headers().get_all(VARY).iter().any(|v| v
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("origin")),
        "no Vary: Origin"
    );
    assert!(
        res.headers()
            .get(ACCESS_CONTROL_ALLOW_CREDENTIALS)
            .is_none()
    );
}

// ---- Pages ----------------------------------------------------------------------------------

/// A page shown to the browser: HTML, and no redirect anywhere.
pub fn assert_html_no_redirect(res: &reqwest::Response, what: &str) {
    assert!(res.headers().get(LOCATION).is_none(), "{what}: redirected");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{what}: not HTML"
    );
}

/// No authorization code anywhere in the response's redirect.
pub fn assert_no_code(res: &reqwest::Response) {
    if let Some(l) = res.headers().get(LOCATION) {
        let l = l.to_str().unwrap();
        if let Ok(url) = Url::parse(l) {
            assert!(
                query_param(&url, "code").is_none(),
                "a code was issued: {l}"
            );
        }
    }
}

/// The answer is the login form again (200, no redirect, no code): sign in first.
pub async fn assert_login_asked_again(res: reqwest::Response) -> String {
    assert_no_code(&res);
    assert_eq!(res.status(), 200, "the login form was expected");
    assert!(res.headers().get(LOCATION).is_none());
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "not the login form: {page}");
    page
}

/// The answer is an error page (400, HTML, no redirect, so no code).
pub async fn assert_refused_page(res: reqwest::Response) {
    assert_no_code(&res);
    assert_eq!(res.status(), 400);
    assert_html_no_redirect(&res, "refusal");
}

/// The answer is the consent page (200, a consent form): its text.
pub async fn assert_consent_page(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200, "the consent page was expected");
    let page = res.text().await.unwrap();
    assert!(is_consent_form(&page), "not a consent page: {page}");
    page
}

/// A 303 See Other to exactly `to`.
pub fn assert_see_other(res: &reqwest::Response, to: &str) {
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()[LOCATION].to_str().unwrap(), to);
}

/// The response redirects with an authorization code.
pub fn assert_code_issued(res: &reqwest::Response) {
    let cb = super::location(res);
    assert!(query_param(&cb, "code").is_some(), "no code in {cb}");
}

/// The session cookie was removed by this response.
pub fn assert_session_cookie_removed(res: &reqwest::Response) {
    let line = set_cookie(res, "guichet_session").expect("a Set-Cookie for the session");
    assert!(cookie_value(&line).is_empty(), "not a removal: {line}");
}

/// The page is the logout confirmation: no redirect, HTML, and its first form is a POST made of
/// hidden fields and one submit button only.
pub async fn assert_confirmation_page(res: reqwest::Response) -> String {
    assert_eq!(res.status(), 200);
    assert_html_no_redirect(&res, "confirmation page");
    let page = res.text().await.unwrap();
    let form = first_form(&page);
    assert_eq!(form.method, "post");
    assert!(form.others.is_empty(), "other controls: {:?}", form.others);
    assert_eq!(form.submits, 1);
    assert!(
        form.hidden
            .iter()
            .any(|(n, v)| n == "csrf" && !v.is_empty())
    );
    page
}

/// The audit rows (kind, user, client) once `want` kinds are all there, polling up to ~1 s.
pub async fn audit_kinds(
    app: &TestApp,
    want: &[&str],
) -> Vec<(i64, String, Option<String>, Option<String>)> {
    for _ in 0..20 {
        let rows = app.core.db.audit_recent(100).await.unwrap();
        if want.iter().all(|k| rows.iter().any(|r| r.1 == *k)) {
            return rows;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("audit kinds {want:?} not all written");
}
