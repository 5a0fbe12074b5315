//! The SMTP mailer against a real SMTP server in the test (lettre speaks SMTP to it over TCP):
//! delivery off the request path, retries on 4xx, the outbox for what cannot be delivered.

use std::path::Path;
use std::time::Duration;

use guichet::mail::{
    FAILED_KIND, Mail, MailTemplates, Mailer as _, RetryPolicy, SmtpMailer, from_mailbox, mailer,
};
use guichet::notify::Outbox;

use crate::helpers::*;

/// Fast retries, so the tests take milliseconds.
const QUICK: RetryPolicy = RetryPolicy {
    attempts: 3,
    first_delay: Duration::from_millis(20),
};

fn reset_mail(to: &str) -> Mail {
    MailTemplates::new()
        .unwrap()
        .mail(
            to,
            "reset_link",
            "fr",
            &serde_json::json!({
                "login": "alice",
                "link": "https://idp.example/reset/abc?x=1&y=2",
                "valid_minutes": 60,
            }),
        )
        .unwrap()
}

/// Waits (up to 10 s) for `n` files of `kind` in the outbox.
async fn wait_for_outbox(dir: &Path, kind: &str, n: usize) -> Vec<std::path::PathBuf> {
    for _ in 0..200 {
        let files = outbox_files(dir, kind);
        if files.len() >= n {
            return files;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {n} {kind} files in {}", dir.display());
}

#[tokio::test]
async fn smtp_delivers_the_message_with_sender_name_subject_and_both_parts() {
    let sink = SmtpSink::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (mail, task) = mailer(
        Some(&sink.url()),
        "idp@univ.example",
        "Université Exemple",
        tmp.path(),
    )
    .unwrap();
    assert!(task.is_some());
    mail.send(reset_mail("alice@example.org")).await.unwrap();

    let received = sink.wait_for(1).await;
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].from, "idp@univ.example");
    assert_eq!(received[0].to, vec!["alice@example.org".to_owned()]);
    let m = received[0].mail();
    assert_eq!(m.to, "alice@example.org");
    // Not ASCII, so the name travels as an RFC 2047 encoded word, read back decoded.
    assert_eq!(m.from, "Université Exemple <idp@univ.example>");
    assert_eq!(m.subject, "Réinitialisez votre mot de passe");
    assert_eq!(m.mimetype, "multipart/alternative");
    assert_eq!(
        m.link("/reset/").as_deref(),
        Some("https://idp.example/reset/abc?x=1&y=2")
    );
    assert!(
        m.html
            .as_deref()
            .unwrap()
            .contains("href=\"https://idp.example/reset/abc?x=1&amp;y=2\""),
        "{m:?}"
    );
    assert!(outbox_files(tmp.path(), "mail").is_empty());
    assert!(outbox_files(tmp.path(), FAILED_KIND).is_empty());
}

#[tokio::test]
async fn a_temporary_failure_is_retried_until_the_server_accepts() {
    let sink = SmtpSink::with_replies(&[451, 451]).await;
    let tmp = tempfile::tempdir().unwrap();
    let from = from_mailbox("guichet@localhost", "guichet").unwrap();
    let (smtp, _task) =
        SmtpMailer::start_with(&sink.url(), from, Outbox::new(tmp.path()), QUICK).unwrap();
    smtp.send(reset_mail("bob@example.org")).await.unwrap();

    let received = sink.wait_for(1).await;
    assert_eq!(received[0].mail().to, "bob@example.org");
    assert_eq!(sink.transactions(), 3, "two refusals, then the delivery");
    assert!(outbox_files(tmp.path(), FAILED_KIND).is_empty());
}

#[tokio::test]
async fn a_permanent_rejection_is_not_retried_and_the_message_goes_to_the_outbox() {
    let sink = SmtpSink::with_replies(&[550]).await;
    let tmp = tempfile::tempdir().unwrap();
    let from = from_mailbox("guichet@localhost", "guichet").unwrap();
    let (smtp, task) =
        SmtpMailer::start_with(&sink.url(), from, Outbox::new(tmp.path()), QUICK).unwrap();
    smtp.send(reset_mail("carol@example.org")).await.unwrap();

    let files = wait_for_outbox(tmp.path(), FAILED_KIND, 1).await;
    let name = files[0].file_name().unwrap().to_str().unwrap().to_owned();
    assert!(
        name.contains("-mail_failed-") && name.ends_with(".eml"),
        "{name}"
    );
    let saved = ReadMail::parse(&std::fs::read(&files[0]).unwrap());
    assert_eq!(saved.to, "carol@example.org");
    assert_eq!(saved.subject, "Réinitialisez votre mot de passe");
    // Dropping the mailer lets the task end once nothing is left to deliver.
    drop(smtp);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.transactions(), 1, "a 5xx is final: no retry");
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn a_server_that_keeps_failing_gets_every_attempt_then_the_outbox_keeps_the_message() {
    let sink = SmtpSink::with_replies(&[451, 451, 451, 451]).await;
    let tmp = tempfile::tempdir().unwrap();
    let from = from_mailbox("guichet@localhost", "guichet").unwrap();
    let (smtp, task) =
        SmtpMailer::start_with(&sink.url(), from, Outbox::new(tmp.path()), QUICK).unwrap();
    smtp.send(reset_mail("dave@example.org")).await.unwrap();
    drop(smtp);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sink.transactions(), 3);
    assert_eq!(outbox_files(tmp.path(), FAILED_KIND).len(), 1);
    assert!(sink.received().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_does_not_hold_up_the_sender_and_the_outbox_keeps_the_message() {
    // A port that was just free: nothing listens there any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let tmp = tempfile::tempdir().unwrap();
    let from = from_mailbox("guichet@localhost", "guichet").unwrap();
    let slow = RetryPolicy {
        attempts: 2,
        first_delay: Duration::from_millis(1500),
    };
    let (smtp, task) = SmtpMailer::start_with(
        &format!("smtp://127.0.0.1:{port}"),
        from,
        Outbox::new(tmp.path()),
        slow,
    )
    .unwrap();
    // Delivery fails, waits 1.5 s and fails again: a sender held up by it would notice.
    let started = std::time::Instant::now();
    smtp.send(reset_mail("erin@example.org")).await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "send waited for delivery: {:?}",
        started.elapsed()
    );
    drop(smtp);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    let files = outbox_files(tmp.path(), FAILED_KIND);
    assert_eq!(files.len(), 1);
    assert_eq!(
        ReadMail::parse(&std::fs::read(&files[0]).unwrap()).to,
        "erin@example.org"
    );
}

#[tokio::test]
async fn credentials_in_the_url_authenticate_and_queued_messages_are_delivered_before_the_task_ends()
 {
    let sink = SmtpSink::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let url = format!("smtp://relay:p%40ss%20word@{}", sink.addr);
    let (mail, task) = mailer(Some(&url), "guichet@localhost", "guichet", tmp.path()).unwrap();
    for i in 0..10 {
        mail.send(reset_mail(&format!("user{i}@example.org")))
            .await
            .unwrap();
    }
    drop(mail);
    tokio::time::timeout(Duration::from_secs(10), task.unwrap())
        .await
        .unwrap()
        .unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 10);
    let mut to: Vec<String> = received.iter().map(|r| r.to[0].clone()).collect();
    to.sort();
    let mut expected: Vec<String> = (0..10).map(|i| format!("user{i}@example.org")).collect();
    expected.sort();
    assert_eq!(to, expected);
    assert!(
        received
            .iter()
            .all(|r| r.auth == Some(("relay".into(), "p@ss word".into()))),
        "{:?}",
        received[0].auth
    );
}

#[tokio::test]
async fn a_bad_recipient_is_refused_at_once_and_nothing_is_queued() {
    let sink = SmtpSink::start().await;
    let tmp = tempfile::tempdir().unwrap();
    let (mail, _task) = mailer(Some(&sink.url()), "guichet@localhost", "", tmp.path()).unwrap();
    let err = mail.send(reset_mail("not an address")).await.unwrap_err();
    assert!(
        matches!(err, guichet::mail::MailError::Address(_)),
        "{err:?}"
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(sink.transactions(), 0);
}
