//! The administration JSON API's applications and invitations: clients and CAS services
//! (global administrators), invitations within the caller's reach.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::admin_api::{Api, assert_error, ops, person_token, two_establishments};
use crate::helpers::*;

// ---- Clients --------------------------------------------------------------------------------

#[tokio::test]
async fn clients_are_disabled_enabled_given_a_new_secret_and_removed_through_the_api() {
    let app = spawn_app().await;
    let api = ops(&app).await;
    api_client(&app, "batch").await;
    let stored = || async { app.core.db.client_by_id("batch").await.unwrap().unwrap() };

    // A new secret, shown once, kept as its digest only.
    let (status, out) = api.post("/clients/batch/secret").await;
    assert_eq!(status, 200, "{out}");
    let secret = str_of(&out, "client_secret");
    assert_eq!(
        stored().await.secret_hash.as_deref(),
        Some(guichet::crypto::token::digest(secret).as_str())
    );

    let (status, out) = api.post("/clients/batch/disable").await;
    assert_eq!(status, 200, "{out}");
    assert!(stored().await.disabled);
    let (status, _) = api.post("/clients/batch/enable").await;
    assert_eq!(status, 200);
    assert!(!stored().await.disabled);

    let (status, _) = api.delete("/clients/batch").await;
    assert_eq!(status, 200);
    assert!(app.core.db.client_by_id("batch").await.unwrap().is_none());
    let (status, err) = api.post("/clients/batch/disable").await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
}

// ---- Clients and CAS services -----------------------------------------------------------------

#[tokio::test]
async fn clients_are_registered_listed_read_and_changed_through_the_api() {
    let app = spawn_app().await;
    let api = ops(&app).await;
    let (status, out) = api
        .post_json(
            "/clients",
            json!({"client_id": "portal", "redirect_uris": ["https://portal.example/cb"],
                   "scopes": ["openid", "email"], "first_party": true}),
        )
        .await;
    assert_eq!(status, 201, "{out}");
    let secret = str_of(&out, "client_secret");
    assert_eq!(out["client"]["client_id"], "portal");
    assert_eq!(
        out["client"]["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let stored = app.core.db.client_by_id("portal").await.unwrap().unwrap();
    assert_eq!(
        stored.secret_hash.as_deref(),
        Some(guichet::crypto::token::digest(secret).as_str())
    );
    let (status, err) = api
        .post_json(
            "/clients",
            json!({"client_id": "bad", "redirect_uris": ["not a uri"]}),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, err) = api
        .post_json(
            "/clients",
            json!({"client_id": "x", "id_token_alg": "HS256",
                                      "redirect_uris": ["https://x.example/cb"]}),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    // The test keys folder has no EdDSA key: such a client could never get a token.
    let (status, err) = api
        .post_json(
            "/clients",
            json!({"client_id": "ed", "access_token_alg": "EdDSA",
                                      "redirect_uris": ["https://x.example/cb"]}),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    assert!(
        err["error_description"]
            .as_str()
            .unwrap()
            .contains("keys rotate --alg EdDSA"),
        "{err}"
    );

    let (status, list) = api.get("/clients").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = list["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ops", "portal"]);
    let (status, one) = api.get("/clients/portal").await;
    assert_eq!(status, 200);
    assert!(one.get("secret_hash").is_none(), "{one}");

    let (status, out) = api
        .patch(
            "/clients/portal",
            json!({"require_mfa": true, "access_token_ttl": 120, "name": null}),
        )
        .await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["client"]["require_mfa"], true);
    assert_eq!(out["client"]["access_token_ttl"], 120);
    assert_eq!(out["client_secret"], Value::Null);
    let stored = app.core.db.client_by_id("portal").await.unwrap().unwrap();
    assert!(stored.require_mfa);
    assert_eq!(stored.name, None);
    let (status, err) = api.patch("/clients/portal", json!({})).await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
    let (status, err) = api.get("/clients/nope").await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn cas_services_are_registered_changed_and_removed_through_the_api() {
    let app = spawn_app().await;
    let api = ops(&app).await;
    let (status, s) = api
        .post_json(
            "/cas-services",
            json!({"name": "Print", "pattern": "https://print.example.edu/",
                   "pattern_kind": "prefix", "attributes": ["email"]}),
        )
        .await;
    assert_eq!(status, 201, "{s}");
    let id = str_of(&s, "id").to_owned();
    assert_eq!(s["pattern_kind"], "prefix");
    let (status, err) = api
        .post_json(
            "/cas-services",
            json!({"name": "Bad", "pattern": "x", "pattern_kind": "glob"}),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");

    let (_, list) = api.get("/cas-services").await;
    assert_eq!(list["services"][0]["id"], id.as_str());
    let (status, changed) = api
        .patch(
            &format!("/cas-services/{id}"),
            json!({"enabled": false, "name": "Printing"}),
        )
        .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["disabled"], true);
    let stored = app.core.db.cas_service_by_id(&id).await.unwrap().unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.name, "Printing");

    let (status, _) = api.delete(&format!("/cas-services/{id}")).await;
    assert_eq!(status, 204);
    let (status, err) = api.get(&format!("/cas-services/{id}")).await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
}

// ---- Invitations ------------------------------------------------------------------------------

#[tokio::test]
async fn invitations_are_sent_listed_resent_and_revoked_within_the_callers_reach() {
    let app = spawn_app().await;
    two_establishments(&app).await;
    let api = ops(&app).await;
    let (status, inv) = api
        .post_json(
            "/invitations",
            json!({"email": "new@example.org", "establishment": "IUT", "rights": ["teacher"],
                   "locale": "en"}),
        )
        .await;
    assert_eq!(status, 201, "{inv}");
    let iut_inv = str_of(&inv, "id").to_owned();
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["invited_by"], "client:ops");
    let (status, err) = api
        .post_json(
            "/invitations",
            json!({"email": "x@example.org", "establishment": "UPEC", "rights": ["root"]}),
        )
        .await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");

    // Alice (UPEC) invites into UPEC, and sees only UPEC's invitations.
    let alices = Api {
        app: &app,
        token: person_token(&app, "alice", "openid admin").await,
    };
    let (status, mine) = alices
        .post_json(
            "/invitations",
            json!({"email": "other@example.org", "establishment": "UPEC"}),
        )
        .await;
    assert_eq!(status, 201, "{mine}");
    let (status, err) = alices
        .post_json(
            "/invitations",
            json!({"email": "o@example.org", "establishment": "IUT"}),
        )
        .await;
    assert_error(status, &err, StatusCode::NOT_FOUND, "not_found");
    let (_, listed) = alices.get("/invitations").await;
    assert_eq!(
        listed["invitations"].as_array().unwrap().len(),
        1,
        "{listed}"
    );
    assert_eq!(listed["invitations"][0]["establishment"], "UPEC");
    let (status, _) = alices.post(&format!("/invitations/{iut_inv}/revoke")).await;
    assert_eq!(status, 404);

    let (_, all) = api.get("/invitations").await;
    assert_eq!(all["invitations"].as_array().unwrap().len(), 2);
    let (_, iut) = api.get("/invitations?establishment=IUT").await;
    assert_eq!(iut["invitations"].as_array().unwrap().len(), 1);

    let (status, resent) = api
        .post(&format!("/invitations/{iut_inv}/resend?locale=fr"))
        .await;
    assert_eq!(status, 200, "{resent}");
    let (status, revoked) = api.post(&format!("/invitations/{iut_inv}/revoke")).await;
    assert_eq!(status, 200);
    assert_eq!(revoked["status"], "revoked");
    let (status, err) = api.post(&format!("/invitations/{iut_inv}/revoke")).await;
    assert_error(status, &err, StatusCode::BAD_REQUEST, "invalid_request");
}
