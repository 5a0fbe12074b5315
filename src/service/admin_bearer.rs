//! Who an administration bearer token names (the JSON API's caller): an access token verified
//! as userinfo and introspection verify them (`resource::verify_access_token`: signature,
//! `typ`, issuer, audience, expiry, revocation markers), carrying the scope `admin`, of a
//! client registered for it and enabled, read afresh rather than from the 10 s client cache,
//! so that a client disabled or stripped of the scope stops administering at once. A
//! client_credentials token (RFC 6749 §4.4: no grant, no person) acts as its client and
//! reaches everything; a person's token acts with that person's administration.
//!
//! Also the API's account creation with an optional password (policy-checked, hashed on the
//! pool), which the command line does with its own hasher.

use crate::domain::admin::{Actor, Principal, Reach};
use crate::domain::user::{NewUser, User};
use crate::service::admin::{Admin, AdminError, actor_for_user};
use crate::service::core::Core;
use crate::service::error::Error;
use crate::service::password;
use crate::service::resource::{Bearer, BearerError, verify_access_token};

/// The scope an administration token carries, and its client is registered for.
pub const ADMIN_SCOPE: &str = "admin";

/// What a presented token amounts to (RFC 6750 §3.1).
#[derive(Debug)]
pub enum AdminBearer {
    Actor(Actor),
    /// Malformed, expired, revoked, or of a disabled (or removed) client or user.
    InvalidToken,
    /// Valid, but without the scope `admin`, or a person who administers nothing.
    InsufficientScope(&'static str),
}

pub async fn admin_bearer(core: &Core, token: &str, now: i64) -> Result<AdminBearer, AdminError> {
    let claims = match verify_access_token(core, token, now).await {
        Ok(Bearer { claims, .. }) => claims,
        Err(BearerError::Invalid) => return Ok(AdminBearer::InvalidToken),
        Err(BearerError::Internal(e)) => return Err(e.into()),
    };
    let client = match core.db.client_by_id(&claims.client_id).await? {
        Some(c) if !c.disabled => c,
        _ => return Ok(AdminBearer::InvalidToken),
    };
    if !claims.has_scope(ADMIN_SCOPE) || !client.scopes.iter().any(|s| s == ADMIN_SCOPE) {
        return Ok(AdminBearer::InsufficientScope(
            "the access token does not carry the scope admin",
        ));
    }
    if claims.gid.is_none() {
        return Ok(AdminBearer::Actor(Actor {
            principal: Principal::Client(client.client_id),
            reach: Reach::All,
        }));
    }
    let user = match core.db.user_by_id(&claims.sub).await? {
        Some(u) if !u.disabled => u,
        // Deleted or disabled since: the token is dead (as at userinfo).
        _ => return Ok(AdminBearer::InvalidToken),
    };
    Ok(match actor_for_user(&core.db, &user).await? {
        Some(actor) => AdminBearer::Actor(actor),
        None => AdminBearer::InsufficientScope("you administer nothing"),
    })
}

/// Creates an account as `admin` does, with `password` (if any) checked against the policy
/// (the refusals are described in the error) and hashed on the pool.
pub async fn create_user_with_password(
    core: &Core,
    admin: &Admin<'_>,
    mut new: NewUser,
    password: Option<String>,
    membership: Option<(&str, &[String])>,
    now: i64,
) -> Result<User, AdminError> {
    if let Some(password) = password {
        let policy = &core.policy.password;
        let broken = password::new_user_violations(policy, &new, &password);
        if !broken.is_empty() {
            let why: Vec<String> = broken.iter().map(|v| v.describe(policy)).collect();
            return Err(AdminError::Invalid(format!(
                "the password is refused: {}",
                why.join("; ")
            )));
        }
        new.password_hash = Some(core.hasher.hash(password).await.map_err(Error::from)?);
    }
    admin.create_user(new, membership, now).await
}
