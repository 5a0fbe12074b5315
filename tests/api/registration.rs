//! RFC 7591 dynamic client registration at `/register` (and OpenID Connect Registration 1.0):
//! off by default; on, protected by an initial access token; metadata checked (§2, §3.2.2);
//! the client registered then signs a person in like any other (conformance rows I01–I06).

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType};
use openidconnect::{
    AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce,
    PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};
use reqwest::StatusCode;
use serde_json::{Value, json};

use guichet::config::Registration;
use guichet::domain::audit::{AuditFilter, AuditKind};

use crate::helpers::*;

const TOKEN: &str = "initial-access-token-0123456789abcdefghij";

async fn app_with_registration() -> TestApp {
    spawn_with(Options {
        settings: Some(|s| {
            s.registration = Registration::On;
            s.registration_token = Some(TOKEN.into());
        }),
        ..Options::default()
    })
    .await
}

async fn register(app: &TestApp, token: Option<&str>, body: &Value) -> reqwest::Response {
    let mut req = bare_client()
        .post(app.url("/register"))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req).await
}

async fn discovery(app: &TestApp) -> Value {
    json_of(bare_client().get(app.url("/.well-known/openid-configuration"))).await
}

#[tokio::test]
async fn registration_is_off_by_default_the_endpoint_is_404_and_discovery_does_not_list_it() {
    let app = spawn_app().await;
    let body = json!({"redirect_uris": ["https://rp.example/cb"]});
    let res = register(&app, Some(TOKEN), &body).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = send(
        bare_client()
            .get(app.url("/register/anything"))
            .bearer_auth(TOKEN),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(discovery(&app).await.get("registration_endpoint").is_none());
    assert!(admin(&app).clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn without_the_initial_access_token_a_registration_is_401_invalid_token() {
    let app = app_with_registration().await;
    assert_eq!(
        discovery(&app).await["registration_endpoint"],
        format!("{}/register", app.issuer)
    );
    let body = json!({"redirect_uris": ["https://rp.example/cb"]});
    for token in [None, Some("wrong"), Some(&TOKEN[..TOKEN.len() - 1])] {
        let res = register(&app, token, &body).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(bearer_error(&res).as_deref(), Some("invalid_token"));
    }
    // Basic is not the scheme.
    let res = send(
        bare_client()
            .post(app.url("/register"))
            .basic_auth("x", Some(TOKEN))
            .header("content-type", "application/json")
            .body(body.to_string()),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(admin(&app).clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_application_registers_itself_then_signs_a_person_in_with_the_openidconnect_crate() {
    let app = app_with_registration().await;
    let user_id = app.create_user("alice").await;
    let before = app.clock.now();
    let res = register(
        &app,
        Some(TOKEN),
        &json!({
            "redirect_uris": ["https://rp.example/cb"],
            "client_name": "Bibliothèque",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "token_endpoint_auth_method": "client_secret_basic",
            "scope": "openid email",
            "post_logout_redirect_uris": ["https://rp.example/bye"],
            "logo_uri": "https://rp.example/logo.png",
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_no_store(&res);
    let reg: Value = res.json().await.unwrap();
    let client_id = reg["client_id"].as_str().unwrap().to_owned();
    let secret = reg["client_secret"].as_str().unwrap().to_owned();
    assert!(is_base64url(&secret) && secret.len() == 43);
    assert_eq!(reg["client_secret_expires_at"], 0);
    assert!(reg["client_id_issued_at"].as_i64().unwrap() >= before);
    assert_eq!(reg["redirect_uris"], json!(["https://rp.example/cb"]));
    assert_eq!(reg["client_name"], "Bibliothèque");
    assert_eq!(
        reg["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(reg["response_types"], json!(["code"]));
    assert_eq!(reg["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(reg["scope"], "openid email");
    assert_eq!(
        reg["post_logout_redirect_uris"],
        json!(["https://rp.example/bye"])
    );
    assert!(reg.get("logo_uri").is_none(), "not kept, so not echoed");
    assert!(reg["registration_access_token"].is_string());
    assert_eq!(
        reg["registration_client_uri"],
        format!("{}/register/{client_id}", app.issuer)
    );
    // Stored as a third party (consent asked), audited by "registration".
    let stored = admin(&app).client(&client_id).await.unwrap();
    assert!(!stored.first_party && !stored.public && !stored.introspect);
    let rows = app
        .core
        .db
        .audit_query(&AuditFilter {
            kinds: vec![AuditKind::ClientCreated],
            client_id: Some(client_id.clone()),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    let detail: Value = serde_json::from_str(rows[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["by"], "registration");

    // The relying party, with what it was given.
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new("https://rp.example/cb".into()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let res = app.browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    // A self-registered application is a third party: the person consents.
    let consent = assert_consent_page(app.submit_login(&page, "alice", PASSWORD).await).await;
    assert!(consent.contains("Bibliothèque"));
    let res = app.submit_consent(&consent, true).await;
    let cb = location(&res);
    assert!(cb.as_str().starts_with("https://rp.example/cb"), "{cb}");
    assert_eq!(
        query_param(&cb, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    let code = query_param(&cb, "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let claims = tokens
        .id_token()
        .expect("id token")
        .claims(&client.id_token_verifier(), &nonce)
        .expect("valid id token");
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(
        claims.email().map(|e| e.as_str()),
        Some("alice@example.org")
    );
}

#[tokio::test]
async fn bad_metadata_is_400_invalid_redirect_uri_or_invalid_client_metadata_and_registers_nothing()
{
    let app = app_with_registration().await;
    let cb = json!(["https://rp.example/cb"]);
    let cases = [
        // I02, I04: fragments, plain http off loopback, no redirect URI at all.
        (
            json!({"redirect_uris": ["https://rp.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["http://rp.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            json!({"redirect_uris": ["myapp:/cb"]}),
            "invalid_redirect_uri",
        ),
        (json!({}), "invalid_redirect_uri"),
        (
            json!({"redirect_uris": "https://rp.example/cb"}),
            "invalid_client_metadata",
        ),
        // RFC 7591 §2.1: grant types and response types agree.
        (
            json!({"redirect_uris": cb, "grant_types": ["client_credentials"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "response_types": ["code", "id_token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "grant_types": ["implicit"], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "token_endpoint_auth_method": "none",
                   "grant_types": ["authorization_code", "client_credentials"]}),
            "invalid_client_metadata",
        ),
        // Only scopes the server knows, never `admin`.
        (
            json!({"redirect_uris": cb, "scope": "openid admin"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "scope": "openid payroll"}),
            "invalid_client_metadata",
        ),
        // I03: no pairwise identifiers; I04: jwks with jwks_uri, http initiate_login_uri.
        (
            json!({"redirect_uris": cb, "subject_type": "pairwise"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "jwks": {"keys": []}, "jwks_uri": "https://rp.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "initiate_login_uri": "http://rp.example/login"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "post_logout_redirect_uris": ["http://rp.example/bye"]}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "backchannel_logout_uri": "http://rp.example/logout"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "backchannel_logout_session_required": true}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "id_token_signed_response_alg": "none"}),
            "invalid_client_metadata",
        ),
        // Allowed, but the test keys folder has no EdDSA key to sign with.
        (
            json!({"redirect_uris": cb, "id_token_signed_response_alg": "EdDSA"}),
            "invalid_client_metadata",
        ),
        (
            json!({"redirect_uris": cb, "client_name": "a\nb"}),
            "invalid_client_metadata",
        ),
        (json!(["https://rp.example/cb"]), "invalid_client_metadata"),
    ];
    for (body, code) in cases {
        let res = register(&app, Some(TOKEN), &body).await;
        let (status, _) = oauth_error(res, code).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    }
    let res = send(
        bare_client()
            .post(app.url("/register"))
            .bearer_auth(TOKEN)
            .body("not json"),
    )
    .await;
    oauth_error(res, "invalid_client_metadata").await;
    assert!(admin(&app).clients().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_native_application_registers_as_a_public_client_without_a_secret() {
    let app = app_with_registration().await;
    let res = register(
        &app,
        Some(TOKEN),
        &json!({
            "redirect_uris": ["http://127.0.0.1/cb", "com.example.app:/cb"],
            "token_endpoint_auth_method": "none",
            "id_token_signed_response_alg": "ES256",
            "backchannel_logout_uri": "https://rp.example/logout",
            "backchannel_logout_session_required": true,
        }),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let reg: Value = res.json().await.unwrap();
    assert!(reg.get("client_secret").is_none() && reg.get("client_secret_expires_at").is_none());
    assert_eq!(reg["token_endpoint_auth_method"], "none");
    assert_eq!(reg["grant_types"], json!(["authorization_code"]));
    assert_eq!(reg["scope"], "openid profile email");
    assert_eq!(reg["id_token_signed_response_alg"], "ES256");
    assert_eq!(reg["backchannel_logout_session_required"], true);
    let stored = admin(&app)
        .client(reg["client_id"].as_str().unwrap())
        .await
        .unwrap();
    assert!(stored.public && stored.secret_hash.is_none());
}

#[tokio::test]
async fn a_registration_is_read_back_with_its_registration_access_token_and_nothing_else() {
    let app = app_with_registration().await;
    let mut regs = Vec::new();
    for uri in ["https://one.example/cb", "https://two.example/cb"] {
        let res = register(&app, Some(TOKEN), &json!({"redirect_uris": [uri]})).await;
        assert_eq!(res.status(), StatusCode::CREATED);
        regs.push(res.json::<Value>().await.unwrap());
    }
    let (one, two) = (&regs[0], &regs[1]);
    let uri = one["registration_client_uri"].as_str().unwrap();
    let token = one["registration_access_token"].as_str().unwrap();
    let path = uri.strip_prefix(&app.issuer).unwrap();
    let res = send(bare_client().get(app.url(path)).bearer_auth(token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_no_store(&res);
    let read: Value = res.json().await.unwrap();
    assert_eq!(read["client_id"], one["client_id"]);
    assert_eq!(read["redirect_uris"], one["redirect_uris"]);
    assert_eq!(read["registration_client_uri"], uri);
    assert!(read.get("client_secret").is_none() && read.get("registration_access_token").is_none());

    // A wrong token, another client's token, the initial access token, none: 401 alike.
    let two_token = two["registration_access_token"].as_str().unwrap();
    for t in [Some("wrong"), Some(two_token), Some(TOKEN), None] {
        let mut req = bare_client().get(app.url(path));
        if let Some(t) = t {
            req = req.bearer_auth(t);
        }
        let res = send(req).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{t:?}");
        assert!(challenge(&res).starts_with("Bearer"));
    }
    // An unknown client, and a client an administrator registered: no registration to read.
    let rp = app.create_client("rp1", |_| {}).await;
    for id in ["dyn-unknown", rp.id.as_str()] {
        let res = send(
            bare_client()
                .get(app.url(&format!("/register/{id}")))
                .bearer_auth(token),
        )
        .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{id}");
    }
}
