//! Resetting a forgotten password by e-mail, and sending a forgotten login.
//!
//! - `/reset`: a login or an e-mail address → a link (256-bit random, only its digest stored,
//!   valid one hour, single use) to the account's recovery address. The answer page is the same
//!   whether or not the account exists, and so is its timing: the lookup and the sending run
//!   after the answer, in a task of their own.
//! - A link is good once: completing takes it atomically (a refused password puts it back). A
//!   newer link supersedes older ones, and a password changed since the link was sent (by any
//!   means) voids it.
//! - Setting the new password goes through the password policy and history
//!   (`service::password`), ends every session and refresh token of the user, lifts a lockout,
//!   and sends a confirmation. It does not sign in: the next sign-in asks for the new password
//!   and, for a user who has one, the second factor (CONFORMANCE L10).

use std::net::IpAddr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto::token::{ct_eq, digest, random_token};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::password_policy::Violation;
use crate::domain::self_service::SelfService;
use crate::domain::user::User;
use crate::service::core::Core;
use crate::service::error::{Error, Result};
use crate::service::lockout;
use crate::service::login;
use crate::service::mailing;
use crate::service::password::{self, SetOutcome};

/// How long a reset link stays good.
pub const RESET_TTL: i64 = 3600;
/// At most one reset or forgotten-login mail per account in this many seconds.
pub const MAIL_INTERVAL: i64 = 60;

#[derive(Serialize, Deserialize)]
struct Link {
    user_id: String,
    /// `password_changed_at` when the link was sent: a change since voids it.
    stamp: Option<i64>,
    expires_at: i64,
}

fn link_key(token: &str) -> String {
    format!("reset:link:{}", digest(token))
}

fn latest_key(user_id: &str) -> String {
    format!("reset:latest:{user_id}")
}

/// The address recovery mail goes to: the recovery address, else the account's e-mail.
pub async fn recovery_address(core: &Core, user: &User) -> Result<Option<String>> {
    let (recovery, _) = core.db.user_emails(&user.id).await?;
    Ok(recovery.or_else(|| user.email.clone()))
}

/// Requests (resets, forgotten logins) one address may make per 5 minutes: each costs a
/// lookup and maybe a mail, and the answer never says whether anything was sent.
pub const REQUESTS_PER_ADDRESS: u32 = 20;

/// Whether the address may make another request now (a token bucket, shared by every node).
async fn admitted(core: &Core, ip: Option<IpAddr>, now: i64) -> Result<bool> {
    let Some(ip) = ip else {
        return Ok(true);
    };
    let key = format!("reset:ip:{}", lockout::address_bucket(ip));
    Ok(core
        .ephemeral
        .bucket(&key, REQUESTS_PER_ADDRESS, 300, true, now)
        .await?
        .is_none())
}

/// Starts a reset for `identifier` in the background: the caller answers at once, the same
/// for every identifier.
pub fn request_in_background(
    core: Arc<Core>,
    identifier: String,
    lang: String,
    ip: Option<IpAddr>,
) {
    tokio::spawn(async move {
        let now = core.now();
        if !admitted(&core, ip, now).await.unwrap_or(false) {
            return;
        }
        if let Err(e) = request(&core, &identifier, &lang, ip, now).await {
            tracing::error!(error = %e, "password reset request failed");
        }
    });
}

/// Sends a reset link if `identifier` names an enabled account with a recovery address whose
/// category may reset; else nothing (an audit row says why).
pub async fn request(
    core: &Core,
    identifier: &str,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<()> {
    let Some(user) = login::find_user(&core.db, identifier).await? else {
        return Ok(());
    };
    let Some(to) = recovery_address(core, &user).await? else {
        return Ok(());
    };
    if user.disabled
        || !core
            .policy
            .self_service
            .allows(user.category.as_deref(), SelfService::Reset)
    {
        core.audit.record(
            AuditEvent::new(now, AuditKind::PasswordResetRefused)
                .user(&user.id)
                .ip(ip.map(|i| i.to_string())),
        );
        return Ok(());
    }
    let store = core.ephemeral.as_ref();
    if !store
        .put_if_absent(
            &format!("reset:rate:{}", user.id),
            b"1",
            now + MAIL_INTERVAL,
            now,
        )
        .await?
    {
        return Ok(());
    }
    let token = random_token();
    let link = Link {
        user_id: user.id.clone(),
        stamp: user.password_changed_at,
        expires_at: now + RESET_TTL,
    };
    let json = serde_json::to_vec(&link).map_err(|e| Error::Corrupt(e.to_string()))?;
    store.put(&link_key(&token), &json, now + RESET_TTL).await?;
    store
        .put(
            &latest_key(&user.id),
            digest(&token).as_bytes(),
            now + RESET_TTL,
        )
        .await?;
    #[derive(Serialize)]
    struct Ctx<'a> {
        login: &'a str,
        link: String,
        valid_minutes: i64,
    }
    let ctx = Ctx {
        login: &user.login,
        link: format!("{}/reset/confirm?token={token}", core.urls.issuer),
        valid_minutes: RESET_TTL / 60,
    };
    let lang = mailing::language(user.locale.as_deref(), lang);
    mailing::send(core, &to, "reset_link", lang, &ctx).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::PasswordResetSent)
            .user(&user.id)
            .ip(ip.map(|i| i.to_string())),
    );
    Ok(())
}

/// The user a link is good for now (without using it), if any.
pub async fn check(core: &Core, token: &str, now: i64) -> Result<Option<User>> {
    if token.len() != 43 {
        return Ok(None);
    }
    let Some(bytes) = core.ephemeral.get(&link_key(token), now).await? else {
        return Ok(None);
    };
    let link: Link = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    valid_user(core, token, &link, now).await
}

async fn valid_user(core: &Core, token: &str, link: &Link, now: i64) -> Result<Option<User>> {
    if link.expires_at <= now {
        return Ok(None);
    }
    let latest = core
        .ephemeral
        .get(&latest_key(&link.user_id), now)
        .await?
        .and_then(|v| String::from_utf8(v).ok());
    if !latest.is_some_and(|l| ct_eq(&l, &digest(token))) {
        return Ok(None);
    }
    let user = core.db.user_by_id(&link.user_id).await?;
    Ok(user.filter(|u| !u.disabled && u.password_changed_at == link.stamp))
}

/// How completing a reset ended.
#[derive(Debug)]
pub enum Completed {
    /// The password is set; every session and refresh token of the user ended.
    Done { login: String },
    /// The link is unknown, used, superseded, expired or void.
    Invalid,
    /// The two passwords differ.
    Mismatch,
    /// The new password breaks these rules (the link stays good).
    Refused(Vec<Violation>),
}

/// Sets the new password of a link's user, if the link is still good: single use.
pub async fn complete(
    core: &Core,
    token: &str,
    new_password: String,
    confirm: &str,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Completed> {
    if token.len() != 43 {
        return Ok(Completed::Invalid);
    }
    if !ct_eq(&new_password, confirm) {
        return Ok(if check(core, token, now).await?.is_some() {
            Completed::Mismatch
        } else {
            Completed::Invalid
        });
    }
    let store = core.ephemeral.as_ref();
    // Taken first, so two requests with one link cannot both set a password.
    let Some(bytes) = store.take(&link_key(token), now).await? else {
        return Ok(Completed::Invalid);
    };
    let link: Link = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    let Some(user) = valid_user(core, token, &link, now).await? else {
        return Ok(Completed::Invalid);
    };
    match password::set_password(core, &user, new_password, false, now).await? {
        SetOutcome::Refused(violations) => {
            // The link stays good for another try.
            store.put(&link_key(token), &bytes, link.expires_at).await?;
            Ok(Completed::Refused(violations))
        }
        SetOutcome::Changed { .. } => {
            store.delete(&latest_key(&user.id)).await?;
            lockout::unlock(store, &user.id).await?;
            core.audit.record(
                AuditEvent::new(now, AuditKind::PasswordReset)
                    .user(&user.id)
                    .ip(ip.map(|i| i.to_string())),
            );
            confirm_by_mail(core, &user, lang, ip, now).await;
            Ok(Completed::Done { login: user.login })
        }
    }
}

/// The "your password was changed" mail; a failure to send is logged, not shown (the change
/// is done).
pub async fn confirm_by_mail(core: &Core, user: &User, lang: &str, ip: Option<IpAddr>, now: i64) {
    let to = match recovery_address(core, user).await {
        Ok(Some(to)) => to,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "password change confirmation not sent");
            return;
        }
    };
    #[derive(Serialize)]
    struct Ctx<'a> {
        login: &'a str,
        when: String,
        ip: String,
    }
    let ctx = Ctx {
        login: &user.login,
        when: format_time(now),
        ip: ip.map(|i| i.to_string()).unwrap_or_default(),
    };
    let lang = mailing::language(user.locale.as_deref(), lang);
    if let Err(e) = mailing::send(core, &to, "password_changed", lang, &ctx).await {
        tracing::error!(error = %e, "password change confirmation not sent");
    }
}

/// A time for a mail: UTC, to the minute.
fn format_time(now: i64) -> String {
    chrono::DateTime::from_timestamp(now, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// Sends the logins of the accounts whose e-mail (or recovery address) is `address` to that
/// address, in the background; the caller answers at once, the same for every address.
pub fn forgot_login_in_background(
    core: Arc<Core>,
    address: String,
    lang: String,
    ip: Option<IpAddr>,
) {
    tokio::spawn(async move {
        let now = core.now();
        if !admitted(&core, ip, now).await.unwrap_or(false) {
            return;
        }
        if let Err(e) = forgot_login(&core, &address, &lang, now).await {
            tracing::error!(error = %e, "forgotten login request failed");
        }
    });
}

async fn forgot_login(core: &Core, address: &str, lang: &str, now: i64) -> Result<()> {
    if !address.contains('@') {
        return Ok(());
    }
    let Some(user) = login::find_user(&core.db, address).await? else {
        return Ok(());
    };
    let Some(to) = recovery_address(core, &user).await? else {
        return Ok(());
    };
    if !core
        .ephemeral
        .put_if_absent(
            &format!("reset:rate:login:{}", user.id),
            b"1",
            now + MAIL_INTERVAL,
            now,
        )
        .await?
    {
        return Ok(());
    }
    #[derive(Serialize)]
    struct Ctx<'a> {
        login: &'a str,
    }
    let lang = mailing::language(user.locale.as_deref(), lang);
    mailing::send(core, &to, "forgot_login", lang, &Ctx { login: &user.login }).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_mails_are_utc_dates() {
        assert_eq!(format_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(format_time(1_796_025_600), "2026-11-30 08:00 UTC");
    }
}
