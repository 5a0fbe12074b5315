//! The sign-in flow as a service (`service::authn`), called directly with a pinned `now`:
//! its outcomes, where a finished flow's session comes from, and how a flow is kept between
//! steps (stored under an id, or sealed into the page).

use guichet::service::authn::{
    self, Attempt, Continuation, Denial, Display, FLOW_TTL, Flow, Input, Outcome, Requirements,
    Step,
};
use guichet::service::session;

use crate::helpers::*;

fn account_flow(now: i64) -> Flow {
    Flow::start(
        Continuation::Account,
        Requirements::default(),
        Display::default(),
        now,
    )
}

fn password<'a>(identifier: &'a str, password: &str) -> Input<'a> {
    Input::Password {
        identifier,
        password: password.to_owned(),
    }
}

fn anonymous() -> Attempt<'static> {
    Attempt {
        ip: None,
        previous_cookie: None,
    }
}

async fn advance(
    app: &TestApp,
    flow: Flow,
    flow_id: Option<&str>,
    input: Input<'_>,
    attempt: Attempt<'_>,
    now: i64,
) -> Outcome {
    authn::advance(&app.core, flow, flow_id, input, attempt, now)
        .await
        .unwrap()
}

async fn load_session(app: &TestApp, cookie: &str, now: i64) -> Option<session::Session> {
    session::load(
        app.core.ephemeral.as_ref(),
        app.core.policy.session,
        cookie,
        now,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn the_right_password_finishes_the_flow_with_a_new_session_and_ends_the_previous_one() {
    let app = spawn_app().await;
    let alice = app.create_user("alice").await;
    let now = app.clock.now();

    let outcome = advance(
        &app,
        account_flow(now),
        None,
        password("alice", PASSWORD),
        anonymous(),
        now,
    )
    .await;
    let Outcome::Done(first) = outcome else {
        panic!("not done: {outcome:?}");
    };
    assert_eq!(first.user.id, alice);
    assert_eq!(first.continuation, Continuation::Account);
    assert_eq!(first.session.user_id, alice);
    assert_eq!(first.session.amr, ["pwd"]);
    assert_eq!(first.session.auth_time, now);
    assert_eq!(first.session.sid.len(), 64);
    assert!(first.cookie.starts_with(&format!("{}-", first.session.sid)));
    let stored = load_session(&app, &first.cookie, now)
        .await
        .expect("the session is stored");
    assert_eq!(stored.sid, first.session.sid);

    // Signing in again from the same browser: a fresh id, and the old session is over.
    let later = now + 5;
    let outcome = advance(
        &app,
        account_flow(later),
        None,
        password("alice", PASSWORD),
        Attempt {
            ip: None,
            previous_cookie: Some(&first.cookie),
        },
        later,
    )
    .await;
    let Outcome::Done(second) = outcome else {
        panic!("not done: {outcome:?}");
    };
    assert_ne!(second.session.sid, first.session.sid);
    assert_eq!(second.session.auth_time, later);
    assert!(load_session(&app, &first.cookie, later).await.is_none());
    assert!(load_session(&app, &second.cookie, later).await.is_some());
}

#[tokio::test]
async fn a_wrong_password_an_unknown_user_and_a_disabled_user_are_all_bad_credentials() {
    let app = spawn_app().await;
    let bob = app.create_user("bob").await;
    app.create_user("alice").await;
    let now = app.clock.now();
    app.core
        .db
        .user_set_disabled(&bob, true, now)
        .await
        .unwrap();

    for (who, pw) in [
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("bob", PASSWORD),
    ] {
        let outcome = advance(
            &app,
            account_flow(now),
            None,
            password(who, pw),
            anonymous(),
            now,
        )
        .await;
        assert!(
            matches!(outcome, Outcome::Denied(Denial::BadCredentials)),
            "{who}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn a_flow_that_requires_another_user_denies_the_right_password_as_the_wrong_account() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let bob = app.create_user("bob").await;
    let now = app.clock.now();
    let for_bob = || {
        Flow::start(
            Continuation::Account,
            Requirements {
                user: Some(bob.clone()),
                mfa: false,
            },
            Display::default(),
            now,
        )
    };

    let outcome = advance(
        &app,
        for_bob(),
        None,
        password("alice", PASSWORD),
        anonymous(),
        now,
    )
    .await;
    assert!(
        matches!(outcome, Outcome::Denied(Denial::WrongAccount)),
        "{outcome:?}"
    );
    let outcome = advance(
        &app,
        for_bob(),
        None,
        password("bob", PASSWORD),
        anonymous(),
        now,
    )
    .await;
    let Outcome::Done(signed) = outcome else {
        panic!("not done: {outcome:?}");
    };
    assert_eq!(signed.user.id, bob);
}

#[tokio::test]
async fn a_saved_flow_loads_until_its_expiry_counts_failures_and_is_gone_once_done() {
    let app = spawn_app().await;
    app.create_user("alice").await;
    let now = app.clock.now();
    let flow = Flow::start(
        Continuation::Authorize("client_id=c1&scope=openid".into()),
        Requirements::default(),
        Display::default(),
        now,
    );
    let id = authn::save(&app.core, &flow, None).await.unwrap();
    assert_eq!(id.len(), 43);

    let loaded = authn::load(&app.core, &id, now + FLOW_TTL - 1)
        .await
        .unwrap()
        .expect("a live flow");
    assert_eq!(loaded.continuation, flow.continuation);
    assert_eq!(loaded.steps, [Step::Password]);
    assert_eq!(loaded.expires_at, now + FLOW_TTL);
    assert!(
        authn::load(&app.core, &id, now + FLOW_TTL)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        authn::load(&app.core, &guichet::crypto::token::random_token(), now)
            .await
            .unwrap()
            .is_none()
    );

    // A failure is written back under the same id; success discards the flow.
    let outcome = advance(
        &app,
        loaded,
        Some(&id),
        password("alice", "wrong password"),
        anonymous(),
        now,
    )
    .await;
    assert!(matches!(outcome, Outcome::Denied(Denial::BadCredentials)));
    let again = authn::load(&app.core, &id, now).await.unwrap().unwrap();
    assert_eq!(again.attempts, 1);
    let outcome = advance(
        &app,
        again,
        Some(&id),
        password("alice", PASSWORD),
        anonymous(),
        now,
    )
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(authn::load(&app.core, &id, now).await.unwrap().is_none());
}

#[tokio::test]
async fn a_sealed_first_step_opens_as_it_was_and_a_tampered_seal_does_not_open() {
    let app = spawn_app().await;
    let now = app.clock.now();
    let flow = Flow::start(
        Continuation::Authorize("client_id=c1&scope=openid".into()),
        Requirements {
            user: Some("someone".into()),
            mfa: false,
        },
        Display {
            client_name: Some("App".into()),
            ui_locales: Some("en".into()),
            client_id: Some("c1".into()),
        },
        now,
    );
    let sealed = authn::seal(&app.core, &flow).unwrap();

    let later = now + 30;
    let opened = authn::open(&app.core, &sealed, later).expect("our own seal");
    assert_eq!(opened.continuation, flow.continuation);
    assert_eq!(opened.requirements.user.as_deref(), Some("someone"));
    assert_eq!(opened.display.client_name.as_deref(), Some("App"));
    assert_eq!(opened.steps, [Step::Password]);
    assert!(opened.user_id.is_none() && opened.factors.is_empty());
    // Its ten minutes start when it is opened.
    assert_eq!(opened.expires_at, later + FLOW_TTL);

    let (payload, mac) = sealed.split_once('.').unwrap();
    let flip = |s: &str| {
        let mut c: Vec<char> = s.chars().collect();
        c[5] = if c[5] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    for tampered in [
        format!("{}.{mac}", flip(payload)),
        format!("{payload}.{}", flip(mac)),
        payload.to_owned(),
        format!("{payload}."),
    ] {
        assert!(
            authn::open(&app.core, &tampered, later).is_none(),
            "{tampered}"
        );
    }
    // A page left open more than a day starts over.
    assert!(authn::open(&app.core, &sealed, now + 86_401).is_none());
}

#[tokio::test]
async fn a_forged_cookie_naming_someone_else_s_session_does_not_end_it_at_sign_in() {
    // Session ids are public (the `sid` of ID tokens): only a cookie with the session's secret
    // may end it when its browser signs in again.
    let app = spawn_app().await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    let now = app.clock.now();
    let Outcome::Done(alice) = advance(
        &app,
        account_flow(now),
        None,
        password("alice", PASSWORD),
        anonymous(),
        now,
    )
    .await
    else {
        panic!("alice did not sign in");
    };
    let forged = format!("{}-{}", alice.session.sid, "a".repeat(64));
    let outcome = advance(
        &app,
        account_flow(now),
        None,
        password("bob", PASSWORD),
        Attempt {
            ip: None,
            previous_cookie: Some(&forged),
        },
        now,
    )
    .await;
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");
    assert!(
        load_session(&app, &alice.cookie, now).await.is_some(),
        "bob's sign-in with a forged cookie ended alice's session"
    );
}
