//! Sign-in as a step-by-step authentication flow, for any protocol.
//!
//! A protocol (OpenID Connect today, CAS next) hands sign-in a [`Continuation`]: where to go
//! once the person is known. Sign-in runs a [`Flow`]: the user once known, the factors passed
//! with their times, the steps still required, the attempts, and an expiry (10 minutes). Each
//! POST advances it with one [`Input`] and gets an [`Outcome`]: `Next(step)`, `Done` or
//! `Denied(reason)`. Only at `Done` is an SSO session created, with a fresh id, its `amr` taken
//! from the factors passed; the protocol then resumes from the continuation with that session.
//!
//! Steps: the password, then a second factor for a user who enrolled one (a TOTP code, an SMS
//! code or a recovery code in one `code` field), or a forced enrolment for a user who must have
//! one and has none (the application requires it, `acr_values` asks for it, or the server's
//! policy names the user's category), followed by the page that shows the recovery codes
//! once. Neither OIDC nor CAS code knows of these steps.
//!
//! Every password and code check goes through the lockout (`service::lockout`): the per-address
//! bucket first, then the account's count, incremented before the check.
//!
//! The flow is written to the short-lived store (under the digest of a random id carried by
//! the page's hidden `flow` field) only when a step remains after a POST: the first step's page
//! carries the continuation itself, so an anonymous request writes nothing and cannot fill the
//! store.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::crypto::token::{ct_eq, digest, hmac, random_token};
use crate::domain::acr::AMR_MFA;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::mfa::{self as mfa_domain, FactorKind, mask_phone};
use crate::domain::password_policy::Violation;
use crate::domain::user::User;
use crate::domain::user::normalize_identifier;
use crate::service::cas;
use crate::service::core::{Core, Urls};
use crate::service::error::{Error, Result};
use crate::service::lockout::{self, Gate, Subject};
use crate::service::login;
use crate::service::logout;
use crate::service::mfa::{self, Enrolled, Passed, SmsSent};
use crate::service::password::{self, SetOutcome};
use crate::service::session::{self, Session};

/// How long a sign-in may take, from its first POST.
pub const FLOW_TTL: i64 = 600;

/// Where sign-in hands control back once a session exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Continuation {
    /// An OpenID Connect authorization request, urlencoded: back to the authorization
    /// endpoint, which validates it again and answers the client.
    Authorize(String),
    /// A CAS `/cas/login` request, as its query (service, renew, method): back to it, which
    /// issues the ticket.
    Cas(String),
    /// No protocol: the account page.
    Account,
    /// A page of the administration console: its path and query under the issuer's path
    /// (`/admin…`), checked by [`Continuation::admin`] when the flow starts and again on the
    /// way back.
    Admin(String),
    /// An invitation's link (its token): back to its page, where the signed-in owner of the
    /// invited address accepts it.
    Invitation(String),
}

impl Continuation {
    /// The path (under the issuer) the browser is sent to at `Done`. Never a URL taken from
    /// the request: only our own endpoints.
    pub fn return_to(&self, urls: &Urls) -> String {
        match self {
            Continuation::Authorize(q) => format!("{}/authorize?{q}", urls.base_path),
            Continuation::Cas(q) => format!("{}/cas/login?{q}", urls.base_path),
            Continuation::Account => format!("{}/account", urls.base_path),
            Continuation::Admin(path) => {
                format!("{}{}", urls.base_path, admin_path(path).unwrap_or("/admin"))
            }
            Continuation::Invitation(token) => format!("{}/invitation/{token}", urls.base_path),
        }
    }

    /// Back to the console page at `path` (path and query, under the issuer's path), or to
    /// the console's home if `path` is not one of its own pages: never another origin, never
    /// another area.
    pub fn admin(path: &str) -> Continuation {
        Continuation::Admin(admin_path(path).unwrap_or("/admin").to_owned())
    }
}

/// `path` if it names a console page: `/admin`, `/admin/…` or `/admin?…`, printable ASCII
/// without `\`, `//` or a `..` segment (no scheme, no host, no climbing out; RFC 3986 §4.2:
/// `//` would start an authority).
fn admin_path(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/admin")?;
    let shaped = rest.is_empty() || rest.starts_with('/') || rest.starts_with('?');
    let clean = path.len() <= 2048
        && path.bytes().all(|b| b.is_ascii_graphic())
        && !path.contains('\\')
        && !path.contains("//")
        && !path.split(['/', '?']).any(|seg| seg == "..");
    (shaped && clean).then_some(path)
}

/// What the protocol asks of sign-in, besides where to go back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Requirements {
    /// The only user who may sign in (an OpenID Connect `id_token_hint`'s `sub`).
    pub user: Option<String>,
    /// A second factor is required (the application's `require_mfa`, or `acr_values`).
    #[serde(default)]
    pub mfa: bool,
}

/// One step of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Password,
    /// A code from an enrolled factor (TOTP, SMS) or a recovery code.
    SecondFactor,
    /// A user who must have a second factor and has none enrols one (TOTP).
    Enrol,
    /// The recovery codes of the factor just enrolled, shown once.
    RecoveryCodes,
    /// A temporary password (or one an administrator marked) must be replaced before anything
    /// else: no session, no token for any client, until it is.
    NewPassword,
}

/// An authentication method, as named in `amr` (RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Pwd,
    /// A TOTP code or a recovery code (both one-time passwords).
    Otp,
    Sms,
}

impl Method {
    pub fn amr(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
            Method::Otp => "otp",
            Method::Sms => "sms",
        }
    }
}

/// A factor passed, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Factor {
    pub method: Method,
    pub at: i64,
}

/// What the sign-in pages show of the protocol's request.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Display {
    /// The application the person signs in to.
    pub client_name: Option<String>,
    /// The application's preferred languages (`ui_locales`).
    pub ui_locales: Option<String>,
    /// The application's id, for the audit of the sign-in.
    #[serde(default)]
    pub client_id: Option<String>,
}

/// An enrolled factor, kept in a stored flow for the code step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SecondFactor {
    pub kind: FactorKind,
    pub phone: Option<String>,
    /// Sealed (`crypto::secretbox`), as in the database.
    pub secret: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl SecondFactor {
    fn of(f: &mfa_domain::Factor) -> SecondFactor {
        SecondFactor {
            kind: f.kind,
            phone: f.phone.clone(),
            secret: f.secret.clone(),
            created_at: f.created_at,
            last_used_at: f.last_used_at,
        }
    }

    fn factor(&self, user_id: &str) -> mfa_domain::Factor {
        mfa_domain::Factor {
            user_id: user_id.to_owned(),
            kind: self.kind,
            phone: self.phone.clone(),
            secret: self.secret.clone(),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

/// What the second-factor page offers, found at the password step.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Offer {
    pub totp: bool,
    /// The enrolled number, masked, if the user has one.
    pub sms: Option<String>,
    /// Whether an SMS was sent in this sign-in.
    pub sms_sent: bool,
}

/// A sign-in in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Flow {
    pub continuation: Continuation,
    pub requirements: Requirements,
    #[serde(default)]
    pub display: Display,
    /// The user, once a step has named them.
    pub user_id: Option<String>,
    pub factors: Vec<Factor>,
    /// The steps still required, the current one first.
    pub steps: Vec<Step>,
    /// Failed attempts at the current step.
    pub attempts: u32,
    /// The second factors the person may use.
    #[serde(default)]
    pub offer: Offer,
    /// The user's factors as read at the password step (the TOTP secret still sealed), so the
    /// code step reads no database.
    #[serde(default)]
    pub second_factors: Vec<SecondFactor>,
    pub started_at: i64,
    pub expires_at: i64,
    /// The MAC of the sealed field this flow was opened from: a first step whose password
    /// was right is used up (a login form posted again after a logout, by the back button or
    /// anyone at the keyboard, does not sign in again; CAS §3.5.1's login ticket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_as: Option<String>,
}

/// What a POST brings to the current step.
pub enum Input<'a> {
    Password {
        identifier: &'a str,
        password: String,
    },
    /// A TOTP, SMS or recovery code.
    Code(&'a str),
    /// Send (again) a code by SMS.
    SendSms,
    /// The code of a TOTP app being enrolled, with the enrolment field of its page.
    Enrol { enrolment: &'a str, code: &'a str },
    /// The recovery codes were seen: go on.
    Acknowledge,
    /// The new password, twice.
    NewPassword { new: String, confirm: &'a str },
}

impl Input<'_> {
    fn step(&self) -> Step {
        match self {
            Input::Password { .. } => Step::Password,
            Input::Code(_) | Input::SendSms => Step::SecondFactor,
            Input::Enrol { .. } => Step::Enrol,
            Input::Acknowledge => Step::RecoveryCodes,
            Input::NewPassword { .. } => Step::NewPassword,
        }
    }
}

/// Who is signing in, from where; `previous_cookie` is the browser's session cookie, if any:
/// the session it proves (secret checked: a session id alone is public, it is the `sid` of ID
/// tokens) ends when a new one starts (a new id at every sign-in, OWASP ASVS 7.2.4).
pub struct Attempt<'a> {
    pub ip: Option<IpAddr>,
    pub previous_cookie: Option<&'a str>,
}

/// A finished sign-in: the session cookie value, the session, and where to go.
#[derive(Debug)]
pub struct SignedIn {
    pub cookie: String,
    pub session: Session,
    pub user: User,
    pub continuation: Continuation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// Wrong identifier or password, or a disabled account: one answer for all.
    BadCredentials,
    /// Too many attempts for this identifier, account or address: retry after that many
    /// seconds.
    Throttled(i64),
    /// The right password of another account than the one the application asked for.
    WrongAccount,
    /// The input is for another step than the current one.
    WrongStep,
    /// A login form whose first step already signed someone in, posted again.
    Replayed,
    /// The account is locked (too many failures): no password or code is checked until
    /// that many seconds have passed (or the password is reset).
    Locked(i64),
    /// A wrong second-factor code.
    BadCode,
    /// A wrong code while enrolling.
    BadEnrolmentCode,
    /// An SMS was asked for less than a minute after the last one.
    SmsTooSoon(i64),
    /// The two new passwords differ.
    PasswordMismatch,
    /// The new password breaks these rules.
    PasswordRules(Vec<Violation>),
}

#[derive(Debug)]
pub enum Outcome {
    /// The flow goes on at `step`; it is saved under `flow_id` (the page's hidden field).
    /// `shown` is what the step's page must show once and is stored nowhere (the recovery
    /// codes of a factor just enrolled).
    Next {
        step: Step,
        flow_id: String,
        shown: Vec<String>,
        /// The flow as saved: what the next page shows (the second factors offered, the
        /// user being enrolled).
        flow: Box<Flow>,
    },
    Done(Box<SignedIn>),
    Denied(Denial),
}

impl Flow {
    /// A new sign-in for `continuation`: the password step first.
    pub fn start(
        continuation: Continuation,
        requirements: Requirements,
        display: Display,
        now: i64,
    ) -> Flow {
        Flow {
            continuation,
            requirements,
            display,
            user_id: None,
            factors: Vec::new(),
            steps: vec![Step::Password],
            attempts: 0,
            offer: Offer::default(),
            second_factors: Vec::new(),
            started_at: now,
            expires_at: now + FLOW_TTL,
            sealed_as: None,
        }
    }

    pub fn current_step(&self) -> Option<Step> {
        self.steps.first().copied()
    }

    /// `amr` of the session this flow would create: each method once, and `mfa` when a
    /// second factor joined the password.
    pub fn amr(&self) -> Vec<String> {
        let mut amr: Vec<String> = Vec::with_capacity(self.factors.len() + 1);
        for f in &self.factors {
            if !amr.iter().any(|a| a == f.method.amr()) {
                amr.push(f.method.amr().to_owned());
            }
        }
        if self.factors.iter().any(|f| f.method != Method::Pwd)
            && self.factors.iter().any(|f| f.method == Method::Pwd)
        {
            amr.push(AMR_MFA.to_owned());
        }
        amr
    }

    /// When the person last authenticated: the time of the last factor passed.
    pub fn auth_time(&self) -> Option<i64> {
        self.factors.iter().map(|f| f.at).max()
    }
}

/// How long a sealed first step stays good: a login page left open a day still works (the
/// continuation is validated again when it resumes), an older one starts over.
const SEALED_TTL: i64 = 86_400;

/// A flow at its first step, sealed (HMAC under the keys folder's secret) into the login
/// page's hidden field: nothing is stored for a page that is only looked at. A flow that has
/// passed a factor is never sealed, only stored, so that it cannot be replayed.
pub fn seal(core: &Core, flow: &Flow) -> Result<String> {
    if !flow.factors.is_empty() {
        return Err(Error::Corrupt(
            "only a flow at its first step is sealed".into(),
        ));
    }
    /// A random value makes every seal distinct (two login pages of the same second included),
    /// so that using one up leaves the others good.
    #[derive(Serialize)]
    struct Sealed<'a> {
        #[serde(flatten)]
        flow: &'a Flow,
        n: String,
    }
    let json = serde_json::to_vec(&Sealed {
        flow,
        n: crate::crypto::token::random_hex(8),
    })
    .map_err(|e| Error::Corrupt(e.to_string()))?;
    let payload = URL_SAFE_NO_PAD.encode(json);
    let mac = hmac(
        core.keys.current().hmac_secret(),
        &[b"authn", payload.as_bytes()],
    );
    Ok(format!("{payload}.{mac}"))
}

/// The flow a sealed field holds, if the seal is ours and recent; its 10 minutes start now.
pub fn open(core: &Core, sealed: &str, now: i64) -> Option<Flow> {
    let (payload, mac) = sealed.split_once('.')?;
    let expected = hmac(
        core.keys.current().hmac_secret(),
        &[b"authn", payload.as_bytes()],
    );
    if !ct_eq(&expected, mac) {
        return None;
    }
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let mut flow: Flow = serde_json::from_slice(&json).ok()?;
    if !flow.factors.is_empty() || flow.user_id.is_some() || now - flow.started_at > SEALED_TTL {
        return None;
    }
    flow.started_at = now;
    flow.expires_at = now + FLOW_TTL;
    flow.sealed_as = Some(mac.to_owned());
    Some(flow)
}

/// The flow a page's hidden `flow` field names: a stored flow's id, or a sealed first step.
pub async fn resume(core: &Core, field: &str, now: i64) -> Result<Option<(Flow, Option<String>)>> {
    if field.contains('.') {
        return Ok(open(core, field, now).map(|f| (f, None)));
    }
    Ok(load(core, field, now)
        .await?
        .map(|f| (f, Some(field.to_owned()))))
}

fn flow_key(id: &str) -> String {
    format!("authn:{}", digest(id))
}

/// Saves a flow under `id` (a fresh random one if `None`) until its expiry.
pub async fn save(core: &Core, flow: &Flow, id: Option<&str>) -> Result<String> {
    let id = id.map_or_else(random_token, str::to_owned);
    let bytes = serde_json::to_vec(flow).map_err(|e| Error::Corrupt(e.to_string()))?;
    core.ephemeral
        .put(&flow_key(&id), &bytes, flow.expires_at)
        .await?;
    Ok(id)
}

/// The live flow saved under `id`, if any (an expired one is gone).
pub async fn load(core: &Core, id: &str, now: i64) -> Result<Option<Flow>> {
    if id.len() != 43 {
        return Ok(None);
    }
    let Some(bytes) = core.ephemeral.get(&flow_key(id), now).await? else {
        return Ok(None);
    };
    let flow: Flow = serde_json::from_slice(&bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok((flow.expires_at > now).then_some(flow))
}

/// Forgets a flow (it finished, or the person started again).
pub async fn discard(core: &Core, id: &str) -> Result<()> {
    Ok(core.ephemeral.delete(&flow_key(id)).await?)
}

/// Advances `flow` (saved under `flow_id`, if it was) with `input`.
pub async fn advance(
    core: &Core,
    flow: Flow,
    flow_id: Option<&str>,
    input: Input<'_>,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    let outcome = advance_step(core, flow, flow_id, input, attempt, now).await?;
    if let Some(counter) = sign_in_counter(&outcome) {
        counter.increment(1);
    }
    Ok(outcome)
}

/// Where a step's outcome counts in `guichet_sign_ins_total`: a finished sign-in, a failed
/// check (password or code, of the right account or not), or a refusal before any check (the
/// address's bucket, the account's lock). A step that goes on, or a form posted out of order,
/// is no sign-in decided. Literal labels: the macro's key is a static, nothing is allocated.
fn sign_in_counter(outcome: &Outcome) -> Option<metrics::Counter> {
    Some(match outcome {
        Outcome::Done(_) => metrics::counter!("guichet_sign_ins_total", "outcome" => "succeeded"),
        Outcome::Denied(
            Denial::BadCredentials
            | Denial::BadCode
            | Denial::BadEnrolmentCode
            | Denial::WrongAccount,
        ) => metrics::counter!("guichet_sign_ins_total", "outcome" => "failed"),
        Outcome::Denied(Denial::Throttled(_)) => {
            metrics::counter!("guichet_sign_ins_total", "outcome" => "throttled")
        }
        Outcome::Denied(Denial::Locked(_)) => {
            metrics::counter!("guichet_sign_ins_total", "outcome" => "locked")
        }
        Outcome::Next { .. } | Outcome::Denied(_) => return None,
    })
}

async fn advance_step(
    core: &Core,
    mut flow: Flow,
    flow_id: Option<&str>,
    input: Input<'_>,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    if flow.current_step() != Some(input.step()) {
        return Ok(Outcome::Denied(Denial::WrongStep));
    }
    let (checked, known) = match input {
        Input::Password {
            identifier,
            password,
        } => match password_step(core, &mut flow, identifier, password, &attempt, now).await? {
            Ok(user) => {
                if let Some(mac) = &flow.sealed_as
                    && !core
                        .ephemeral
                        .put_if_absent(&format!("authn:used:{mac}"), b"1", now + SEALED_TTL, now)
                        .await?
                {
                    return Ok(Outcome::Denied(Denial::Replayed));
                }
                (Ok(Method::Pwd), Some(user))
            }
            Err(denial) => (Err(denial), None),
        },
        Input::Code(code) => (code_step(core, &flow, code, &attempt, now).await?, None),
        Input::SendSms => {
            let user_id = flow.user_id.clone().unwrap_or_default();
            return match mfa::send_login_sms(core, &user_id, ip_string(&attempt), now).await? {
                SmsSent::Sent(_) => {
                    flow.offer.sms_sent = true;
                    let flow_id = save(core, &flow, flow_id).await?;
                    Ok(Outcome::Next {
                        step: Step::SecondFactor,
                        flow_id,
                        shown: Vec::new(),
                        flow: Box::new(flow),
                    })
                }
                SmsSent::TooSoon(wait) => Ok(Outcome::Denied(Denial::SmsTooSoon(wait))),
                SmsSent::BadNumber | SmsSent::AlreadyEnrolled => {
                    Ok(Outcome::Denied(Denial::WrongStep))
                }
            };
        }
        Input::Enrol { enrolment, code } => {
            return enrol_step(core, flow, flow_id, enrolment, code, attempt, now).await;
        }
        Input::Acknowledge => {
            flow.steps.remove(0);
            return next_or_finish(core, flow, flow_id, None, Vec::new(), attempt, now).await;
        }
        Input::NewPassword { new, confirm } => {
            return new_password_step(core, flow, flow_id, new, confirm, attempt, now).await;
        }
    };
    let method = match checked {
        Ok(method) => method,
        Err(denial) => {
            flow.attempts += 1;
            if let Some(id) = flow_id {
                save(core, &flow, Some(id)).await?;
            }
            return Ok(Outcome::Denied(denial));
        }
    };
    flow.factors.push(Factor { method, at: now });
    flow.steps.remove(0);
    flow.attempts = 0;
    next_or_finish(core, flow, flow_id, known, Vec::new(), attempt, now).await
}

/// Saves the flow for its next step, or finishes it.
async fn next_or_finish(
    core: &Core,
    flow: Flow,
    flow_id: Option<&str>,
    known: Option<User>,
    shown: Vec<String>,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    if let Some(step) = flow.current_step() {
        let flow_id = save(core, &flow, flow_id).await?;
        return Ok(Outcome::Next {
            step,
            flow_id,
            shown,
            flow: Box::new(flow),
        });
    }
    let user = match (known, &flow.user_id) {
        (Some(user), _) => Some(user),
        (None, Some(id)) => core.db.user_by_id(id).await?,
        (None, None) => None,
    };
    // The account went away (or was disabled) during the sign-in.
    let Some(user) = user.filter(|u| !u.disabled) else {
        if let Some(id) = flow_id {
            discard(core, id).await?;
        }
        return Ok(Outcome::Denied(Denial::BadCredentials));
    };
    finish(core, flow, flow_id, user, attempt, now).await
}

fn ip_string(attempt: &Attempt<'_>) -> Option<String> {
    attempt.ip.map(|ip| ip.to_string())
}

type Checked = std::result::Result<Method, Denial>;

/// The password step: the address's bucket, then the account's count (before any hashing),
/// then one argon2id verification whether or not the identifier names someone. A right
/// password decides the steps that follow.
async fn password_step(
    core: &Core,
    flow: &mut Flow,
    identifier: &str,
    password: String,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<std::result::Result<User, Denial>> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    if let Some(wait) = lockout::address_gate(store, policy, attempt.ip, now).await? {
        return Ok(Err(throttled(core, attempt, wait, now)));
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
        Gate::Locked { retry_after } => {
            core.audit.record(
                AuditEvent::new(now, AuditKind::LoginFailure)
                    .client_opt(flow.display.client_id.as_deref())
                    .user_opt(user_id.as_deref())
                    .ip(ip_string(attempt))
                    .detail(serde_json::json!({"reason": "locked"})),
            );
            return Ok(Err(Denial::Locked(retry_after)));
        }
    };
    let Some(user) = login::verify(&core.hasher, user, password).await? else {
        return Ok(Err(failure(
            core,
            &subject,
            count,
            user_id.as_deref(),
            flow.display.client_id.as_deref(),
            attempt,
            "bad_credentials",
            now,
        )
        .await?));
    };
    lockout::succeeded(store, &subject).await?;
    if flow
        .requirements
        .user
        .as_ref()
        .is_some_and(|wanted| wanted != &user.id)
    {
        core.audit.record(
            AuditEvent::new(now, AuditKind::LoginFailure)
                .client_opt(flow.display.client_id.as_deref())
                .user(&user.id)
                .ip(ip_string(attempt))
                .detail(serde_json::json!({"reason": "wrong_account"})),
        );
        return Ok(Err(Denial::WrongAccount));
    }
    // What comes after the password: the enrolled factors, or an enrolment if one is due.
    // One query: recovery codes exist only beside a factor (removing the last factor removes
    // them).
    let factors = core.db.factors_of(&user.id).await?;
    flow.offer = Offer {
        totp: factors.iter().any(|f| f.kind == FactorKind::Totp),
        sms: factors
            .iter()
            .find(|f| f.kind == FactorKind::Sms)
            .and_then(|f| f.phone.as_deref())
            .map(mask_phone),
        sms_sent: false,
    };
    flow.second_factors = factors.iter().map(SecondFactor::of).collect();
    let must = flow.requirements.mfa || core.policy.mfa.applies_to(&user);
    if !factors.is_empty() {
        flow.steps.push(Step::SecondFactor);
        // Only SMS: the code goes out at once (a failure to send shows the page anyway,
        // with the button to try again).
        if !flow.offer.totp && flow.offer.sms.is_some() {
            match mfa::send_login_sms(core, &user.id, ip_string(attempt), now).await {
                Ok(SmsSent::Sent(_)) => flow.offer.sms_sent = true,
                Ok(_) => {}
                Err(e) if e.is_unavailable() => {
                    tracing::warn!(error = %e, "sign-in SMS not sent");
                }
                Err(e) => return Err(e),
            }
        }
    } else if must {
        flow.steps.push(Step::Enrol);
    }
    // Last: a temporary password is replaced only by someone who passed every factor.
    if user.must_change_password {
        flow.steps.push(Step::NewPassword);
    }
    flow.user_id = Some(user.id.clone());
    Ok(Ok(user))
}

/// A failed check: counted against the address and the account (which it may lock), and
/// audited.
#[allow(clippy::too_many_arguments)]
async fn failure(
    core: &Core,
    subject: &Subject<'_>,
    count: u64,
    user_id: Option<&str>,
    client_id: Option<&str>,
    attempt: &Attempt<'_>,
    reason: &str,
    now: i64,
) -> Result<Denial> {
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    lockout::address_failed(store, policy, attempt.ip, now).await?;
    let locked = lockout::failed(store, policy, subject, count, now).await?;
    let kind = if reason == "bad_code" {
        AuditKind::MfaFailed
    } else {
        AuditKind::LoginFailure
    };
    core.audit.record(
        AuditEvent::new(now, kind)
            .client_opt(client_id)
            .user_opt(user_id)
            .ip(ip_string(attempt))
            .detail(serde_json::json!({"reason": reason})),
    );
    if locked {
        core.audit.record(
            AuditEvent::new(now, AuditKind::AccountLocked)
                .client_opt(client_id)
                .user_opt(user_id)
                .ip(ip_string(attempt))
                .detail(serde_json::json!({"for": policy.duration})),
        );
        return Ok(Denial::Locked(policy.duration));
    }
    Ok(if reason == "bad_code" {
        Denial::BadCode
    } else {
        Denial::BadCredentials
    })
}

/// The second-factor step: the same gates as the password, then the code.
async fn code_step(
    core: &Core,
    flow: &Flow,
    code: &str,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<Checked> {
    let Some(user_id) = flow.user_id.as_deref() else {
        return Ok(Err(Denial::WrongStep));
    };
    let store = core.ephemeral.as_ref();
    let policy = &core.policy.lockout;
    if let Some(wait) = lockout::address_gate(store, policy, attempt.ip, now).await? {
        return Ok(Err(throttled(core, attempt, wait, now)));
    }
    let subject = Subject::Account(user_id);
    let count = match lockout::enter(store, policy, &subject, now).await? {
        Gate::Open { count } => count,
        Gate::Locked { retry_after } => return Ok(Err(Denial::Locked(retry_after))),
    };
    // The factors read at the password step, unless they changed since (a lost phone reset).
    let read_at = flow.factors.first().map_or(flow.started_at, |f| f.at);
    let factors: Vec<mfa_domain::Factor> = match mfa::changed_at(store, user_id, now).await? {
        Some(t) if t >= read_at => core.db.factors_of(user_id).await?,
        _ => flow
            .second_factors
            .iter()
            .map(|f| f.factor(user_id))
            .collect(),
    };
    let Some(passed) = mfa::check_code(core, user_id, &factors, code, now).await? else {
        return Ok(Err(failure(
            core,
            &subject,
            count,
            Some(user_id),
            flow.display.client_id.as_deref(),
            attempt,
            "bad_code",
            now,
        )
        .await?));
    };
    lockout::succeeded(store, &subject).await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::MfaSucceeded)
            .client_opt(flow.display.client_id.as_deref())
            .user(user_id)
            .ip(ip_string(attempt))
            .detail(serde_json::json!({"factor": passed.as_str()})),
    );
    Ok(Ok(match passed {
        Passed::Totp | Passed::Recovery => Method::Otp,
        Passed::Sms => Method::Sms,
    }))
}

/// The forced enrolment: a right code enrols the app (and counts as the second factor);
/// its recovery codes are shown next, once.
async fn enrol_step(
    core: &Core,
    mut flow: Flow,
    flow_id: Option<&str>,
    enrolment: &str,
    code: &str,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    let user = match &flow.user_id {
        Some(id) => core.db.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user else {
        return Ok(Outcome::Denied(Denial::WrongStep));
    };
    match mfa::totp_enrol(core, &user, enrolment, code, ip_string(&attempt), now).await? {
        Enrolled::Done { recovery_codes } => {
            flow.factors.push(Factor {
                method: Method::Otp,
                at: now,
            });
            flow.steps.remove(0);
            flow.attempts = 0;
            let shown = recovery_codes.unwrap_or_default();
            if !shown.is_empty() {
                flow.steps.insert(0, Step::RecoveryCodes);
            }
            next_or_finish(core, flow, flow_id, Some(user), shown, attempt, now).await
        }
        Enrolled::WrongCode | Enrolled::Expired | Enrolled::AlreadyEnrolled => {
            flow.attempts += 1;
            if let Some(id) = flow_id {
                save(core, &flow, Some(id)).await?;
            }
            Ok(Outcome::Denied(Denial::BadEnrolmentCode))
        }
    }
}

/// The temporary password's replacement: the policy and history apply; on success the
/// password is set (ending any other session and refresh token) and the flow goes on.
async fn new_password_step(
    core: &Core,
    mut flow: Flow,
    flow_id: Option<&str>,
    new: String,
    confirm: &str,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    let user = match &flow.user_id {
        Some(id) => core.db.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user else {
        return Ok(Outcome::Denied(Denial::WrongStep));
    };
    if !ct_eq(&new, confirm) {
        return Ok(Outcome::Denied(Denial::PasswordMismatch));
    }
    match password::set_password(core, &user, new, false, now).await? {
        SetOutcome::Refused(violations) => Ok(Outcome::Denied(Denial::PasswordRules(violations))),
        SetOutcome::Changed { .. } => {
            flow.steps.remove(0);
            // The user as changed (its credential stamp) for the session to come.
            next_or_finish(core, flow, flow_id, None, Vec::new(), attempt, now).await
        }
    }
}

/// The TOTP enrolment the forced-enrolment step shows: the one its page carried (after a
/// wrong code), or a new one.
pub async fn enrol_setup(
    core: &Core,
    flow: &Flow,
    enrolment: Option<&str>,
    now: i64,
) -> Result<Option<mfa::TotpSetup>> {
    let user = match &flow.user_id {
        Some(id) => core.db.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user else {
        return Ok(None);
    };
    if let Some(again) = enrolment.and_then(|e| mfa::totp_setup_again(core, &user, e, now)) {
        return Ok(Some(again));
    }
    mfa::totp_setup(core, &user, now).map(Some)
}

fn throttled(core: &Core, attempt: &Attempt<'_>, wait: i64, now: i64) -> Denial {
    core.audit.record(
        AuditEvent::new(now, AuditKind::LoginThrottled)
            .ip(ip_string(attempt))
            .detail(serde_json::json!({"retry_after": wait})),
    );
    Denial::Throttled(wait)
}

/// Every step passed: the previous session ends, a new one starts with a fresh id.
async fn finish(
    core: &Core,
    flow: Flow,
    flow_id: Option<&str>,
    user: User,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    if let Some(id) = flow_id {
        discard(core, id).await?;
    }
    let previous = match attempt.previous_cookie {
        Some(cookie) => {
            session::load(core.ephemeral.as_ref(), core.policy.session, cookie, now).await?
        }
        None => None,
    };
    let amr = flow.amr();
    let auth_time = flow.auth_time().unwrap_or(now);
    let (cookie, session) = session::create(
        core.ephemeral.as_ref(),
        core.policy.session,
        &user,
        amr.clone(),
        auth_time,
        now,
    )
    .await?;
    // The browser's previous session ends (a new id at every sign-in). The same person keeps
    // what it handed out to CAS services, so that a later logout still reaches them; another
    // person's session is logged out in full.
    if let Some(old) = previous {
        if old.user_id == user.id {
            session::end(core.ephemeral.as_ref(), &old.sid).await?;
            cas::sso::carry_over(core, &old.sid, &session, now).await?;
            let was = cas::sso::Handout::Predecessor {
                sid: old.sid.clone(),
            };
            cas::sso::record(core, &session, &was, now).await?;
        } else {
            logout::end_sso(core, &old.sid, now).await?;
        }
    }
    let mut event = AuditEvent::new(now, AuditKind::LoginSuccess)
        .user(&user.id)
        .ip(ip_string(&attempt))
        .detail(serde_json::json!({"amr": amr}));
    if let Some(client_id) = &flow.display.client_id {
        event = event.client(client_id);
    }
    core.audit.record(event);
    Ok(Outcome::Done(Box::new(SignedIn {
        cookie,
        session,
        user,
        continuation: flow.continuation,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_console_continuation_returns_only_to_a_console_page() {
        let urls = |c: Continuation| match c {
            Continuation::Admin(p) => p,
            other => unreachable!("{other:?}"),
        };
        for kept in ["/admin", "/admin/users?q=bob&page=2", "/admin?x=1"] {
            assert_eq!(urls(Continuation::admin(kept)), kept);
        }
        for refused in [
            "//evil.example/admin",
            "https://evil.example/admin",
            "/administrator",
            "/admin//evil.example",
            "/admin/../account",
            "/admin/\\evil",
            "/admin/a b",
            "/account",
            "",
        ] {
            assert_eq!(urls(Continuation::admin(refused)), "/admin", "{refused}");
        }
    }
}
