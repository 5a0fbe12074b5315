//! Account activation (`/activate`, issue 7 §2): the person an administrator created with a
//! temporary password (`guichet user add … --temporary`) goes through eight steps on their own:
//!
//! 1. their identifier (nothing is stored: it travels to step 2 in the page);
//! 2. the temporary password, checked behind the sign-in lockout (`service::lockout`): a wrong
//!    identifier, a wrong password, an account without a temporary password and an unknown
//!    login all cost one argon2id verification and get the same answer;
//! 3. a backup address, to which 4. a link is mailed;
//! 5. the IT charter, accepted (its version is the text's digest);
//! 6. an optional redirection of mail, confirmed by its own link when it is not the backup
//!    address;
//! 7. the new password (`service::password::set_password`: policy and history);
//! 8. a confirmation; only then are the addresses and the charter acceptance stored.
//!
//! The state lives in the short-lived store under the digest of a random id that the pages
//! carry in a hidden field; it is created by step 2 and expires with the deadline: 23:59 of the
//! day, in the institution's time zone. Each request names its step and is refused unless it is
//! the state's (no step skipped or replayed); the state is taken while a step runs, so two
//! requests cannot both advance it. Following a mailed link gives the activation a new id (the
//! browser that opened the link continues; the page that sent it can no longer).

use std::net::IpAddr;
use std::path::Path;

use chrono::{DateTime, Duration, NaiveTime, TimeZone};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::crypto::token::{ct_eq, digest, random_token};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::password_policy::Violation;
use crate::domain::self_service::SelfService;
use crate::domain::user::{User, normalize_identifier};
use crate::service::core::Core;
use crate::service::error::{Error, Result};
use crate::service::lockout::{self, Gate, Subject};
use crate::service::login;
use crate::service::mailing;
use crate::service::password::{self, SetOutcome};

/// The longest address accepted (RFC 5321 §4.5.3.1: a path of 256 octets, brackets included).
const MAX_ADDRESS: usize = 254;

/// What activation needs from the settings: the time zone of the deadline and the charter.
#[derive(Debug, Clone)]
pub struct ActivationPolicy {
    pub timezone: Tz,
    pub charter: Charter,
}

impl Default for ActivationPolicy {
    fn default() -> Self {
        ActivationPolicy {
            timezone: chrono_tz::Europe::Paris,
            charter: Charter::builtin(),
        }
    }
}

/// The IT charter in French and English.
#[derive(Debug, Clone)]
pub struct Charter {
    fr: CharterText,
    en: CharterText,
}

/// One language of the charter: its HTML (written by the institution, shown as is) and its
/// version, the first 12 hex digits of the SHA-256 of that text, so that any edit is a new
/// version and the acceptance recorded names exactly what was read.
#[derive(Debug, Clone, Serialize)]
pub struct CharterText {
    pub html: String,
    pub version: String,
}

impl CharterText {
    fn new(html: String) -> CharterText {
        let hash = Sha256::digest(html.as_bytes());
        let version = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
        CharterText { html, version }
    }
}

impl Charter {
    /// The neutral charter shipped in `templates/charter.<lang>.html`.
    pub fn builtin() -> Charter {
        Charter {
            fr: CharterText::new(include_str!("../../templates/charter.fr.html").to_owned()),
            en: CharterText::new(include_str!("../../templates/charter.en.html").to_owned()),
        }
    }

    /// The theme folder's `charter.fr.html` and `charter.en.html` where they exist, else the
    /// built-in text of that language. Read once at start-up; an unreadable file is an error.
    pub fn load(theme_dir: Option<&Path>) -> std::io::Result<Charter> {
        let builtin = Charter::builtin();
        let Some(dir) = theme_dir else {
            return Ok(builtin);
        };
        let read = |lang: &str, fallback: CharterText| -> std::io::Result<CharterText> {
            let path = dir.join(format!("charter.{lang}.html"));
            match std::fs::read_to_string(&path) {
                Ok(html) => Ok(CharterText::new(html)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(fallback),
                Err(e) => Err(std::io::Error::new(
                    e.kind(),
                    format!("{}: {e}", path.display()),
                )),
            }
        };
        Ok(Charter {
            fr: read("fr", builtin.fr)?,
            en: read("en", builtin.en)?,
        })
    }

    /// The text in `lang` (French unless English).
    pub fn text(&self, lang: &str) -> &CharterText {
        if lang == "en" { &self.en } else { &self.fr }
    }
}

/// The end of the day of `now` in `tz` (the next local midnight, as unix seconds): what the
/// help page calls "valid the same day until 23:59". A midnight skipped by a clock change is
/// taken at the first hour that exists after it.
pub fn deadline(tz: Tz, now: i64) -> i64 {
    let Some(utc) = DateTime::from_timestamp(now, 0) else {
        return now;
    };
    let Some(next_day) = utc.with_timezone(&tz).date_naive().succ_opt() else {
        return now;
    };
    let midnight = next_day.and_time(NaiveTime::MIN);
    (0..4)
        .find_map(|h| {
            tz.from_local_datetime(&(midnight + Duration::hours(h)))
                .earliest()
        })
        .map_or(now + 86_400, |t| t.timestamp())
}

/// The deadline as a person reads it: the local date, 23:59, and the zone.
fn valid_until(tz: Tz, deadline: i64, lang: &str) -> String {
    let Some(t) = DateTime::from_timestamp(deadline - 60, 0) else {
        return String::new();
    };
    let local = t.with_timezone(&tz);
    let date = if lang == "en" {
        local.format("%Y-%m-%d")
    } else {
        local.format("%d/%m/%Y")
    };
    format!("{date} 23:59 ({})", tz.name())
}

/// The steps, in order. `BackupMailed` and `RedirectMailed` wait for a mailed link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Identifier,
    TemporaryPassword,
    Backup,
    BackupMailed,
    Charter,
    Redirect,
    RedirectMailed,
    NewPassword,
    Done,
}

impl Step {
    /// The number shown ("Step 4 of 8") and posted by the step's form.
    pub fn number(self) -> u8 {
        match self {
            Step::Identifier => 1,
            Step::TemporaryPassword => 2,
            Step::Backup => 3,
            Step::BackupMailed => 4,
            Step::Charter => 5,
            Step::Redirect | Step::RedirectMailed => 6,
            Step::NewPassword => 7,
            Step::Done => 8,
        }
    }
}

/// How many steps there are.
pub const STEPS: u8 = 8;

/// The activation as stored between two steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct State {
    user_id: String,
    login: String,
    /// The step whose answer is expected next.
    step: Step,
    deadline: i64,
    /// `password_changed_at` at step 2: a password set since (by any means) ends the activation.
    stamp: Option<i64>,
    backup: Option<String>,
    redirect: Option<String>,
    /// The charter version accepted, and when.
    charter: Option<(String, i64)>,
}

fn state_key(id_digest: &str) -> String {
    format!("activation:state:{id_digest}")
}

fn link_key(kind: &str, token: &str) -> String {
    format!("activation:{kind}:{}", digest(token))
}

/// What a mailed link points at: the state, by the digest of its id.
#[derive(Serialize, Deserialize)]
struct Link {
    state: String,
}

/// What a page shows of an activation.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The id to carry in the form (`activation`); empty before step 2 and after step 8.
    pub id: String,
    pub step: Step,
    pub number: u8,
    pub login: String,
    /// The account's own address (step 8).
    pub email: Option<String>,
    pub backup: Option<String>,
    pub redirect: Option<String>,
    /// The deadline, as the person reads it.
    pub valid_until: String,
}

/// What a step answered.
#[derive(Debug)]
pub enum Outcome {
    /// The page of `view.step`; with a notice (a strings-table key) and broken password rules
    /// when the same step is shown again.
    Show {
        view: View,
        notice: Option<&'static str>,
        violations: Vec<Violation>,
    },
    /// Step 2 failed (wrong identifier or password, no temporary password): step 1 again.
    Failed,
    /// Too many failures for this account: step 1 again, after `retry_after` seconds.
    Locked(i64),
    /// Too many failures from this address.
    Throttled(i64),
    /// The account's category may not activate on its own: the help desk does it.
    Denied,
    /// The activation (or the link) is unknown, used or past its deadline: step 1 again.
    Expired,
    /// The request names another step than the activation's.
    OutOfOrder,
}

/// What the person sent for a step after the second.
#[derive(Debug)]
pub enum Input {
    /// Step 3: the backup address.
    Backup(String),
    /// Step 5: whether the charter box is ticked.
    Charter { accept: bool },
    /// Step 6: the redirection address, empty for none.
    Redirect(String),
    /// Step 7: the new password, twice.
    NewPassword { new: String, confirm: String },
    /// Step 4 (or 6, waiting for the redirection's link): mail the link again.
    Resend,
}

impl Input {
    /// Whether this input belongs to the activation's current step.
    fn fits(&self, step: Step) -> bool {
        match self {
            Input::Backup(_) => step == Step::Backup,
            Input::Charter { .. } => step == Step::Charter,
            Input::Redirect(_) => step == Step::Redirect,
            Input::NewPassword { .. } => step == Step::NewPassword,
            Input::Resend => matches!(step, Step::BackupMailed | Step::RedirectMailed),
        }
    }
}

/// At most one more link per activation in this many seconds.
pub const RESEND_INTERVAL: i64 = 60;

/// Whether a user of no known category may activate (the `*` entry of the policy): the first
/// page then shows the help desk at once.
pub fn open_to_all(core: &Core) -> bool {
    core.policy.self_service.allows(None, SelfService::Activate)
}

/// A plausible e-mail address: one `@`, something on each side, a dot in the domain, no
/// spaces. The mailed link proves the rest.
fn is_address(s: &str) -> bool {
    s.len() <= MAX_ADDRESS
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && s.parse::<lettre::Address>()
            .is_ok_and(|a| a.domain().contains('.'))
}

fn show(core: &Core, id: &str, state: &State, lang: &str) -> Outcome {
    Outcome::Show {
        view: view(core, id, state, None, lang),
        notice: None,
        violations: Vec::new(),
    }
}

fn again(core: &Core, id: &str, state: &State, lang: &str, notice: &'static str) -> Outcome {
    Outcome::Show {
        view: view(core, id, state, None, lang),
        notice: Some(notice),
        violations: Vec::new(),
    }
}

fn view(core: &Core, id: &str, state: &State, email: Option<String>, lang: &str) -> View {
    View {
        id: id.to_owned(),
        step: state.step,
        number: state.step.number(),
        login: state.login.clone(),
        email,
        backup: state.backup.clone(),
        redirect: state.redirect.clone(),
        valid_until: valid_until(core.policy.activation.timezone, state.deadline, lang),
    }
}

async fn save(core: &Core, id: &str, state: &State) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|e| Error::Corrupt(e.to_string()))?;
    core.ephemeral
        .put(&state_key(&digest(id)), &json, state.deadline)
        .await?;
    Ok(())
}

fn parse_state(bytes: &[u8]) -> Result<State> {
    serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(e.to_string()))
}

/// Step 2: the identifier (from step 1) and the temporary password. Starts the activation.
pub async fn start(
    core: &Core,
    identifier: &str,
    password: String,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Outcome> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    if let Some(wait) = lockout::address_gate(store, policy, ip, now).await? {
        return Ok(Outcome::Throttled(wait));
    }
    let user = login::find_user(&core.db, identifier).await?;
    let normalized = normalize_identifier(identifier);
    let user_id = user.as_ref().map(|u| u.id.clone());
    let subject = match &user_id {
        Some(id) => Subject::Account(id),
        None => Subject::Unknown(&normalized),
    };
    let count = match lockout::enter(store, policy, &subject, now).await? {
        Gate::Open { count } => count,
        Gate::Locked { retry_after } => return Ok(Outcome::Locked(retry_after)),
    };
    let user = login::verify(&core.hasher, user, password).await?;
    // A right password on an account already activated is a failure like any other: the
    // answer must not tell which accounts wait for activation.
    let Some(user) = user.filter(|u| u.must_change_password) else {
        lockout::address_failed(store, policy, ip, now).await?;
        let locked = lockout::failed(store, policy, &subject, count, now).await?;
        core.audit.record(
            AuditEvent::new(now, AuditKind::LoginFailure)
                .user_opt(user_id.as_deref())
                .ip(ip.map(|i| i.to_string()))
                .detail(serde_json::json!({"reason": "activation_refused"})),
        );
        if locked {
            core.audit.record(
                AuditEvent::new(now, AuditKind::AccountLocked)
                    .user_opt(user_id.as_deref())
                    .ip(ip.map(|i| i.to_string())),
            );
        }
        return Ok(Outcome::Failed);
    };
    lockout::succeeded(store, &subject).await?;
    if !core
        .policy
        .self_service
        .allows(user.category.as_deref(), SelfService::Activate)
    {
        return Ok(Outcome::Denied);
    }
    let state = State {
        user_id: user.id.clone(),
        login: user.login.clone(),
        step: Step::Backup,
        deadline: deadline(core.policy.activation.timezone, now),
        stamp: user.password_changed_at,
        backup: None,
        redirect: None,
        charter: None,
    };
    let id = random_token();
    save(core, &id, &state).await?;
    Ok(show(core, &id, &state, lang))
}

/// Steps 3, 5, 6 and 7 of the activation `id`.
pub async fn advance(
    core: &Core,
    id: &str,
    input: Input,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Outcome> {
    if id.len() != 43 {
        return Ok(Outcome::Expired);
    }
    let store = core.ephemeral.as_ref();
    let key = state_key(&digest(id));
    // Taken while the step runs: a concurrent request for the same activation finds nothing.
    let Some(bytes) = store.take(&key, now).await? else {
        return Ok(Outcome::Expired);
    };
    let mut state = parse_state(&bytes)?;
    if state.deadline <= now {
        return Ok(Outcome::Expired);
    }
    if !input.fits(state.step) {
        store.put(&key, &bytes, state.deadline).await?;
        return Ok(Outcome::OutOfOrder);
    }
    let outcome = match input {
        Input::Backup(address) => {
            let address = address.trim();
            if !is_address(address) {
                again(core, id, &state, lang, "activate_bad_address")
            } else {
                state.backup = Some(address.to_owned());
                state.step = Step::BackupMailed;
                send_link(
                    core,
                    &state,
                    &key,
                    "verify",
                    "activation_link",
                    address,
                    lang,
                    now,
                )
                .await?;
                show(core, id, &state, lang)
            }
        }
        Input::Charter { accept } => {
            if accept {
                let version = core.policy.activation.charter.text(lang).version.clone();
                state.charter = Some((version, now));
                state.step = Step::Redirect;
                show(core, id, &state, lang)
            } else {
                again(core, id, &state, lang, "activate_accept_required")
            }
        }
        Input::Redirect(address) => {
            let address = address.trim();
            let backup = state.backup.clone().unwrap_or_default();
            if address.is_empty() {
                state.redirect = None;
                state.step = Step::NewPassword;
                show(core, id, &state, lang)
            } else if !is_address(address) {
                again(core, id, &state, lang, "activate_bad_address")
            } else if address.eq_ignore_ascii_case(&backup) {
                // The backup address is proven already.
                state.redirect = Some(backup);
                state.step = Step::NewPassword;
                show(core, id, &state, lang)
            } else {
                state.redirect = Some(address.to_owned());
                state.step = Step::RedirectMailed;
                send_link(
                    core,
                    &state,
                    &key,
                    "redirect",
                    "redirect_confirm",
                    address,
                    lang,
                    now,
                )
                .await?;
                show(core, id, &state, lang)
            }
        }
        Input::NewPassword { new, confirm } => {
            return finish(core, id, state, new, &confirm, lang, ip, now).await;
        }
        Input::Resend => {
            let (kind, template, to) = match state.step {
                Step::RedirectMailed => ("redirect", "redirect_confirm", state.redirect.clone()),
                _ => ("verify", "activation_link", state.backup.clone()),
            };
            let fresh = store
                .put_if_absent(&resend_key(&key), b"1", now + RESEND_INTERVAL, now)
                .await?;
            match to {
                Some(to) if fresh => {
                    send_link(core, &state, &key, kind, template, &to, lang, now).await?;
                    again(core, id, &state, lang, "activate_resent")
                }
                _ => again(core, id, &state, lang, "activate_resend_too_soon"),
            }
        }
    };
    save(core, id, &state).await?;
    Ok(outcome)
}

/// The key that holds back another link for a minute after one is mailed.
fn resend_key(state_key: &str) -> String {
    format!("{state_key}:resend")
}

/// Mails a link (`kind`: `verify` or `redirect`) to the activation stored under `key`, good
/// until the activation's deadline; no other link is mailed for it for a minute.
#[allow(clippy::too_many_arguments)]
async fn send_link(
    core: &Core,
    state: &State,
    key: &str,
    kind: &str,
    template: &str,
    to: &str,
    lang: &str,
    now: i64,
) -> Result<()> {
    core.ephemeral
        .put(&resend_key(key), b"1", now + RESEND_INTERVAL)
        .await?;
    let token = random_token();
    let link = Link {
        state: key.to_owned(),
    };
    let json = serde_json::to_vec(&link).map_err(|e| Error::Corrupt(e.to_string()))?;
    core.ephemeral
        .put(&link_key(kind, &token), &json, state.deadline)
        .await?;
    #[derive(Serialize)]
    struct Ctx<'a> {
        login: &'a str,
        link: String,
        valid_until: String,
    }
    let ctx = Ctx {
        login: &state.login,
        link: format!("{}/activate/{kind}?token={token}", core.urls.issuer),
        valid_until: valid_until(core.policy.activation.timezone, state.deadline, lang),
    };
    mailing::send(core, to, template, lang, &ctx).await
}

/// Step 7, then 8: sets the password; on success stores the addresses and the charter
/// acceptance and audits `account.activated`.
#[allow(clippy::too_many_arguments)]
async fn finish(
    core: &Core,
    id: &str,
    state: State,
    new: String,
    confirm: &str,
    lang: &str,
    ip: Option<IpAddr>,
    now: i64,
) -> Result<Outcome> {
    let Some(user) = still_valid(core, &state).await? else {
        return Ok(Outcome::Expired);
    };
    if !ct_eq(&new, confirm) {
        save(core, id, &state).await?;
        return Ok(again(core, id, &state, lang, "pw_mismatch"));
    }
    match password::set_password(core, &user, new, false, now).await? {
        SetOutcome::Refused(violations) => {
            save(core, id, &state).await?;
            Ok(Outcome::Show {
                view: view(core, id, &state, None, lang),
                notice: Some("pw_refused"),
                violations,
            })
        }
        SetOutcome::Changed { .. } => {
            core.db
                .user_set_emails(&user.id, state.backup.as_deref(), state.redirect.as_deref())
                .await?;
            if let Some((version, at)) = &state.charter {
                core.db.user_set_charter(&user.id, version, *at).await?;
            }
            core.audit.record(
                AuditEvent::new(now, AuditKind::AccountActivated)
                    .user(&user.id)
                    .ip(ip.map(|i| i.to_string()))
                    .detail(serde_json::json!({
                        "charter": state.charter.as_ref().map(|(v, _)| v),
                        "redirect": state.redirect.is_some(),
                    })),
            );
            let done = State {
                step: Step::Done,
                ..state
            };
            Ok(Outcome::Show {
                view: view(core, "", &done, user.email.clone(), lang),
                notice: None,
                violations: Vec::new(),
            })
        }
    }
}

/// The user of an activation, if they may still finish it: enabled, with their temporary
/// password unchanged since step 2.
async fn still_valid(core: &Core, state: &State) -> Result<Option<User>> {
    let user = core.db.user_by_id(&state.user_id).await?;
    Ok(user
        .filter(|u| !u.disabled && u.must_change_password && u.password_changed_at == state.stamp))
}

/// A mailed link followed (`kind`: `verify` for step 4, `redirect` for step 6): single use;
/// the activation continues in this browser under a new id.
pub async fn follow(core: &Core, kind: &str, token: &str, lang: &str, now: i64) -> Result<Outcome> {
    let (waiting, next) = match kind {
        "verify" => (Step::BackupMailed, Step::Charter),
        "redirect" => (Step::RedirectMailed, Step::NewPassword),
        _ => return Ok(Outcome::Expired),
    };
    if token.len() != 43 {
        return Ok(Outcome::Expired);
    }
    let store = core.ephemeral.as_ref();
    let Some(bytes) = store.take(&link_key(kind, token), now).await? else {
        return Ok(Outcome::Expired);
    };
    let link: Link = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    let Some(bytes) = store.take(&link.state, now).await? else {
        return Ok(Outcome::Expired);
    };
    let mut state = parse_state(&bytes)?;
    if state.deadline <= now || still_valid(core, &state).await?.is_none() {
        return Ok(Outcome::Expired);
    }
    if state.step != waiting {
        store.put(&link.state, &bytes, state.deadline).await?;
        return Ok(Outcome::OutOfOrder);
    }
    state.step = next;
    let id = random_token();
    save(core, &id, &state).await?;
    Ok(show(core, &id, &state, lang))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deadline_is_the_next_local_midnight() {
        let paris = chrono_tz::Europe::Paris;
        // 2026-11-30 08:00 UTC = 09:00 in Paris: good until 2026-11-30 23:00 UTC.
        assert_eq!(deadline(paris, 1_796_025_600), 1_796_079_600);
        // 23:30 UTC is already the next day in Paris.
        assert_eq!(deadline(paris, 1_796_081_400), 1_796_079_600 + 86_400);
        assert_eq!(
            valid_until(paris, 1_796_079_600, "fr"),
            "30/11/2026 23:59 (Europe/Paris)"
        );
        assert_eq!(
            valid_until(paris, 1_796_079_600, "en"),
            "2026-11-30 23:59 (Europe/Paris)"
        );
    }

    #[test]
    fn a_charter_version_is_twelve_hex_digits_of_its_text() {
        let c = Charter::builtin();
        for lang in ["fr", "en"] {
            let v = &c.text(lang).version;
            assert_eq!(v.len(), 12);
            assert!(v.chars().all(|ch| ch.is_ascii_hexdigit()));
        }
        assert_ne!(c.text("fr").version, c.text("en").version);
        assert_eq!(CharterText::new("x".into()).version, "2d711642b726");
    }

    #[test]
    fn addresses_are_checked_for_shape_only() {
        assert!(is_address("alice@example.org"));
        assert!(!is_address("alice"));
        assert!(!is_address("alice@localhost"));
        assert!(!is_address("a b@example.org"));
        assert!(!is_address(""));
    }
}
