//! Sending a templated mail to a person, in their language: the one helper every self-service
//! flow uses (the mailer itself queues SMTP off the request path, or writes the outbox).

use serde::Serialize;

use crate::mail::Mail;
use crate::service::core::Core;
use crate::service::error::{Error, Result};

/// Renders `template` (French or English by `lang`) with `ctx` and hands it to the mailer.
pub async fn send(
    core: &Core,
    to: &str,
    template: &str,
    lang: &str,
    ctx: &impl Serialize,
) -> Result<()> {
    let lang = if lang == "en" { "en" } else { "fr" };
    // Every mail signs with the institution's name and help desk (the theme).
    #[derive(Serialize)]
    struct Signed<'a, T: Serialize> {
        #[serde(flatten)]
        ctx: &'a T,
        institution: &'a str,
        helpdesk: &'a str,
    }
    let signed = Signed {
        ctx,
        institution: &core.theme.name,
        helpdesk: core.theme.helpdesk(lang),
    };
    let (subject, text, html) = core
        .mail_templates
        .render(template, lang, &signed)
        .map_err(|e| Error::Corrupt(format!("mail template {template}: {e}")))?;
    core.mail
        .send(Mail {
            to: to.to_owned(),
            subject,
            text,
            html: Some(html),
        })
        .await
        .map_err(|e| Error::Unavailable(format!("mail: {e}")))
}

/// The language to write to a user in: theirs if they chose one, else the page's.
pub fn language<'a>(user_locale: Option<&'a str>, page: &'a str) -> &'a str {
    match user_locale {
        Some(l) if l.starts_with("en") => "en",
        Some(l) if l.starts_with("fr") => "fr",
        _ => page,
    }
}
