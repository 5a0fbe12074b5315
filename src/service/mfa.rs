//! Second factors: enrolment from the account page, the code check at sign-in, recovery codes
//! and the policy that says who must have one.
//!
//! - **TOTP** (RFC 6238, 30 s, 6 digits, ±1 step): the secret is sealed (AES-256-GCM under the
//!   keys folder's `secretbox.key`, bound to the user id) before it reaches the database. While
//!   enrolling, the pending secret travels sealed in the page's hidden `enrolment` field, so
//!   nothing is stored until a correct code proves the app holds it. A code accepted once is
//!   refused again: the last step used is kept per user in the short-lived store, and each
//!   step is claimed with one atomic `put_if_absent`, so two nodes cannot both accept it.
//! - **SMS**: a 6-digit code valid 5 minutes, at most 3 tries per code (counted before the
//!   check, atomically), at most one new code per minute per user; the code is kept hashed.
//! - **Recovery codes**: 10 single-use codes of 60 bits, shown once, stored as a keyed digest
//!   (a copy of the database alone cannot test guesses); a new set replaces the old.
//!
//! Failed codes at sign-in count against the account lockout like failed passwords (the
//! caller, `service::authn`, does the counting).

use serde::{Deserialize, Serialize};

use crate::crypto::otp;
use crate::crypto::token::{ct_eq, digest};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::mfa::{Factor, FactorKind, mask_phone, normalize_phone};
use crate::domain::user::User;
use crate::ephemeral::Ephemeral;
use crate::service::core::Core;
use crate::service::error::{Error, Result};

/// How long an SMS code stays good.
pub const SMS_TTL: i64 = 300;
/// Tries per SMS code.
pub const SMS_TRIES: u64 = 3;
/// At most one SMS per user in this many seconds.
pub const SMS_INTERVAL: i64 = 60;
/// How long an enrolment page stays good.
pub const ENROL_TTL: i64 = 900;

/// Who must sign in with a second factor, whatever the application (`GUICHET_MFA_REQUIRED`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum MfaRequired {
    /// Only those who enrolled one (and the applications that require it).
    #[default]
    Nobody,
    Everyone,
    /// Users of these categories (`staff`, `admin`…).
    Categories(Vec<String>),
}

impl MfaRequired {
    /// `none`, `all`, or a comma-separated list of categories.
    pub fn parse(s: &str) -> MfaRequired {
        match s.trim() {
            "" | "none" => MfaRequired::Nobody,
            "all" | "everyone" => MfaRequired::Everyone,
            list => MfaRequired::Categories(
                list.split(',')
                    .map(|c| c.trim().to_owned())
                    .filter(|c| !c.is_empty())
                    .collect(),
            ),
        }
    }

    pub fn applies_to(&self, user: &User) -> bool {
        match self {
            MfaRequired::Nobody => false,
            MfaRequired::Everyone => true,
            MfaRequired::Categories(list) => user
                .category
                .as_deref()
                .is_some_and(|c| list.iter().any(|l| l == c)),
        }
    }
}

/// Which second factor passed, for `amr` and the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Passed {
    Totp,
    Sms,
    Recovery,
}

impl Passed {
    pub fn as_str(self) -> &'static str {
        match self {
            Passed::Totp => "totp",
            Passed::Sms => "sms",
            Passed::Recovery => "recovery_code",
        }
    }
}

/// A user's second factors as the account page shows them (never a secret).
#[derive(Debug, Clone, Default)]
pub struct Overview {
    pub factors: Vec<Factor>,
    pub recovery_left: i64,
    pub recovery_created: Option<i64>,
}

impl Overview {
    pub fn has(&self, kind: FactorKind) -> bool {
        self.factors.iter().any(|f| f.kind == kind)
    }

    pub fn phone(&self) -> Option<&str> {
        self.factors
            .iter()
            .find(|f| f.kind == FactorKind::Sms)
            .and_then(|f| f.phone.as_deref())
    }
}

pub async fn overview(core: &Core, user_id: &str) -> Result<Overview> {
    let factors = core.db.factors_of(user_id).await?;
    let (recovery_left, recovery_created) = core.db.recovery_codes_status(user_id).await?;
    Ok(Overview {
        factors,
        recovery_left,
        recovery_created,
    })
}

// ----- TOTP enrolment -----

/// What the TOTP enrolment page shows.
#[derive(Debug, Clone)]
pub struct TotpSetup {
    /// The pending secret, sealed for the form's hidden field.
    pub enrolment: String,
    /// The secret in base32, to type into an app by hand.
    pub secret: String,
    pub uri: String,
    pub qr_svg: String,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    secret: Vec<u8>,
    at: i64,
}

fn enrol_aad(user_id: &str) -> Vec<u8> {
    [b"totp-enrolment:".as_slice(), user_id.as_bytes()].concat()
}

fn setup_from(core: &Core, user: &User, enrolment: String, secret: &[u8]) -> TotpSetup {
    let issuer = url::Url::parse(&core.urls.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "guichet".to_owned());
    let uri = otp::otpauth_uri(secret, &issuer, &user.login);
    TotpSetup {
        enrolment,
        secret: otp::base32(secret),
        qr_svg: otp::qr_svg(&uri),
        uri,
    }
}

/// A new secret to enrol, sealed into the page: nothing is stored yet.
pub fn totp_setup(core: &Core, user: &User, now: i64) -> Result<TotpSetup> {
    let secret = otp::new_totp_secret();
    let pending = Pending {
        secret: secret.clone(),
        at: now,
    };
    let json = serde_json::to_vec(&pending).map_err(|e| Error::Corrupt(e.to_string()))?;
    let enrolment = core.secrets.seal(&json, &enrol_aad(&user.id));
    Ok(setup_from(core, user, enrolment, &secret))
}

/// The pending secret of an enrolment field, if it is this user's and recent.
fn open_pending(core: &Core, user: &User, enrolment: &str, now: i64) -> Option<Vec<u8>> {
    let json = core.secrets.open(enrolment, &enrol_aad(&user.id)).ok()?;
    let pending: Pending = serde_json::from_slice(&json).ok()?;
    (now - pending.at <= ENROL_TTL && now >= pending.at - 60).then_some(pending.secret)
}

/// The same enrolment again (after a wrong code), if still good.
pub fn totp_setup_again(core: &Core, user: &User, enrolment: &str, now: i64) -> Option<TotpSetup> {
    let secret = open_pending(core, user, enrolment, now)?;
    Some(setup_from(core, user, enrolment.to_owned(), &secret))
}

/// How an enrolment ended.
#[derive(Debug)]
pub enum Enrolled {
    /// Enrolled; the recovery codes when this was the user's first factor (shown once).
    Done {
        recovery_codes: Option<Vec<String>>,
    },
    WrongCode,
    /// The page is too old (or not this user's): start again.
    Expired,
    /// The user already has a factor of this kind: it must be removed first (which asks for
    /// the password), so a borrowed session cannot swap it for another.
    AlreadyEnrolled,
}

/// Completes a TOTP enrolment if `code` is right for the pending secret.
pub async fn totp_enrol(
    core: &Core,
    user: &User,
    enrolment: &str,
    code: &str,
    ip: Option<String>,
    now: i64,
) -> Result<Enrolled> {
    if has_kind(core, &user.id, FactorKind::Totp).await? {
        return Ok(Enrolled::AlreadyEnrolled);
    }
    let Some(secret) = open_pending(core, user, enrolment, now) else {
        return Ok(Enrolled::Expired);
    };
    let Some(step) = otp::totp_matching_step(&secret, code, now) else {
        return Ok(Enrolled::WrongCode);
    };
    // The code that enrolled cannot sign in a second time.
    claim_step(core, &user.id, step, now).await?;
    let factor = Factor {
        user_id: user.id.clone(),
        kind: FactorKind::Totp,
        phone: None,
        secret: Some(core.secrets.seal(&secret, user.id.as_bytes())),
        created_at: now,
        last_used_at: None,
    };
    enrolled(core, user, factor, ip, now).await
}

async fn has_kind(core: &Core, user_id: &str, kind: FactorKind) -> Result<bool> {
    Ok(core
        .db
        .factors_of(user_id)
        .await?
        .iter()
        .any(|f| f.kind == kind))
}

/// Stores a verified factor; the first one comes with a set of recovery codes.
async fn enrolled(
    core: &Core,
    user: &User,
    factor: Factor,
    ip: Option<String>,
    now: i64,
) -> Result<Enrolled> {
    let first = core.db.factors_of(&user.id).await?.is_empty();
    let kind = factor.kind;
    core.db.factor_put(&factor).await?;
    mark_changed(core.ephemeral.as_ref(), &user.id, now).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::MfaEnrolled)
            .user(&user.id)
            .ip(ip.clone())
            .detail(serde_json::json!({"factor": kind.as_str()})),
    );
    let (left, _) = core.db.recovery_codes_status(&user.id).await?;
    let recovery_codes = if first && left == 0 {
        Some(new_recovery_codes(core, &user.id, ip, now).await?)
    } else {
        None
    };
    Ok(Enrolled::Done { recovery_codes })
}

// ----- TOTP check -----

fn totp_last_key(user_id: &str) -> String {
    format!("mfa:totp:last:{user_id}")
}

fn totp_step_key(user_id: &str, step: u64) -> String {
    format!("mfa:totp:step:{user_id}:{step}")
}

/// How long a used step must be remembered: until no clock within the skew accepts it.
fn step_memory(step: u64) -> i64 {
    i64::try_from((step + 3) * otp::TOTP_STEP).unwrap_or(i64::MAX)
}

/// Claims `step` for this user: false if it (or a later step) was already used.
async fn claim_step(core: &Core, user_id: &str, step: u64, now: i64) -> Result<bool> {
    let store = core.ephemeral.as_ref();
    let last = store
        .get(&totp_last_key(user_id), now)
        .await?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse::<u64>().ok());
    if last.is_some_and(|l| step <= l) {
        return Ok(false);
    }
    if !store
        .put_if_absent(&totp_step_key(user_id, step), b"1", step_memory(step), now)
        .await?
    {
        return Ok(false);
    }
    store
        .put(
            &totp_last_key(user_id),
            step.to_string().as_bytes(),
            step_memory(step),
        )
        .await?;
    Ok(true)
}

async fn check_totp(core: &Core, factor: &Factor, code: &str, now: i64) -> Result<bool> {
    let Some(sealed) = &factor.secret else {
        return Ok(false);
    };
    let secret = core
        .secrets
        .open(sealed, factor.user_id.as_bytes())
        .map_err(|e| Error::Corrupt(format!("TOTP secret of {}: {e}", factor.user_id)))?;
    match otp::totp_matching_step(&secret, code, now) {
        Some(step) => claim_step(core, &factor.user_id, step, now).await,
        None => Ok(false),
    }
}

// ----- SMS -----

/// A code sent by SMS and not yet used.
#[derive(Serialize, Deserialize)]
struct Challenge {
    phone: String,
    code_hash: String,
    sent_at: i64,
}

/// What an SMS code is for: signing in, or proving a new number.
#[derive(Debug, Clone, Copy)]
enum Purpose {
    Login,
    Enrol,
}

fn challenge_key(purpose: Purpose, user_id: &str) -> String {
    match purpose {
        Purpose::Login => format!("mfa:sms:login:{user_id}"),
        Purpose::Enrol => format!("mfa:sms:enrol:{user_id}"),
    }
}

fn tries_key(purpose: Purpose, user_id: &str, sent_at: i64) -> String {
    format!("{}:tries:{sent_at}", challenge_key(purpose, user_id))
}

/// How a request for an SMS ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsSent {
    /// Sent to this number (masked).
    Sent(String),
    /// One per minute: try again in that many seconds.
    TooSoon(i64),
    /// Not a phone number we can send to.
    BadNumber,
    /// A phone is enrolled already: remove it first.
    AlreadyEnrolled,
}

fn sms_text(code: &str, host: &str) -> String {
    format!(
        "{code} : votre code de connexion {host} / your {host} sign-in code. Valable 5 min / valid 5 min."
    )
}

async fn send_code(
    core: &Core,
    user_id: &str,
    phone: &str,
    purpose: Purpose,
    ip: Option<String>,
    now: i64,
) -> Result<SmsSent> {
    let store = core.ephemeral.as_ref();
    let rate = format!("mfa:sms:rate:{user_id}");
    if !store
        .put_if_absent(&rate, b"1", now + SMS_INTERVAL, now)
        .await?
    {
        return Ok(SmsSent::TooSoon(SMS_INTERVAL));
    }
    let code = otp::new_sms_code();
    let challenge = Challenge {
        phone: phone.to_owned(),
        code_hash: digest(&format!("{user_id}:{code}")),
        sent_at: now,
    };
    let json = serde_json::to_vec(&challenge).map_err(|e| Error::Corrupt(e.to_string()))?;
    store
        .put(&challenge_key(purpose, user_id), &json, now + SMS_TTL)
        .await?;
    let host = url::Url::parse(&core.urls.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "guichet".to_owned());
    if let Err(e) = core.sms.send(phone, &sms_text(&code, &host)).await {
        // The next request may try again at once.
        store.delete(&rate).await?;
        store.delete(&challenge_key(purpose, user_id)).await?;
        return Err(Error::Unavailable(format!("SMS gateway: {e}")));
    }
    core.audit.record(
        AuditEvent::new(now, AuditKind::SmsSent)
            .user(user_id)
            .ip(ip)
            .detail(serde_json::json!({"purpose": match purpose {
                Purpose::Login => "login",
                Purpose::Enrol => "enrolment",
            }})),
    );
    Ok(SmsSent::Sent(mask_phone(phone)))
}

/// Checks a code against the pending SMS challenge: each try is counted before the check, a
/// code is good 3 tries at most, and is used up by its success. Returns the phone number.
async fn check_sms(
    core: &Core,
    user_id: &str,
    purpose: Purpose,
    code: &str,
    now: i64,
) -> Result<Option<String>> {
    let store = core.ephemeral.as_ref();
    let key = challenge_key(purpose, user_id);
    let Some(bytes) = store.get(&key, now).await? else {
        return Ok(None);
    };
    let challenge: Challenge =
        serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    let tries = store
        .incr(
            &tries_key(purpose, user_id, challenge.sent_at),
            challenge.sent_at + SMS_TTL,
            now,
        )
        .await?;
    if tries > SMS_TRIES {
        store.delete(&key).await?;
        return Ok(None);
    }
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !ct_eq(&digest(&format!("{user_id}:{code}")), &challenge.code_hash) {
        if tries == SMS_TRIES {
            store.delete(&key).await?;
        }
        return Ok(None);
    }
    // Single use: only the request that takes it passes.
    Ok(store.take(&key, now).await?.map(|_| challenge.phone))
}

/// Sends a sign-in code to the user's enrolled number.
pub async fn send_login_sms(
    core: &Core,
    user_id: &str,
    ip: Option<String>,
    now: i64,
) -> Result<SmsSent> {
    let factors = core.db.factors_of(user_id).await?;
    let Some(phone) = factors
        .iter()
        .find(|f| f.kind == FactorKind::Sms)
        .and_then(|f| f.phone.clone())
    else {
        return Ok(SmsSent::BadNumber);
    };
    send_code(core, user_id, &phone, Purpose::Login, ip, now).await
}

/// Starts enrolling a phone number: a code is sent to it.
pub async fn sms_enrol_start(
    core: &Core,
    user: &User,
    raw_phone: &str,
    ip: Option<String>,
    now: i64,
) -> Result<SmsSent> {
    if has_kind(core, &user.id, FactorKind::Sms).await? {
        return Ok(SmsSent::AlreadyEnrolled);
    }
    let Ok(phone) = normalize_phone(raw_phone) else {
        return Ok(SmsSent::BadNumber);
    };
    send_code(core, &user.id, &phone, Purpose::Enrol, ip, now).await
}

/// Completes a phone enrolment with the code it received.
pub async fn sms_enrol_confirm(
    core: &Core,
    user: &User,
    code: &str,
    ip: Option<String>,
    now: i64,
) -> Result<Enrolled> {
    if has_kind(core, &user.id, FactorKind::Sms).await? {
        return Ok(Enrolled::AlreadyEnrolled);
    }
    let Some(phone) = check_sms(core, &user.id, Purpose::Enrol, code, now).await? else {
        return Ok(Enrolled::WrongCode);
    };
    let factor = Factor {
        user_id: user.id.clone(),
        kind: FactorKind::Sms,
        phone: Some(phone),
        secret: None,
        created_at: now,
        last_used_at: None,
    };
    enrolled(core, user, factor, ip, now).await
}

// ----- Recovery codes -----

fn recovery_hash(core: &Core, user_id: &str, canonical: &str) -> String {
    core.secrets
        .mac(&[b"recovery", user_id.as_bytes(), canonical.as_bytes()])
}

/// A new set of recovery codes, replacing the old one; shown once.
pub async fn new_recovery_codes(
    core: &Core,
    user_id: &str,
    ip: Option<String>,
    now: i64,
) -> Result<Vec<String>> {
    let codes = otp::new_recovery_codes();
    let hashes: Vec<String> = codes
        .iter()
        .filter_map(|c| otp::normalize_recovery_code(c))
        .map(|c| recovery_hash(core, user_id, &c))
        .collect();
    core.db
        .recovery_codes_replace(user_id, &hashes, now)
        .await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::RecoveryCodesGenerated)
            .user(user_id)
            .ip(ip),
    );
    Ok(codes)
}

// ----- At sign-in -----

/// The key that says a user's factors changed (enrolment, removal, reset) at the time it holds:
/// a sign-in that read them before then reads them again.
pub fn changed_key(user_id: &str) -> String {
    format!("mfa:changed:{user_id}")
}

/// Marks the user's factors as changed now, for the sign-ins in progress (their flows live at
/// most `authn::FLOW_TTL`; the marker a little longer).
pub async fn mark_changed(store: &dyn Ephemeral, user_id: &str, now: i64) -> Result<()> {
    store
        .put(&changed_key(user_id), now.to_string().as_bytes(), now + 900)
        .await?;
    Ok(())
}

/// When the user's factors last changed, if within the last quarter of an hour.
pub async fn changed_at(store: &dyn Ephemeral, user_id: &str, now: i64) -> Result<Option<i64>> {
    Ok(store
        .get(&changed_key(user_id), now)
        .await?
        .and_then(|v| std::str::from_utf8(&v).ok()?.parse().ok()))
}

/// "Last used" is written at most this often per factor: a login storm then writes nothing
/// for a factor used a moment ago (the account page shows the day).
pub const LAST_USED_GRANULARITY: i64 = 3600;

/// Checks what the person typed in the `code` field against the user's `factors` (as read at
/// the password step): a TOTP code, the SMS code sent, or a recovery code. `None` when it is
/// none of them (the caller counts the failure).
pub async fn check_code(
    core: &Core,
    user_id: &str,
    factors: &[Factor],
    code: &str,
    now: i64,
) -> Result<Option<Passed>> {
    let code = code.trim();
    if code.is_empty() || code.len() > 64 {
        return Ok(None);
    }
    let mut used = None;
    let passed = if code.chars().filter(|c| !c.is_whitespace()).count() == 6 {
        let mut passed = None;
        if let Some(f) = factors.iter().find(|f| f.kind == FactorKind::Totp)
            && check_totp(core, f, code, now).await?
        {
            passed = Some(Passed::Totp);
            used = Some(f);
        }
        if passed.is_none()
            && let Some(f) = factors.iter().find(|f| f.kind == FactorKind::Sms)
            && check_sms(core, user_id, Purpose::Login, code, now)
                .await?
                .is_some()
        {
            passed = Some(Passed::Sms);
            used = Some(f);
        }
        passed
    } else {
        match otp::normalize_recovery_code(code) {
            Some(canonical) if !factors.is_empty() => core
                .db
                .recovery_code_use(user_id, &recovery_hash(core, user_id, &canonical), now)
                .await?
                .then_some(Passed::Recovery),
            _ => None,
        }
    };
    if let Some(f) = used
        && f.last_used_at
            .is_none_or(|t| now - t >= LAST_USED_GRANULARITY)
    {
        core.db.factor_used(user_id, f.kind, now).await?;
    }
    Ok(passed)
}

/// Removes one factor; with none left, the recovery codes go too.
pub async fn remove(
    core: &Core,
    user_id: &str,
    kind: FactorKind,
    ip: Option<String>,
    now: i64,
) -> Result<bool> {
    let removed = core.db.factor_delete(user_id, kind).await?;
    if removed {
        mark_changed(core.ephemeral.as_ref(), user_id, now).await?;
        if core.db.factors_of(user_id).await?.is_empty() {
            core.db.factors_delete_all(user_id).await?;
        }
        core.audit.record(
            AuditEvent::new(now, AuditKind::MfaRemoved)
                .user(user_id)
                .ip(ip)
                .detail(serde_json::json!({"factor": kind.as_str()})),
        );
    }
    Ok(removed)
}
