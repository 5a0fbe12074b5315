//! `guichet invitation`: invite people into an establishment (the link is mailed, as the
//! server would), list, resend and revoke invitations. JSON out; never a token.

use std::time::Duration;

use anyhow::Context;
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{AdminContext, print};
use crate::config::{SecretUrl, Settings};
use crate::domain::clock::Clock;
use crate::domain::invitation::Invitation;
use crate::mail::{self, MailTemplates};
use crate::service::core::Urls;
use crate::service::invitations::{Listed, NewInvitation};
use crate::service::mailing::Post;

#[derive(Debug, Subcommand)]
pub enum InvitationCommand {
    /// Invite a person into an establishment: a link, good for 7 days, is mailed to them.
    Create(InvitationCreate),
    /// List invitations, newest first, with their status.
    List(InvitationList),
    /// Mail a new link (7 days again); the old link stops working.
    Resend(InvitationResend),
    /// Revoke an invitation not used yet.
    Revoke(InvitationRef),
}

#[derive(Debug, Args)]
pub struct InvitationCreate {
    #[arg(long)]
    pub email: String,
    /// The establishment's code.
    #[arg(long)]
    pub establishment: String,
    /// A right defined by the establishment (repeat).
    #[arg(long = "right")]
    pub rights: Vec<String>,
    /// The person will administer the establishment.
    #[arg(long)]
    pub admin: bool,
    #[arg(long)]
    pub given_name: Option<String>,
    #[arg(long)]
    pub family_name: Option<String>,
    /// The language of the mail: fr or en.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub locale: String,
}

#[derive(Debug, Args)]
pub struct InvitationList {
    /// Only this establishment's invitations (its code).
    #[arg(long)]
    pub establishment: Option<String>,
    /// The page (100 invitations each), from 0.
    #[arg(long, default_value_t = 0)]
    pub page: u32,
}

#[derive(Debug, Args)]
pub struct InvitationResend {
    #[arg(long)]
    pub id: String,
    /// The language of the mail: fr or en.
    #[arg(long, default_value = "fr", value_parser = ["fr", "en"])]
    pub locale: String,
}

#[derive(Debug, Args)]
pub struct InvitationRef {
    #[arg(long)]
    pub id: String,
}

fn shown(i: &Invitation, now: i64) -> Value {
    json!({
        "id": i.id,
        "email": i.email,
        "given_name": i.given_name,
        "family_name": i.family_name,
        "establishment": i.establishment_code,
        "rights": i.rights,
        "admin": i.admin,
        "invited_by": i.invited_by,
        "created_at": i.created_at,
        "expires_at": i.expires_at,
        "accepted_at": i.accepted_at,
        "accepted_by": i.accepted_by,
        "revoked_at": i.revoked_at,
        "status": i.status(now).as_str(),
    })
}

/// The mailer, templates and signature the server would use.
struct Office {
    mail: mail::DynMailer,
    task: Option<tokio::task::JoinHandle<()>>,
    templates: MailTemplates,
    theme: crate::domain::theme::Theme,
    issuer: String,
}

impl Office {
    fn open(settings: &Settings) -> anyhow::Result<Office> {
        let (mail, task) = mail::mailer(
            settings.smtp_url.as_ref().map(SecretUrl::expose),
            &settings.mail_from,
            &settings.mail_from_name,
            &settings.outbox_dir,
        )
        .context("GUICHET_SMTP_URL")?;
        let urls = Urls::new(&settings.issuer);
        let (theme, _) = crate::http::theme::load(settings.theme_dir.as_deref(), &urls.base_path)?;
        Ok(Office {
            mail,
            task,
            templates: MailTemplates::new().map_err(|e| anyhow::anyhow!("mail templates: {e}"))?,
            theme,
            issuer: settings.issuer.clone(),
        })
    }

    fn post(&self) -> Post<'_> {
        Post {
            mail: &self.mail,
            templates: &self.templates,
            theme: &self.theme,
            issuer: &self.issuer,
        }
    }

    /// Lets the SMTP queue deliver what was queued (undeliverable mail goes to the outbox).
    async fn close(self) {
        drop(self.mail);
        if let Some(task) = self.task
            && tokio::time::timeout(Duration::from_secs(30), task)
                .await
                .is_err()
        {
            tracing::warn!("mail queue not drained in 30 s");
        }
    }
}

pub async fn run(settings: Settings, cmd: InvitationCommand) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let office = Office::open(&settings)?;
    let now = Clock::system().now();
    let result: anyhow::Result<Value> = async {
        let admin = ctx.admin();
        match cmd {
            InvitationCommand::Create(c) => {
                let new = NewInvitation {
                    email: &c.email,
                    given_name: c.given_name.as_deref(),
                    family_name: c.family_name.as_deref(),
                    establishment: &c.establishment,
                    rights: &c.rights,
                    admin: c.admin,
                    locale: &c.locale,
                };
                let i = admin.invite(&new, &office.post(), now).await?;
                Ok(shown(&i, now))
            }
            InvitationCommand::List(l) => {
                let all = admin
                    .invitations(l.establishment.as_deref(), l.page, now)
                    .await?;
                Ok(json!({"invitations": all
                    .iter()
                    .map(|Listed { invitation, .. }| shown(invitation, now))
                    .collect::<Vec<_>>()}))
            }
            InvitationCommand::Resend(r) => {
                let i = admin.resend(&r.id, &office.post(), &r.locale, now).await?;
                Ok(shown(&i, now))
            }
            InvitationCommand::Revoke(r) => {
                let i = admin.revoke_invitation(&r.id, now).await?;
                Ok(shown(&i, now))
            }
        }
    }
    .await;
    office.close().await;
    ctx.close().await;
    print(result?);
    Ok(())
}
