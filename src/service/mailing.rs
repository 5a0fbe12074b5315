//! Sending a templated mail to a person, in their language: the one helper every self-service
//! flow uses (the mailer itself queues SMTP off the request path, or writes the outbox).

use serde::Serialize;

use crate::domain::theme::Theme;
use crate::mail::templates::MailTemplates;
use crate::mail::{DynMailer, Mail};
use crate::service::core::Core;
use crate::service::error::{Error, Result};

/// What sending a mail needs: the mailer, the templates and the institution's signature, with
/// the issuer for links. A running server takes it from its `Core`; the command line builds
/// its own (`guichet invitation create` mails as the server would).
pub struct Post<'a> {
    pub mail: &'a DynMailer,
    pub templates: &'a MailTemplates,
    pub theme: &'a Theme,
    pub issuer: &'a str,
}

impl<'a> Post<'a> {
    pub fn of(core: &'a Core) -> Post<'a> {
        Post {
            mail: &core.mail,
            templates: &core.mail_templates,
            theme: &core.theme,
            issuer: &core.urls.issuer,
        }
    }

    /// Renders `template` (French or English by `lang`) with `ctx` and hands it to the mailer.
    pub async fn send(
        &self,
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
            institution: &self.theme.name,
            helpdesk: self.theme.helpdesk(lang),
        };
        let (subject, text, html) = self
            .templates
            .render(template, lang, &signed)
            .map_err(|e| Error::Corrupt(format!("mail template {template}: {e}")))?;
        self.mail
            .send(Mail {
                to: to.to_owned(),
                subject,
                text,
                html: Some(html),
            })
            .await
            .map_err(|e| Error::Unavailable(format!("mail: {e}")))
    }
}

/// Renders `template` (French or English by `lang`) with `ctx` and hands it to the mailer.
pub async fn send(
    core: &Core,
    to: &str,
    template: &str,
    lang: &str,
    ctx: &impl Serialize,
) -> Result<()> {
    Post::of(core).send(to, template, lang, ctx).await
}

/// The language to write to a user in: theirs if they chose one, else the page's.
pub fn language<'a>(user_locale: Option<&'a str>, page: &'a str) -> &'a str {
    match user_locale {
        Some(l) if l.starts_with("en") => "en",
        Some(l) if l.starts_with("fr") => "fr",
        _ => page,
    }
}
