//! Establishments and memberships: what the CLI, the console and the JSON API do (one rule
//! each, on `Admin`, whose actor bounds them). Rights given to a member must be defined by the
//! establishment. A global administrator creates establishments; an establishment
//! administrator renames theirs, defines its rights, and manages its members.

use serde_json::json;

use crate::crypto::token::random_hex;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::establishment::{
    self, Establishment, EstablishmentError, Membership, allowed_rights,
};
use crate::domain::user::User;
use crate::service::admin::{Admin, AdminError};

type Result<T> = std::result::Result<T, AdminError>;

impl From<EstablishmentError> for AdminError {
    fn from(e: EstablishmentError) -> AdminError {
        AdminError::Invalid(e.to_string())
    }
}

fn checked_rights(rights: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for r in rights {
        establishment::validate_right(r)?;
        if !out.contains(r) {
            out.push(r.clone());
        }
    }
    Ok(out)
}

fn unknown(code: &str) -> AdminError {
    AdminError::NotFound(format!("no establishment {code:?}"))
}

impl Admin<'_> {
    /// Creates an establishment with the rights its members may hold (global administrators).
    pub async fn create_establishment(
        &self,
        code: &str,
        name: &str,
        rights: &[String],
        now: i64,
    ) -> Result<Establishment> {
        self.check_global()?;
        establishment::validate_code(code)?;
        establishment::validate_name(name)?;
        let e = Establishment {
            id: format!("est-{}", random_hex(8)),
            code: code.to_owned(),
            name: name.trim().to_owned(),
            rights: checked_rights(rights)?,
            created_at: now,
            updated_at: now,
        };
        self.db.establishment_insert(&e).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::EstablishmentCreated)
                .detail(json!({"establishment": e.code, "rights": e.rights})),
        )
        .await?;
        Ok(e)
    }

    /// The establishment `code`, if the actor administers it (another one is "no such
    /// establishment" to an establishment administrator).
    pub async fn establishment(&self, code: &str) -> Result<Establishment> {
        let e = self
            .db
            .establishment_by_code(code)
            .await?
            .ok_or_else(|| unknown(code))?;
        if !self.actor.covers(&e.id) {
            return Err(unknown(code));
        }
        Ok(e)
    }

    /// The establishments the actor administers (all of them for a global administrator).
    pub async fn establishments(&self) -> Result<Vec<Establishment>> {
        let mut all = self.db.establishments().await?;
        all.retain(|e| self.actor.covers(&e.id));
        Ok(all)
    }

    /// Renames an establishment and/or replaces its list of rights; members lose the rights
    /// no longer defined.
    pub async fn update_establishment(
        &self,
        code: &str,
        name: Option<&str>,
        rights: Option<&[String]>,
        now: i64,
    ) -> Result<Establishment> {
        let mut e = self.establishment(code).await?;
        if let Some(n) = name {
            establishment::validate_name(n)?;
            e.name = n.trim().to_owned();
        }
        if let Some(r) = rights {
            e.rights = checked_rights(r)?;
        }
        e.updated_at = now;
        self.db.establishment_update(&e, now).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::EstablishmentUpdated)
                .detail(json!({"establishment": e.code, "name": e.name, "rights": e.rights})),
        )
        .await?;
        Ok(e)
    }

    /// The members of an establishment, as (id, login, rights).
    pub async fn members(
        &self,
        code: &str,
    ) -> Result<(Establishment, Vec<(String, String, Vec<String>)>)> {
        let e = self.establishment(code).await?;
        let members = self.db.establishment_members(&e.id).await?;
        Ok((e, members))
    }

    /// Makes `user` a member of the establishment `code` with exactly `rights` (each defined
    /// by it), administering it or not; an existing membership gets these instead of its own.
    /// An establishment administrator grants in their establishments, to people already in
    /// their reach (others join by invitation, which they accept themselves).
    pub async fn grant(
        &self,
        user: &User,
        code: &str,
        rights: &[String],
        admin: bool,
        now: i64,
    ) -> Result<Membership> {
        let e = self.establishment(code).await?;
        self.check_user(user).await?;
        let rights = allowed_rights(&e, rights)?;
        self.db
            .membership_put(&user.id, &e.id, &rights, admin, now)
            .await?;
        self.audit(
            AuditEvent::new(now, AuditKind::MembershipGranted)
                .user(&user.id)
                .detail(json!({"establishment": e.code, "rights": rights, "admin": admin})),
        )
        .await?;
        Ok(Membership {
            establishment_id: e.id,
            code: e.code,
            name: e.name,
            rights,
            admin,
        })
    }

    /// Ends `user`'s membership of `code`; returns whether there was one.
    pub async fn revoke(&self, user: &User, code: &str, now: i64) -> Result<bool> {
        let e = self.establishment(code).await?;
        self.check_user(user).await?;
        let removed = self.db.membership_delete(&user.id, &e.id).await?;
        if removed {
            self.audit(
                AuditEvent::new(now, AuditKind::MembershipRevoked)
                    .user(&user.id)
                    .detail(json!({"establishment": e.code})),
            )
            .await?;
        }
        Ok(removed)
    }

    /// A user's memberships: all of them for a global administrator, those of the actor's
    /// establishments otherwise.
    pub async fn memberships(&self, user: &User) -> Result<Vec<Membership>> {
        let mut all = self.db.memberships_of(&user.id).await?;
        all.retain(|m| self.actor.covers(&m.establishment_id));
        Ok(all)
    }
}
