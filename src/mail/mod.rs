//! The mailer seam: one trait that every flow sends e-mail through, with two implementations:
//! SMTP (lettre, queued and retried off the request path) and the outbox directory (one `.eml`
//! file per message) when no SMTP server is configured. Templates render each message in French
//! or English, plain text and HTML. An infrastructure layer beside `store` and `notify`: it
//! imports only `domain`, and `notify` for the outbox directory.

mod message;
pub mod outbox;
pub mod smtp;
pub mod templates;

use std::path::Path;
use std::sync::Arc;

use tokio::task::JoinHandle;

use crate::notify::Outbox;

pub use lettre::message::Mailbox;
pub use outbox::OutboxMailer;
pub use smtp::{RetryPolicy, SmtpMailer};
pub use templates::MailTemplates;

/// The outbox kind (file name part) of a message written by [`OutboxMailer`]:
/// `<unix-millis>-mail-<8 hex>.eml`.
pub const OUTBOX_KIND: &str = "mail";
/// The outbox kind of a message that SMTP could not deliver:
/// `<unix-millis>-mail_failed-<8 hex>.eml`. Not matched by a search for `-mail-`.
pub const FAILED_KIND: &str = "mail_failed";

/// One message, already rendered.
#[derive(Debug, Clone)]
pub struct Mail {
    /// One address, `someone@example.org` or `Name <someone@example.org>`.
    pub to: String,
    pub subject: String,
    pub text: String,
    /// When set, the message is `multipart/alternative` with the text first (RFC 2046 §5.1.4:
    /// the last part is the preferred one).
    pub html: Option<String>,
}

/// Why a message was not accepted. Messages never carry the body, which holds links and codes.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// A recipient or sender that is not a valid address.
    #[error("not a valid e-mail address: {0}")]
    Address(String),
    /// The message or a template could not be built.
    #[error("the message could not be built: {0}")]
    Build(String),
    /// The SMTP transport could not be set up, or the message could not be queued.
    #[error("the message could not be sent: {0}")]
    Send(String),
    #[error("the mail outbox could not be written: {0}")]
    Outbox(#[from] std::io::Error),
}

#[async_trait::async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Accepts a message for delivery. For SMTP it is queued and sent off the request path
    /// (returns once queued); for the outbox it is written before returning. An error here
    /// means the message was refused (bad address, queue closed or full), never a slow server.
    async fn send(&self, mail: Mail) -> Result<(), MailError>;
}

pub type DynMailer = Arc<dyn Mailer>;

/// From settings: SMTP when a URL is set, else the outbox in `outbox_dir`. With SMTP, the handle
/// is the delivery task: it ends once every clone of the mailer is dropped and the queue is
/// drained, so a graceful shutdown drops the mailer and awaits it (with a deadline).
pub fn mailer(
    smtp_url: Option<&str>,
    from_address: &str,
    from_name: &str,
    outbox_dir: &Path,
) -> Result<(DynMailer, Option<JoinHandle<()>>), MailError> {
    let from = from_mailbox(from_address, from_name)?;
    let outbox = Outbox::new(outbox_dir);
    Ok(match smtp_url {
        Some(url) => {
            let (smtp, task) = SmtpMailer::start(url, from, outbox)?;
            (Arc::new(smtp), Some(task))
        }
        None => (Arc::new(OutboxMailer::new(from, outbox)), None),
    })
}

/// The From header: `"Name" <address>` (just the address when the name is empty).
pub fn from_mailbox(address: &str, name: &str) -> Result<Mailbox, MailError> {
    let address = address
        .parse()
        .map_err(|_| MailError::Address(address.to_owned()))?;
    // A line break in a header would end it (and lettre cannot quote one).
    if name.chars().any(char::is_control) {
        return Err(MailError::Address(format!(
            "the sender name {name:?} has a control character"
        )));
    }
    let name = Some(name.trim().to_owned()).filter(|n| !n.is_empty());
    Ok(Mailbox::new(name, address))
}
