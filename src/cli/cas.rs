//! `guichet cas-service`: CAS services, registered beside the OpenID Connect clients (same
//! database, same JSON output).

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::json;

use super::print;
use crate::app::open_db;
use crate::config::Settings;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::cas::{CasService, PatternKind};
use crate::domain::clock::Clock;
use crate::service::cas::registry::{ServiceSpec, register};

#[derive(Debug, Subcommand)]
pub enum CasServiceCommand {
    /// Register a CAS service.
    Add(Box<CasServiceAdd>),
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

pub async fn run(settings: Settings, cmd: CasServiceCommand) -> anyhow::Result<()> {
    let (db, _) = open_db(&settings).await?;
    let now = Clock::system().now();
    let result = match cmd {
        CasServiceCommand::Add(args) => {
            let Some(kind) = PatternKind::parse(&args.pattern_kind) else {
                bail!("--pattern-kind must be exact, prefix or regex");
            };
            let spec = ServiceSpec {
                name: args.name,
                pattern: args.pattern,
                pattern_kind: kind,
                attributes: args.attributes,
                allow_proxy: args.allow_proxy,
                require_mfa: args.require_mfa,
                single_logout: !args.no_single_logout,
            };
            let service = register(&db, spec, now).await?;
            db.audit_insert(&[AuditEvent::new(now, AuditKind::ClientCreated)
                .client(&service.id)
                .detail(json!({"protocol": "cas"}))])
                .await?;
            Ok(shown(&service))
        }
        CasServiceCommand::List => {
            let all = db.cas_services().await?;
            Ok(json!({"services": all.iter().map(shown).collect::<Vec<_>>()}))
        }
        CasServiceCommand::Show(r) => db
            .cas_service_by_id(&r.id)
            .await?
            .map(|s| shown(&s))
            .with_context(|| format!("no CAS service {:?}", r.id)),
        CasServiceCommand::Disable(r) | CasServiceCommand::Enable(r)
            if db.cas_service_by_id(&r.id).await?.is_none() =>
        {
            Err(anyhow::anyhow!("no CAS service {:?}", r.id))
        }
        CasServiceCommand::Disable(r) => {
            db.cas_service_set_disabled(&r.id, true, now).await?;
            db.audit_insert(&[AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(&r.id)
                .detail(json!({"disabled": true}))])
                .await?;
            Ok(json!({"id": r.id, "disabled": true}))
        }
        CasServiceCommand::Enable(r) => {
            db.cas_service_set_disabled(&r.id, false, now).await?;
            db.audit_insert(&[AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(&r.id)
                .detail(json!({"disabled": false}))])
                .await?;
            Ok(json!({"id": r.id, "disabled": false}))
        }
        CasServiceCommand::Remove(r) => {
            if !db.cas_service_delete(&r.id).await? {
                Err(anyhow::anyhow!("no CAS service {:?}", r.id))
            } else {
                db.audit_insert(&[AuditEvent::new(now, AuditKind::ClientUpdated)
                    .client(&r.id)
                    .detail(json!({"removed": true}))])
                    .await?;
                Ok(json!({"id": r.id, "removed": true}))
            }
        }
    };
    db.close().await;
    print(result?);
    Ok(())
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
    })
}
