//! `guichet admin`: who administers everything. Establishment administrators are members
//! with `--admin` (`guichet membership grant`).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{AdminContext, print};
use crate::config::Settings;
use crate::domain::clock::Clock;

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Make an existing user a global administrator.
    Grant(AdminRef),
    /// Make a global administrator an ordinary user again.
    Revoke(AdminRef),
    /// List the global administrators.
    List,
    /// Print a new one-time set-up link that creates a global administrator (7 days; older
    /// unused set-up links stop working).
    Create,
}

#[derive(Debug, Args)]
pub struct AdminRef {
    /// Any identifier of the user (login, e-mail, number).
    #[arg(long)]
    pub login: String,
}

pub async fn run(settings: Settings, cmd: AdminCommand) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let now = Clock::system().now();
    let result: anyhow::Result<Value> = async {
        let admin = ctx.admin();
        match cmd {
            AdminCommand::Grant(r) => {
                let user = admin.find_user(&r.login).await?;
                admin.set_global_administrator(&user, true, now).await?;
                Ok(json!({"id": user.id, "login": user.login, "global_administrator": true}))
            }
            AdminCommand::Revoke(r) => {
                let user = admin.find_user(&r.login).await?;
                admin.set_global_administrator(&user, false, now).await?;
                Ok(json!({"id": user.id, "login": user.login, "global_administrator": false}))
            }
            AdminCommand::Create => {
                let (url, expires_at) = admin.setup_link(&settings.issuer, now).await?;
                Ok(json!({"setup_url": url, "expires_at": expires_at}))
            }
            AdminCommand::List => {
                let all = admin.administrators().await?;
                Ok(json!({"administrators": all
                    .iter()
                    .map(|(id, login)| json!({"id": id, "login": login}))
                    .collect::<Vec<_>>()}))
            }
        }
    }
    .await;
    ctx.close().await;
    print(result?);
    Ok(())
}
