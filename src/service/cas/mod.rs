//! The CAS protocol server (CAS Protocol 3.0, Apereo): `/cas/login` decides between a ticket
//! from the SSO session, a sign-in (handed a [`Continuation::Cas`]) and an error; tickets are
//! issued and validated in [`tickets`]; [`sso`] remembers what each session handed out, for
//! single logout. CAS shares the SSO session with OpenID Connect: one sign-in, one logout.

pub mod registry;
pub mod sso;
pub mod tickets;

use std::sync::Arc;

use crate::domain::acr::AMR_MFA;
use crate::domain::cas::{CasService, with_param};
use crate::service::authn::{Continuation, Display, Flow, Requirements};
use crate::service::core::Core;
use crate::service::error::Result;
use crate::service::session::Current;

pub use registry::CasRegistry;

/// How tickets are issued, from the settings.
#[derive(Debug, Clone)]
pub struct CasPolicy {
    /// Lifetime of service and proxy tickets, in seconds (10 by default: a service validates
    /// at once; CAS §3.1.1 recommends at most 5 minutes).
    pub ticket_ttl: i64,
    /// Accept `http://` proxy callbacks (tests only: CAS §2.5.4 requires https).
    pub insecure_callbacks: bool,
}

impl Default for CasPolicy {
    fn default() -> CasPolicy {
        CasPolicy {
            ticket_ttl: 10,
            insecure_callbacks: false,
        }
    }
}

/// A `/cas/login` request (CAS §2.1.1), as parsed at the edge.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginRequest {
    pub service: Option<String>,
    /// Single sign-on must not be used: credentials are asked again.
    pub renew: bool,
    /// Credentials must not be asked: back to the service with or without a ticket.
    pub gateway: bool,
    /// The ticket goes to the service in an auto-submitted POST form, not in the URL.
    pub method_post: bool,
    /// Single sign-on must not be transparent: the person confirms before going on.
    pub warn: bool,
}

impl LoginRequest {
    /// The query that brings this request back after sign-in (gateway and warn are spent:
    /// the person has just entered credentials for this service).
    pub fn continuation(&self) -> Continuation {
        Continuation::Cas(self.query())
    }

    /// The request as a query (service, renew, method): what a sign-in or the `warn`
    /// confirmation carries back to `/cas/login`.
    pub fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &self.service {
            q.append_pair("service", s);
        }
        if self.renew {
            q.append_pair("renew", "true");
        }
        if self.method_post {
            q.append_pair("method", "POST");
        }
        q.finish()
    }
}

/// What `/cas/login` answers.
#[derive(Debug)]
pub enum LoginDecision {
    /// The service URL is malformed or not registered: an error page, never a redirect.
    UnknownService,
    /// Back to the service with a ticket (by redirect, or POST when asked).
    Ticket {
        service_url: String,
        ticket: String,
        method_post: bool,
    },
    /// `gateway`, and no session that may be used without asking: back to the service with
    /// no ticket (CAS §2.1.1).
    GatewayBack { url: String },
    /// Credentials are needed: this sign-in.
    SignIn(Box<Flow>),
    /// `warn`: the person confirms before single sign-on takes them to the service.
    Confirm { service: Arc<CasService> },
    /// Signed in, and no service: the "you are signed in" page.
    SignedIn,
}

/// The `/cas/login` decision. `current` is the browser's valid session, if any; `fresh` says
/// it was created by the sign-in this request resumes from (so `renew` and `warn` are met).
pub async fn login(
    core: &Core,
    req: &LoginRequest,
    current: Option<&Current>,
    fresh: bool,
    now: i64,
) -> Result<LoginDecision> {
    let service = match &req.service {
        Some(url) => match core.cas.find(&core.db, url).await? {
            Some(s) => Some((url.as_str(), s)),
            None => return Ok(LoginDecision::UnknownService),
        },
        None => None,
    };
    let mfa = service.as_ref().is_some_and(|(_, s)| s.require_mfa);
    let usable = current
        .filter(|c| (fresh || !req.renew) && (!mfa || c.session.amr.iter().any(|m| m == AMR_MFA)));
    match (service, usable) {
        (Some((url, service)), Some(c)) => {
            if req.warn && !fresh && !req.gateway {
                return Ok(LoginDecision::Confirm { service });
            }
            let ticket =
                tickets::issue_service_ticket(core, &service, url, &c.session, &c.user, fresh, now)
                    .await?;
            Ok(LoginDecision::Ticket {
                service_url: url.to_owned(),
                ticket,
                method_post: req.method_post,
            })
        }
        // `renew` takes precedence over `gateway` (CAS §2.1.1).
        (Some((url, _)), None) if req.gateway && !req.renew => Ok(LoginDecision::GatewayBack {
            url: url.to_owned(),
        }),
        (Some((_, service)), None) => Ok(LoginDecision::SignIn(Box::new(Flow::start(
            req.continuation(),
            Requirements { user: None, mfa },
            Display {
                client_name: Some(service.name.clone()),
                ui_locales: None,
                client_id: Some(service.id.clone()),
            },
            now,
        )))),
        (None, Some(_)) => Ok(LoginDecision::SignedIn),
        (None, None) => Ok(LoginDecision::SignIn(Box::new(Flow::start(
            req.continuation(),
            Requirements::default(),
            Display::default(),
            now,
        )))),
    }
}

/// The address of a service with its ticket (CAS Appendix B: a GET with `ticket`).
pub fn ticket_url(service_url: &str, ticket: &str) -> String {
    with_param(service_url, "ticket", ticket)
}
