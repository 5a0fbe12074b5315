//! E-mail as a person reads it: the `.eml` files of the outbox, or what the SMTP sink received,
//! parsed back (headers decoded, quoted-printable undone) so tests can read links and codes.

use std::path::{Path, PathBuf};

use mailparse::MailHeaderMap as _;

use super::TestApp;

/// One message, decoded.
#[derive(Debug, Clone)]
pub struct ReadMail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// The content type of the whole message (`multipart/alternative`, `text/plain`).
    pub mimetype: String,
}

impl ReadMail {
    pub fn parse(raw: &[u8]) -> ReadMail {
        let parsed = mailparse::parse_mail(raw).unwrap();
        let header = |name: &str| parsed.headers.get_first_value(name).unwrap_or_default();
        let mut text = String::new();
        let mut html = None;
        let parts = if parsed.subparts.is_empty() {
            vec![&parsed]
        } else {
            parsed.subparts.iter().collect()
        };
        for part in parts {
            match part.ctype.mimetype.as_str() {
                "text/plain" => text = part.get_body().unwrap(),
                "text/html" => html = Some(part.get_body().unwrap()),
                _ => {}
            }
        }
        ReadMail {
            from: header("From"),
            to: header("To"),
            subject: header("Subject"),
            text,
            html,
            mimetype: parsed.ctype.mimetype.clone(),
        }
    }

    /// The first link in the text part that contains `needle` (e.g. `/reset/`).
    pub fn link(&self, needle: &str) -> Option<String> {
        self.text
            .split_whitespace()
            .find(|w| (w.starts_with("https://") || w.starts_with("http://")) && w.contains(needle))
            .map(|w| w.trim_end_matches(['.', ',', ')', '>']).to_owned())
    }
}

/// The `.eml` files of kind `kind` (`mail`, `mail_failed`) in `dir`, oldest first.
pub fn outbox_files(dir: &Path, kind: &str) -> Vec<PathBuf> {
    let infix = format!("-{kind}-");
    let mut files: Vec<_> = match std::fs::read_dir(dir) {
        Ok(rd) => rd
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains(&infix) && n.ends_with(".eml"))
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    files
}

/// The e-mail written to the outbox of `dir`, oldest first.
pub fn outbox_mails_in(dir: &Path) -> Vec<ReadMail> {
    outbox_files(dir, "mail")
        .iter()
        .map(|p| ReadMail::parse(&std::fs::read(p).unwrap()))
        .collect()
}

/// The e-mail the application wrote to its outbox, oldest first.
pub fn outbox_mails(app: &TestApp) -> Vec<ReadMail> {
    outbox_mails_in(&app.dir.path().join("outbox"))
}

/// The last e-mail to `to` in the application's outbox.
pub fn last_mail_to(app: &TestApp, to: &str) -> ReadMail {
    let mails = outbox_mails(app);
    mails
        .iter()
        .rev()
        .find(|m| m.to.contains(to))
        .cloned()
        .unwrap_or_else(|| panic!("no e-mail to {to} in {mails:?}"))
}

/// Waits (up to 3 s: some mails leave after the answer) for the `n`-th message to `to`
/// (counting from 1), and returns it.
pub async fn wait_for_mail(app: &TestApp, to: &str, n: usize) -> ReadMail {
    for _ in 0..60 {
        let mails: Vec<ReadMail> = outbox_mails(app)
            .into_iter()
            .filter(|m| m.to.contains(to))
            .collect();
        if mails.len() >= n {
            return mails[n - 1].clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no mail #{n} to {to}: {:?}", outbox_mails(app));
}

/// How many messages went to `to`, after a moment for those sent after the answer.
pub async fn mails_to(app: &TestApp, to: &str) -> usize {
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    outbox_mails(app)
        .iter()
        .filter(|m| m.to.contains(to))
        .count()
}

/// The link of a mail whose path contains `needle`, pointed at this node.
pub fn link_in(app: &TestApp, mail: &ReadMail, needle: &str) -> String {
    let link = mail
        .link(needle)
        .unwrap_or_else(|| panic!("no {needle} link in {}", mail.text));
    link.replacen(&app.issuer, &app.url(""), 1)
}
