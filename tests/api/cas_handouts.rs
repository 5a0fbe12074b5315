//! What a session hands out to CAS services stays bounded, whatever a script does with one
//! session cookie, and keeps what single logout needs.

use guichet::service::cas::sso::{self, Handout};

use crate::helpers::*;

#[tokio::test]
async fn a_session_list_grown_past_a_megabyte_is_compacted_to_the_latest_ticket_per_service() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_cas_service(SERVICE, |_| {}).await;
    // A real session, then many hand-outs recorded for it: two services, one PGT.
    app.cas_ticket(&app.browser, SERVICE, "alice").await;
    let now = app.clock.now();
    let sid = "0".repeat(64);
    let expiry = now + 3600;
    let other = "https://other.example/cas";
    for i in 0..8000 {
        let url = if i % 2 == 0 { SERVICE } else { other };
        let h = Handout::ServiceTicket {
            service_id: "cas-x".into(),
            url: url.into(),
            ticket: format!("ST-{i:064}"),
        };
        sso::record_for(&app.core, &sid, expiry, &h, now)
            .await
            .unwrap();
        if i == 10 {
            let pgt = Handout::ProxyGranting {
                key: "cas:pgt:k".into(),
            };
            sso::record_for(&app.core, &sid, expiry, &pgt, now)
                .await
                .unwrap();
        }
    }
    let list = app
        .core
        .ephemeral
        .get(&format!("sso:{sid}"), now)
        .await
        .unwrap()
        .expect("the list");
    assert!(list.len() < 1 << 20, "not compacted: {} bytes", list.len());
    let text = String::from_utf8(list).unwrap();
    assert!(
        text.contains("cas:pgt:k"),
        "the proxy-granting ticket was dropped"
    );
    assert!(
        text.contains(&format!("ST-{:064}", 7998)),
        "latest ticket of SERVICE"
    );
    assert!(
        text.contains(&format!("ST-{:064}", 7999)),
        "latest ticket of the other"
    );
}
