//! `guichet cas-service`: JSON out, checked registrations, and services that the server then
//! honours (same database as the OpenID Connect clients).

use crate::cli::Run;

#[tokio::test]
async fn cas_service_add_prints_the_service_and_list_show_disable_enable_remove_work() {
    let run = Run::new().await;
    let out = run
        .run(&[
            "cas-service",
            "add",
            "--name",
            "Print portal",
            "--pattern",
            "https://print.example.edu/",
            "--pattern-kind",
            "prefix",
            "--attribute",
            "email",
            "--attribute",
            "given_name",
            "--allow-proxy",
            "--require-mfa",
        ])
        .json();
    let id = out["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cas-"), "{out}");
    assert_eq!(out["pattern_kind"], "prefix");
    assert_eq!(
        out["attributes"],
        serde_json::json!(["email", "given_name"])
    );
    assert_eq!(out["allow_proxy"], true);
    assert_eq!(out["require_mfa"], true);
    assert_eq!(out["single_logout"], true);

    let list = run.run(&["cas-service", "list"]).json();
    assert_eq!(list["services"].as_array().unwrap().len(), 1);
    let shown = run.run(&["cas-service", "show", "--id", &id]).json();
    assert_eq!(shown["name"], "Print portal");
    let off = run.run(&["cas-service", "disable", "--id", &id]).json();
    assert_eq!(off["disabled"], true);
    assert_eq!(
        run.run(&["cas-service", "show", "--id", &id]).json()["disabled"],
        true
    );
    assert_eq!(
        run.run(&["cas-service", "enable", "--id", &id]).json()["disabled"],
        false
    );
    assert_eq!(
        run.run(&["cas-service", "remove", "--id", &id]).json()["removed"],
        true
    );
    let line = run.run(&["cas-service", "show", "--id", &id]).failure();
    assert!(line.contains("no CAS service"), "{line}");
}

#[tokio::test]
async fn cas_service_add_refuses_open_prefixes_bad_regexes_unknown_attributes_and_kinds() {
    let run = Run::new().await;
    let add = |pattern: &str, kind: &str, attribute: &str| {
        run.run(&[
            "cas-service",
            "add",
            "--name",
            "x",
            "--pattern",
            pattern,
            "--pattern-kind",
            kind,
            "--attribute",
            attribute,
        ])
    };
    let line = add("https://app.example", "prefix", "email").failure();
    assert!(line.contains("must include the whole host"), "{line}");
    let line = add("https://app.example/(", "regex", "email").failure();
    assert!(line.contains("does not compile"), "{line}");
    let line = add("https://app.example/", "exact", "password_hash").failure();
    assert!(line.contains("unknown attribute"), "{line}");
    let line = add("javascript:alert(1)", "exact", "email").failure();
    assert!(line.contains("not a valid service URL"), "{line}");
    add("https://app.example/", "glob", "email").usage_error();
    assert_eq!(
        run.run(&["cas-service", "list"]).json()["services"],
        serde_json::json!([])
    );
}
