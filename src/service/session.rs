//! SSO sessions in the short-lived store.
//!
//! The cookie carries `{sid}.{secret}`; the store keeps, under `sess:{sid}`, the session with
//! the SHA-256 of the secret only, so a copy of the store cannot be replayed as cookies. The
//! `sid` is public (it is the `sid` claim of ID tokens) and lets RP-initiated logout end a
//! session without its cookie.

use serde::{Deserialize, Serialize};

use crate::crypto::token::{digest, random_token, verify_digest};
use crate::ephemeral::{Ephemeral, Result};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub sid: String,
    secret_hash: String,
    pub user_id: String,
    /// A digest of the user's password hash at sign-in: a password change ends the session.
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

impl Session {
    fn expires_at(&self, life: Lifetimes) -> i64 {
        (self.last_seen + life.idle).min(self.absolute_expiry)
    }
}

/// Starts a session; returns the cookie value and the session.
pub async fn create(
    store: &dyn Ephemeral,
    life: Lifetimes,
    user_id: &str,
    stamp: String,
    amr: Vec<String>,
    now: i64,
) -> Result<(String, Session)> {
    let sid = random_token();
    let secret = random_token();
    let session = Session {
        sid: sid.clone(),
        secret_hash: digest(&secret),
        user_id: user_id.to_owned(),
        stamp,
        auth_time: now,
        amr,
        created_at: now,
        last_seen: now,
        absolute_expiry: now + life.absolute,
    };
    store
        .put(&key(&sid), &encode(&session), session.expires_at(life))
        .await?;
    Ok((format!("{sid}.{secret}"), session))
}

/// The live session a cookie names, if its secret matches; refreshes the idle deadline.
pub async fn load(
    store: &dyn Ephemeral,
    life: Lifetimes,
    cookie: &str,
    now: i64,
) -> Result<Option<Session>> {
    let Some((sid, secret)) = cookie.split_once('.') else {
        return Ok(None);
    };
    if sid.len() != 43 || secret.len() != 43 {
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
            .put(&key(sid), &encode(&session), session.expires_at(life))
            .await?;
    }
    Ok(Some(session))
}

/// What a session remembers of the user's credentials: SHA-256 of the password hash (itself
/// salted), cut short. A new password gives another stamp, so sessions from before it end.
pub fn credential_stamp(user: &crate::domain::user::User) -> String {
    let mut d = digest(user.password_hash.as_deref().unwrap_or(""));
    d.truncate(16);
    d
}

/// Ends a session on every node.
pub async fn end(store: &dyn Ephemeral, sid: &str) -> Result<()> {
    store.delete(&key(sid)).await
}

fn encode(s: &Session) -> Vec<u8> {
    serde_json::to_vec(s).unwrap_or_default()
}
