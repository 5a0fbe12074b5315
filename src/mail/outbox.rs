//! The outbox mailer: each message written as an `.eml` file, for development, tests, and sites
//! that relay mail themselves.

use lettre::message::Mailbox;

use super::{Mail, MailError, Mailer, OUTBOX_KIND, message};
use crate::notify::Outbox;

/// Writes each message, formatted by lettre as it would go over SMTP (RFC 5322,
/// `multipart/alternative` when it has HTML), to `<unix-millis>-mail-<8 hex>.eml` in the outbox.
#[derive(Debug, Clone)]
pub struct OutboxMailer {
    from: Mailbox,
    outbox: Outbox,
}

impl OutboxMailer {
    pub fn new(from: Mailbox, outbox: Outbox) -> OutboxMailer {
        OutboxMailer { from, outbox }
    }
}

#[async_trait::async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, mail: Mail) -> Result<(), MailError> {
        let message = message::build(&self.from, mail)?;
        self.outbox
            .write(OUTBOX_KIND, "eml", &message.formatted())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::mail::{from_mailbox, mailer};

    fn eml_files(dir: &std::path::Path) -> Vec<PathBuf> {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        files
    }

    #[tokio::test]
    async fn a_message_with_html_is_one_eml_file_with_both_parts() {
        let tmp = tempfile::tempdir().unwrap();
        let (mail, task) =
            mailer(None, "guichet@univ.example", "Guichet Univ", tmp.path()).unwrap();
        assert!(task.is_none());
        mail.send(Mail {
            to: "alice@example.org".into(),
            subject: "Réinitialisez votre mot de passe".into(),
            text: "Suivez ce lien : https://idp.example/reset?t=abc&x=1\n".into(),
            html: Some(
                "<p>Suivez <a href=\"https://idp.example/reset?t=abc&amp;x=1\">ce lien</a></p>"
                    .into(),
            ),
        })
        .await
        .unwrap();

        let files = eml_files(tmp.path());
        assert_eq!(files.len(), 1);
        let name = files[0].file_name().unwrap().to_str().unwrap();
        assert!(name.contains("-mail-") && name.ends_with(".eml"), "{name}");

        let raw = std::fs::read(&files[0]).unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        use mailparse::MailHeaderMap as _;
        assert_eq!(
            parsed.headers.get_first_value("To").as_deref(),
            Some("alice@example.org")
        );
        assert_eq!(
            parsed.headers.get_first_value("Subject").as_deref(),
            Some("Réinitialisez votre mot de passe")
        );
        let from = parsed.headers.get_first_value("From").unwrap();
        assert_eq!(from, "\"Guichet Univ\" <guichet@univ.example>");
        assert!(parsed.headers.get_first_value("Message-ID").is_some());
        assert!(parsed.headers.get_first_value("Date").is_some());
        assert_eq!(parsed.ctype.mimetype, "multipart/alternative");
        let parts: Vec<(String, String)> = parsed
            .subparts
            .iter()
            .map(|p| (p.ctype.mimetype.clone(), p.get_body().unwrap()))
            .collect();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "text/plain");
        assert!(
            parts[0]
                .1
                .contains("Suivez ce lien : https://idp.example/reset?t=abc&x=1"),
            "{parts:?}"
        );
        assert_eq!(parts[1].0, "text/html");
        assert!(parts[1].1.contains("<a href="), "{parts:?}");
    }

    #[tokio::test]
    async fn a_message_without_html_is_plain_text() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(
            from_mailbox("guichet@localhost", "guichet").unwrap(),
            Outbox::new(tmp.path()),
        );
        mailer
            .send(Mail {
                to: "Bob <bob@example.org>".into(),
                subject: "Hello".into(),
                text: "Just text.".into(),
                html: None,
            })
            .await
            .unwrap();
        let raw = std::fs::read(&eml_files(tmp.path())[0]).unwrap();
        let parsed = mailparse::parse_mail(&raw).unwrap();
        assert_eq!(parsed.ctype.mimetype, "text/plain");
        assert!(parsed.subparts.is_empty());
        assert_eq!(parsed.get_body().unwrap().trim_end(), "Just text.");
    }

    #[tokio::test]
    async fn a_bad_address_or_subject_is_refused_and_writes_nothing() {
        let tmp = tempfile::tempdir().unwrap();
        let mailer = OutboxMailer::new(
            from_mailbox("guichet@localhost", "").unwrap(),
            Outbox::new(tmp.path()),
        );
        let mail = |to: &str, subject: &str| Mail {
            to: to.into(),
            subject: subject.into(),
            text: "x".into(),
            html: None,
        };
        let err = mailer.send(mail("not an address", "Hi")).await.unwrap_err();
        assert!(matches!(err, MailError::Address(_)), "{err:?}");
        let err = mailer
            .send(mail("a@example.org", "Hi\r\nBcc: evil@example.org"))
            .await
            .unwrap_err();
        assert!(matches!(err, MailError::Build(_)), "{err:?}");
        assert!(!tmp.path().exists() || eml_files(tmp.path()).is_empty());
        assert!(matches!(
            from_mailbox("no-at-sign", "x"),
            Err(MailError::Address(_))
        ));
    }
}
