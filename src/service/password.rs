//! Setting a password under the policy (`domain::password_policy`), wherever it is set: the
//! forced change at first sign-in, the account page, reset and recovery, and the CLI.
//!
//! After a change every SSO session of the user ends (their credential stamp no longer
//! matches: `session::credential_stamp`) and every grant is revoked, so that no refresh token
//! outlives the password (issue 7 §9). The page that made the change starts a new session for
//! its own browser if it keeps the person signed in.

use crate::crypto::password::Hasher;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::password_policy::{BannedList, Context, PasswordPolicy, Violation, check};
use crate::domain::user::{NewUser, User};
use crate::ephemeral::Ephemeral;
use crate::service::core::{Core, Policy};
use crate::service::error::Result;
use crate::service::tokens::mark_revoked_in;
use crate::store::Db;

/// What `set_password` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetOutcome {
    /// Stored; this many grants (with their refresh tokens) were revoked.
    Changed { grants_revoked: usize },
    /// Not stored: the rules the password breaks, in the policy's order.
    Refused(Vec<Violation>),
}

/// The names the policy looks for in a password: given, family and display name.
fn names_of(user: &User) -> Vec<&str> {
    [&user.given_name, &user.family_name, &user.name]
        .into_iter()
        .filter_map(|n| n.as_deref())
        .collect()
}

/// Every rule `password` breaks for an account about to be created (`guichet user add`): the
/// policy's own rules against its login and names; there is no history yet.
pub fn new_user_violations(
    policy: &PasswordPolicy,
    new: &NewUser,
    password: &str,
) -> Vec<Violation> {
    let names: Vec<&str> = [&new.given_name, &new.family_name]
        .into_iter()
        .filter_map(|n| n.as_deref())
        .collect();
    let ctx = Context {
        login: &new.login,
        names: &names,
    };
    check(policy, password, &ctx, BannedList::common())
}

/// Every rule `new` breaks for `user`: the policy's own rules, then `Reused` when it is the
/// current password or one of the last `policy.history` (one argon2id verification each, on
/// the hashing pool, newest first, stopping at the first match). The one check of the
/// command line and the services alike.
pub async fn violations(
    db: &Db,
    hasher: &Hasher,
    policy: &PasswordPolicy,
    user: &User,
    new: &str,
) -> Result<Vec<Violation>> {
    let names = names_of(user);
    let ctx = Context {
        login: &user.login,
        names: &names,
    };
    let mut broken = check(policy, new, &ctx, BannedList::common());
    // A password over the bound is not worth hashing, even to compare.
    if broken.contains(&Violation::TooLong) {
        return Ok(broken);
    }
    // The stored hash, not the caller's copy of the user, which may be older.
    let current = db.user_by_id(&user.id).await?.and_then(|u| u.password_hash);
    let previous = db.password_history(&user.id, policy.history).await?;
    for stored in current.into_iter().chain(previous) {
        if hasher.verify(Some(stored), new.to_owned()).await? {
            broken.push(Violation::Reused);
            break;
        }
    }
    Ok(broken)
}

/// Stores a new password hash (already checked and hashed): the old one joins the history
/// (cut to `policy.password.history`), the user's SSO sessions end, every grant is revoked
/// with markers for its access tokens, and `user.password_changed` is audited at once.
/// Returns how many grants were revoked. `service::admin` and the CLI share it.
pub async fn replace_hash(
    db: &Db,
    ephemeral: &dyn Ephemeral,
    policy: &Policy,
    user: &User,
    hash: &str,
    must_change: bool,
    now: i64,
) -> Result<usize> {
    db.password_set_with_history(&user.id, hash, policy.password.history, must_change, now)
        .await?;
    let revoked = db.grants_revoke_for_user(&user.id, now).await?;
    mark_revoked_in(db, ephemeral, policy, &revoked, now).await?;
    let mut event = AuditEvent::new(now, AuditKind::UserPasswordChanged).user(&user.id);
    if must_change {
        event = event.detail(serde_json::json!({ "temporary": true }));
    }
    db.audit_insert(&[event]).await?;
    Ok(revoked.len())
}

/// Checks the policy (and that `new` differs from the current and last `history` passwords),
/// hashes, stores with history, ends the user's SSO sessions and revokes every refresh
/// token, audits `user.password_changed`. `must_change` makes it a temporary password.
pub async fn set_password(
    core: &Core,
    user: &User,
    new: String,
    must_change: bool,
    now: i64,
) -> Result<SetOutcome> {
    let broken = violations(&core.db, &core.hasher, &core.policy.password, user, &new).await?;
    if !broken.is_empty() {
        return Ok(SetOutcome::Refused(broken));
    }
    let hash = core.hasher.hash(new).await?;
    let grants_revoked = replace_hash(
        &core.db,
        core.ephemeral.as_ref(),
        &core.policy,
        user,
        &hash,
        must_change,
        now,
    )
    .await?;
    Ok(SetOutcome::Changed { grants_revoked })
}
