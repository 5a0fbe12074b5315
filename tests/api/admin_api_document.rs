//! The administration JSON API's OpenAPI document: served without a token, valid against the
//! OpenAPI 3.1 schema, and naming every route of the API.

use serde_json::{Value, json};

use crate::helpers::*;

// ---- The OpenAPI document -------------------------------------------------------------------

async fn served_document(app: &TestApp) -> Value {
    let res = send(reqwest::Client::new().get(app.url("/admin/api/v1/openapi.json"))).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn the_openapi_document_is_served_without_a_token_and_validates_against_the_oas_schema() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    // The OpenAPI Initiative's schema of 3.1 documents (tests/data/README.md says where from).
    let schema: Value =
        serde_json::from_str(include_str!("../data/openapi-3.1-schema.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator is real: a document without `info` fails.
    let mut broken = doc.clone();
    broken.as_object_mut().unwrap().remove("info");
    assert!(!validator.is_valid(&broken));

    assert!(str_of(&doc, "openapi").starts_with("3.1"));
    assert_eq!(doc["servers"][0]["url"], app.issuer.as_str());
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert_eq!(doc["security"], json!([{"bearer": []}]));
    let user_detail = &doc["components"]["schemas"]["UserDetail"];
    assert!(
        user_detail["properties"]["memberships"].is_object(),
        "{user_detail}"
    );
}

#[tokio::test]
async fn every_route_of_the_api_is_in_the_document_and_every_operation_is_routed() {
    let app = spawn_app().await;
    let doc = served_document(&app).await;
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/admin/api/v1/"), "{path}");
        for (method, op) in item.as_object().unwrap() {
            operations += 1;
            // A made-up id in each parameter: the route answers (401 without a token, or the
            // document itself), where an unrouted one would be 404 or 405.
            let url = app.url(
                &path
                    .replace("{id}", "00000000-0000-4000-8000-000000000000")
                    .replace("{code}", "UPEC")
                    .replace("{client_id}", "rp1")
                    .replace("{identifier}", "x"),
            );
            let m = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let status = send(reqwest::Client::new().request(m, &url)).await.status();
            let public = op.get("security") == Some(&json!([{}]));
            if public {
                assert_eq!(status, 200, "{method} {path}");
            } else {
                assert_eq!(status, 401, "{method} {path}");
                assert!(
                    op["responses"]["200"].is_object()
                        || op["responses"]["201"].is_object()
                        || op["responses"]["204"].is_object(),
                    "{method} {path}"
                );
            }
        }
    }
    // Routes reach the router only through `routes!`, which puts them in the document: the
    // module registers none by hand, and each handler annotated is in the document.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/admin_api");
    let mut annotated = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains(".route("),
            "a route registered outside routes!"
        );
        annotated += text.matches("#[utoipa::path(").count();
    }
    assert_eq!(annotated, operations);
    // Anything else under the prefix is a JSON 404.
    let res = send(reqwest::Client::new().get(app.url("/admin/api/v1/nothing"))).await;
    assert_eq!(res.status(), 404);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "not_found");
}
