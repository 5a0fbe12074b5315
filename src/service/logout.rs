//! Ending SSO sessions: RP-Initiated Logout 1.0 and the sign-out button. Ending a session
//! ends it on every node and revokes its session-bound grants (offline grants survive), with
//! revocation markers that live as long as each grant's client's access tokens.

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::service::authorize::{HintClaims, verify_id_token_hint};
use crate::service::backchannel;
use crate::service::cas;
use crate::service::core::Core;
use crate::service::error::Result;
use crate::service::session;
use crate::service::tokens::mark_revoked;

/// Ends an SSO session on every node and revokes its session-bound grants.
/// The CAS services that got tickets in it are told (single logout), and so are the OpenID
/// Connect clients that registered a back-channel logout URI, off the request path.
pub async fn end_sso(core: &Core, sid: &str, now: i64) -> Result<()> {
    let ended = session::take(core.ephemeral.as_ref(), sid, now).await?;
    let revoked = core.db.grants_revoke_for_session(sid, now).await?;
    mark_revoked(core, &revoked, now).await?;
    // Only a session that was live now ends now: a second logout of the same session (an old
    // ID token as hint) sends no second logout token.
    if let Some(s) = &ended {
        backchannel::logged_out(core, sid, &s.user_id, now).await?;
    }
    let user_id = ended.as_ref().map(|s| s.user_id.as_str());
    let predecessors = cas::sso::logged_out(core, sid, user_id, now).await?;
    // Sessions this one replaced for the same person: their grants and clients end now too.
    for old in predecessors {
        let revoked = core.db.grants_revoke_for_session(&old, now).await?;
        mark_revoked(core, &revoked, now).await?;
        if let Some(s) = &ended {
            backchannel::logged_out(core, &old, &s.user_id, now).await?;
        }
    }
    Ok(())
}

/// An RP-initiated logout request (RP-Initiated Logout 1.0 §2), as the parameters came.
#[derive(Debug, Default)]
pub struct LogoutRequest<'a> {
    pub id_token_hint: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub post_logout_redirect_uri: Option<&'a str>,
    pub state: Option<&'a str>,
    /// The session cookie of the browser that sent it, if any.
    pub cookie: Option<&'a str>,
}

/// Where the person goes once signed out: a post-logout URI registered for the client, with
/// `state` (§3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnTo {
    pub client_id: String,
    pub uri: String,
    pub state: Option<String>,
}

impl ReturnTo {
    /// The URI with `state` appended.
    pub fn location(&self) -> String {
        match &self.state {
            Some(s) => {
                let sep = if self.uri.contains('?') { '&' } else { '?' };
                let q = form_urlencoded::Serializer::new(String::new())
                    .append_pair("state", s)
                    .finish();
                format!("{}{sep}{q}", self.uri)
            }
            None => self.uri.clone(),
        }
    }
}

#[derive(Debug)]
pub enum Logout {
    /// Signed out without asking: the hint's session ended, and the browser's when it was the
    /// same session or the same user. `browser_ended`: the cookie is to be removed.
    Done {
        return_to: Option<ReturnTo>,
        browser_ended: bool,
        /// A post-logout URI was given that is not registered for the client.
        bad_uri: bool,
    },
    /// The browser holds a session the request cannot vouch for: ask its holder.
    Confirm {
        return_to: Option<ReturnTo>,
        bad_uri: bool,
    },
}

/// Decides (and does what needs no confirmation of) an RP-initiated logout.
///
/// A valid `id_token_hint` (ours, addressed to `client_id` if given) ends the session it names,
/// even without its cookie (a server-to-server call, or a browser whose SameSite cookie stayed
/// home). The browser's own session ends without confirmation only when it is that session or
/// belongs to the hint's user; otherwise, and without a valid hint, the browser's holder is
/// asked. The return address is honoured only when registered for the client.
pub async fn request(core: &Core, req: LogoutRequest<'_>, now: i64) -> Result<Logout> {
    let hint: Option<HintClaims> = req
        .id_token_hint
        .and_then(|h| verify_id_token_hint(core, h))
        .filter(|h| req.client_id.is_none_or(|c| h.audience_contains(c)));
    let client_id = req.client_id.map(str::to_owned).or_else(|| {
        hint.as_ref()
            .and_then(|h| h.first_audience().map(str::to_owned))
    });
    let return_to = match (req.post_logout_redirect_uri, &client_id) {
        (Some(uri), Some(id)) => return_to(core, id, uri, req.state).await?,
        _ => None,
    };
    let bad_uri = req.post_logout_redirect_uri.is_some() && return_to.is_none();
    let Some(hint) = hint else {
        return Ok(Logout::Confirm { return_to, bad_uri });
    };
    // The browser's session is read before the hint's ends: they may be one.
    let browser = match req.cookie {
        Some(c) => session::load(core.ephemeral.as_ref(), core.policy.session, c, now).await?,
        None => None,
    };
    if let Some(sid) = &hint.sid {
        end_sso(core, sid, now).await?;
    }
    let browser_ended = match browser {
        None => false,
        Some(s) if hint.sid.as_deref() == Some(&s.sid) => true,
        Some(s) if s.user_id == hint.sub => {
            end_sso(core, &s.sid, now).await?;
            true
        }
        Some(_) => return Ok(Logout::Confirm { return_to, bad_uri }),
    };
    core.audit.record(
        AuditEvent::new(now, AuditKind::Logout)
            .user(&hint.sub)
            .detail(serde_json::json!({"client_id": client_id})),
    );
    Ok(Logout::Done {
        return_to,
        browser_ended,
        bad_uri,
    })
}

/// The confirmation form's answer: ends the browser's session (the one its cookie proves) and
/// returns where the request asked, if that address is (still) registered for the client.
pub async fn confirm(
    core: &Core,
    cookie: Option<&str>,
    client_id: Option<&str>,
    uri: Option<&str>,
    state: Option<&str>,
    now: i64,
) -> Result<Option<ReturnTo>> {
    // Only the session the cookie proves (its secret checked): a session id alone is public.
    let session = match cookie {
        Some(c) => session::load(core.ephemeral.as_ref(), core.policy.session, c, now).await?,
        None => None,
    };
    if let Some(s) = session {
        end_sso(core, &s.sid, now).await?;
        core.audit
            .record(AuditEvent::new(now, AuditKind::Logout).user(&s.user_id));
    }
    match (client_id, uri) {
        (Some(id), Some(uri)) => return_to(core, id, uri, state).await,
        _ => Ok(None),
    }
}

async fn return_to(
    core: &Core,
    client_id: &str,
    uri: &str,
    state: Option<&str>,
) -> Result<Option<ReturnTo>> {
    let Some(client) = core.clients.get(&core.db, client_id).await? else {
        return Ok(None);
    };
    Ok(client.post_logout_uri_registered(uri).then(|| ReturnTo {
        client_id: client_id.to_owned(),
        uri: uri.to_owned(),
        state: state.map(str::to_owned),
    }))
}
