//! `guichet establishment` and `guichet membership`: establishments (tenants), the rights they
//! define, and who belongs to which with which rights. JSON out.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{AdminContext, print};
use crate::config::Settings;
use crate::domain::clock::Clock;
use crate::domain::establishment::{Establishment, Membership};

#[derive(Debug, Subcommand)]
pub enum EstablishmentCommand {
    /// Create an establishment with the rights its members may hold.
    Add(EstablishmentAdd),
    /// List the establishments.
    List,
    /// Rename an establishment or replace its rights (members lose rights no longer defined).
    Update(EstablishmentUpdate),
    /// List an establishment's members and their rights.
    Members(EstablishmentRef),
}

#[derive(Debug, Args)]
pub struct EstablishmentAdd {
    /// A short code: letters, digits, '-', '_' (at most 32).
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub name: String,
    /// A right members may be given (repeat): lower-case letters, digits, '-', '_', '.', ':'.
    #[arg(long = "right")]
    pub rights: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EstablishmentUpdate {
    #[arg(long)]
    pub code: String,
    #[arg(long)]
    pub name: Option<String>,
    /// The new list of rights (repeat); with none given the list is kept, unless --no-rights.
    #[arg(long = "right")]
    pub rights: Vec<String>,
    /// Define no rights at all.
    #[arg(long, conflicts_with = "rights")]
    pub no_rights: bool,
}

#[derive(Debug, Args)]
pub struct EstablishmentRef {
    #[arg(long)]
    pub code: String,
}

#[derive(Debug, Subcommand)]
pub enum MembershipCommand {
    /// Make a user a member of an establishment with these rights (replacing the rights of an
    /// existing membership).
    Grant(MembershipGrant),
    /// End a user's membership of an establishment.
    Revoke(MembershipRef),
    /// A user's memberships.
    List(UserRef),
}

#[derive(Debug, Args)]
pub struct MembershipGrant {
    /// Any identifier of the user (login, e-mail, number).
    #[arg(long)]
    pub login: String,
    /// The establishment's code.
    #[arg(long)]
    pub establishment: String,
    /// A right defined by the establishment (repeat).
    #[arg(long = "right")]
    pub rights: Vec<String>,
    /// The member administers the establishment (its members and their rights).
    #[arg(long)]
    pub admin: bool,
}

#[derive(Debug, Args)]
pub struct MembershipRef {
    #[arg(long)]
    pub login: String,
    #[arg(long)]
    pub establishment: String,
}

#[derive(Debug, Args)]
pub struct UserRef {
    #[arg(long)]
    pub login: String,
}

fn shown(e: &Establishment) -> Value {
    json!({"id": e.id, "code": e.code, "name": e.name, "rights": e.rights, "created_at": e.created_at})
}

fn membership(m: &Membership) -> Value {
    json!({"establishment": m.code, "name": m.name, "rights": m.rights, "admin": m.admin})
}

pub async fn establishment(settings: Settings, cmd: EstablishmentCommand) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let now = Clock::system().now();
    let admin = ctx.admin();
    let out = match cmd {
        EstablishmentCommand::Add(a) => admin
            .create_establishment(&a.code, &a.name, &a.rights, now)
            .await
            .map(|e| shown(&e)),
        EstablishmentCommand::List => admin
            .establishments()
            .await
            .map(|all| json!({"establishments": all.iter().map(shown).collect::<Vec<_>>()})),
        EstablishmentCommand::Update(u) => {
            let rights = (u.no_rights || !u.rights.is_empty()).then_some(u.rights.as_slice());
            admin
                .update_establishment(&u.code, u.name.as_deref(), rights, now)
                .await
                .map(|e| shown(&e))
        }
        EstablishmentCommand::Members(r) => admin.members(&r.code).await.map(|(e, members)| {
            json!({
                "establishment": e.code,
                "members": members
                    .iter()
                    .map(|(id, login, rights)| json!({"id": id, "login": login, "rights": rights}))
                    .collect::<Vec<_>>(),
            })
        }),
    };
    ctx.close().await;
    print(out?);
    Ok(())
}

pub async fn membership_cmd(settings: Settings, cmd: MembershipCommand) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let now = Clock::system().now();
    let result: anyhow::Result<Value> = async {
        match cmd {
            MembershipCommand::Grant(g) => {
                let user = ctx.admin().find_user(&g.login).await?;
                let m = ctx
                    .admin()
                    .grant(&user, &g.establishment, &g.rights, g.admin, now)
                    .await?;
                Ok(json!({"id": user.id, "login": user.login, "membership": membership(&m)}))
            }
            MembershipCommand::Revoke(r) => {
                let user = ctx.admin().find_user(&r.login).await?;
                let removed = ctx.admin().revoke(&user, &r.establishment, now).await?;
                Ok(json!({"id": user.id, "login": user.login, "establishment": r.establishment, "removed": removed}))
            }
            MembershipCommand::List(u) => {
                let user = ctx.admin().find_user(&u.login).await?;
                let all = ctx.admin().memberships(&user).await?;
                Ok(json!({"id": user.id, "login": user.login, "memberships": all.iter().map(membership).collect::<Vec<_>>()}))
            }
        }
    }
    .await;
    ctx.close().await;
    print(result?);
    Ok(())
}
