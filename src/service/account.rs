//! The signed-in person's own account: what the account page shows, and the password check
//! that guards its sensitive actions (removing a factor, new recovery codes).

use std::net::IpAddr;

use crate::crypto::token::ct_eq;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::password_policy::Violation;
use crate::domain::user::User;
use crate::service::core::Core;
use crate::service::error::Result;
use crate::service::lockout::{self, Gate, Subject};
use crate::service::login;
use crate::service::mfa::{self, Overview};
use crate::service::password::{self, SetOutcome};
use crate::service::reset;
use crate::service::session::{self, Current};

/// Sign-ins the account page lists.
pub const RECENT_SIGN_INS: i64 = 10;

/// What the account page shows.
#[derive(Debug)]
pub struct Summary {
    /// (kind, value): login, e-mail, numbers.
    pub identifiers: Vec<(String, String)>,
    pub mfa: Overview,
    /// The latest successful sign-ins, newest first.
    pub recent: Vec<SignIn>,
}

/// A successful sign-in as the account page lists it.
#[derive(Debug)]
pub struct SignIn {
    pub at: i64,
    pub ip: Option<String>,
    /// The application's name (its id if it has none); `None`: the account page itself.
    pub application: Option<String>,
}

pub async fn summary(core: &Core, user: &User) -> Result<Summary> {
    let identifiers = core.db.user_identifiers(&user.id).await?;
    let mfa = mfa::overview(core, &user.id).await?;
    let events = core
        .db
        .audit_for_user(
            &user.id,
            &[AuditKind::LoginSuccess.as_str()],
            RECENT_SIGN_INS,
        )
        .await?;
    let mut recent = Vec::with_capacity(events.len());
    for e in events {
        let application = match e.client_id {
            Some(id) => Some(match core.clients.get(&core.db, &id).await? {
                Some(c) => c.name.clone().unwrap_or(id),
                None => id,
            }),
            None => None,
        };
        recent.push(SignIn {
            at: e.at,
            ip: e.ip,
            application,
        });
    }
    Ok(Summary {
        identifiers,
        mfa,
        recent,
    })
}

/// The answer to a password typed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reauth {
    Ok,
    Wrong,
    /// Too many failures: the account is locked for that many seconds.
    Locked(i64),
}

/// Checks the signed-in user's password again, under the same lockout as sign-in.
pub async fn check_password(
    core: &Core,
    user: &User,
    password: String,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Reauth> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    if let Some(wait) = lockout::address_gate(store, policy, ip, now).await? {
        return Ok(Reauth::Locked(wait));
    }
    let subject = Subject::Account(&user.id);
    let count = match lockout::enter(store, policy, &subject, now).await? {
        Gate::Open { count } => count,
        Gate::Locked { retry_after } => return Ok(Reauth::Locked(retry_after)),
    };
    if login::verify(&core.hasher, Some(user.clone()), password)
        .await?
        .is_some()
    {
        lockout::succeeded(store, &subject).await?;
        return Ok(Reauth::Ok);
    }
    lockout::address_failed(store, policy, ip, now).await?;
    let locked = lockout::failed(store, policy, &subject, count, now).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::LoginFailure)
            .user(&user.id)
            .ip(ip.map(|i| i.to_string()))
            .detail(serde_json::json!({"reason": "bad_password_reentry"})),
    );
    if locked {
        core.audit.record(
            AuditEvent::new(now, AuditKind::AccountLocked)
                .user(&user.id)
                .ip(ip.map(|i| i.to_string())),
        );
        return Ok(Reauth::Locked(policy.duration));
    }
    Ok(Reauth::Wrong)
}

/// How a password change from the account page ended.
#[derive(Debug)]
pub enum PasswordChange {
    /// Changed: every other session and refresh token of the user ended; this browser keeps
    /// a new session (`cookie`).
    Done {
        cookie: String,
    },
    /// The current password is wrong (counted by the lockout).
    WrongCurrent,
    Locked(i64),
    /// The two new passwords differ.
    Mismatch,
    /// The new password breaks these rules.
    Refused(Vec<Violation>),
}

/// Changes the signed-in user's password: the current one first, then the policy.
#[allow(clippy::too_many_arguments)]
pub async fn change_password(
    core: &Core,
    current: &Current,
    old: String,
    new: String,
    confirm: &str,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<PasswordChange> {
    match check_password(core, &current.user, old, ip, now).await? {
        Reauth::Ok => {}
        Reauth::Wrong => return Ok(PasswordChange::WrongCurrent),
        Reauth::Locked(wait) => return Ok(PasswordChange::Locked(wait)),
    }
    if !ct_eq(&new, confirm) {
        return Ok(PasswordChange::Mismatch);
    }
    match password::set_password(core, &current.user, new, false, now).await? {
        SetOutcome::Refused(violations) => Ok(PasswordChange::Refused(violations)),
        SetOutcome::Changed { .. } => {
            // The change ended every session (their credential stamp); this browser gets a
            // new one, with the same sign-in methods and time.
            let store = core.ephemeral.as_ref();
            session::end(store, &current.session.sid).await?;
            let user = core
                .db
                .user_by_id(&current.user.id)
                .await?
                .unwrap_or_else(|| current.user.clone());
            let (cookie, new) = session::create(
                store,
                core.policy.session,
                &user,
                current.session.amr.clone(),
                current.session.auth_time,
                now,
            )
            .await?;
            crate::service::cas::sso::carry_over(core, &current.session.sid, &new, now).await?;
            reset::confirm_by_mail(core, &user, lang, ip, now).await;
            Ok(PasswordChange::Done { cookie })
        }
    }
}
