//! The full authorization code flow with the `openidconnect` crate as the relying party.

use openidconnect::core::{CoreClient, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, RedirectUrl, Scope, TokenResponse,
};

use crate::helpers::*;

fn rp_http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_relying_party_signs_a_user_in_refreshes_reads_userinfo_and_logs_out() {
    let app = spawn_app().await;
    let user_id = app.create_user("alice").await;
    let rp = app.create_client("rp1", |_| {}).await;
    let http = rp_http();

    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.clone()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser follows the authorization URL and signs in.
    let res = app.browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 303, "a POST is followed by 303, never 307");
    let cb = location(&res);
    assert!(cb.as_str().starts_with(&rp.redirect_uri));
    assert_eq!(
        query_param(&cb, "state").as_deref(),
        Some(csrf.secret().as_str())
    );
    assert_eq!(
        query_param(&cb, "iss").as_deref(),
        Some(app.issuer.as_str())
    );
    let code = query_param(&cb, "code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("id token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("valid id token");
    assert_eq!(claims.subject().as_str(), user_id);
    assert_eq!(
        claims.preferred_username().map(|u| u.as_str()),
        Some("alice")
    );
    assert!(claims.auth_time().is_some());
    let at_hash = claims.access_token_hash().expect("at_hash");
    let expected = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(at_hash, &expected);
    let raw_id = jwt_claims(&id_token.to_string());
    assert_eq!(jwt_header(&id_token.to_string())["alg"], "RS256");
    assert!(raw_id["sid"].is_string());
    assert_eq!(raw_id["amr"], serde_json::json!(["pwd"]));

    // The access token is an RFC 9068 JWT.
    let at = tokens.access_token().secret();
    assert_eq!(jwt_header(at)["typ"], "at+jwt");
    assert_eq!(jwt_header(at)["alg"], "ES256");
    let at_claims = jwt_claims(at);
    assert_eq!(at_claims["sub"], user_id.as_str());
    assert_eq!(at_claims["client_id"], "rp1");
    assert_eq!(at_claims["aud"], app.issuer.as_str());
    assert!(at_claims["jti"].is_string() && at_claims["gid"].is_string());
    assert!(at_claims.get("nbf").is_none());

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user_id);
    assert_eq!(info.email().map(|e| e.as_str()), Some("alice@example.org"));
    assert_eq!(info.email_verified(), Some(true));

    // Refresh rotates the token and keeps sub, auth_time.
    let refresh = tokens.refresh_token().expect("refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let new_refresh = refreshed.refresh_token().expect("rotated refresh token");
    assert_ne!(new_refresh.secret(), refresh.secret());
    let new_id = jwt_claims(&refreshed.id_token().unwrap().to_string());
    assert_eq!(new_id["sub"], raw_id["sub"]);
    assert_eq!(new_id["auth_time"], raw_id["auth_time"]);

    // Logout with the ID token hint ends the session and the session-bound refresh token.
    let res = logout_with_hint(&app, &id_token.to_string(), Some("bye1")).await;
    assert!(res.status().is_redirection());
    assert_eq!(location(&res).as_str(), "https://rp.example/bye?state=bye1");

    let after = client
        .exchange_refresh_token(new_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert!(after.is_err(), "the refresh token died with the session");
    let res = app
        .authorize(&[
            ("response_type", "code"),
            ("client_id", "rp1"),
            ("redirect_uri", &rp.redirect_uri),
            ("scope", "openid"),
            ("prompt", "none"),
            ("state", "x"),
        ])
        .await;
    assert_eq!(
        query_param(&location(&res), "error").as_deref(),
        Some("login_required")
    );
}

#[tokio::test]
async fn discovery_and_jwks_are_public_json_with_every_endpoint() {
    let app = spawn_app().await;
    let res = reqwest::get(app.url("/.well-known/openid-configuration"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["access-control-allow-origin"], "*");
    // Caches may keep discovery and the JWKS a few minutes, never a token response.
    assert_eq!(res.headers()["cache-control"], "public, max-age=120");
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let doc: serde_json::Value = res.json().await.unwrap();
    assert_eq!(doc["issuer"], app.issuer.as_str());
    for (k, path) in [
        ("authorization_endpoint", "/authorize"),
        ("token_endpoint", "/token"),
        ("userinfo_endpoint", "/userinfo"),
        ("jwks_uri", "/jwks"),
        ("revocation_endpoint", "/revoke"),
        ("introspection_endpoint", "/introspect"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(doc[k], app.url(path).as_str(), "{k}");
    }
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(
        doc["code_challenge_methods_supported"],
        serde_json::json!(["S256"])
    );
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    assert_eq!(doc["request_parameter_supported"], false);
    assert!(
        doc["id_token_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"RS256".into())
    );

    let res = reqwest::get(app.url("/jwks")).await.unwrap();
    assert_eq!(res.headers()["cache-control"], "public, max-age=120");
    let jwks: serde_json::Value = res.json().await.unwrap();
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(
                k.get(private).is_none(),
                "private member {private} published"
            );
        }
        assert_eq!(k["use"], "sig");
    }
}

#[tokio::test]
async fn an_issuer_with_a_path_mounts_every_route_under_it() {
    // Bind first to learn the port, then name it in the issuer.
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let issuer = format!("http://127.0.0.1:{port}/sso");
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    copy_fixture_keys(&keys);
    let settings = guichet::config::Settings {
        issuer: issuer.clone(),
        listen: format!("127.0.0.1:{port}"),
        database_url: fresh_database_url(dir.path()).await.into(),
        redis_url: test_redis_url().map(Into::into),
        redis_prefix: format!("guichet-test-{}:", uuid::Uuid::new_v4().simple()),
        keys_dir: keys,
        hash_concurrency: Some(1),
        ..Default::default()
    };
    let app = guichet::app::Application::build(settings, guichet::clock::Clock::system())
        .await
        .unwrap();
    let core = app.core();
    tokio::spawn(app.run_until(std::future::pending()));

    let doc =
        json_of(reqwest::Client::new().get(format!("{issuer}/.well-known/openid-configuration")))
            .await;
    assert_eq!(doc["issuer"], issuer.as_str());
    assert_eq!(doc["authorization_endpoint"], format!("{issuer}/authorize"));
    assert_eq!(doc["jwks_uri"], format!("{issuer}/jwks"));
    assert_eq!(
        reqwest::get(format!("{issuer}/jwks"))
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        reqwest::get(format!("{issuer}/healthz"))
            .await
            .unwrap()
            .status(),
        200
    );
    let root = format!("http://127.0.0.1:{port}");
    for outside in ["/.well-known/openid-configuration", "/authorize", "/jwks"] {
        let res = reqwest::get(format!("{root}{outside}")).await.unwrap();
        assert_eq!(
            res.status(),
            404,
            "{outside} answered outside the issuer path"
        );
    }
    // The login page's form and stylesheet point inside the path.
    guichet::service::clients::register(
        &core.db,
        guichet::service::clients::ClientSpec {
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
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
        },
        0,
    )
    .await
    .unwrap();
    let page = text_of(
        reqwest::Client::new()
            .get(format!("{issuer}/authorize"))
            .query(&[
                ("client_id", "c"),
                ("redirect_uri", "https://rp.example/cb"),
                ("response_type", "code"),
                ("scope", "openid"),
            ]),
    )
    .await;
    let doc = scraper::Html::parse_document(&page);
    let form = scraper::Selector::parse("form").unwrap();
    let action = doc
        .select(&form)
        .next()
        .and_then(|f| f.value().attr("action"));
    assert_eq!(action, Some("/sso/login"), "{page}");
    let link = scraper::Selector::parse("link[rel=stylesheet]").unwrap();
    let href = doc
        .select(&link)
        .next()
        .and_then(|l| l.value().attr("href"));
    assert_eq!(href, Some("/sso/static/style.css"));
    let css = reqwest::get(format!("{issuer}/static/style.css"))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
}

/// Item 6 of issue 10: a client may have its ID tokens and access tokens signed with Ed25519
/// (`--id-token-alg EdDSA --access-token-alg EdDSA`); the key is published in the JWKS and its
/// algorithm in discovery, and an off-the-shelf relying party verifies both.
#[tokio::test]
async fn an_eddsa_client_gets_ed25519_tokens_that_an_off_the_shelf_relying_party_verifies() {
    use guichet::crypto::keys::{Alg, rotate};
    use openidconnect::core::CoreJwsSigningAlgorithm;

    let keys = tempfile::tempdir().unwrap();
    copy_fixture_keys(keys.path());
    let (ed_kid, _) = rotate(keys.path(), Alg::EdDSA).unwrap();
    let app = spawn_with(Options {
        keys_dir: Some(keys.path().to_path_buf()),
        ..Options::default()
    })
    .await;
    let user_id = app.create_user("alice").await;
    let rp = app
        .create_client("rp-ed", |c| {
            c.id_token_alg = Alg::EdDSA;
            c.access_token_alg = Alg::EdDSA;
        })
        .await;
    let http = rp_http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(app.issuer.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    assert!(
        metadata
            .id_token_signing_alg_values_supported()
            .contains(&CoreJwsSigningAlgorithm::EdDsa)
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(rp.id.clone()),
        Some(ClientSecret::new(rp.secret.clone().unwrap())),
    )
    .set_redirect_uri(RedirectUrl::new(rp.redirect_uri.clone()).unwrap());
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, _csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .set_pkce_challenge(challenge)
        .url();
    let res = app.browser.get(auth_url.as_str()).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let res = app.submit_login(&page, "alice", PASSWORD).await;
    let code = query_param(&location(&res), "code").unwrap();
    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");

    // The ID token: Ed25519, verified by the openidconnect crate against the published JWKS.
    let id_token = tokens.id_token().expect("id token");
    let id_verifier = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::EdDsa]);
    let claims = id_token
        .claims(&id_verifier, &nonce)
        .expect("an EdDSA ID token the relying party verifies");
    assert_eq!(claims.subject().as_str(), user_id);
    let header = jwt_header(&id_token.to_string());
    assert_eq!(
        (header["alg"].as_str(), header["kid"].as_str()),
        (Some("EdDSA"), Some(ed_kid.as_str()))
    );
    // A relying party that accepts RS256 only refuses it: the algorithm is really EdDSA.
    let rs256_only = client
        .id_token_verifier()
        .set_allowed_algs(vec![CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256]);
    assert!(id_token.claims(&rs256_only, &nonce).is_err());

    // The access token: an RFC 9068 JWT signed with the same key, verified by jsonwebtoken
    // with the JWKS's OKP key.
    let jwks: serde_json::Value = reqwest::get(app.url("/jwks"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == ed_kid.as_str())
        .expect("the EdDSA key is published");
    assert_eq!(
        (jwk["kty"].as_str(), jwk["crv"].as_str()),
        (Some("OKP"), Some("Ed25519"))
    );
    assert!(jwk.get("d").is_none());
    let key = jsonwebtoken::DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.set_audience(&[app.issuer.as_str()]);
    validation.set_issuer(&[app.issuer.as_str()]);
    let at = tokens.access_token().secret();
    let data = jsonwebtoken::decode::<serde_json::Value>(at, &key, &validation)
        .expect("an EdDSA access token verified with the published key");
    assert_eq!(data.header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(data.claims["sub"], user_id.as_str());
}
