//! The audit table: security events written off the request path.

use crate::helpers::*;

#[tokio::test]
async fn sign_ins_failures_and_issued_tokens_reach_the_audit_table() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let rp = app.create_client("rp", |_| {}).await;
    let m2m = app
        .create_client("m2m", |s| {
            s.grant_types = vec!["client_credentials".into()];
            s.scopes = vec!["api".into()];
        })
        .await;
    app.code_flow_tokens(&rp, "alice", "openid").await;
    for _ in 0..3 {
        let res = app
            .token(&m2m, &[("grant_type", "client_credentials")])
            .await;
        assert_eq!(res.status(), 200);
    }
    // A failed sign-in (and so an event that wakes the writer).
    let fresh = browser();
    let res = fresh.get(app.url("/login")).send().await.unwrap();
    let login_page = res.text().await.unwrap();
    let csrf = hidden(&login_page, "csrf").unwrap();
    let res = fresh
        .post(app.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "alice"),
            ("password", "nope nope"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);

    let rows = audit_kinds(&app, &["login.success", "login.failure", "token.issued"]).await;
    let success = rows.iter().find(|r| r.1 == "login.success").unwrap();
    assert_eq!(success.2.as_deref(), Some(alice.as_str()));
    let failure = rows.iter().find(|r| r.1 == "login.failure").unwrap();
    assert_eq!(
        failure.2.as_deref(),
        Some(alice.as_str()),
        "a failure names the account it was against, when the identifier names one"
    );
    assert!(
        rows.iter()
            .any(|r| r.1 == "token.issued" && r.3.as_deref() == Some("rp"))
    );
    // Client-credentials tokens are counted, not written one by one: a row per client and
    // write, whose counts add up to the three tokens.
    let mut total = 0;
    for _ in 0..20 {
        let details: Vec<Option<String>> = sqlx::query_scalar(
            "select detail from audit_events where kind = 'token.issued' and client_id = 'm2m'",
        )
        .fetch_all(app.core.db.pool())
        .await
        .unwrap();
        assert!(details.len() <= 3, "one row per token: {details:?}");
        total = 0;
        for d in details {
            let detail: serde_json::Value = serde_json::from_str(&d.unwrap()).unwrap();
            assert_eq!(detail["grant_type"], "client_credentials");
            total += detail["count"].as_i64().unwrap();
        }
        if total == 3 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(total, 3);
}
