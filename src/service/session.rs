//! SSO sessions in the short-lived store.
//!
//! The cookie carries `{sid}-{secret}`, each 64 hex digits (256 random bits): only
//! `[A-Za-z0-9-]`, the character set CAS §3.7 sets for its ticket-granting cookie, which this
//! cookie is too (one SSO session for OpenID Connect and CAS). The store keeps, under `sess:{sid}`, the session with
//! the SHA-256 of the secret only, so a copy of the store cannot be replayed as cookies. The
//! `sid` is public (it is the `sid` claim of ID tokens) and lets RP-initiated logout end a
//! session without its cookie.
//!
//! [`current`] is the one check of "this session is still good for this user": every entry
//! point that acts on a session (authorization, consent, the signed-in page, logout) goes
//! through it.

use serde::{Deserialize, Serialize};

use crate::crypto::token::{digest, random_hex, verify_digest};
use crate::domain::user::User;
use crate::ephemeral::{Ephemeral, Result};
use crate::service::core::Core;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    secret_hash: String,
    pub user_id: String,
    /// A digest of the user's credentials at sign-in: a password change or a disable ends
    /// the session.
    #[serde(default)]
    pub stamp: String,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub created_at: i64,
    pub last_seen: i64,
    /// When the absolute lifetime ends; session-bound refresh tokens die then too.
    pub absolute_expiry: i64,
}

#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: i64,
    pub absolute: i64,
}

/// Idle expiry is refreshed at most this often, so a busy session does not write on every
/// request.
const TOUCH_EVERY: i64 = 60;

fn key(sid: &str) -> String {
    format!("sess:{sid}")
}

/// The short-lived store's key of the session `sid` (to check it is live without loading it).
pub fn store_key(sid: &str) -> String {
    key(sid)
}

impl Session {
    fn expires_at(&self, life: Lifetimes) -> i64 {
        (self.last_seen + life.idle).min(self.absolute_expiry)
    }
}

/// Starts a session with a fresh id; returns the cookie value and the session.
pub async fn create(
    store: &dyn Ephemeral,
    life: Lifetimes,
    user: &User,
    amr: Vec<String>,
    auth_time: i64,
    now: i64,
) -> Result<(String, Session)> {
    let sid = random_hex(32);
    let secret = random_hex(32);
    let session = Session {
        sid: sid.clone(),
        secret_hash: digest(&secret),
        user_id: user.id.clone(),
        stamp: credential_stamp(user),
        auth_time,
        amr,
        created_at: now,
        last_seen: now,
        absolute_expiry: now + life.absolute,
    };
    store
        .put(&key(&sid), &encode(&session)?, session.expires_at(life))
        .await?;
    Ok((format!("{sid}-{secret}"), session))
}

/// The live session a cookie names, if its secret matches; refreshes the idle deadline.
/// It says nothing of the user: see [`current`].
pub async fn load(
    store: &dyn Ephemeral,
    life: Lifetimes,
    cookie: &str,
    now: i64,
) -> Result<Option<Session>> {
    let Some((sid, secret)) = cookie.split_once('-') else {
        return Ok(None);
    };
    if sid.len() != 64 || secret.len() != 64 {
        return Ok(None);
    }
    let Some(bytes) = store.get(&key(sid), now).await? else {
        return Ok(None);
    };
    let Ok(mut session) = serde_json::from_slice::<Session>(&bytes) else {
        return Ok(None);
    };
    if !verify_digest(secret, &session.secret_hash) {
        return Ok(None);
    }
    if now - session.last_seen >= TOUCH_EVERY {
        session.last_seen = now;
        store
            .put(&key(sid), &encode(&session)?, session.expires_at(life))
            .await?;
    }
    Ok(Some(session))
}

/// A session whose user may still use it.
#[derive(Debug, Clone)]
pub struct Current {
    pub session: Session,
    pub user: User,
}

/// What a session cookie comes to.
#[derive(Debug)]
pub enum Lookup {
    /// No cookie, or one that names no live session.
    None,
    /// The session was live but its user is gone, disabled, or changed credentials since
    /// sign-in: it has just been ended (the edge removes the cookie).
    Ended,
    Valid(Box<Current>),
}

impl Lookup {
    pub fn valid(self) -> Option<Current> {
        match self {
            Lookup::Valid(c) => Some(*c),
            _ => None,
        }
    }
}

/// The one "session still valid for this user" check: the session is live, its user exists
/// and is enabled, and the user's credential stamp is the one taken at sign-in (a password
/// change or a disable since then ends it). A session that fails the user checks is ended on
/// every node.
pub async fn current(
    core: &Core,
    cookie: Option<&str>,
    now: i64,
) -> crate::service::error::Result<Lookup> {
    let Some(cookie) = cookie else {
        return Ok(Lookup::None);
    };
    let Some(session) = load(core.ephemeral.as_ref(), core.policy.session, cookie, now).await?
    else {
        return Ok(Lookup::None);
    };
    match core.db.user_by_id(&session.user_id).await? {
        Some(user) if !user.disabled && session.stamp == credential_stamp(&user) => {
            Ok(Lookup::Valid(Box::new(Current { session, user })))
        }
        _ => {
            end(core.ephemeral.as_ref(), &session.sid).await?;
            Ok(Lookup::Ended)
        }
    }
}

/// What a session remembers of the user's credentials: SHA-256 of the password hash (itself
/// salted) and of the last disable, cut short. A new password or a disable gives another
/// stamp, so sessions from before it end, and enabling the user again brings none back.
pub fn credential_stamp(user: &User) -> String {
    let revoked = user.sessions_revoked_at.unwrap_or(0).to_string();
    let mut d = digest(&format!(
        "{}\u{0}{revoked}",
        user.password_hash.as_deref().unwrap_or("")
    ));
    d.truncate(16);
    d
}

/// Ends a session on every node and returns it, if it was live.
pub async fn take(store: &dyn Ephemeral, sid: &str, now: i64) -> Result<Option<Session>> {
    Ok(store
        .take(&key(sid), now)
        .await?
        .and_then(|b| serde_json::from_slice(&b).ok()))
}

/// Ends a session on every node.
pub async fn end(store: &dyn Ephemeral, sid: &str) -> Result<()> {
    store.delete(&key(sid)).await
}

fn encode(s: &Session) -> Result<Vec<u8>> {
    serde_json::to_vec(s).map_err(|e| crate::ephemeral::EphemeralError::Backend(e.to_string()))
}
