//! Establishments and memberships: what the CLI does today and the console and the JSON API
//! will (one rule each). Rights given to a member must be defined by the establishment.

use serde_json::json;

use crate::crypto::token::random_hex;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::establishment::{
    self, Establishment, EstablishmentError, Membership, allowed_rights,
};
use crate::domain::user::User;
use crate::store::{Db, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum EstablishmentsError {
    #[error(transparent)]
    Invalid(#[from] EstablishmentError),
    #[error("no establishment {0:?}")]
    Unknown(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T> = std::result::Result<T, EstablishmentsError>;

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

/// Creates an establishment with the rights its members may hold.
pub async fn create(
    db: &Db,
    code: &str,
    name: &str,
    rights: &[String],
    now: i64,
) -> Result<Establishment> {
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
    db.establishment_insert(&e).await?;
    db.audit_insert(&[AuditEvent::new(now, AuditKind::EstablishmentCreated)
        .detail(json!({"establishment": e.code, "rights": e.rights}))])
        .await?;
    Ok(e)
}

pub async fn find(db: &Db, code: &str) -> Result<Establishment> {
    db.establishment_by_code(code)
        .await?
        .ok_or_else(|| EstablishmentsError::Unknown(code.to_owned()))
}

/// Renames an establishment and/or replaces its list of rights; members lose the rights no
/// longer defined.
pub async fn update(
    db: &Db,
    code: &str,
    name: Option<&str>,
    rights: Option<&[String]>,
    now: i64,
) -> Result<Establishment> {
    let mut e = find(db, code).await?;
    if let Some(n) = name {
        establishment::validate_name(n)?;
        e.name = n.trim().to_owned();
    }
    if let Some(r) = rights {
        e.rights = checked_rights(r)?;
    }
    e.updated_at = now;
    db.establishment_update(&e, now).await?;
    db.audit_insert(&[AuditEvent::new(now, AuditKind::EstablishmentUpdated)
        .detail(json!({"establishment": e.code, "name": e.name, "rights": e.rights}))])
        .await?;
    Ok(e)
}

/// Makes `user` a member of the establishment `code` with exactly `rights` (each defined by
/// it); an existing membership gets these rights instead of its own.
pub async fn grant(
    db: &Db,
    user: &User,
    code: &str,
    rights: &[String],
    now: i64,
) -> Result<Membership> {
    let e = find(db, code).await?;
    let rights = allowed_rights(&e, rights)?;
    db.membership_put(&user.id, &e.id, &rights, now).await?;
    db.audit_insert(&[AuditEvent::new(now, AuditKind::MembershipGranted)
        .user(&user.id)
        .detail(json!({"establishment": e.code, "rights": rights}))])
        .await?;
    Ok(Membership {
        establishment_id: e.id,
        code: e.code,
        name: e.name,
        rights,
    })
}

/// Ends `user`'s membership of `code`; returns whether there was one.
pub async fn revoke(db: &Db, user: &User, code: &str, now: i64) -> Result<bool> {
    let e = find(db, code).await?;
    let removed = db.membership_delete(&user.id, &e.id).await?;
    if removed {
        db.audit_insert(&[AuditEvent::new(now, AuditKind::MembershipRevoked)
            .user(&user.id)
            .detail(json!({"establishment": e.code}))])
            .await?;
    }
    Ok(removed)
}
