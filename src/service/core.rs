//! The service core: what every service function needs — the durable database, the
//! short-lived store, the keys, the password hasher, the client cache, the audit, the clock,
//! the URLs and the token policy. Services take `&Core` (or the parts they need) and `now`;
//! none knows about HTTP. The edge (`http::state::AppState`) and the CLI hold an `Arc<Core>`.

use std::sync::Arc;

use crate::crypto::keys::Keys;
use crate::crypto::password::Hasher;
use crate::crypto::secretbox::SecretBox;
use crate::domain::client::Client;
use crate::domain::clock::Clock;
use crate::domain::password_policy::PasswordPolicy;
use crate::domain::self_service::SelfServicePolicy;
use crate::domain::theme::Theme;
use crate::ephemeral::DynEphemeral;
use crate::mail::DynMailer;
use crate::mail::templates::MailTemplates;
use crate::notify::outbound::Courier;
use crate::notify::sms::DynSms;
use crate::service::activation::ActivationPolicy;
use crate::service::audit::Audit;
use crate::service::cas::{CasPolicy, CasRegistry};
use crate::service::clients::ClientCache;
use crate::service::lockout::LockoutPolicy;
use crate::service::mfa::MfaRequired;
use crate::service::session::Lifetimes;
use crate::store::Db;

pub struct Core {
    pub db: Db,
    /// Short-lived state (sessions, codes, counters, revocation markers): in-process or Redis.
    pub ephemeral: DynEphemeral,
    pub keys: Arc<Keys>,
    /// Seals second-factor secrets at rest (`secretbox.key` in the keys folder).
    pub secrets: SecretBox,
    /// Sends SMS codes (a gateway, or the outbox).
    pub sms: DynSms,
    /// Sends e-mail (SMTP off the request path, or the outbox).
    pub mail: DynMailer,
    pub mail_templates: Arc<MailTemplates>,
    /// The institution's name and help desk, for mail (the pages have their own copy).
    pub theme: Theme,
    pub hasher: Hasher,
    pub clients: ClientCache,
    /// The CAS services, cached per node.
    pub cas: CasRegistry,
    /// Calls to applications: logout notifications (queued), the CAS proxy callback.
    pub courier: Arc<Courier>,
    pub audit: Audit,
    pub clock: Arc<Clock>,
    pub urls: Urls,
    pub policy: Policy,
}

impl Core {
    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// Lifetimes and audiences of what guichet issues, and the sign-in lockout, from the settings;
/// a client may override the token lifetimes for itself.
#[derive(Debug, Clone)]
pub struct Policy {
    pub code_ttl: i64,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub offline_ttl: i64,
    pub session: Lifetimes,
    /// `aud` of access tokens (RFC 9068 §2.2).
    pub access_token_audience: String,
    /// Failed attempts before an account locks, and the per-address throttle.
    pub lockout: LockoutPolicy,
    /// Who must sign in with a second factor, whatever the application.
    pub mfa: MfaRequired,
    /// Which self-service flows each user category may not use.
    pub self_service: SelfServicePolicy,
    /// What a new password must be (`service::password`).
    pub password: PasswordPolicy,
    /// The activation deadline's time zone and the IT charter (`service::activation`).
    pub activation: ActivationPolicy,
    /// The kinds of personal number the recovery flow offers (`GUICHET_PERSONAL_NUMBER_KINDS`).
    pub personal_number_kinds: Vec<String>,
    /// CAS tickets' lifetime and proxy callbacks.
    pub cas: CasPolicy,
    /// The SHA-256 of the initial access token of dynamic client registration (RFC 7591
    /// §3); `None` when registration is off.
    pub registration_token: Option<String>,
}

impl Policy {
    pub fn code_ttl(&self, client: &Client) -> i64 {
        client.code_ttl.unwrap_or(self.code_ttl)
    }

    pub fn access_token_ttl(&self, client: &Client) -> i64 {
        client.access_token_ttl.unwrap_or(self.access_token_ttl)
    }

    pub fn id_token_ttl(&self, client: &Client) -> i64 {
        client.id_token_ttl.unwrap_or(self.id_token_ttl)
    }

    pub fn offline_ttl(&self, client: &Client) -> i64 {
        client.offline_ttl.unwrap_or(self.offline_ttl)
    }
}

/// Every URL guichet emits, derived from the issuer once (never from `Host`).
#[derive(Debug, Clone)]
pub struct Urls {
    pub issuer: String,
    /// The issuer's path ("" or "/sso"): every route is mounted under it.
    pub base_path: String,
    pub authorize: String,
    pub token: String,
    pub userinfo: String,
    pub jwks: String,
    pub revoke: String,
    pub introspect: String,
    pub end_session: String,
    /// The registration endpoint (RFC 7591), when registration is on.
    pub registration: Option<String>,
    /// The issuer's origin (`scheme://host[:port]`), which browsers send as `Origin`.
    pub origin: String,
}

impl Urls {
    pub fn new(issuer: &str) -> Urls {
        let base_path = url::Url::parse(issuer)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        let at = |p: &str| format!("{issuer}{p}");
        Urls {
            issuer: issuer.to_owned(),
            base_path,
            authorize: at("/authorize"),
            token: at("/token"),
            userinfo: at("/userinfo"),
            jwks: at("/jwks"),
            revoke: at("/revoke"),
            introspect: at("/introspect"),
            end_session: at("/logout"),
            registration: None,
            origin: url::Url::parse(issuer)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_default(),
        }
    }
}
