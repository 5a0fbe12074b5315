//! CAS tickets (CAS §3): service and proxy tickets, single use and short-lived; proxy-granting
//! tickets, which live as long as the SSO session they came from.
//!
//! A ticket is `ST-`, `PT-` or `PGT-` then 64 hex digits (256 random bits, CAS §3.7's
//! character set). The short-lived store keeps it under the SHA-256 of its value, with what a
//! validation answers: the user and the attributes released to the service, computed when the
//! ticket is issued. A validation is then one atomic `take` (GETDEL on Redis), whatever
//! happens next: a ticket presented for another service, or with `renew` when it came from
//! single sign-on, is burned all the same (CAS §3.1.1, §2.5.3).

use serde::{Deserialize, Serialize};

use crate::crypto::token::{digest, random_hex};
use crate::domain::acr::acr_of;
use crate::domain::cas::{self, CasService, TicketKind, valid_service_url};
use crate::domain::establishment;
use crate::domain::user::User;
use crate::notify::outbound::CallbackError;
use crate::service::cas::sso::{self, Handout};
use crate::service::core::Core;
use crate::service::error::Result;
use crate::service::session::Session;

/// A service or proxy ticket, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Ticket {
    kind: TicketKind,
    /// The service URL it was issued for, as given.
    service: String,
    service_id: String,
    #[serde(flatten)]
    principal: Principal,
    /// Issued right after credentials were entered (not from single sign-on).
    new_login: bool,
    /// The proxies it went through, the most recent first (proxy tickets).
    proxies: Vec<String>,
}

/// Who a ticket speaks for, and what it releases.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Principal {
    /// `cas:user`: the login.
    user: String,
    user_id: String,
    sid: String,
    /// When the session ends for good: a proxy-granting ticket lives no longer.
    session_expiry: i64,
    auth_time: i64,
    /// The session's authentication context class (`urn:guichet:acr:mfa` or `…:pwd`).
    acr: String,
    attributes: Vec<(String, Vec<String>)>,
}

/// A proxy-granting ticket, as stored: reusable until the session ends.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ProxyGranting {
    /// The service whose validation obtained it: the one that proxies.
    service_id: String,
    #[serde(flatten)]
    principal: Principal,
    /// The callback URLs of the chain, this ticket's own first.
    proxies: Vec<String>,
}

fn key(ticket: &str) -> String {
    format!("cas:t:{}", digest(ticket))
}

fn pgt_key(ticket: &str) -> String {
    format!("cas:pgt:{}", digest(ticket))
}

fn new_ticket(kind: TicketKind) -> String {
    let mut t = random_hex(32);
    t.insert_str(0, kind.prefix());
    t
}

/// The attributes `service` is released of `user`, with CAS 3.0's own (Appendix A):
/// `authenticationDate`, `isFromNewLogin`, `longTermAuthenticationRequestTokenUsed` (never:
/// guichet has no remember-me), and `authnContextClass`, so that a service can check the
/// second factor for itself.
async fn principal(
    core: &Core,
    service: &CasService,
    session: &Session,
    user: &User,
) -> Result<Principal> {
    let attributes = released(core, service, user).await?;
    Ok(Principal {
        user: user.login.clone(),
        user_id: user.id.clone(),
        sid: session.sid.clone(),
        session_expiry: session.absolute_expiry,
        auth_time: session.auth_time,
        acr: acr_of(&session.amr).to_owned(),
        attributes,
    })
}

/// The attributes `service` is released of `user`; the memberships are read only for a
/// service that releases them.
async fn released(
    core: &Core,
    service: &CasService,
    user: &User,
) -> Result<Vec<(String, Vec<String>)>> {
    let memberships = if service
        .attributes
        .iter()
        .any(|a| cas::MEMBERSHIP_ATTRIBUTES.contains(&a.as_str()))
    {
        core.db.memberships_of(&user.id).await?
    } else {
        Vec::new()
    };
    Ok(service
        .attributes
        .iter()
        .map(|a| {
            let values = if cas::MEMBERSHIP_ATTRIBUTES.contains(&a.as_str()) {
                establishment::cas_values(&memberships, a)
            } else {
                cas::attribute_values(user, a)
            };
            (a.clone(), values)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect())
}

/// Issues a service ticket for `service_url` (owned by `service`) from `session`, and records
/// it in the session for single logout.
pub async fn issue_service_ticket(
    core: &Core,
    service: &CasService,
    service_url: &str,
    session: &Session,
    user: &User,
    new_login: bool,
    now: i64,
) -> Result<String> {
    let ticket = new_ticket(TicketKind::Service);
    let stored = Ticket {
        kind: TicketKind::Service,
        service: service_url.to_owned(),
        service_id: service.id.clone(),
        principal: principal(core, service, session, user).await?,
        new_login,
        proxies: Vec::new(),
    };
    let ttl = core.policy.cas.ticket_ttl;
    core.ephemeral
        .put(&key(&ticket), &encode(&stored)?, now + ttl)
        .await?;
    sso::record(
        core,
        session,
        &Handout::ServiceTicket {
            service_id: service.id.clone(),
            url: service_url.to_owned(),
            ticket: ticket.clone(),
        },
        now,
    )
    .await?;
    metrics::counter!("guichet_cas_tickets_issued_total", "kind" => "service").increment(1);
    Ok(ticket)
}

/// The error codes of CAS §2.5.3 and §2.7.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCode {
    InvalidRequest,
    InvalidTicketSpec,
    UnauthorizedServiceProxy,
    InvalidProxyCallback,
    InvalidTicket,
    InvalidService,
    InternalError,
    UnauthorizedService,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::InvalidRequest => "INVALID_REQUEST",
            FailureCode::InvalidTicketSpec => "INVALID_TICKET_SPEC",
            FailureCode::UnauthorizedServiceProxy => "UNAUTHORIZED_SERVICE_PROXY",
            FailureCode::InvalidProxyCallback => "INVALID_PROXY_CALLBACK",
            FailureCode::InvalidTicket => "INVALID_TICKET",
            FailureCode::InvalidService => "INVALID_SERVICE",
            FailureCode::InternalError => "INTERNAL_ERROR",
            FailureCode::UnauthorizedService => "UNAUTHORIZED_SERVICE",
        }
    }
}

/// A failed validation or proxy request: its code and a message for the service's developers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: FailureCode,
    pub description: String,
}

fn fail<T>(
    code: FailureCode,
    description: impl Into<String>,
) -> Result<std::result::Result<T, Failure>> {
    Ok(Err(Failure {
        code,
        description: description.into(),
    }))
}

/// A successful validation.
#[derive(Debug, Clone)]
pub struct Validated {
    pub user: String,
    /// Released attributes, then CAS 3.0's authentication attributes.
    pub attributes: Vec<(String, Vec<String>)>,
    /// The proxy-granting ticket's IOU, when a `pgtUrl` was given and answered 200.
    pub pgt_iou: Option<String>,
    /// The proxies a proxy ticket went through, the most recent first.
    pub proxies: Vec<String>,
}

/// What a validation endpoint accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// `/validate`, `/serviceValidate`, `/p3/serviceValidate`: service tickets only.
    ServiceTickets,
    /// `/proxyValidate`, `/p3/proxyValidate`: service and proxy tickets.
    ProxyTickets,
}

/// A validation request's parameters, as they came.
#[derive(Debug, Default, Clone, Copy)]
pub struct ValidateRequest<'a> {
    pub service: Option<&'a str>,
    pub ticket: Option<&'a str>,
    pub pgt_url: Option<&'a str>,
    pub renew: bool,
}

/// Validates a ticket (CAS §2.4–2.6, §2.8–2.9).
pub async fn validate(
    core: &Core,
    accepts: Accepts,
    req: ValidateRequest<'_>,
    now: i64,
) -> Result<std::result::Result<Validated, Failure>> {
    let (Some(service), Some(ticket)) = (
        req.service.filter(|s| !s.is_empty()),
        req.ticket.filter(|t| !t.is_empty()),
    ) else {
        return fail(
            FailureCode::InvalidRequest,
            "'service' and 'ticket' parameters are both required",
        );
    };
    let shown = shown(ticket);
    let kind = match TicketKind::of(ticket) {
        Some(TicketKind::Service) => TicketKind::Service,
        Some(TicketKind::Proxy) if accepts == Accepts::ProxyTickets => TicketKind::Proxy,
        Some(TicketKind::Proxy) => {
            return fail(
                FailureCode::InvalidTicketSpec,
                format!("ticket {shown} is a proxy ticket: validate it at /proxyValidate"),
            );
        }
        _ => {
            return fail(
                FailureCode::InvalidTicketSpec,
                format!("ticket {shown} is not a service or proxy ticket"),
            );
        }
    };
    if !cas::well_formed(ticket, kind) {
        return fail(
            FailureCode::InvalidTicket,
            format!("ticket {shown} not recognized"),
        );
    }
    let Some(bytes) = core.ephemeral.take(&key(ticket), now).await? else {
        return fail(
            FailureCode::InvalidTicket,
            format!("ticket {shown} not recognized"),
        );
    };
    let stored: Ticket = decode(&bytes)?;
    if stored.service != service {
        return fail(
            FailureCode::InvalidService,
            format!("ticket {shown} was not issued for this service; it is no longer valid"),
        );
    }
    if req.renew && !stored.new_login {
        return fail(
            FailureCode::InvalidTicket,
            format!("ticket {shown} did not come from an initial login and renew was set"),
        );
    }
    let pgt_iou = match req.pgt_url {
        None | Some("") => None,
        Some(url) => {
            let chain = std::iter::once(url.to_owned())
                .chain(stored.proxies.iter().cloned())
                .collect();
            match grant_proxy(core, &stored, url, chain, now).await? {
                Ok(iou) => iou,
                Err(f) => return Ok(Err(f)),
            }
        }
    };
    let Ticket {
        principal,
        new_login,
        proxies,
        ..
    } = stored;
    let mut attributes = principal.attributes;
    attributes.push((
        "authenticationDate".into(),
        vec![iso8601(principal.auth_time)],
    ));
    attributes.push(("isFromNewLogin".into(), vec![new_login.to_string()]));
    attributes.push((
        "longTermAuthenticationRequestTokenUsed".into(),
        vec!["false".into()],
    ));
    attributes.push(("authnContextClass".into(), vec![principal.acr]));
    Ok(Ok(Validated {
        user: principal.user,
        attributes,
        pgt_iou,
        proxies,
    }))
}

/// A ticket as shown in messages: its prefix and first characters only (it is a secret until
/// used, and a log of failures should not hold usable ones).
fn shown(ticket: &str) -> String {
    let cut: String = ticket.chars().take(12).collect();
    if cut.len() < ticket.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

/// CAS §2.5.4: the service must be allowed to proxy and own the callback URL, which must be
/// https (http only when the settings allow it, for tests); guichet then GETs it with the new
/// ticket and its IOU, and keeps the ticket only if the answer is 200.
async fn grant_proxy(
    core: &Core,
    ticket: &Ticket,
    pgt_url: &str,
    chain: Vec<String>,
    now: i64,
) -> Result<std::result::Result<Option<String>, Failure>> {
    let service = core.cas.by_id(&core.db, &ticket.service_id).await?;
    let Some(service) = service.filter(|s| s.allow_proxy) else {
        return fail(
            FailureCode::UnauthorizedServiceProxy,
            "this service is not allowed to obtain proxy-granting tickets",
        );
    };
    let https = pgt_url.starts_with("https://");
    let http_allowed = core.policy.cas.insecure_callbacks && pgt_url.starts_with("http://");
    if !valid_service_url(pgt_url) || !(https || http_allowed) {
        return fail(
            FailureCode::InvalidProxyCallback,
            "the proxy callback must be an https URL",
        );
    }
    let owner = core.cas.find(&core.db, pgt_url).await?;
    if owner.as_ref().map(|o| o.id.as_str()) != Some(service.id.as_str()) {
        return fail(
            FailureCode::InvalidProxyCallback,
            "the proxy callback is not a URL of this service",
        );
    }
    let pgt = new_ticket(TicketKind::ProxyGranting);
    let mut iou = random_hex(32);
    iou.insert_str(0, "PGTIOU-");
    let call = cas::with_param(&cas::with_param(pgt_url, "pgtId", &pgt), "pgtIou", &iou);
    // Kept before the call, so that a proxy may use it while answering; withdrawn unless the
    // answer is 200.
    let stored = ProxyGranting {
        service_id: service.id.clone(),
        principal: ticket.principal.clone(),
        proxies: chain,
    };
    let expires = ticket.principal.session_expiry;
    let key = pgt_key(&pgt);
    core.ephemeral.put(&key, &encode(&stored)?, expires).await?;
    match core.courier.get_status(&call).await {
        Ok(200) => {}
        Ok(status) => {
            core.ephemeral.delete(&key).await?;
            tracing::info!(
                status,
                "CAS proxy callback did not answer 200: no proxy-granting ticket"
            );
            return Ok(Ok(None));
        }
        Err(CallbackError::Transport(e)) => {
            core.ephemeral.delete(&key).await?;
            // reqwest's message names the URL called, with the PGT and its IOU in it: the
            // reason goes to the log, the service gets none of it.
            tracing::info!(error = %e, "CAS proxy callback unreachable: no proxy-granting ticket");
            return fail(
                FailureCode::InvalidProxyCallback,
                "the proxy callback could not be reached securely (refused, timed out, or an \
                 untrusted certificate)",
            );
        }
    }
    sso::record_for(
        core,
        &ticket.principal.sid,
        expires,
        &Handout::ProxyGranting { key },
        now,
    )
    .await?;
    Ok(Ok(Some(iou)))
}

/// CAS §2.7: a proxy ticket for `target_service`, from a proxy-granting ticket whose session
/// is still live, when its service may still proxy and the target is registered.
pub async fn proxy(
    core: &Core,
    pgt: Option<&str>,
    target_service: Option<&str>,
    now: i64,
) -> Result<std::result::Result<String, Failure>> {
    let (Some(pgt), Some(target)) = (
        pgt.filter(|s| !s.is_empty()),
        target_service.filter(|s| !s.is_empty()),
    ) else {
        return fail(
            FailureCode::InvalidRequest,
            "'pgt' and 'targetService' parameters are both required",
        );
    };
    let unknown = || format!("proxy-granting ticket {} not recognized", shown(pgt));
    if !cas::well_formed(pgt, TicketKind::ProxyGranting) {
        return fail(FailureCode::InvalidTicket, unknown());
    }
    let Some(bytes) = core.ephemeral.get(&pgt_key(pgt), now).await? else {
        return fail(FailureCode::InvalidTicket, unknown());
    };
    let granting: ProxyGranting = decode(&bytes)?;
    // The session's end deletes its proxy-granting tickets; checking it too makes that sure.
    if !sso::alive(core, &granting.principal.sid, now).await? {
        core.ephemeral.delete(&pgt_key(pgt)).await?;
        return fail(FailureCode::InvalidTicket, unknown());
    }
    let proxying = core.cas.by_id(&core.db, &granting.service_id).await?;
    if !proxying.is_some_and(|s| s.allow_proxy) {
        return fail(
            FailureCode::UnauthorizedService,
            "the proxying service is no longer allowed to proxy",
        );
    }
    let Some(target_svc) = core.cas.find(&core.db, target).await? else {
        return fail(
            FailureCode::UnauthorizedService,
            "the target service is not registered",
        );
    };
    // The target gets its own attribute release, from the user as they are now.
    let Some(user) = core.db.user_by_id(&granting.principal.user_id).await? else {
        return fail(FailureCode::InvalidTicket, unknown());
    };
    if user.disabled {
        return fail(FailureCode::InvalidTicket, unknown());
    }
    let mut principal = granting.principal.clone();
    principal.attributes = released(core, &target_svc, &user).await?;
    let ticket = new_ticket(TicketKind::Proxy);
    let stored = Ticket {
        kind: TicketKind::Proxy,
        service: target.to_owned(),
        service_id: target_svc.id.clone(),
        principal,
        new_login: false,
        proxies: granting.proxies,
    };
    core.ephemeral
        .put(
            &key(&ticket),
            &encode(&stored)?,
            now + core.policy.cas.ticket_ttl,
        )
        .await?;
    sso::record_for(
        core,
        &granting.principal.sid,
        granting.principal.session_expiry,
        &Handout::ServiceTicket {
            service_id: target_svc.id.clone(),
            url: target.to_owned(),
            ticket: ticket.clone(),
        },
        now,
    )
    .await?;
    metrics::counter!("guichet_cas_tickets_issued_total", "kind" => "proxy").increment(1);
    Ok(Ok(ticket))
}

/// A proxy-granting ticket (by its store key) of a session that a new sign-in of the same
/// person replaced: it now belongs to, and lives as long as, the new session.
pub async fn move_proxy_granting(core: &Core, key: &str, new: &Session, now: i64) -> Result<()> {
    let Some(bytes) = core.ephemeral.get(key, now).await? else {
        return Ok(());
    };
    let mut granting: ProxyGranting = decode(&bytes)?;
    granting.principal.sid = new.sid.clone();
    granting.principal.session_expiry = new.absolute_expiry;
    core.ephemeral
        .put(key, &encode(&granting)?, new.absolute_expiry)
        .await?;
    Ok(())
}

/// Forgets a service or proxy ticket (its session ended before it was validated).
pub async fn revoke_ticket(core: &Core, ticket: &str) -> Result<()> {
    Ok(core.ephemeral.delete(&key(ticket)).await?)
}

fn iso8601(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

fn encode<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| crate::service::error::Error::Corrupt(e.to_string()))
}

fn decode<T: serde::de::DeserializeOwned>(b: &[u8]) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| crate::service::error::Error::Corrupt(e.to_string()))
}
