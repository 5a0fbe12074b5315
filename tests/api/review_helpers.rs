//! Helpers for the security review's regression tests (`review_session`, `review_tokens`):
//! acting as an administrator in-process, and driving sign-in and consent from any browser
//! (the suite's own helpers drive `app.browser` only).

use guichet::domain::user::User;
use guichet::service::admin::Admin;
use reqwest::header::LOCATION;
use serde_json::Value;
use url::Url;

use crate::helpers::*;

/// The administration service on the application's own stores, as the CLI would use it.
pub fn admin(app: &TestApp) -> Admin<'_> {
    Admin {
        db: &app.core.db,
        ephemeral: app.core.ephemeral.as_ref(),
        policy: &app.core.policy,
    }
}

pub async fn find_user(app: &TestApp, login: &str) -> User {
    admin(app).find_user(login).await.unwrap()
}

/// An administrator gives `login` a new password (`guichet user set-password`).
pub async fn change_password(app: &TestApp, login: &str) {
    let user = find_user(app, login).await;
    let hash = app
        .core
        .hasher
        .hash("a brand new passphrase".into())
        .await
        .unwrap();
    admin(app)
        .set_password(&user, &hash, app.clock.now())
        .await
        .unwrap();
}

/// An administrator disables (or enables) `login` (`guichet user disable` / `enable`).
pub async fn set_disabled(app: &TestApp, login: &str, disabled: bool) {
    let user = find_user(app, login).await;
    admin(app)
        .set_user_disabled(&user, disabled, app.clock.now())
        .await
        .unwrap();
}

/// An application with alice and a third-party client `tp` (it asks consent).
pub async fn app_with_third_party() -> (TestApp, TestClient) {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let tp = app.create_client("tp", |s| s.first_party = false).await;
    (app, tp)
}

/// `GET /authorize` from `http`.
pub async fn authorize_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> reqwest::Response {
    http.get(app.url("/authorize"))
        .query(params)
        .send()
        .await
        .unwrap()
}

/// The login page of an authorization request from `http` (which must have no usable
/// session for it).
pub async fn login_page_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> String {
    let res = authorize_from(app, http, params).await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    assert!(is_login_form(&page), "not a login page: {page}");
    page
}

/// From `http` without a session: the login form, alice's password, then the consent page
/// (the client must ask consent).
pub async fn consent_page_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
) -> String {
    let page = login_page_from(app, http, params).await;
    let res = post_login(app, http, &page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 200, "the consent page follows the sign-in");
    let page = res.text().await.unwrap();
    assert!(is_consent_form(&page), "not a consent page: {page}");
    page
}

/// Posts a consent answer from `http` with these form fields.
pub async fn post_consent(
    app: &TestApp,
    http: &reqwest::Client,
    csrf: &str,
    request: &str,
    binding: &str,
) -> reqwest::Response {
    http.post(app.url("/consent"))
        .form(&[
            ("csrf", csrf),
            ("request", request),
            ("binding", binding),
            ("decision", "approve"),
        ])
        .send()
        .await
        .unwrap()
}

pub fn is_login_form(page: &str) -> bool {
    page.contains("name=\"password\"")
}

pub fn is_consent_form(page: &str) -> bool {
    page.contains("name=\"decision\"")
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
    assert!(res.headers().get(LOCATION).is_none());
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
}

/// The session cookie was removed by this response.
pub fn assert_session_cookie_removed(res: &reqwest::Response) {
    let line = set_cookie(res, "guichet_session").expect("a Set-Cookie for the session");
    assert!(cookie_value(&line).is_empty(), "not a removal: {line}");
}

/// Drives an authorization request from `http` to its redirect, signing in as `login` if
/// asked (first-party clients only: no consent). Returns the callback URL.
pub async fn authorize_through_from(
    app: &TestApp,
    http: &reqwest::Client,
    params: &[(&str, &str)],
    login: &str,
) -> Url {
    let res = authorize_from(app, http, params).await;
    let res = if res.status().is_redirection() {
        res
    } else {
        let page = res.text().await.unwrap();
        assert!(is_login_form(&page), "not a login page: {page}");
        post_login(app, http, &page, login, PASSWORD).await
    };
    assert!(res.status().is_redirection(), "got {}", res.status());
    location(&res)
}

/// The code flow from `http` for a first-party `client`, as `login`: the token response.
pub async fn tokens_from(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    login: &str,
) -> Value {
    let (challenge, verifier) = pkce_pair();
    let params = auth_params(
        client,
        &[
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let cb = authorize_through_from(app, http, &params, login).await;
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    redeem_code(app, client, &code, &verifier).await
}

/// The `id_token` of a token response.
pub fn id_token(tokens: &Value) -> String {
    str_of(tokens, "id_token").to_owned()
}

/// Redeems a code issued with an S256 challenge for `verifier`.
pub async fn redeem_code(app: &TestApp, client: &TestClient, code: &str, verifier: &str) -> Value {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", verifier),
    ];
    if client.secret.is_none() {
        form.push(("client_id", client.id.as_str()));
    }
    let res = app.token(client, &form).await;
    assert_eq!(res.status(), 200, "code redemption failed");
    res.json().await.unwrap()
}
