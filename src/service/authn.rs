//! Sign-in as a step-by-step authentication flow, for any protocol.
//!
//! A protocol (OpenID Connect today, CAS next) hands sign-in a [`Continuation`]: where to go
//! once the person is known. Sign-in runs a [`Flow`]: the user once known, the factors passed
//! with their times, the steps still required, the attempts, and an expiry (10 minutes). Each
//! POST advances it with one [`Input`] and gets an [`Outcome`]: `Next(step)`, `Done` or
//! `Denied(reason)`. Only at `Done` is an SSO session created, with a fresh id, its `amr` taken
//! from the factors passed; the protocol then resumes from the continuation with that session.
//!
//! Only the password step exists today; a second factor, a forced enrolment, a forced password
//! change or a charter each become one more [`Step`] that neither OIDC nor CAS code knows of.
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
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::user::User;
use crate::service::core::{Core, Urls};
use crate::service::error::{Error, Result};
use crate::service::login::{self, throttle};
use crate::service::session::{self, Session};

/// How long a sign-in may take, from its first POST.
pub const FLOW_TTL: i64 = 600;

/// Where sign-in hands control back once a session exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Continuation {
    /// An OpenID Connect authorization request, urlencoded: back to the authorization
    /// endpoint, which validates it again and answers the client.
    Authorize(String),
    /// No protocol: the signed-in page.
    Account,
}

impl Continuation {
    /// The path (under the issuer) the browser is sent to at `Done`. Never a URL taken from
    /// the request: only our own endpoints.
    pub fn return_to(&self, urls: &Urls) -> String {
        match self {
            Continuation::Authorize(q) => format!("{}/authorize?{q}", urls.base_path),
            Continuation::Account => format!("{}/login", urls.base_path),
        }
    }
}

/// What the protocol asks of sign-in, besides where to go back.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Requirements {
    /// The only user who may sign in (an OpenID Connect `id_token_hint`'s `sub`).
    pub user: Option<String>,
}

/// One step of a sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Step {
    Password,
}

/// An authentication method, as named in `amr` (RFC 8176).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Method {
    Pwd,
}

impl Method {
    pub fn amr(self) -> &'static str {
        match self {
            Method::Pwd => "pwd",
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
    pub started_at: i64,
    pub expires_at: i64,
}

/// What a POST brings to the current step.
pub enum Input<'a> {
    Password {
        identifier: &'a str,
        password: String,
    },
}

impl Input<'_> {
    fn step(&self) -> Step {
        match self {
            Input::Password { .. } => Step::Password,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
}

#[derive(Debug)]
pub enum Outcome {
    /// The flow goes on at `step`; it is saved under `flow_id` (the page's hidden field).
    Next {
        step: Step,
        flow_id: String,
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
            started_at: now,
            expires_at: now + FLOW_TTL,
        }
    }

    pub fn current_step(&self) -> Option<Step> {
        self.steps.first().copied()
    }

    /// `amr` of the session this flow would create.
    pub fn amr(&self) -> Vec<String> {
        let mut amr: Vec<String> = Vec::with_capacity(self.factors.len());
        for f in &self.factors {
            if !amr.iter().any(|a| a == f.method.amr()) {
                amr.push(f.method.amr().to_owned());
            }
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
    let json = serde_json::to_vec(flow).map_err(|e| Error::Corrupt(e.to_string()))?;
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
    mut flow: Flow,
    flow_id: Option<&str>,
    input: Input<'_>,
    attempt: Attempt<'_>,
    now: i64,
) -> Result<Outcome> {
    if flow.current_step() != Some(input.step()) {
        return Ok(Outcome::Denied(Denial::WrongStep));
    }
    let user = match input {
        Input::Password {
            identifier,
            password,
        } => match password_step(core, &flow, identifier, password, &attempt, now).await? {
            Ok(user) => user,
            Err(denial) => {
                flow.attempts += 1;
                if let Some(id) = flow_id {
                    save(core, &flow, Some(id)).await?;
                }
                return Ok(Outcome::Denied(denial));
            }
        },
    };
    flow.user_id = Some(user.id.clone());
    flow.factors.push(Factor {
        method: Method::Pwd,
        at: now,
    });
    flow.steps.remove(0);
    flow.attempts = 0;
    if let Some(step) = flow.current_step() {
        let flow_id = save(core, &flow, flow_id).await?;
        return Ok(Outcome::Next { step, flow_id });
    }
    finish(core, flow, flow_id, user, attempt, now).await
}

/// The password step: throttle first (counted before any hashing), then one argon2id
/// verification whether or not the identifier names someone.
async fn password_step(
    core: &Core,
    flow: &Flow,
    identifier: &str,
    password: String,
    attempt: &Attempt<'_>,
    now: i64,
) -> Result<std::result::Result<User, Denial>> {
    let store = core.ephemeral.as_ref();
    if let Some(wait) = throttle::attempt(store, identifier, attempt.ip, now).await? {
        return Ok(Err(throttled(core, attempt, wait, now)));
    }
    let user = login::find_user(&core.db, identifier).await?;
    if let Some(u) = &user
        && let Some(wait) = throttle::attempt_account(store, &u.id, now).await?
    {
        return Ok(Err(throttled(core, attempt, wait, now)));
    }
    let Some(user) = login::verify(&core.hasher, user, password).await? else {
        throttle::failed(store, attempt.ip, now).await?;
        core.audit.record(
            AuditEvent::new(now, AuditKind::LoginFailure)
                .ip(attempt.ip.map(|ip| ip.to_string()))
                .detail(serde_json::json!({"reason": "bad_credentials"})),
        );
        return Ok(Err(Denial::BadCredentials));
    };
    throttle::succeeded(store, identifier, &user.id, now).await?;
    if flow
        .requirements
        .user
        .as_ref()
        .is_some_and(|wanted| wanted != &user.id)
    {
        core.audit.record(
            AuditEvent::new(now, AuditKind::LoginFailure)
                .user(&user.id)
                .ip(attempt.ip.map(|ip| ip.to_string()))
                .detail(serde_json::json!({"reason": "wrong_account"})),
        );
        return Ok(Err(Denial::WrongAccount));
    }
    Ok(Ok(user))
}

fn throttled(core: &Core, attempt: &Attempt<'_>, wait: i64, now: i64) -> Denial {
    core.audit.record(
        AuditEvent::new(now, AuditKind::LoginThrottled)
            .ip(attempt.ip.map(|ip| ip.to_string()))
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
    if let Some(cookie) = attempt.previous_cookie
        && let Some(old) =
            session::load(core.ephemeral.as_ref(), core.policy.session, cookie, now).await?
    {
        session::end(core.ephemeral.as_ref(), &old.sid).await?;
    }
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
    core.audit.record(
        AuditEvent::new(now, AuditKind::LoginSuccess)
            .user(&user.id)
            .ip(attempt.ip.map(|ip| ip.to_string()))
            .detail(serde_json::json!({"amr": amr})),
    );
    Ok(Outcome::Done(Box::new(SignedIn {
        cookie,
        session,
        user,
        continuation: flow.continuation,
    })))
}
