//! A [`Mail`] as an RFC 5322 message, built once by lettre for both the SMTP transport and the
//! outbox, so that what is written to the outbox is what a server would have received.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart, SinglePart};

use super::{Mail, MailError};

/// Builds the message: From, To, Subject, Date and Message-ID headers; a `text/plain` body, or
/// `multipart/alternative` (text, then HTML) when the mail has HTML.
pub(super) fn build(from: &Mailbox, mail: Mail) -> Result<Message, MailError> {
    let to: Mailbox = mail
        .to
        .parse()
        .map_err(|_| MailError::Address(mail.to.clone()))?;
    // A header cannot span lines; a subject from a template ends at its first line anyway.
    if mail.subject.contains(['\r', '\n']) {
        return Err(MailError::Build("the subject has a line break".into()));
    }
    // RFC 5322 §3.6.4: a unique id, on the sender's domain rather than this machine's name.
    let message_id = format!(
        "<{}@{}>",
        uuid::Uuid::new_v4().simple(),
        from.email.domain()
    );
    let builder = Message::builder()
        .message_id(Some(message_id))
        .from(from.clone())
        .to(to)
        .subject(mail.subject);
    let built = match mail.html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(mail.text, html)),
        None => builder.singlepart(SinglePart::plain(mail.text)),
    };
    built.map_err(|e| MailError::Build(e.to_string()))
}
