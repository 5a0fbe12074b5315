//! RP-Initiated Logout 1.0: where logout may redirect, which hints are trusted, the
//! confirmation page, and what ends with the session (CONFORMANCE J01–J05).

use reqwest::header::LOCATION;
use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn logout_with_a_hint_a_registered_uri_and_state_redirects_there_with_the_state_and_ends_the_session()
 {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);

    let res = logout_with_hint(&app, str_of(&tokens, "id_token"), Some("bye-1")).await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "https://rp.example/bye?state=bye-1"
    );
    let removal = set_cookie(&res, "guichet_session").expect("the session cookie is removed");
    assert!(cookie_value(&removal).is_empty());

    assert_eq!(prompt_none(&app, &client).await, "login_required");
    assert_refresh_refused(&app, &client, str_of(&tokens, "refresh_token")).await;
}

#[tokio::test]
async fn logout_without_state_redirects_to_the_registered_uri_without_a_state() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let res = logout_with_hint(&app, str_of(&tokens, "id_token"), None).await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(res.headers()[LOCATION].to_str().unwrap(), BYE);
    assert_eq!(prompt_none(&app, &client).await, "login_required");
}

#[tokio::test]
async fn logout_never_redirects_to_an_unregistered_or_altered_uri_or_one_of_another_client() {
    let (app, client) = app_with_alice().await;
    app.create_client("rp2", |c| {
        c.redirect_uris = vec!["https://other.example/cb".into()];
        c.post_logout_redirect_uris = vec!["https://other.example/bye".into()];
    })
    .await;
    for uri in [
        "https://evil.example/bye",
        "https://rp.example/bye?foo=bar",
        "https://rp.example/bye/",
        "https://other.example/bye",
    ] {
        // A fresh sign-in each time: a hint is valid whether or not its session is still alive.
        let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
        let res = end_session(
            &app.browser,
            &app,
            &[
                ("id_token_hint", str_of(&tokens, "id_token")),
                ("post_logout_redirect_uri", uri),
                ("state", "s"),
            ],
        )
        .await;
        assert_eq!(res.status(), 200, "{uri}");
        assert_html_no_redirect(&res, uri);
        let page = res.text().await.unwrap();
        assert!(!page.contains(uri), "the page links to {uri}");
    }
}

/// An ID token signed by a P-256 key the server has never seen, under the `kid` of its own
/// ES256 key.
async fn foreign_hint(app: &TestApp, claims: &Value) -> String {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
    let jwks = json_of(reqwest::Client::new().get(app.url("/jwks"))).await;
    let kid = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["alg"] == "ES256")
        .expect("an ES256 key")["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(
        &ECDSA_P256_SHA256_FIXED_SIGNING,
        &aws_lc_rs::rand::SystemRandom::new(),
    )
    .unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some(kid);
    jsonwebtoken::encode(
        &header,
        claims,
        &jsonwebtoken::EncodingKey::from_ec_der(pkcs8.as_ref()),
    )
    .unwrap()
}

#[tokio::test]
async fn logout_without_a_valid_hint_shows_a_confirmation_page_and_keeps_the_session() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let real = str_of(&tokens, "id_token").to_owned();
    let claims = jwt_claims(&real);
    assert!(claims["sid"].is_string());

    // The real token with its signature altered.
    let (signed, sig) = real.rsplit_once('.').unwrap();
    let mut sig: Vec<char> = sig.chars().collect();
    sig[4] = if sig[4] == 'A' { 'B' } else { 'A' };
    let altered = format!("{signed}.{}", sig.into_iter().collect::<String>());
    let foreign = foreign_hint(&app, &claims).await;
    let alg_none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    );

    // Each forged hint comes with the registered post-logout URI and a state.
    let hinted = |hint| {
        vec![
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", BYE),
            ("state", "s"),
        ]
    };
    let cases: [(&str, Vec<(&str, &str)>); 5] = [
        (
            "no hint",
            vec![("post_logout_redirect_uri", BYE), ("state", "s")],
        ),
        ("altered signature", hinted(altered.as_str())),
        ("foreign key", hinted(foreign.as_str())),
        ("alg none", hinted(alg_none.as_str())),
        (
            "hint for another client_id",
            vec![
                ("id_token_hint", real.as_str()),
                ("client_id", "someone-else"),
                ("post_logout_redirect_uri", BYE),
            ],
        ),
    ];
    for (what, params) in cases {
        let res = end_session(&app.browser, &app, &params).await;
        assert_confirmation_page(res).await;
        assert_eq!(
            prompt_none(&app, &client).await,
            SIGNED_IN,
            "{what}: showing the confirmation ended the session"
        );
    }
    // Not through the cookie either: a forged hint naming the sid ends nothing.
    for hint in [&altered, &foreign, &alg_none] {
        let res = end_session(&bare_client(), &app, &[("id_token_hint", hint.as_str())]).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);
    let (status, _) = refresh(&app, &client, str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, 200, "a forged hint revoked the refresh token");
}

#[tokio::test]
async fn logout_without_parameters_asks_for_confirmation_and_the_confirmation_ends_the_session() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;

    let page = assert_confirmation_page(end_session(&app.browser, &app, &[]).await).await;
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);
    let only_state = end_session(&app.browser, &app, &[("state", "s")]).await;
    assert_confirmation_page(only_state).await;
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);

    let res = submit_form(&app, &app.browser, &first_form(&page)).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().get(LOCATION).is_none());
    assert_eq!(prompt_none(&app, &client).await, "login_required");
    assert_refresh_refused(&app, &client, str_of(&tokens, "refresh_token")).await;
}

#[tokio::test]
async fn logout_by_post_form_redirects_with_303_and_ends_the_session() {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let res = app
        .browser
        .post(app.url("/logout"))
        .form(&[
            ("id_token_hint", str_of(&tokens, "id_token")),
            ("post_logout_redirect_uri", BYE),
            ("state", "p1"),
        ])
        .send()
        .await
        .unwrap();
    assert_see_other(&res, "https://rp.example/bye?state=p1");
    assert_eq!(prompt_none(&app, &client).await, "login_required");
}

#[tokio::test]
async fn the_session_named_by_the_hint_ends_without_its_cookie_and_only_offline_tokens_survive() {
    let (app, client) = app_with_alice().await;
    let offline = app
        .code_flow_tokens(&client, "alice", "openid offline_access")
        .await;
    let online = app.code_flow_tokens(&client, "alice", "openid").await;
    let sid = jwt_claims(str_of(&online, "id_token"))["sid"].clone();
    assert!(sid.is_string());
    assert_eq!(jwt_claims(str_of(&offline, "id_token"))["sid"], sid);

    // A cross-site request without the browser's cookies.
    let res = end_session(
        &bare_client(),
        &app,
        &[
            ("id_token_hint", str_of(&online, "id_token")),
            ("post_logout_redirect_uri", BYE),
            ("state", "x"),
        ],
    )
    .await;
    assert!(res.status().is_redirection(), "got {}", res.status());
    assert_eq!(
        res.headers()[LOCATION].to_str().unwrap(),
        "https://rp.example/bye?state=x"
    );

    assert_eq!(prompt_none(&app, &client).await, "login_required");
    assert_refresh_refused(&app, &client, str_of(&online, "refresh_token")).await;
    let online_at = str_of(&online, "access_token");
    assert_eq!(userinfo_get(&app, online_at).await.status(), 401);
    let (status, body) = refresh(&app, &client, str_of(&offline, "refresh_token")).await;
    assert_eq!(status, 200, "the offline grant survives logout: {body}");
    let offline_at = str_of(&offline, "access_token");
    assert_eq!(userinfo_get(&app, offline_at).await.status(), 200);
}

/// The value of the hidden field `name` in a form.
fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.hidden
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

const NOT_REGISTERED: &str = "is not registered";

#[tokio::test]
async fn logout_with_client_id_and_its_registered_uri_but_no_hint_confirms_then_returns_there_with_the_state()
 {
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let res = end_session(
        &app.browser,
        &app,
        &[
            ("client_id", client.id.as_str()),
            ("post_logout_redirect_uri", BYE),
            ("state", "bye-2"),
            ("ui_locales", "en"),
        ],
    )
    .await;
    let page = assert_confirmation_page(res).await;
    assert!(!page.contains(NOT_REGISTERED), "{page}");
    assert!(!page.contains("role=\"alert\""), "{page}");
    let form = first_form(&page);
    assert_eq!(field(&form, "post_logout_redirect_uri"), Some(BYE));
    assert_eq!(field(&form, "client_id"), Some(client.id.as_str()));
    assert_eq!(field(&form, "state"), Some("bye-2"));
    assert_eq!(field(&form, "ui_locales"), Some("en"));
    assert_eq!(
        prompt_none(&app, &client).await,
        SIGNED_IN,
        "asking for confirmation ended the session"
    );

    let res = submit_form(&app, &app.browser, &form).await;
    assert_see_other(&res, "https://rp.example/bye?state=bye-2");
    assert_eq!(prompt_none(&app, &client).await, "login_required");
    let (status, _) = refresh(&app, &client, str_of(&tokens, "refresh_token")).await;
    assert_eq!(status, 400, "the session-bound refresh token survived");
}

#[tokio::test]
async fn logout_with_client_id_never_returns_to_an_unregistered_uri_nor_for_an_unknown_or_disabled_client()
 {
    let (app, client) = app_with_alice().await;
    app.create_client("rp2", |c| {
        c.redirect_uris = vec!["https://other.example/cb".into()];
        c.post_logout_redirect_uris = vec!["https://other.example/bye".into()];
    })
    .await;
    app.create_client("off", |c| {
        c.redirect_uris = vec!["https://off.example/cb".into()];
        c.post_logout_redirect_uris = vec!["https://off.example/bye".into()];
    })
    .await;
    assert!(
        app.core
            .db
            .client_set_disabled("off", true, app.clock.now())
            .await
            .unwrap()
    );
    for (client_id, uri) in [
        ("rp1", "https://evil.example/bye"),
        ("rp1", "https://rp.example/bye/"),
        ("rp1", "https://other.example/bye"),
        ("nobody", BYE),
        ("off", "https://off.example/bye"),
    ] {
        app.code_flow_tokens(&client, "alice", "openid").await;
        let params = [
            ("client_id", client_id),
            ("post_logout_redirect_uri", uri),
            ("state", "s"),
            ("ui_locales", "en"),
        ];
        let page = assert_confirmation_page(end_session(&app.browser, &app, &params).await).await;
        assert!(page.contains(NOT_REGISTERED), "{client_id} {uri}: {page}");
        let form = first_form(&page);
        assert_eq!(field(&form, "post_logout_redirect_uri"), None, "{uri}");

        // The confirmation, even with the address forged back into the form, stays here.
        let mut forged = form.hidden.clone();
        forged.push(("post_logout_redirect_uri".into(), uri.into()));
        forged.push(("client_id".into(), client_id.into()));
        let res = app
            .browser
            .post(app.url(&form.action))
            .form(&forged)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{client_id} {uri}");
        assert!(res.headers().get(LOCATION).is_none(), "redirected to {uri}");
        let page = res.text().await.unwrap();
        assert!(page.contains(NOT_REGISTERED), "{page}");
        assert_eq!(prompt_none(&app, &client).await, "login_required");
    }
}

#[tokio::test]
async fn a_confirmed_logout_with_a_forged_cookie_ends_no_one_else_s_session() {
    // Session ids are public (the `sid` of ID tokens): the confirmation ends only the session
    // whose secret the cookie proves.
    let (app, client) = app_with_alice().await;
    let tokens = app.code_flow_tokens(&client, "alice", "openid").await;
    let sid = jwt_claims(tokens["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = format!("guichet_session={sid}-{}", "a".repeat(64));
    let other = bare_client();
    let res = other
        .get(app.url("/logout"))
        .header("cookie", &forged)
        .send()
        .await
        .unwrap();
    let csrf_cookie = cookie_value(&set_cookie(&res, "guichet_csrf").unwrap());
    let page = res.text().await.unwrap();
    let res = other
        .post(app.url("/logout/confirm"))
        .header("cookie", format!("{forged}; guichet_csrf={csrf_cookie}"))
        .form(&[("csrf", hidden(&page, "csrf").unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(prompt_none(&app, &client).await, SIGNED_IN);
}
