//! What an SSO session handed out to CAS services, for single logout (CAS §2.3.3).
//!
//! Under `sso:{sid}` the short-lived store keeps one JSON line per hand-out (a service ticket
//! with the URL it was issued for, a proxy-granting ticket's key), appended atomically, until
//! the session's absolute expiry. When the session ends the list is taken whole: tickets not
//! yet validated and proxy-granting tickets are deleted, and each service that got a ticket is
//! posted a SAML `LogoutRequest` naming that ticket (Appendix C), off the request path.

use serde::{Deserialize, Serialize};

use crate::notify::outbound::Notification;
use crate::service::cas::tickets;
use crate::service::core::Core;
use crate::service::error::Result;
use crate::service::session::Session;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Handout {
    /// A service or proxy ticket, and the service URL it was issued for.
    ServiceTicket {
        service_id: String,
        url: String,
        ticket: String,
    },
    /// A proxy-granting ticket, by its store key.
    ProxyGranting { key: String },
    /// An earlier session of the same person, replaced by this one (a sign-in again, a
    /// step-up): its OpenID Connect grants still name its id, so logging out of this session
    /// ends them too.
    Predecessor { sid: String },
}

fn key(sid: &str) -> String {
    format!("sso:{sid}")
}

/// Records a hand-out of `session`.
pub async fn record(core: &Core, session: &Session, h: &Handout, now: i64) -> Result<()> {
    record_for(core, &session.sid, session.absolute_expiry, h, now).await
}

/// Past this many bytes (some 6,000 tickets) a session's list is compacted.
const COMPACT_AT: u64 = 1 << 20;

/// Records a hand-out of the session `sid`, which ends for good at `expiry`.
pub async fn record_for(core: &Core, sid: &str, expiry: i64, h: &Handout, now: i64) -> Result<()> {
    let mut line =
        serde_json::to_vec(h).map_err(|e| crate::service::error::Error::Corrupt(e.to_string()))?;
    line.push(b'\n');
    let len = core.ephemeral.append(&key(sid), &line, expiry, now).await?;
    if len > COMPACT_AT {
        compact(core, sid, expiry, now).await?;
    }
    Ok(())
}

/// Keeps a busy session's list bounded (a signed-in person, or a script with their cookie,
/// could otherwise grow it with every `/cas/login`): the latest ticket of each service URL,
/// which single logout names, and every proxy-granting ticket. The tickets dropped are at most
/// 10 s old or already used. Appends made meanwhile are kept: `append` adds, never replaces.
async fn compact(core: &Core, sid: &str, expiry: i64, now: i64) -> Result<()> {
    let Some(list) = core.ephemeral.take(&key(sid), now).await? else {
        return Ok(());
    };
    let mut kept: Vec<&[u8]> = Vec::new();
    let mut urls: Vec<String> = Vec::new();
    // Latest first, so that the first line seen of each URL is the one kept.
    for line in list.split(|b| *b == b'\n').filter(|l| !l.is_empty()).rev() {
        match serde_json::from_slice::<Handout>(line) {
            Ok(Handout::ServiceTicket { url, .. }) => {
                if !urls.contains(&url) {
                    urls.push(url);
                    kept.push(line);
                }
            }
            Ok(Handout::ProxyGranting { .. } | Handout::Predecessor { .. }) => kept.push(line),
            Err(_) => {}
        }
    }
    let mut out = Vec::with_capacity(kept.iter().map(|l| l.len() + 1).sum());
    for line in kept.iter().rev() {
        out.extend_from_slice(line);
        out.push(b'\n');
    }
    if !out.is_empty() {
        core.ephemeral.append(&key(sid), &out, expiry, now).await?;
    }
    Ok(())
}

/// Whether the session `sid` is live.
pub async fn alive(core: &Core, sid: &str, now: i64) -> Result<bool> {
    Ok(core
        .ephemeral
        .any_exists(&[&crate::service::session::store_key(sid)], now)
        .await?)
}

/// Moves the hand-outs of an ended session to the one that replaced it for the same person
/// (signing in again, a password change), so that a later logout still reaches them.
pub async fn carry_over(core: &Core, old_sid: &str, new: &Session, now: i64) -> Result<()> {
    if let Some(list) = core.ephemeral.take(&key(old_sid), now).await?
        && !list.is_empty()
    {
        // A proxy-granting ticket is good while its session lives (`tickets::proxy` checks):
        // it now lives with the new one, or a step-up would break every proxying service.
        for line in list.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            if let Ok(Handout::ProxyGranting { key }) = serde_json::from_slice::<Handout>(line) {
                tickets::move_proxy_granting(core, &key, new, now).await?;
            }
        }
        core.ephemeral
            .append(&key(&new.sid), &list, new.absolute_expiry, now)
            .await?;
    }
    Ok(())
}

/// The session `sid` has ended: forgets what it handed out and tells the services that opted
/// in to single logout, one request per ticket (a CAS client ties each of its sessions to the
/// ticket that opened it). Never waits for a service. Returns the ids of the earlier sessions
/// it replaced, whose grants the caller ends too.
pub async fn logged_out(
    core: &Core,
    sid: &str,
    user_id: Option<&str>,
    now: i64,
) -> Result<Vec<String>> {
    let Some(list) = core.ephemeral.take(&key(sid), now).await? else {
        return Ok(Vec::new());
    };
    let mut told: Vec<(String, String)> = Vec::new();
    let mut predecessors = Vec::new();
    for line in list.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
        let Ok(h) = serde_json::from_slice::<Handout>(line) else {
            continue;
        };
        match h {
            Handout::ProxyGranting { key } => core.ephemeral.delete(&key).await?,
            Handout::Predecessor { sid } => predecessors.push(sid),
            Handout::ServiceTicket {
                service_id,
                url,
                ticket,
            } => {
                tickets::revoke_ticket(core, &ticket).await?;
                if told.iter().any(|(_, t)| t == &ticket) {
                    continue;
                }
                let wants = core
                    .cas
                    .by_id(&core.db, &service_id)
                    .await?
                    .is_some_and(|s| s.single_logout);
                if wants {
                    told.push((url, ticket));
                }
            }
        }
    }
    // The login names the person in the requests (`NameID`): read only when there are some.
    let login = match (told.is_empty(), user_id) {
        (false, Some(id)) => core.db.user_by_id(id).await?.map(|u| u.login),
        _ => None,
    };
    for (url, ticket) in told {
        core.courier.notify(Notification {
            form: vec![(
                "logoutRequest",
                logout_request(&ticket, login.as_deref().unwrap_or("@NOT_USED@"), now),
            )],
            url,
            what: "cas_slo",
        });
    }
    Ok(predecessors)
}

/// CAS Appendix C: a SAML 2.0 `LogoutRequest` naming the service ticket as `SessionIndex`.
pub fn logout_request(ticket: &str, user: &str, now: i64) -> String {
    use quick_xml::escape::escape;
    let instant = chrono::DateTime::from_timestamp(now, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    let id = crate::crypto::token::random_hex(16);
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"LR-{id}\" Version=\"2.0\" \
         IssueInstant=\"{instant}\"><saml:NameID>{}</saml:NameID>\
         <samlp:SessionIndex>{}</samlp:SessionIndex></samlp:LogoutRequest>",
        escape(user),
        escape(ticket)
    )
}
