//! OpenID Connect Back-Channel Logout 1.0: when an SSO session ends (RP-initiated logout, CAS
//! logout, the sign-out button), each client with a grant in it and a back-channel logout URI
//! is posted a logout token, off the request path (CONFORMANCE J06).

use std::time::{Duration, Instant};

use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::helpers::*;

/// How long a queued logout token may take to arrive.
const ARRIVAL: Duration = Duration::from_secs(5);

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// The claims of a logout token, its signature checked against the JWKS and its `iss`, `aud`,
/// `iat` and `exp` validated.
async fn verified_logout_token(app: &TestApp, token: &str, aud: &str) -> Value {
    use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
    let header = decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("logout+jwt"), "BCL §2.4 typ");
    let jwks: JwkSet = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let kid = header.kid.as_deref().expect("a kid");
    let jwk = jwks
        .find(kid)
        .unwrap_or_else(|| panic!("kid {kid} not in the JWKS"));
    let mut v = Validation::new(header.alg);
    v.set_audience(&[aud]);
    v.set_issuer(&[app.issuer.as_str()]);
    v.set_required_spec_claims(&["iss", "aud", "exp", "iat", "sub"]);
    v.leeway = 0;
    decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &v)
        .unwrap_or_else(|e| panic!("the logout token does not verify: {e}"))
        .claims
}

/// A client of `app` whose back-channel logout URI is `uri`.
async fn client_with_backchannel(app: &TestApp, id: &str, uri: &str) -> TestClient {
    let uri = uri.to_owned();
    app.create_client(id, |c| c.backchannel_logout_uri = Some(uri))
        .await
}

#[tokio::test]
async fn an_rp_initiated_logout_posts_each_client_of_the_session_a_signed_logout_token() {
    let receiver = Receiver::start().await;
    let app = spawn_app().await;
    app.create_user("alice").await;
    let rp = client_with_backchannel(&app, "rp", &receiver.url("/bcl/rp")).await;
    // Another client in the same session: signs its ID tokens with ES256, needs `sid`.
    let bcl2 = receiver.url("/bcl/rp2?tenant=a");
    let rp2 = app
        .create_client("rp2", |c| {
            c.id_token_alg = guichet::crypto::keys::Alg::ES256;
            c.backchannel_logout_uri = Some(bcl2);
            c.backchannel_logout_session_required = true;
        })
        .await;
    // A client without a back-channel URI, in the same session.
    let quiet = app.create_client("quiet", |_| {}).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    app.code_flow_tokens(&rp2, "alice", "openid").await;
    app.code_flow_tokens(&quiet, "alice", "openid").await;
    let id = jwt_claims(&id_token(&tokens));
    // Bob, in another browser, at the same client: his session goes on.
    app.create_user("bob").await;
    let bob = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    tokens_from(&app, &bob, &rp, "bob").await;

    let res = logout_with_hint(&app, &id_token(&tokens), Some("bye")).await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "https://rp.example/bye?state=bye"
    );

    let mut posts = receiver.wait_for(2, ARRIVAL).await;
    receiver
        .assert_no_more_than(2, Duration::from_millis(500))
        .await;
    posts.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(posts[0].path, "/bcl/rp");
    assert_eq!(posts[1].path, "/bcl/rp2");
    assert_eq!(posts[1].query.as_deref(), Some("tenant=a"));
    for (post, aud, alg) in [(&posts[0], "rp", "RS256"), (&posts[1], "rp2", "ES256")] {
        assert_eq!(
            post.content_type.as_deref(),
            Some("application/x-www-form-urlencoded")
        );
        let token = post.form("logout_token").expect("a logout_token field");
        assert_eq!(
            jwt_header(&token)["alg"],
            alg,
            "the client's ID token algorithm"
        );
        let claims = verified_logout_token(&app, &token, aud).await;
        assert_eq!(claims["iss"], app.issuer.as_str());
        assert_eq!(claims["aud"], aud);
        assert_eq!(claims["sub"], id["sub"]);
        assert_eq!(claims["sid"], id["sid"], "the session the ID tokens named");
        assert_eq!(claims["events"], json!({ EVENT: {} }));
        assert!(claims.get("nonce").is_none(), "BCL §2.4: no nonce");
        let iat = claims["iat"].as_i64().unwrap();
        assert!((iat - app.clock.now()).abs() <= 5);
        assert_eq!(claims["exp"].as_i64().unwrap(), iat + 120);
        assert!(str_of(&claims, "jti").len() >= 16);
    }
    let jti = |p: &Posted| jwt_claims(&p.form("logout_token").unwrap())["jti"].clone();
    assert_ne!(jti(&posts[0]), jti(&posts[1]), "one jti per token");
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
    assert_eq!(prompt_none_with(&app, &bob, &rp, None).await, SIGNED_IN);
}

#[tokio::test]
async fn a_second_logout_with_the_same_hint_sends_no_second_token() {
    let receiver = Receiver::start().await;
    let (app, _) = app_with_alice().await;
    let rp = client_with_backchannel(&app, "bc", &receiver.url("/bcl")).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    logout_with_hint(&app, &id_token(&tokens), None).await;
    receiver.wait_for(1, ARRIVAL).await;
    let again = end_session(
        &reqwest::Client::new(),
        &app,
        &[("id_token_hint", &id_token(&tokens))],
    )
    .await;
    assert!(again.status().is_redirection() || again.status() == 200);
    receiver
        .assert_no_more_than(1, Duration::from_millis(1500))
        .await;
}

#[tokio::test]
async fn a_dead_or_silent_back_channel_neither_slows_nor_fails_the_logout() {
    let (app, _) = app_with_alice().await;
    let rp = client_with_backchannel(&app, "bc", &closed_port_url("/bcl")).await;
    // Connections are accepted (by the kernel) and never answered: each attempt waits for
    // the courier's timeout.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_url = format!("http://{}/bcl", silent.local_addr().unwrap());
    let slow = client_with_backchannel(&app, "slow", &silent_url).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    app.code_flow_tokens(&slow, "alice", "openid").await;
    let started = Instant::now();
    let res = logout_with_hint(&app, &id_token(&tokens), Some("s")).await;
    let took = started.elapsed();
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "https://rp.example/bye?state=s"
    );
    assert!(took < Duration::from_secs(1), "the logout took {took:?}");
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
    drop(silent);
}

#[tokio::test]
async fn a_refused_logout_token_is_posted_again() {
    let receiver = Receiver::answering(&[500]).await;
    let (app, _) = app_with_alice().await;
    let rp = client_with_backchannel(&app, "bc", &receiver.url("/bcl")).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    logout_with_hint(&app, &id_token(&tokens), None).await;
    let posts = receiver.wait_for(2, ARRIVAL).await;
    // Delivered at the second attempt: no third.
    receiver
        .assert_no_more_than(2, Duration::from_millis(2500))
        .await;
    assert_eq!(
        posts[0].form("logout_token"),
        posts[1].form("logout_token"),
        "the same token again"
    );
    assert!(
        posts[1].at.duration_since(posts[0].at) >= Duration::from_millis(900),
        "retried after a pause"
    );
}

#[tokio::test]
async fn a_cas_logout_also_posts_the_oidc_clients_of_the_same_session_a_logout_token() {
    let receiver = Receiver::start().await;
    let (app, _) = app_with_alice().await;
    let rp = client_with_backchannel(&app, "bc", &receiver.url("/bcl")).await;
    let service = receiver.url("/app/");
    app.create_cas_service(&service, |_| {}).await;
    let tokens = app.code_flow_tokens(&rp, "alice", "openid").await;
    // The same SSO session: no sign-in at CAS.
    let back = app
        .cas_through(&app.browser, &[("service", &service)], "alice")
        .await;
    assert!(
        query_param(&back, "ticket").is_some(),
        "no ticket in {back}"
    );

    let res = app
        .browser
        .get(app.url("/cas/logout"))
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "got {}", res.status());

    let posts = receiver.wait_for(2, ARRIVAL).await;
    let token = posts
        .iter()
        .find(|p| p.path == "/bcl")
        .and_then(|p| p.form("logout_token"))
        .expect("a logout token at the OIDC client");
    let claims = verified_logout_token(&app, &token, "bc").await;
    assert_eq!(claims["sid"], jwt_claims(&id_token(&tokens))["sid"]);
    let slo = posts
        .iter()
        .find(|p| p.path == "/app/")
        .and_then(|p| p.form("logoutRequest"))
        .expect("a SAML LogoutRequest at the CAS service");
    assert!(slo.contains("LogoutRequest"), "{slo}");
    assert_eq!(prompt_none(&app, &rp).await, "login_required");
}

#[tokio::test]
async fn signing_in_as_someone_else_in_the_same_browser_logs_the_first_person_out_of_the_clients() {
    let receiver = Receiver::start().await;
    let (app, _) = app_with_alice().await;
    app.create_user("bob").await;
    let rp = client_with_backchannel(&app, "bc", &receiver.url("/bcl")).await;
    let alice = app.code_flow_tokens(&rp, "alice", "openid").await;
    // prompt=login in the same browser, as bob: alice's session ends in full.
    let (challenge, _) = pkce_pair();
    app.authorize_through(
        &auth_params(
            &rp,
            &[
                ("prompt", "login"),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ],
        ),
        "bob",
    )
    .await;
    let posts = receiver.wait_for(1, ARRIVAL).await;
    let claims = verified_logout_token(&app, &posts[0].form("logout_token").unwrap(), "bc").await;
    assert_eq!(claims["sid"], jwt_claims(&id_token(&alice))["sid"]);
    assert_eq!(claims["sub"], jwt_claims(&id_token(&alice))["sub"]);
}

#[tokio::test]
async fn discovery_announces_back_channel_logout_with_the_session_id() {
    let app = spawn_app().await;
    let doc =
        json_of(reqwest::Client::new().get(app.url("/.well-known/openid-configuration"))).await;
    assert_eq!(doc["backchannel_logout_supported"], true);
    assert_eq!(doc["backchannel_logout_session_supported"], true);
}

#[tokio::test]
async fn registration_refuses_a_back_channel_uri_that_is_plain_http_elsewhere_than_loopback_or_has_a_fragment()
 {
    let app = spawn_app().await;
    for bad in [
        "http://rp.example/bcl",
        "https://rp.example/bcl#x",
        "com.example.app:/bcl",
        "bcl",
    ] {
        let mut spec = guichet::service::clients::ClientSpec {
            client_id: "c".into(),
            name: None,
            public: false,
            redirect_uris: vec!["https://rp.example/cb".into()],
            post_logout_redirect_uris: vec![],
            grant_types: vec![],
            scopes: vec![],
            first_party: true,
            introspect: false,
            require_mfa: false,
            id_token_alg: guichet::crypto::keys::Alg::RS256,
            access_token_alg: guichet::crypto::keys::Alg::ES256,
            lifetimes: Default::default(),
            backchannel_logout_uri: Some(bad.into()),
            backchannel_logout_session_required: false,
        };
        let refused = guichet::service::clients::register(&app.core.db, spec.clone(), 0).await;
        assert!(refused.is_err(), "{bad} accepted");
        spec.backchannel_logout_uri = None;
        spec.backchannel_logout_session_required = true;
        let refused = guichet::service::clients::register(&app.core.db, spec, 0).await;
        assert!(refused.is_err(), "session_required without a URI accepted");
    }
}
