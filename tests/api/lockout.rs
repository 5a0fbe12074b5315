//! The lockout: five failures (passwords or codes) lock an account on every node, whatever
//! identifier was typed; an unknown login locks alike; an administrator unlocks; a busy
//! address is throttled with 429 and `Retry-After`.

use crate::cluster::two_nodes;
use crate::helpers::*;

/// The notice of a failed sign-in of `login` with `password` from `http`.
async fn attempt(app: &TestApp, http: &reqwest::Client, login: &str, password: &str) -> String {
    let page = get_login(app, http).await;
    let res = post_login(app, http, &page, login, password).await;
    if res.status() == 303 {
        return "signed in".into();
    }
    assert_eq!(res.status(), 200);
    notice_of(&res.text().await.unwrap()).expect("a notice")
}

fn is_locked(notice: &str) -> bool {
    notice.contains("bloqué")
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_account_until_an_administrator_unlocks_it() {
    let (app, _) = app_with_alice().await;
    let http = browser();
    for n in 1..=4 {
        let notice = attempt(&app, &http, "alice", "wrong").await;
        assert!(!is_locked(&notice), "attempt {n}: {notice}");
    }
    let fifth = attempt(&app, &http, "alice", "wrong").await;
    assert!(is_locked(&fifth), "the fifth failure locks: {fifth}");
    let right = attempt(&app, &http, "alice", PASSWORD).await;
    assert!(is_locked(&right), "locked: the right password fails too");
    assert!(
        right.contains("mot de passe"),
        "the message says what to do: {right}"
    );

    let user = find_user(&app, "alice").await;
    let shown = admin(&app).show_user(&user, app.clock.now()).await.unwrap();
    assert_eq!(shown["locked"], true);
    assert!(admin(&app).unlock(&user, app.clock.now()).await.unwrap());
    assert_eq!(attempt(&app, &http, "alice", PASSWORD).await, "signed in");
    audit_kinds(&app, &["account.locked", "account.unlocked"]).await;
}

#[tokio::test]
async fn wrong_second_factor_codes_count_towards_the_lock() {
    let (app, _) = app_with_alice().await;
    let account = account_browser(&app, "alice").await;
    enrol_totp(&app, &account).await;
    let http = browser();
    let page = get_login(&app, &http).await;
    let res = post_login(&app, &http, &page, "alice", PASSWORD).await;
    let page = res.text().await.unwrap();
    assert!(is_code_form(&page));
    let mut last = String::new();
    for _ in 0..5 {
        let res = post_code(&app, &http, &page, "000000").await;
        last = notice_of(&res.text().await.unwrap()).unwrap();
    }
    assert!(is_locked(&last), "{last}");
    let notice = attempt(&app, &browser(), "alice", PASSWORD).await;
    assert!(is_locked(&notice), "{notice}");
    // The lock lasts its time (15 minutes by default), then goes.
    app.clock.advance(901);
    let page = get_login(&app, &http).await;
    let res = post_login(&app, &http, &page, "alice", PASSWORD).await;
    assert!(is_code_form(&res.text().await.unwrap()));
}

#[tokio::test]
async fn three_failures_on_one_node_and_two_on_the_other_lock_the_account_on_both() {
    let (a, b) = two_nodes().await;
    a.create_user("alice").await;
    let http = browser();
    for _ in 0..3 {
        assert!(!is_locked(&attempt(&a, &http, "alice", "wrong").await));
    }
    assert!(!is_locked(&attempt(&b, &http, "alice", "wrong").await));
    assert!(is_locked(&attempt(&b, &http, "alice", "wrong").await));
    assert!(is_locked(&attempt(&a, &http, "alice", PASSWORD).await));
    assert!(is_locked(&attempt(&b, &http, "alice", PASSWORD).await));
}

#[tokio::test]
async fn an_address_with_too_many_failures_gets_429_and_successes_never_count() {
    let app = spawn_with(Options {
        settings: Some(|s| s.address_failure_limit = 3),
        ..Options::default()
    })
    .await;
    app.create_user("alice").await;
    let http = browser();
    // Successes do not use the address's allowance.
    for _ in 0..5 {
        assert_eq!(
            attempt(&app, &browser(), "alice", PASSWORD).await,
            "signed in"
        );
    }
    // Three failures, on three logins, then the address waits.
    for login in ["x1", "x2", "x3"] {
        attempt(&app, &http, login, "wrong").await;
    }
    let page = get_login(&app, &http).await;
    let res = post_login(&app, &http, &page, "alice", PASSWORD).await;
    assert_eq!(res.status(), 429);
    let wait: i64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&wait), "{wait}");
}
