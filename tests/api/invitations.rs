//! Invitations (issue 9 §2) and the first administrator's set-up link (§6): a single-use link,
//! good for seven days, mailed in the person's language; a new person creates their account
//! from it, the owner of an existing account signs in and accepts; an establishment
//! administrator invites only into their establishments.

use guichet::domain::admin::Actor;
use guichet::domain::user::NewUser;
use guichet::service::admin::{Admin, AdminError, actor_for_user};
use guichet::service::invitations::NewInvitation;
use guichet::service::mailing::Post;
use guichet::store::Claimed;
use serde_json::json;

use crate::cli::Run;
use crate::helpers::*;

/// UPEC (rights staff, print) and IUT (teacher).
async fn establishments(app: &TestApp) {
    let cli = admin(app);
    let now = app.clock.now();
    cli.create_establishment(
        "UPEC",
        "Université Paris-Est",
        &rights(&["staff", "print"]),
        now,
    )
    .await
    .unwrap();
    cli.create_establishment("IUT", "IUT de Créteil", &rights(&["teacher"]), now)
        .await
        .unwrap();
}

fn rights(r: &[&str]) -> Vec<String> {
    r.iter().map(|s| (*s).to_owned()).collect()
}

/// `by` invites `email` into UPEC with the right `staff`, the mail in `locale`.
async fn invite_as(
    app: &TestApp,
    by: &Admin<'_>,
    email: &str,
    code: &str,
    locale: &str,
) -> Result<String, AdminError> {
    let r = rights(&["staff"]);
    let new = NewInvitation {
        email,
        given_name: Some("Nina"),
        family_name: Some("Durand"),
        establishment: code,
        rights: if code == "UPEC" { &r } else { &[] },
        admin: false,
        locale,
    };
    let i = by
        .invite(&new, &Post::of(&app.core), app.clock.now())
        .await?;
    Ok(i.id)
}

async fn invite(app: &TestApp, email: &str) -> String {
    invite_as(app, &admin(app), email, "UPEC", "fr")
        .await
        .unwrap()
}

/// The link of the `n`-th mail to `to`, pointed at this node.
async fn link(app: &TestApp, to: &str, n: usize) -> String {
    let mail = wait_for_mail(app, to, n).await;
    link_in(app, &mail, "/invitation/")
}

/// The path of a link (what a form's action names).
fn path(link: &str) -> String {
    url::Url::parse(link).unwrap().path().to_owned()
}

/// Opens the link in a fresh browser and fills the account form: the answer.
async fn create_account(
    app: &TestApp,
    http: &reqwest::Client,
    link: &str,
    login: &str,
) -> reqwest::Response {
    let page = text_of(http.get(link)).await;
    assert!(page.contains("name=\"new_password\""), "{page}");
    fill_and_post(
        app,
        http,
        &page,
        &path(link),
        &[
            ("login", login),
            ("given_name", "Nina"),
            ("family_name", "Durand"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await
}

async fn upec_rights(app: &TestApp, login: &str) -> Option<Vec<String>> {
    let user = find_user(app, login).await;
    app.core
        .db
        .memberships_of(&user.id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.code == "UPEC")
        .map(|m| m.rights)
}

#[tokio::test]
async fn a_new_person_creates_their_account_from_the_mailed_link_then_signs_in_with_the_membership()
{
    let app = spawn_app().await;
    establishments(&app).await;
    invite(&app, "nina@example.org").await;
    let mail = wait_for_mail(&app, "nina@example.org", 1).await;
    assert!(mail.subject.contains("Université Paris-Est"), "{mail:?}");
    assert!(
        mail.text.contains("staff") && mail.text.contains("7 jours"),
        "{mail:?}"
    );
    let link = link_in(&app, &mail, "/invitation/");

    let http = browser();
    let page = text_of(http.get(&link)).await;
    assert!(
        page.contains("Université Paris-Est") && page.contains("staff"),
        "{page}"
    );
    assert!(page.contains("value=\"Nina\"") && page.contains("autocomplete=\"new-password\""));
    let res = create_account(&app, &http, &link, "nina").await;
    assert_eq!(res.status(), 200);
    let done = res.text().await.unwrap();
    assert!(done.contains("id=\"invitation-done\""), "{done}");

    let nina = find_user(&app, "nina@example.org").await;
    assert_eq!(nina.login, "nina");
    assert!(nina.email_verified);
    assert_eq!(upec_rights(&app, "nina").await, Some(rights(&["staff"])));
    audit_kinds(&app, &["user.created", "invitation.accepted"]).await;
    // The membership reaches an application.
    let client = app
        .create_client("rp1", |c| c.scopes.push("establishments".into()))
        .await;
    let tokens = app
        .code_flow_tokens(&client, "nina", "openid establishments")
        .await;
    let claims = jwt_claims(tokens["id_token"].as_str().unwrap());
    assert_eq!(
        claims["establishments"],
        json!([{"code": "UPEC", "name": "Université Paris-Est", "rights": ["staff"]}])
    );
}

#[tokio::test]
async fn a_link_is_good_once_and_a_refused_password_leaves_it_good() {
    let app = spawn_app().await;
    establishments(&app).await;
    invite(&app, "nina@example.org").await;
    let link = link(&app, "nina@example.org", 1).await;
    let http = browser();
    let page = text_of(http.get(&link)).await;
    // Passwords that differ, then one the policy refuses: the form again, the link still good.
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("login", "nina"),
            ("new_password", PASSWORD),
            ("confirm_password", "something else entirely"),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("id=\"invitation-error\"")
    );
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("login", "nina"),
            ("new_password", "nina"),
            ("confirm_password", "nina"),
        ],
    )
    .await;
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"password-violations\""), "{body}");
    assert!(
        app.core
            .db
            .user_by_identifier("nina")
            .await
            .unwrap()
            .is_none()
    );

    let res = create_account(&app, &http, &link, "nina").await;
    assert_eq!(res.status(), 200);
    // A second use, from the same page or another browser: refused, nothing created.
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("login", "nina2"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("invitation"));
    assert!(
        app.core
            .db
            .user_by_identifier("nina2")
            .await
            .unwrap()
            .is_none()
    );
    let res = browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn an_existing_user_signs_in_through_the_link_and_accepts() {
    let app = spawn_app().await;
    establishments(&app).await;
    app.create_user("alice").await;
    invite(&app, "ALICE@example.org").await;
    let link = link(&app, "ALICE@example.org", 1).await;

    let http = browser();
    let page = text_of(http.get(&link)).await;
    assert!(page.contains("id=\"invitation-sign-in\""), "{page}");
    assert!(!page.contains("new_password"));
    let login = text_of(http.get(format!("{link}/login"))).await;
    assert!(is_login_form(&login), "{login}");
    let res = post_login(&app, &http, &login, "alice", PASSWORD).await;
    assert_see_other(&res, &path(&link));
    let page = text_of(http.get(&link)).await;
    assert!(page.contains(&format!("{}/accept", path(&link))), "{page}");
    assert_eq!(upec_rights(&app, "alice").await, None);
    let res = fill_and_post(&app, &http, &page, &format!("{}/accept", path(&link)), &[]).await;
    assert_eq!(res.status(), 200);
    assert!(res.text().await.unwrap().contains("id=\"invitation-done\""));
    assert_eq!(upec_rights(&app, "alice").await, Some(rights(&["staff"])));
    audit_kinds(&app, &["invitation.accepted"]).await;
    // Used: the link is dead.
    let res = http.get(&link).send().await.unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test]
async fn another_signed_in_account_is_refused_and_nothing_is_granted() {
    let app = spawn_app().await;
    establishments(&app).await;
    app.create_user("alice").await;
    app.create_user("bob").await;
    invite(&app, "alice@example.org").await;
    let link = link(&app, "alice@example.org", 1).await;

    // Bob signs in (an ordinary sign-in) and opens alice's invitation.
    let http = browser();
    let login = get_login(&app, &http).await;
    post_login(&app, &http, &login, "bob", PASSWORD).await;
    let page = text_of(http.get(&link)).await;
    assert!(page.contains("id=\"invitation-other-account\""), "{page}");
    // The accept form is not offered; posting it anyway is refused.
    let csrf = hidden(&page, "csrf").unwrap_or_else(|| hidden(&login, "csrf").unwrap());
    let res = http
        .post(format!("{link}/accept"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let body = res.text().await.unwrap();
    assert!(
        body.contains("pas celui de l&#x27;adresse invitée")
            || body.contains("pas celui de l'adresse invitée"),
        "{body}"
    );
    assert_eq!(upec_rights(&app, "bob").await, None);
    assert_eq!(upec_rights(&app, "alice").await, None);
    // The invitation's own sign-in accepts only alice.
    let login = text_of(http.get(format!("{link}/login"))).await;
    let res = post_login(&app, &http, &login, "bob", PASSWORD).await;
    assert_eq!(res.status(), 200);
    // The link is still good for alice.
    let res = browser().get(&link).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn a_link_expires_after_seven_days() {
    let app = spawn_app().await;
    establishments(&app).await;
    invite(&app, "nina@example.org").await;
    let link = link(&app, "nina@example.org", 1).await;
    let http = browser();
    let page = text_of(http.get(&link)).await;
    app.clock.advance(7 * 24 * 3600 - 10);
    assert_eq!(http.get(&link).send().await.unwrap().status(), 200);
    app.clock.advance(11);
    assert_eq!(http.get(&link).send().await.unwrap().status(), 400);
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("login", "nina"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 400);
    assert!(
        app.core
            .db
            .user_by_identifier("nina")
            .await
            .unwrap()
            .is_none()
    );
    let listed = admin(&app)
        .invitations(None, 0, app.clock.now())
        .await
        .unwrap();
    assert_eq!(listed[0].status.as_str(), "expired");
}

#[tokio::test]
async fn resending_mails_a_new_link_and_kills_the_old_one_and_revoking_kills_it_too() {
    let app = spawn_app().await;
    establishments(&app).await;
    let id = invite(&app, "nina@example.org").await;
    let old = link(&app, "nina@example.org", 1).await;
    app.clock.advance(6 * 24 * 3600);
    admin(&app)
        .resend(&id, &Post::of(&app.core), "en", app.clock.now())
        .await
        .unwrap();
    let mail = wait_for_mail(&app, "nina@example.org", 2).await;
    assert!(mail.text.contains("7 days"), "{mail:?}");
    let new = link_in(&app, &mail, "/invitation/");
    assert_ne!(old, new);
    let http = browser();
    assert_eq!(http.get(&old).send().await.unwrap().status(), 400);
    // Seven days again from the resend.
    app.clock.advance(3 * 24 * 3600);
    assert_eq!(http.get(&new).send().await.unwrap().status(), 200);
    audit_kinds(&app, &["invitation.resent"]).await;

    admin(&app)
        .revoke_invitation(&id, app.clock.now())
        .await
        .unwrap();
    let res = http.get(&new).send().await.unwrap();
    assert_eq!(res.status(), 400);
    let listed = admin(&app)
        .invitations(Some("UPEC"), 0, app.clock.now())
        .await
        .unwrap();
    assert_eq!(listed[0].status.as_str(), "revoked");
    // Neither resent nor revoked again.
    assert!(matches!(
        admin(&app)
            .resend(&id, &Post::of(&app.core), "fr", app.clock.now())
            .await,
        Err(AdminError::Invalid(_))
    ));
    audit_kinds(&app, &["invitation.revoked"]).await;
}

#[tokio::test]
async fn an_establishment_administrator_invites_only_into_theirs_and_lists_only_theirs() {
    let app = spawn_app().await;
    establishments(&app).await;
    app.create_user("alice").await;
    let alice = find_user(&app, "alice").await;
    admin(&app)
        .grant(&alice, "UPEC", &[], true, app.clock.now())
        .await
        .unwrap();
    let actor: Actor = actor_for_user(&app.core.db, &alice).await.unwrap().unwrap();
    let mine = Admin::new(&app.core, &actor);

    // IUT is not theirs: "no such establishment", nothing stored, nothing mailed.
    let err = invite_as(&app, &mine, "x@example.org", "IUT", "fr")
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::NotFound(_)), "{err:?}");
    assert_eq!(mails_to(&app, "x@example.org").await, 0);
    // A right UPEC does not define is refused.
    let bad = rights(&["root"]);
    let err = mine
        .invite(
            &NewInvitation {
                email: "y@example.org",
                establishment: "UPEC",
                rights: &bad,
                locale: "fr",
                ..NewInvitation::default()
            },
            &Post::of(&app.core),
            app.clock.now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::Invalid(_)), "{err:?}");

    invite_as(&app, &mine, "u@example.org", "UPEC", "fr")
        .await
        .unwrap();
    let other = invite_as(&app, &admin(&app), "i@example.org", "IUT", "fr")
        .await
        .unwrap();
    let seen = mine.invitations(None, 0, app.clock.now()).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].invitation.email.as_deref(), Some("u@example.org"));
    assert_eq!(seen[0].status.as_str(), "pending");
    assert!(
        mine.invitations(Some("IUT"), 0, app.clock.now())
            .await
            .is_err()
    );
    // Another establishment's invitation is "no such invitation".
    assert!(matches!(
        mine.revoke_invitation(&other, app.clock.now()).await,
        Err(AdminError::NotFound(_))
    ));
    assert!(matches!(
        mine.setup_link(&app.issuer, app.clock.now()).await,
        Err(AdminError::Forbidden(_))
    ));
    // The global view sees both (and the answer never says whether an address has an account).
    assert_eq!(
        admin(&app)
            .invitations(None, 0, app.clock.now())
            .await
            .unwrap()
            .len(),
        2
    );
}

#[tokio::test]
async fn the_pages_and_the_mail_speak_french_or_english() {
    let app = spawn_app().await;
    establishments(&app).await;
    invite_as(&app, &admin(&app), "en@example.org", "UPEC", "en")
        .await
        .unwrap();
    let mail = wait_for_mail(&app, "en@example.org", 1).await;
    assert!(mail.subject.starts_with("Invitation:"), "{mail:?}");
    assert!(mail.text.contains("You are invited"));
    let link = link_in(&app, &mail, "/invitation/");
    let en = text_of(browser().get(&link).header("accept-language", "en")).await;
    assert!(
        en.contains("Create your account") && en.contains("lang=\"en\""),
        "{en}"
    );
    let fr = text_of(browser().get(&link).header("accept-language", "fr")).await;
    assert!(
        fr.contains("Créez votre compte") && fr.contains("lang=\"fr\""),
        "{fr}"
    );
    let gone = browser()
        .get(format!("{}x", &link[..link.len() - 1]))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), 400);
    assert!(
        gone.text()
            .await
            .unwrap()
            .contains("This invitation link is not valid")
    );
}

#[tokio::test]
async fn the_set_up_link_creates_a_global_administrator_once() {
    let app = spawn_app().await;
    assert!(!app.core.db.has_administrator().await.unwrap());
    let (old, _) = admin(&app)
        .setup_link(&app.issuer, app.clock.now())
        .await
        .unwrap();
    let (link, expires_at) = admin(&app)
        .setup_link(&app.issuer, app.clock.now())
        .await
        .unwrap();
    assert_eq!(expires_at, app.clock.now() + 7 * 24 * 3600);
    let link = link.replacen(&app.issuer, &app.url(""), 1);
    let old = old.replacen(&app.issuer, &app.url(""), 1);
    let http = browser();
    // A newer set-up link revokes the older one.
    assert_eq!(http.get(&old).send().await.unwrap().status(), 400);
    let page = text_of(http.get(&link)).await;
    assert!(page.contains("name=\"email\""), "{page}");
    // An address that is already an account's is refused, and the link stays good.
    app.create_user("alice").await;
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("email", "alice@example.org"),
            ("login", "root"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let body = res.text().await.unwrap();
    assert!(body.contains("id=\"invitation-error\""), "{body}");
    assert!(
        app.core
            .db
            .user_by_identifier("root")
            .await
            .unwrap()
            .is_none()
    );
    let res = fill_and_post(
        &app,
        &http,
        &page,
        &path(&link),
        &[
            ("email", "root@example.org"),
            ("login", "root"),
            ("given_name", "Camille"),
            ("family_name", "Root"),
            ("new_password", PASSWORD),
            ("confirm_password", PASSWORD),
        ],
    )
    .await;
    assert_eq!(res.status(), 200);
    let root = find_user(&app, "root@example.org").await;
    let actor = actor_for_user(&app.core.db, &root).await.unwrap().unwrap();
    assert!(actor.is_global());
    assert!(app.core.db.has_administrator().await.unwrap());
    audit_kinds(&app, &["administrator.changed", "invitation.accepted"]).await;
    assert_eq!(http.get(&link).send().await.unwrap().status(), 400);
}

#[tokio::test]
async fn the_cli_invites_lists_resends_and_revokes_and_prints_set_up_links() {
    let run = Run::new().await;
    let out = run
        .run(&[
            "establishment",
            "add",
            "--code",
            "UPEC",
            "--name",
            "U",
            "--right",
            "staff",
        ])
        .json();
    assert_eq!(out["code"], "UPEC");
    let out = run
        .run(&[
            "invitation",
            "create",
            "--email",
            "nina@example.org",
            "--establishment",
            "UPEC",
            "--right",
            "staff",
            "--given-name",
            "Nina",
            "--locale",
            "en",
        ])
        .json();
    assert_eq!(out["status"], "pending");
    assert_eq!(out["rights"], json!(["staff"]));
    assert!(out.get("token").is_none());
    let id = out["id"].as_str().unwrap().to_owned();
    let mails = outbox_mails_in(&run.path().join("outbox"));
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].text.contains("/invitation/"), "{mails:?}");
    let out = run
        .run(&["invitation", "list", "--establishment", "UPEC"])
        .json();
    assert_eq!(out["invitations"][0]["id"], id.as_str());
    run.run(&["invitation", "resend", "--id", &id]).json();
    assert_eq!(outbox_mails_in(&run.path().join("outbox")).len(), 2);
    let out = run.run(&["invitation", "revoke", "--id", &id]).json();
    assert_eq!(out["status"], "revoked");
    run.run(&["invitation", "revoke", "--id", &id]).failure();
    run.run(&[
        "invitation",
        "create",
        "--email",
        "x@example.org",
        "--establishment",
        "NOPE",
    ])
    .failure();

    let out = run.run(&["admin", "create"]).json();
    assert!(
        out["setup_url"].as_str().unwrap().contains("/invitation/"),
        "{out}"
    );
    assert!(out["expires_at"].as_i64().is_some());
}

#[tokio::test]
async fn the_claim_gives_an_invitation_once_even_to_a_request_past_the_link_check() {
    // Two requests may both pass the page's check of the link; the claim in the acceptance's
    // transaction lets one through.
    let app = spawn_app().await;
    establishments(&app).await;
    app.create_user("alice").await;
    let alice = find_user(&app, "alice").await;
    invite(&app, "nina@example.org").await;
    let db = &app.core.db;
    let now = app.clock.now();
    let i = db.invitations(None, 10, 0).await.unwrap().remove(0);
    let new = |login: &str| NewUser {
        login: login.into(),
        ..NewUser::default()
    };
    assert!(matches!(
        db.invitation_accept_new_user(&i, &new("nina1"), now).await,
        Ok(Claimed::Done(_))
    ));
    assert!(matches!(
        db.invitation_accept_new_user(&i, &new("nina2"), now).await,
        Ok(Claimed::Gone)
    ));
    assert!(db.user_by_identifier("nina2").await.unwrap().is_none());
    assert!(matches!(
        db.invitation_accept_existing(&i, &alice.id, now).await,
        Ok(Claimed::Gone)
    ));
    assert_eq!(upec_rights(&app, "alice").await, None);
}
