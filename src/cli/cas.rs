//! `guichet cas-service`: CAS services, registered beside the OpenID Connect clients (same
//! database, same JSON output), through `service::admin` like the console and the API.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::{AdminContext, print};
use crate::config::Settings;
use crate::domain::cas::{CasService, PatternKind};
use crate::domain::clock::Clock;
use crate::service::cas::registry::{ServiceChanges, ServiceSpec};

#[derive(Debug, Subcommand)]
pub enum CasServiceCommand {
    /// Register a CAS service.
    Add(Box<CasServiceAdd>),
    /// Change any of a service's options (what is not given stays); JSON of the service out.
    Update(Box<CasServiceUpdate>),
    /// List the registered CAS services.
    List,
    /// Show one service.
    Show(CasServiceRef),
    /// Refuse a service everywhere within 10 s (its users get an error page, no ticket).
    Disable(CasServiceRef),
    /// Accept a disabled service again.
    Enable(CasServiceRef),
    /// Remove a service for good.
    Remove(CasServiceRef),
}

#[derive(Debug, Args)]
pub struct CasServiceRef {
    /// The service's id (`cas-…`, printed by `add`).
    #[arg(long)]
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CasServiceAdd {
    /// A display name shown on the login page.
    #[arg(long)]
    pub name: String,
    /// The service URLs it owns: a URL (exact), a URL prefix ending its host with '/'
    /// (prefix), or a regular expression matched against the whole URL (regex).
    #[arg(long)]
    pub pattern: String,
    #[arg(long, default_value = "exact", value_parser = ["exact", "prefix", "regex"])]
    pub pattern_kind: String,
    /// A user attribute released at /p3/serviceValidate (repeat for several): sub,
    /// preferred_username, name, given_name, family_name, email, email_verified,
    /// phone_number, locale, category, establishments, establishment_rights.
    #[arg(long = "attribute")]
    pub attributes: Vec<String>,
    /// May obtain proxy-granting tickets (pgtUrl) and so proxy tickets for other services.
    #[arg(long)]
    pub allow_proxy: bool,
    /// Everyone who signs in to this service must pass a second factor.
    #[arg(long)]
    pub require_mfa: bool,
    /// Do not send it single-logout requests (SAML LogoutRequest) when a session ends.
    #[arg(long)]
    pub no_single_logout: bool,
}

#[derive(Debug, Args)]
pub struct CasServiceUpdate {
    /// The service's id (`cas-…`).
    #[arg(long)]
    pub id: String,
    #[arg(long)]
    pub name: Option<String>,
    /// A new pattern (checked against --pattern-kind, or the kind registered).
    #[arg(long)]
    pub pattern: Option<String>,
    #[arg(long, value_parser = ["exact", "prefix", "regex"])]
    pub pattern_kind: Option<String>,
    /// The released attributes (repeat for several; they replace the registered ones).
    #[arg(long = "attribute", conflicts_with = "no_attributes")]
    pub attributes: Vec<String>,
    /// Release no attribute.
    #[arg(long)]
    pub no_attributes: bool,
    #[arg(long, conflicts_with = "no_allow_proxy")]
    pub allow_proxy: bool,
    #[arg(long)]
    pub no_allow_proxy: bool,
    #[arg(long, conflicts_with = "no_require_mfa")]
    pub require_mfa: bool,
    #[arg(long)]
    pub no_require_mfa: bool,
    /// Send it single-logout requests again.
    #[arg(long, conflicts_with = "no_single_logout")]
    pub single_logout: bool,
    #[arg(long)]
    pub no_single_logout: bool,
    #[arg(long, conflicts_with = "disable")]
    pub enable: bool,
    #[arg(long)]
    pub disable: bool,
}

fn either(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

fn kind(s: &str) -> anyhow::Result<PatternKind> {
    PatternKind::parse(s).context("--pattern-kind must be exact, prefix or regex")
}

impl CasServiceUpdate {
    fn changes(self) -> anyhow::Result<ServiceChanges> {
        let changes = ServiceChanges {
            name: self.name,
            pattern: self.pattern,
            pattern_kind: self.pattern_kind.as_deref().map(kind).transpose()?,
            attributes: if self.no_attributes {
                Some(Vec::new())
            } else if self.attributes.is_empty() {
                None
            } else {
                Some(self.attributes)
            },
            allow_proxy: either(self.allow_proxy, self.no_allow_proxy),
            require_mfa: either(self.require_mfa, self.no_require_mfa),
            single_logout: either(self.single_logout, self.no_single_logout),
            enabled: either(self.enable, self.disable),
        };
        if changes.is_empty() {
            bail!("nothing to change: give at least one option (see --help)");
        }
        Ok(changes)
    }
}

pub async fn run(settings: Settings, cmd: CasServiceCommand) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let result = one(&ctx, cmd).await;
    ctx.close().await;
    print(result?);
    Ok(())
}

async fn one(ctx: &AdminContext, cmd: CasServiceCommand) -> anyhow::Result<serde_json::Value> {
    let admin = ctx.admin();
    let now = Clock::system().now();
    let enabled = |on: bool| ServiceChanges {
        enabled: Some(on),
        ..ServiceChanges::default()
    };
    Ok(match cmd {
        CasServiceCommand::Add(args) => {
            let spec = ServiceSpec {
                name: args.name,
                pattern: args.pattern,
                pattern_kind: kind(&args.pattern_kind)?,
                attributes: args.attributes,
                allow_proxy: args.allow_proxy,
                require_mfa: args.require_mfa,
                single_logout: !args.no_single_logout,
            };
            shown(&admin.register_cas_service(spec, now).await?)
        }
        CasServiceCommand::Update(args) => {
            let id = args.id.clone();
            shown(&admin.update_cas_service(&id, args.changes()?, now).await?)
        }
        CasServiceCommand::List => {
            let all = admin.cas_services().await?;
            json!({"services": all.iter().map(shown).collect::<Vec<_>>()})
        }
        CasServiceCommand::Show(r) => shown(&admin.cas_service(&r.id).await?),
        CasServiceCommand::Disable(r) => {
            let s = admin.update_cas_service(&r.id, enabled(false), now).await?;
            json!({"id": s.id, "disabled": s.disabled})
        }
        CasServiceCommand::Enable(r) => {
            let s = admin.update_cas_service(&r.id, enabled(true), now).await?;
            json!({"id": s.id, "disabled": s.disabled})
        }
        CasServiceCommand::Remove(r) => {
            admin.remove_cas_service(&r.id, now).await?;
            json!({"id": r.id, "removed": true})
        }
    })
}

fn shown(s: &CasService) -> serde_json::Value {
    json!({
        "id": s.id,
        "name": s.name,
        "pattern": s.pattern,
        "pattern_kind": s.pattern_kind.as_str(),
        "attributes": s.attributes,
        "allow_proxy": s.allow_proxy,
        "require_mfa": s.require_mfa,
        "single_logout": s.single_logout,
        "disabled": s.disabled,
        "created_at": s.created_at,
        "updated_at": s.updated_at,
    })
}
