//! Recovering a forgotten password with personal data and the security question (`/recover`),
//! and setting that question from the account page.
//!
//! - Stage 1: a kind of personal number, the number and the birth date. The answer is the same
//!   whether they match nobody, an account without a security question, or an account whose
//!   category may not recover here (`SelfService::Recover`): "these details do not allow
//!   recovery here".
//! - Stage 2: the answer to the person's question, checked with argon2id against the hash of
//!   its normalised form ([`normalize_answer`]).
//! - Stage 3: the new password twice and the house rules; the password goes through the policy
//!   and history (`service::password`), every session and refresh token of the user ends, the
//!   lock is lifted and a `recovery_done` mail goes to the recovery address.
//!
//! Every wrong stage-1 or stage-2 attempt is counted before it is checked by the lockout of
//! sign-in (`service::lockout`): against the account when the details name one, else against
//! the kind and number as typed; and against the client address's bucket. The state between
//! stages lives in the short-lived store under the digest of a random id that changes at every
//! stage (taken atomically, so a stage is good once), expiring [`RECOVERY_TTL`] after stage 1.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

use crate::crypto::token::{ct_eq, digest, random_token};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::password_policy::Violation;
use crate::domain::self_service::SelfService;
use crate::domain::user::{User, normalize_personal_number, validate_birth_date};
use crate::service::account::{self, Reauth};
use crate::service::core::Core;
use crate::service::error::{Error, Result};
use crate::service::lockout::{self, Gate, Subject};
use crate::service::mailing;
use crate::service::password::{self, SetOutcome};
use crate::service::reset;

/// How long a recovery started at stage 1 stays good.
pub const RECOVERY_TTL: i64 = 900;
/// The longest question accepted (characters).
pub const MAX_QUESTION: usize = 200;
/// The longest answer accepted (characters, as typed).
pub const MAX_ANSWER: usize = 200;

/// An answer as compared: compatibility-decomposed (NFKD), without combining marks (accents),
/// lower-cased, without any whitespace. "  Élodie  Dupont " and "elodie dupont" are one answer.
pub fn normalize_answer(raw: &str) -> String {
    raw.nfkd()
        .filter(|c| !is_combining_mark(*c) && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
enum Stage {
    Question,
    Password,
}

/// What the short-lived store keeps between stages.
#[derive(Serialize, Deserialize)]
struct Recovery {
    user_id: String,
    stage: Stage,
    /// `password_changed_at` at stage 1: a change since voids the recovery.
    stamp: Option<i64>,
    expires_at: i64,
}

fn key(id: &str) -> String {
    format!("recover:{}", digest(id))
}

/// Stores `r` under a fresh id; returns the id (the form's hidden `recovery`).
async fn save(core: &Core, r: &Recovery) -> Result<String> {
    let id = random_token();
    put(core, &id, r).await?;
    Ok(id)
}

async fn put(core: &Core, id: &str, r: &Recovery) -> Result<()> {
    let json = serde_json::to_vec(r).map_err(|e| Error::Corrupt(e.to_string()))?;
    core.ephemeral.put(&key(id), &json, r.expires_at).await?;
    Ok(())
}

/// Takes the recovery under `id` if it is at `stage`, not expired, and its user unchanged.
async fn take(core: &Core, id: &str, stage: Stage, now: i64) -> Result<Option<(Recovery, User)>> {
    if id.len() != 43 {
        return Ok(None);
    }
    let Some(bytes) = core.ephemeral.take(&key(id), now).await? else {
        return Ok(None);
    };
    let r: Recovery = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    if r.stage != stage || r.expires_at <= now {
        return Ok(None);
    }
    let user = core.db.user_by_id(&r.user_id).await?;
    Ok(user
        .filter(|u| !u.disabled && u.password_changed_at == r.stamp)
        .map(|u| (r, u)))
}

/// The outcome of stage 1.
#[derive(Debug)]
pub enum Started {
    /// The details name an account that may recover here: its question, and the id of stage 2.
    Question { recovery: String, question: String },
    /// The same answer for nobody, an account without a question, a category denied.
    NotHere,
    /// Too many attempts (this account or number, or this address): retry after that many
    /// seconds.
    Locked(i64),
}

fn ip_string(ip: Option<IpAddr>) -> Option<String> {
    ip.map(|i| i.to_string())
}

/// Stage 1: `kind` (one of `allowed_kinds`), the number and the birth date (YYYY-MM-DD).
pub async fn start(
    core: &Core,
    kind: &str,
    number: &str,
    birth_date: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Started> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    if let Some(wait) = lockout::address_gate(store, policy, ip, now).await? {
        return Ok(Started::Locked(wait));
    }
    let normalized = normalize_personal_number(number);
    let well_formed = core.policy.personal_number_kinds.iter().any(|k| k == kind)
        && !normalized.is_empty()
        && normalized.chars().count() <= 255
        && validate_birth_date(birth_date).is_ok();
    let user = if well_formed {
        core.db
            .user_by_personal_number(kind, number, birth_date)
            .await?
    } else {
        None
    };
    let eligible = match &user {
        Some(u)
            if !u.disabled
                && core
                    .policy
                    .self_service
                    .allows(u.category.as_deref(), SelfService::Recover) =>
        {
            core.db.user_security_question(&u.id).await?
        }
        _ => None,
    };
    if let (Some(user), Some((question, _))) = (&user, eligible) {
        // A match is not a guess to count, but a locked account stays locked.
        if let Some(until) = lockout::locked_until(store, &user.id, now).await? {
            return Ok(Started::Locked(until - now));
        }
        let recovery = save(
            core,
            &Recovery {
                user_id: user.id.clone(),
                stage: Stage::Question,
                stamp: user.password_changed_at,
                expires_at: now + RECOVERY_TTL,
            },
        )
        .await?;
        return Ok(Started::Question { recovery, question });
    }
    // A failed attempt: counted against the account the details name, else the number.
    let typed = format!("recover:{kind}:{normalized}");
    let subject = match &user {
        Some(u) => Subject::Account(&u.id),
        None => Subject::Unknown(&typed),
    };
    let count = match lockout::enter(store, policy, &subject, now).await? {
        Gate::Open { count } => count,
        Gate::Locked { retry_after } => return Ok(Started::Locked(retry_after)),
    };
    lockout::address_failed(store, policy, ip, now).await?;
    lockout::failed(store, policy, &subject, count, now).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::RecoveryFailure)
            .user_opt(user.as_ref().map(|u| u.id.as_str()))
            .ip(ip_string(ip))
            .detail(serde_json::json!({"stage": "details"})),
    );
    Ok(Started::NotHere)
}

/// The outcome of stage 2.
#[derive(Debug)]
pub enum Answered {
    /// Right: the id of stage 3 and the account's login.
    Password {
        recovery: String,
        login: String,
    },
    /// Wrong (counted): the question again under a new id.
    Wrong {
        recovery: String,
        question: String,
    },
    Locked(i64),
    /// Unknown, used, expired or out of order: start again.
    Expired,
}

/// Stage 2: the answer to the question of the recovery `id`.
pub async fn answer(
    core: &Core,
    id: &str,
    answer: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Answered> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    let Some((mut r, user)) = take(core, id, Stage::Question, now).await? else {
        return Ok(Answered::Expired);
    };
    let Some((question, hash)) = core.db.user_security_question(&user.id).await? else {
        return Ok(Answered::Expired);
    };
    if let Some(wait) = lockout::address_gate(store, policy, ip, now).await? {
        put(core, id, &r).await?;
        return Ok(Answered::Locked(wait));
    }
    let subject = Subject::Account(&user.id);
    let count = match lockout::enter(store, policy, &subject, now).await? {
        Gate::Open { count } => count,
        Gate::Locked { retry_after } => return Ok(Answered::Locked(retry_after)),
    };
    // An answer too long to have been set is wrong without hashing it.
    let right = answer.chars().count() <= MAX_ANSWER
        && core
            .hasher
            .verify(Some(hash), normalize_answer(answer))
            .await?;
    if right {
        lockout::succeeded(store, &subject).await?;
        r.stage = Stage::Password;
        let recovery = save(core, &r).await?;
        return Ok(Answered::Password {
            recovery,
            login: user.login,
        });
    }
    lockout::address_failed(store, policy, ip, now).await?;
    let locked = lockout::failed(store, policy, &subject, count, now).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::RecoveryFailure)
            .user(&user.id)
            .ip(ip_string(ip))
            .detail(serde_json::json!({"stage": "answer"})),
    );
    if locked {
        core.audit.record(
            AuditEvent::new(now, AuditKind::AccountLocked)
                .user(&user.id)
                .ip(ip_string(ip)),
        );
        return Ok(Answered::Locked(policy.duration));
    }
    let recovery = save(core, &r).await?;
    Ok(Answered::Wrong { recovery, question })
}

/// The outcome of stage 3.
#[derive(Debug)]
pub enum Finished {
    /// The password is set; sessions and refresh tokens ended; the lock lifted.
    Done {
        login: String,
    },
    /// Not done, the form again (same `recovery` id): a strings-table key and the rules broken.
    Again {
        recovery: String,
        login: String,
        notice: &'static str,
        violations: Vec<Violation>,
    },
    Expired,
}

/// Stage 3: the new password twice and the house rules (`accepted`).
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    core: &Core,
    id: &str,
    new_password: String,
    confirm: &str,
    accepted: bool,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Finished> {
    let Some((r, user)) = take(core, id, Stage::Password, now).await? else {
        return Ok(Finished::Expired);
    };
    let again = |notice: &'static str, violations: Vec<Violation>| Finished::Again {
        recovery: id.to_owned(),
        login: user.login.clone(),
        notice,
        violations,
    };
    let outcome = if !ct_eq(&new_password, confirm) {
        again("pw_mismatch", Vec::new())
    } else if !accepted {
        again("recover_accept_needed", Vec::new())
    } else {
        match password::set_password(core, &user, new_password, false, now).await? {
            SetOutcome::Refused(v) => again("pw_refused", v),
            SetOutcome::Changed { .. } => {
                let store = core.ephemeral.as_ref();
                lockout::unlock(store, &user.id).await?;
                core.audit.record(
                    AuditEvent::new(now, AuditKind::RecoverySuccess)
                        .user(&user.id)
                        .ip(ip_string(ip)),
                );
                confirm_by_mail(core, &user, lang, now).await;
                return Ok(Finished::Done { login: user.login });
            }
        }
    };
    // The same id stays good for another try.
    put(core, id, &r).await?;
    Ok(outcome)
}

/// The `recovery_done` mail; a failure to send is logged, not shown (the change is done).
async fn confirm_by_mail(core: &Core, user: &User, lang: &str, now: i64) {
    let to = match reset::recovery_address(core, user).await {
        Ok(Some(to)) => to,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "recovery confirmation not sent");
            return;
        }
    };
    #[derive(Serialize)]
    struct Ctx<'a> {
        login: &'a str,
        when: String,
    }
    let when = chrono::DateTime::from_timestamp(now, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    let ctx = Ctx {
        login: &user.login,
        when,
    };
    let lang = mailing::language(user.locale.as_deref(), lang);
    if let Err(e) = mailing::send(core, &to, "recovery_done", lang, &ctx).await {
        tracing::error!(error = %e, "recovery confirmation not sent");
    }
}

/// The user's security question, if set (the account page shows whether it is).
pub async fn question_of(core: &Core, user_id: &str) -> Result<Option<String>> {
    Ok(core
        .db
        .user_security_question(user_id)
        .await?
        .map(|(q, _)| q))
}

/// How setting the security question ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuestionSet {
    Done,
    /// The current password is wrong (counted by the lockout).
    WrongPassword,
    Locked(i64),
    /// An empty or too long question or answer.
    Invalid,
}

/// Sets or changes the signed-in user's question and answer, after their current password
/// (checked under the lockout of sign-in). The answer is stored as the argon2id hash of its
/// normalised form.
pub async fn set_question(
    core: &Core,
    user: &User,
    password: String,
    question: &str,
    answer: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<QuestionSet> {
    let question = question.trim();
    let normalized = normalize_answer(answer);
    if question.is_empty()
        || question.chars().count() > MAX_QUESTION
        || normalized.is_empty()
        || answer.chars().count() > MAX_ANSWER
    {
        return Ok(QuestionSet::Invalid);
    }
    match account::check_password(core, user, password, ip, now).await? {
        Reauth::Ok => {}
        Reauth::Wrong => return Ok(QuestionSet::WrongPassword),
        Reauth::Locked(wait) => return Ok(QuestionSet::Locked(wait)),
    }
    let hash = core.hasher.hash(normalized).await?;
    core.db
        .user_set_security_question(&user.id, question, &hash)
        .await?;
    Ok(QuestionSet::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_ignore_case_accents_and_spaces() {
        assert_eq!(normalize_answer("  Élodie  Dupont "), "elodiedupont");
        assert_eq!(normalize_answer("elodie dupont"), "elodiedupont");
        assert_eq!(normalize_answer("ÇA\tVA"), "cava");
        assert_eq!(normalize_answer("ﬁn"), "fin");
        assert_ne!(normalize_answer("elodie"), normalize_answer("melodie"));
        assert_eq!(normalize_answer(" \n "), "");
    }
}
