//! `guichet user update` and `guichet user add-identifier`: the profile an administrator edits.

use clap::Args;
use serde_json::json;

use super::{AdminContext, print};
use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::service::admin_users::ProfileChanges;

#[derive(Debug, Args)]
pub struct UserUpdate {
    /// Any identifier of the user (login, e-mail, number).
    #[arg(long)]
    pub login: String,
    /// The full name ("" clears it; likewise for every field).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long)]
    pub given_name: Option<String>,
    #[arg(long)]
    pub family_name: Option<String>,
    /// A new e-mail address: it replaces the old one as an identifier.
    #[arg(long)]
    pub email: Option<String>,
    /// Whether the address is known to be the person's.
    #[arg(long)]
    pub email_verified: Option<bool>,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    /// The person's language (a BCP 47 tag: fr, en…).
    #[arg(long)]
    pub locale: Option<String>,
}

#[derive(Debug, Args)]
pub struct UserAddIdentifier {
    /// Any identifier of the user.
    #[arg(long)]
    pub login: String,
    /// The identifier to add (an e-mail address or a number).
    #[arg(long)]
    pub identifier: String,
}

/// A flag given: `Some(None)` when empty (clears the field).
fn given(v: Option<String>) -> Option<Option<String>> {
    v.map(|s| Some(s).filter(|s| !s.trim().is_empty()))
}

pub async fn update(settings: Settings, args: UserUpdate) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let changes = ProfileChanges {
        name: given(args.name),
        given_name: given(args.given_name),
        family_name: given(args.family_name),
        email: given(args.email),
        email_verified: args.email_verified,
        phone_number: given(args.phone),
        category: given(args.category),
        locale: given(args.locale),
    };
    let done = async {
        let admin = ctx.admin();
        let user = admin.find_user(&args.login).await?;
        let now = Clock::system().now();
        let user = admin.update_profile(&user, &changes, now).await?;
        admin
            .show_user(&user, now)
            .await
            .map_err(anyhow::Error::from)
    }
    .await;
    ctx.close().await;
    print(done?);
    Ok(())
}

pub async fn add_identifier(settings: Settings, args: UserAddIdentifier) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let done = async {
        let admin = ctx.admin();
        let user = admin.find_user(&args.login).await?;
        admin
            .add_identifier(&user, &args.identifier, Clock::system().now())
            .await?;
        let identifiers = ctx.db.user_identifiers(&user.id).await?;
        anyhow::Ok(json!({
            "id": user.id,
            "login": user.login,
            "identifiers": identifiers.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }))
    }
    .await;
    ctx.close().await;
    print(done?);
    Ok(())
}
