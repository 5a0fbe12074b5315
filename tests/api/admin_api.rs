//! The administration JSON API under /admin/api/v1 (issue 9, item 7): every operation over
//! HTTP with a client_credentials token of a client registered for the scope `admin`; an
//! establishment administrator's own token bounded by their establishment; the RFC 6750
//! challenges; the OpenAPI document, validated against the OpenAPI 3.1 schema.

use guichet::domain::user::NewUser;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

/// A caller of the API with one bearer token.
pub struct Api<'a> {
    pub app: &'a TestApp,
    pub token: String,
}

impl Api<'_> {
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = reqwest::Client::new()
            .request(method, self.app.url(&format!("/admin/api/v1{path}")))
            .bearer_auth(&self.token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = send(req).await;
        let status = res.status();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        (status, body)
    }
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, None).await
    }
    pub async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(reqwest::Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

/// A confidential client for client_credentials, registered for the scope `admin`.
pub async fn admin_client(app: &TestApp, id: &str) -> TestClient {
    app.create_client(id, |s| {
        s.grant_types = vec!["client_credentials".into()];
        s.scopes = vec!["admin".into()];
        s.redirect_uris = vec![];
    })
    .await
}

/// The API as the client `ops` (client_credentials, scope admin): it reaches everything.
pub async fn ops(app: &TestApp) -> Api<'_> {
    let client = admin_client(app, "ops").await;
    let tokens = client_credentials(app, &client, "admin").await;
    Api {
        app,
        token: at(&tokens),
    }
}

pub fn assert_error(status: StatusCode, body: &Value, expected: StatusCode, code: &str) {
    assert_eq!(status, expected, "{body}");
    assert_eq!(body["error"], code, "{body}");
    assert!(
        !str_of(body, "error_description").is_empty(),
        "no description: {body}"
    );
}

/// UPEC (rights staff, print) and IUT (teacher); alice administers UPEC, bob is in UPEC, carol
/// in IUT.
pub async fn two_establishments(app: &TestApp) {
    for login in ["alice", "bob", "carol"] {
        app.create_user(login).await;
    }
    let cli = admin(app);
    let now = app.clock.now();
    cli.create_establishment("UPEC", "Université", &["staff".into(), "print".into()], now)
        .await
        .unwrap();
    cli.create_establishment("IUT", "IUT", &["teacher".into()], now)
        .await
        .unwrap();
    for (login, code, is_admin) in [
        ("alice", "UPEC", true),
        ("bob", "UPEC", false),
        ("carol", "IUT", false),
    ] {
        let user = find_user(app, login).await;
        cli.grant(&user, code, &[], is_admin, now).await.unwrap();
    }
}

/// A first-party client for people, registered for `openid` and `admin`, and `login`'s token
/// from the code flow with `scope`.
pub async fn person_token(app: &TestApp, login: &str, scope: &str) -> String {
    let client = match app.core.db.client_by_id("console-cli").await.unwrap() {
        Some(_) => TestClient {
            id: "console-cli".into(),
            secret: None,
            redirect_uri: "https://rp.example/cb".into(),
        },
        None => {
            app.create_client("console-cli", |s| {
                s.scopes = vec!["openid".into(), "admin".into()];
                s.public = true;
            })
            .await
        }
    };
    let browser = browser();
    let tokens = tokens_from_scope(app, &browser, &client, login, scope).await;
    at(&tokens)
}

/// The code flow from a fresh browser for `client` with `scope`: the token response.
pub async fn tokens_from_scope(
    app: &TestApp,
    http: &reqwest::Client,
    client: &TestClient,
    login: &str,
    scope: &str,
) -> Value {
    let (challenge, verifier) = pkce_pair();
    let params = [
        ("response_type", "code"),
        ("client_id", client.id.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("scope", scope),
        ("state", "s1"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let cb = authorize_through_from(app, http, &params, login).await;
    let code = query_param(&cb, "code").unwrap_or_else(|| panic!("no code in {cb}"));
    redeem_ok(app, client, &code, &verifier).await
}

pub async fn user_id(app: &TestApp, login: &str) -> String {
    find_user(app, login).await.id
}

// ---- Users ----------------------------------------------------------------------------------

#[tokio::test]
async fn a_client_with_the_admin_scope_searches_shows_and_acts_on_users() {
    let app = spawn_app().await;
    app.create_user_with(NewUser {
        login: "alice".into(),
        email: Some("alice@example.org".into()),
        identifiers: vec!["alice.old@example.org".into()],
        given_name: Some("Alice".into()),
        ..NewUser::default()
    })
    .await;
    app.create_user("bob").await;
    let api = ops(&app).await;
    let alice = user_id(&app, "alice").await;

    // Search: by part of a login; every user when empty; pages of 100.
    let (status, page) = api.get("/users?q=alice.old").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 1);
    assert_eq!(page["users"][0]["id"], alice.as_str());
    assert_eq!(page["users"][0]["login"], "alice");
    assert_eq!(page["page"], 0);
    assert_eq!(page["next_page"], Value::Null);
    let (_, all) = api.get("/users").await;
    assert_eq!(all["users"].as_array().unwrap().len(), 2);
    let (_, later) = api.get("/users?page=1").await;
    assert_eq!(later["users"], json!([]));
    let (status, err) = api.get("/users?page=minus").await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");

    // Show.
    let (status, shown) = api.get(&format!("/users/{alice}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["login"], "alice");
    assert_eq!(shown["locked"], false);
    assert!(
        shown["identifiers"]
            .as_array()
            .unwrap()
            .contains(&json!("alice.old@example.org")),
        "{shown}"
    );
    let (status, err) = api.get("/users/00000000-0000-4000-8000-000000000000").await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");

    // Disable (the user can no longer sign in), then enable.
    let (status, out) = api.post(&format!("/users/{alice}/disable")).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["revoked_grants"], 0);
    assert!(find_user(&app, "alice").await.disabled);
    let (status, _) = api.post(&format!("/users/{alice}/enable")).await;
    assert_eq!(status, 200);
    assert!(!find_user(&app, "alice").await.disabled);

    // Unlock, second factors, password change.
    let (status, out) = api.post(&format!("/users/{alice}/unlock")).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["was_locked"], false);
    let (status, out) = api.post(&format!("/users/{alice}/mfa-reset")).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["factors_removed"], 0);
    let (status, _) = api
        .post(&format!("/users/{alice}/require-password-change"))
        .await;
    assert_eq!(status, 204);
    assert!(find_user(&app, "alice").await.must_change_password);

    // Remove an identifier; never the login.
    let (status, _) = api
        .delete(&format!("/users/{alice}/identifiers/alice.old@example.org"))
        .await;
    assert_eq!(status, 204);
    assert!(
        app.core
            .db
            .user_by_identifier("alice.old@example.org")
            .await
            .unwrap()
            .is_none()
    );
    let (status, err) = api
        .delete(&format!("/users/{alice}/identifiers/alice"))
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, err) = api
        .delete(&format!("/users/{alice}/identifiers/nobody@example.org"))
        .await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");

    // Delete; then there is no such user.
    let (status, out) = api.delete(&format!("/users/{alice}")).await;
    assert_eq!(status, 200, "{out}");
    assert!(app.core.db.user_by_id(&alice).await.unwrap().is_none());
    let (status, err) = api.get(&format!("/users/{alice}")).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");

    // Every action is audited as done by the client.
    let (_, log) = api.get("/audit?kind=user.deleted").await;
    assert_eq!(log["events"][0]["user_id"], alice.as_str());
    assert_eq!(log["events"][0]["detail"]["by"], "client:ops");
}

#[tokio::test]
async fn disabling_a_user_through_the_api_revokes_their_tokens() {
    let app = spawn_app().await;
    let (alice, rp, tokens) = signed_in(&app, "openid").await;
    let api = ops(&app).await;
    let (status, out) = api.post(&format!("/users/{alice}/disable")).await;
    assert_eq!(status, 200);
    assert_eq!(out["revoked_grants"], 1);
    assert_refresh_refused(&app, &rp, str_of(&tokens, "refresh_token")).await;
    assert_eq!(userinfo_get(&app, &at(&tokens)).await.status(), 401);
}

// ---- Establishments and memberships ---------------------------------------------------------

#[tokio::test]
async fn establishments_and_memberships_are_managed_through_the_api() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let alice = user_id(&app, "alice").await;
    let api = ops(&app).await;

    let (status, e) = api
        .post_json(
            "/establishments",
            json!({"code": "UPEC", "name": "Université", "rights": ["staff", "print"]}),
        )
        .await;
    assert_eq!(status, 201, "{e}");
    assert_eq!(e["code"], "UPEC");
    assert_eq!(e["rights"], json!(["staff", "print"]));
    let (status, err) = api
        .post_json("/establishments", json!({"code": "UPEC", "name": "Again"}))
        .await;
    assert_error(status, &err, StatusCode::CONFLICT, "conflict");
    let (status, err) = api
        .post_json("/establishments", json!({"code": "a b", "name": "Bad"}))
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, err) = api
        .post_json("/establishments", json!({"name": "No code"}))
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");

    let (status, list) = api.get("/establishments").await;
    assert_eq!(status, 200);
    assert_eq!(list["establishments"][0]["code"], "UPEC");
    let (status, one) = api.get("/establishments/UPEC").await;
    assert_eq!(status, 200);
    assert_eq!(one["name"], "Université");
    let (status, err) = api.get("/establishments/NOPE").await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
    let (status, changed) = api
        .patch(
            "/establishments/UPEC",
            json!({"name": "Université Paris-Est", "rights": ["staff", "print", "wifi"]}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["name"], "Université Paris-Est");

    // Memberships: rights must be defined; the admin flag makes an establishment administrator.
    let path = format!("/establishments/UPEC/members/{alice}");
    let (status, err) = api.put(&path, json!({"rights": ["root"]})).await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, m) = api
        .put(&path, json!({"rights": ["wifi", "staff"], "admin": true}))
        .await;
    assert_eq!(status, 200, "{m}");
    assert_eq!(
        m,
        json!({"establishment": "UPEC", "name": "Université Paris-Est", "rights": ["staff", "wifi"], "admin": true})
    );
    let (_, members) = api.get("/establishments/UPEC/members").await;
    assert_eq!(members["members"][0]["login"], "alice");
    assert_eq!(members["members"][0]["rights"], json!(["staff", "wifi"]));
    let (_, shown) = api.get(&format!("/users/{alice}")).await;
    assert_eq!(shown["memberships"][0]["admin"], true);

    let (status, _) = api.delete(&path).await;
    assert_eq!(status, 204);
    let (status, err) = api.delete(&path).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
    let (_, members) = api.get("/establishments/UPEC/members").await;
    assert_eq!(members["members"], json!([]));
}

// ---- Administrators -------------------------------------------------------------------------

#[tokio::test]
async fn global_administrators_are_listed_added_and_removed_through_the_api() {
    let app = spawn_app().await;
    app.create_user("root").await;
    let root = user_id(&app, "root").await;
    let api = ops(&app).await;
    let (status, list) = api.get("/administrators").await;
    assert_eq!(status, 200);
    assert_eq!(list["administrators"], json!([]));
    let (status, _) = api.put(&format!("/administrators/{root}"), json!({})).await;
    assert_eq!(status, 204);
    let (_, list) = api.get("/administrators").await;
    assert_eq!(
        list["administrators"],
        json!([{"id": root, "login": "root"}])
    );
    let (status, _) = api.delete(&format!("/administrators/{root}")).await;
    assert_eq!(status, 204);
    let (status, err) = api.delete(&format!("/administrators/{root}")).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
}

// ---- Audit log ------------------------------------------------------------------------------

#[tokio::test]
async fn the_audit_log_is_searched_by_kind_user_and_time_page_by_page_and_exported_as_csv() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    let api = ops(&app).await;
    let alice = user_id(&app, "alice").await;
    let bob = user_id(&app, "bob").await;
    api.post(&format!("/users/{alice}/disable")).await;
    api.post(&format!("/users/{alice}/enable")).await;
    api.post(&format!("/users/{bob}/unlock")).await;

    let (status, page) = api.get("/audit?kind=user.disabled&kind=user.enabled").await;
    assert_eq!(status, 200, "{page}");
    let kinds: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["user.enabled", "user.disabled"]);
    let (_, page) = api.get("/audit?user=bob").await;
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["kind"], "account.unlocked");

    // Pages of one, following `next` as `cursor`.
    let (_, first) = api.get("/audit?user=alice&limit=1").await;
    assert_eq!(first["events"][0]["kind"], "user.enabled");
    let cursor = str_of(&first, "next").to_owned();
    let (_, second) = api
        .get(&format!("/audit?user=alice&limit=1&cursor={cursor}"))
        .await;
    assert_eq!(second["events"][0]["kind"], "user.disabled");

    // Times: nothing before the epoch's first second, everything from it on.
    let (_, none) = api.get("/audit?to=1970-01-01T00:00:01Z").await;
    assert_eq!(none["events"], json!([]));
    let (_, since) = api.get("/audit?from=1&user=bob").await;
    assert_eq!(since["events"].as_array().unwrap().len(), 1);

    for bad in [
        "/audit?kind=nope",
        "/audit?from=yesterday",
        "/audit?limit=0",
        "/audit?cursor=garbage",
        "/audit?colour=blue",
        "/audit?user=a&user=b",
    ] {
        let (status, err) = api.get(bad).await;
        assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    }

    // CSV: header first, then the rows, newest first; X-Next-Cursor when more match.
    let res = send(
        reqwest::Client::new()
            .get(app.url("/admin/api/v1/audit/export?user=alice"))
            .bearer_auth(&api.token),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    assert!(res.headers().get("x-next-cursor").is_none());
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").filter(|l| !l.is_empty()).collect();
    assert_eq!(lines[0], "at,kind,user_id,client_id,ip,detail");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].contains(",user.enabled,"), "{csv}");
    let res = send(
        reqwest::Client::new()
            .get(app.url("/admin/api/v1/audit/export?user=alice&limit=1"))
            .bearer_auth(&api.token),
    )
    .await;
    assert!(res.headers().get("x-next-cursor").is_some());
    assert_eq!(res.text().await.unwrap().matches("\r\n").count(), 2);
}

// ---- Authorisation --------------------------------------------------------------------------

#[tokio::test]
async fn no_token_is_401_with_a_bare_bearer_challenge_and_a_bad_one_invalid_token() {
    let app = spawn_app().await;
    let res = send(reqwest::Client::new().get(app.url("/admin/api/v1/users"))).await;
    assert_eq!(res.status(), 401);
    assert_eq!(challenge(&res), "Bearer realm=\"guichet\"");
    let res = send(
        reqwest::Client::new()
            .get(app.url("/admin/api/v1/users"))
            .bearer_auth("not-a-token"),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).contains("error=\"invalid_token\""));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let res = send(
        reqwest::Client::new()
            .get(app.url("/admin/api/v1/users"))
            .basic_auth("ops", Some("secret")),
    )
    .await;
    assert_eq!(res.status(), 401);
    assert!(challenge(&res).contains("error=\"invalid_token\""));
}

#[tokio::test]
async fn a_token_without_the_admin_scope_is_403_insufficient_scope() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let api_only = api_client(&app, "batch").await;
    let api = Api {
        app: &app,
        token: at(&client_credentials(&app, &api_only, "api").await),
    };
    let (status, err) = api.get("/users").await;
    assert_error(status, &err, StatusCode::FORBIDDEN, "insufficient_scope");
    let res = send(
        reqwest::Client::new()
            .get(app.url("/admin/api/v1/users"))
            .bearer_auth(&api.token),
    )
    .await;
    assert!(challenge(&res).contains("error=\"insufficient_scope\""));

    // A client not registered for `admin` is never given it: not by client_credentials...
    oauth_error(
        app.token(
            &api_only,
            &[("grant_type", "client_credentials"), ("scope", "admin")],
        )
        .await,
        "invalid_scope",
    )
    .await;
    // ...nor by the code flow (the scope is dropped), even for a global administrator.
    let root = find_user(&app, "alice").await;
    admin(&app)
        .set_global_administrator(&root, true, app.clock.now())
        .await
        .unwrap();
    let rp = app.create_client("rp1", |_| {}).await;
    let tokens = tokens_from_scope(&app, &browser(), &rp, "alice", "openid admin").await;
    assert_eq!(tokens["scope"], "openid");
    let api = Api {
        app: &app,
        token: at(&tokens),
    };
    let (status, err) = api.get("/users").await;
    assert_error(status, &err, StatusCode::FORBIDDEN, "insufficient_scope");
}

#[tokio::test]
async fn a_revoked_token_or_a_disabled_client_is_401() {
    let app = spawn_app().await;
    let client = admin_client(&app, "ops").await;
    let token = at(&client_credentials(&app, &client, "admin").await);
    let api = Api {
        app: &app,
        token: token.clone(),
    };
    assert_eq!(api.get("/users").await.0, 200);
    assert_eq!(
        revoke(&app, &client, &[("token", token.as_str())])
            .await
            .status(),
        200
    );
    let (status, err) = api.get("/users").await;
    assert_error(status, &err, StatusCode::UNAUTHORIZED, "invalid_token");

    let fresh = Api {
        app: &app,
        token: at(&client_credentials(&app, &client, "admin").await),
    };
    assert_eq!(fresh.get("/users").await.0, 200);
    admin(&app)
        .set_client_disabled("ops", true, app.clock.now())
        .await
        .unwrap();
    let (status, err) = fresh.get("/users").await;
    assert_error(status, &err, StatusCode::UNAUTHORIZED, "invalid_token");
}

#[tokio::test]
async fn a_signed_in_administrators_cookies_do_not_authorise_the_api() {
    let app = spawn_app().await;
    app.create_user("root").await;
    let root = find_user(&app, "root").await;
    admin(&app)
        .set_global_administrator(&root, true, app.clock.now())
        .await
        .unwrap();
    let browser = browser();
    // The browser signs in (it now holds the session cookie), then calls the API without a
    // token: refused.
    let rp = app.create_client("rp1", |_| {}).await;
    tokens_from(&app, &browser, &rp, "root").await;
    let res = send(browser.get(app.url("/admin/api/v1/users"))).await;
    assert_eq!(res.status(), 401);
    assert_eq!(challenge(&res), "Bearer realm=\"guichet\"");
}

#[tokio::test]
async fn an_establishment_administrators_own_token_reaches_only_their_establishment() {
    let app = spawn_app().await;
    two_establishments(&app).await;
    let bob = user_id(&app, "bob").await;
    let carol = user_id(&app, "carol").await;
    let api = Api {
        app: &app,
        token: person_token(&app, "alice", "openid admin").await,
    };

    // Only UPEC's people and UPEC itself exist for alice.
    let (status, page) = api.get("/users").await;
    assert_eq!(status, 200, "{page}");
    let logins: Vec<&str> = page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    assert_eq!(logins, ["alice", "bob"]);
    let (_, list) = api.get("/establishments").await;
    assert_eq!(list["establishments"].as_array().unwrap().len(), 1);
    assert_eq!(list["establishments"][0]["code"], "UPEC");
    let (status, err) = api.get("/establishments/IUT").await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
    let (status, err) = api.get(&format!("/users/{carol}")).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");

    // Nothing of carol's changes.
    for (status, err) in [
        api.post(&format!("/users/{carol}/disable")).await,
        api.delete(&format!("/users/{carol}")).await,
        api.post(&format!("/users/{carol}/mfa-reset")).await,
        api.put(&format!("/establishments/UPEC/members/{carol}"), json!({}))
            .await,
        api.delete(&format!("/establishments/IUT/members/{carol}"))
            .await,
    ] {
        assert!(
            status == StatusCode::NOT_FOUND || status == StatusCode::FORBIDDEN,
            "{status} {err}"
        );
    }
    let carol_now = find_user(&app, "carol").await;
    assert!(!carol_now.disabled);
    assert_eq!(
        app.core.db.memberships_of(&carol).await.unwrap().len(),
        1,
        "carol's membership of IUT is untouched"
    );

    // What only a global administrator does is forbidden.
    for (status, err) in [
        api.post_json("/establishments", json!({"code": "NEW", "name": "New"}))
            .await,
        api.get("/audit").await,
        api.get("/administrators").await,
        api.put(&format!("/administrators/{bob}"), json!({})).await,
        api.post("/clients/console-cli/disable").await,
    ] {
        assert_error(status, &err, StatusCode::FORBIDDEN, "forbidden");
    }
    assert!(
        app.core
            .db
            .establishment_by_code("NEW")
            .await
            .unwrap()
            .is_none()
    );

    // Within UPEC she acts, and the audit names her.
    let (status, _) = api.post(&format!("/users/{bob}/disable")).await;
    assert_eq!(status, 200);
    assert!(find_user(&app, "bob").await.disabled);
    let (status, m) = api
        .put(
            &format!("/establishments/UPEC/members/{bob}"),
            json!({"rights": ["print"]}),
        )
        .await;
    assert_eq!(status, 200, "{m}");

    // Bob, no administrator, gets nothing with the same kind of token.
    let (status, _) = api.post(&format!("/users/{bob}/enable")).await;
    assert_eq!(status, 200);
    let bobs = Api {
        app: &app,
        token: person_token(&app, "bob", "openid admin").await,
    };
    let (status, err) = bobs.get("/users").await;
    assert_error(status, &err, StatusCode::FORBIDDEN, "insufficient_scope");
}

// ---- Creating and editing people --------------------------------------------------------------

#[tokio::test]
async fn users_are_created_edited_and_given_identifiers_through_the_api() {
    let app = spawn_app().await;
    let api = ops(&app).await;
    let (status, err) = api
        .post_json("/users", json!({"login": "zoe", "password": "short"}))
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        app.core
            .db
            .user_by_identifier("zoe")
            .await
            .unwrap()
            .is_none()
    );

    let (status, zoe) = api
        .post_json(
            "/users",
            json!({"login": "zoe", "email": "zoe@example.org", "given_name": "Zoé",
                   "password": "a long enough passphrase 42"}),
        )
        .await;
    assert_eq!(status, 201, "{zoe}");
    let id = str_of(&zoe, "id").to_owned();
    assert_eq!(zoe["login"], "zoe");
    let stored = find_user(&app, "zoe").await;
    assert!(stored.password_hash.is_some());
    let (status, err) = api.post_json("/users", json!({"login": "zoe"})).await;
    assert_error(status, &err, StatusCode::CONFLICT, "conflict");
    let (status, err) = api
        .post_json("/users", json!({"login": "x", "colour": 1}))
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");

    // A profile: a field left out stays, null clears, a new address replaces the old one.
    let (status, shown) = api
        .patch(
            &format!("/users/{id}"),
            json!({"family_name": "Martin", "given_name": null, "email": "zoe@example.net"}),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["email"], "zoe@example.net");
    let stored = find_user(&app, "zoe").await;
    assert_eq!(stored.family_name.as_deref(), Some("Martin"));
    assert_eq!(stored.given_name, None);
    assert!(
        app.core
            .db
            .user_by_identifier("zoe@example.org")
            .await
            .unwrap()
            .is_none()
    );

    let (status, shown) = api
        .post_json(
            &format!("/users/{id}/identifiers"),
            json!({"identifier": "Z1234"}),
        )
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(find_user(&app, "z1234").await.id, id);
    let (status, err) = api
        .post_json(
            &format!("/users/{id}/identifiers"),
            json!({"identifier": "zoe"}),
        )
        .await;
    assert_error(status, &err, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn an_establishment_administrator_creates_people_only_in_their_establishment() {
    let app = spawn_app().await;
    two_establishments(&app).await;
    let api = Api {
        app: &app,
        token: person_token(&app, "alice", "openid admin").await,
    };
    let (status, err) = api.post_json("/users", json!({"login": "nobody"})).await;
    assert_error(status, &err, StatusCode::FORBIDDEN, "forbidden");
    let (status, err) = api
        .post_json("/users", json!({"login": "nobody", "establishment": "IUT"}))
        .await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
    assert!(
        app.core
            .db
            .user_by_identifier("nobody")
            .await
            .unwrap()
            .is_none()
    );
    let (status, user) = api
        .post_json(
            "/users",
            json!({"login": "newbie", "establishment": "UPEC", "rights": ["staff"]}),
        )
        .await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(
        user["memberships"],
        json!([{"establishment": "UPEC", "rights": ["staff"], "admin": false}])
    );
    // Carol (IUT) is not hers to edit.
    let carol = user_id(&app, "carol").await;
    let (status, _) = api
        .patch(&format!("/users/{carol}"), json!({"family_name": "X"}))
        .await;
    assert_eq!(status, 404);
    assert_ne!(
        find_user(&app, "carol").await.family_name.as_deref(),
        Some("X")
    );
}
