//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1): parsing,
//! validation, the decision (sign in, consent, or a code), consent, and the authorization code.
//!
//! An anonymous request writes nothing to the store: the parameters travel in the login and
//! consent forms and are validated again when they come back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto::token::{ct_eq, digest, hmac, random_token};
use crate::domain::acr::{AMR_MFA, acr_for, acr_values_ask_mfa};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::client::Client;
use crate::domain::grant::GrantType;
use crate::domain::scope::Scopes;
use crate::service::authn::{Continuation, Display, Flow, Requirements};
use crate::service::core::Core;
use crate::service::error::{Error, Result};
use crate::service::oauth::ErrorCode;
use crate::service::session::Session;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    Query,
    FormPost,
}

/// Where errors and codes go once the client and redirect URI are known good.
#[derive(Debug, Clone)]
pub struct Callback {
    pub redirect_uri: String,
    pub mode: ResponseMode,
    pub state: Option<String>,
}

/// The `prompt` parameter (Core §3.1.2.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

impl Prompt {
    pub fn parse(value: Option<&str>) -> std::result::Result<Prompt, &'static str> {
        let mut p = Prompt::default();
        for v in value.unwrap_or("").split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => p.none = true,
                "login" => p.login = true,
                "consent" => p.consent = true,
                "select_account" => {}
                _ => return Err("unknown prompt value"),
            }
        }
        // Core §3.1.2.1: none with any other value is an error.
        if p.none && (p.login || p.consent) {
            return Err("prompt=none cannot be combined");
        }
        Ok(p)
    }
}

/// PKCE (RFC 7636): S256 only; `plain` and a missing method are refused (RFC 9700 §2.1.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkce {
    pub challenge: String,
}

impl Pkce {
    pub fn parse(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> std::result::Result<Option<Pkce>, &'static str> {
        match (challenge, method) {
            (None, None) => Ok(None),
            (Some(c), Some("S256")) if valid_pkce_string(c) && c.len() == 43 => Ok(Some(Pkce {
                challenge: c.to_owned(),
            })),
            (Some(_), Some("S256")) => Err("code_challenge is not a base64url SHA-256"),
            (None, Some(_)) => Err("code_challenge is missing"),
            // RFC 7636 §4.3: no method means plain, which is refused like any other method.
            (Some(_), _) => Err("code_challenge_method must be S256"),
        }
    }
}

#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Arc<Client>,
    pub callback: Callback,
    pub scopes: Scopes,
    pub nonce: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub ui_locales: Option<String>,
    /// A second factor is required: the client's `require_mfa`, or `acr_values` asking for
    /// the multi-factor class first.
    pub mfa: bool,
    /// The classes asked for (`acr_values`), preferred first.
    pub acr_values: Option<String>,
    /// `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    pub pkce: Option<Pkce>,
    /// The request's parameters, urlencoded, without `prompt=login`: what the forms carry on.
    pub encoded: String,
}

#[derive(Debug)]
pub enum AuthError {
    /// Client or redirect URI problems: an error page, never a redirect (RFC 6749 §4.1.2.1).
    Page(&'static str),
    /// Everything else goes back to the client with `error` and `error_description`.
    Redirect {
        callback: Callback,
        error: ErrorCode,
        description: &'static str,
    },
    Internal(Error),
}

/// The parameters that may not be repeated (RFC 6749 §3.1).
const SINGLE: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "ui_locales",
    "acr_values",
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
];

fn single<'a>(
    pairs: &'a [(String, String)],
    name: &str,
) -> std::result::Result<Option<&'a str>, ()> {
    let mut found = None;
    for (k, v) in pairs {
        if k == name {
            if found.is_some() {
                return Err(());
            }
            found = Some(v.as_str());
        }
    }
    // RFC 6749 §3.1: parameters sent without a value are treated as omitted.
    Ok(found.filter(|v| !v.is_empty()))
}

/// RFC 7636 §4.2: 43–128 characters of `[A-Za-z0-9-._~]` (a verifier's S256 is exactly 43).
pub fn valid_pkce_string(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates an authorization request: first what decides where errors may go (client and
/// redirect URI), then the rest.
pub async fn parse(
    core: &Core,
    pairs: &[(String, String)],
) -> std::result::Result<AuthRequest, AuthError> {
    let (client, callback) = parse_callback(core, pairs).await?;
    let fail = |error: ErrorCode, description: &'static str| AuthError::Redirect {
        callback: callback.clone(),
        error,
        description,
    };
    if SINGLE.iter().any(|name| single(pairs, name).is_err()) {
        return Err(fail(ErrorCode::InvalidRequest, "a parameter is repeated"));
    }
    let get = |name: &str| single(pairs, name).ok().flatten();
    if get("request").is_some() {
        return Err(fail(
            ErrorCode::RequestNotSupported,
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(fail(
            ErrorCode::RequestUriNotSupported,
            "request_uri is not supported",
        ));
    }
    match get("response_type") {
        None => {
            return Err(fail(ErrorCode::InvalidRequest, "response_type is required"));
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                ErrorCode::UnsupportedResponseType,
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(fail(
            ErrorCode::UnauthorizedClient,
            "this client may not use the authorization code grant",
        ));
    }
    let scopes =
        requested_scopes(&client, get("scope")).map_err(|d| fail(ErrorCode::InvalidScope, d))?;
    let prompt = Prompt::parse(get("prompt")).map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    let max_age = match get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n),
        Some(_) => {
            return Err(fail(
                ErrorCode::InvalidRequest,
                "max_age must be a non-negative integer",
            ));
        }
    };
    let pkce = Pkce::parse(get("code_challenge"), get("code_challenge_method"))
        .map_err(|d| fail(ErrorCode::InvalidRequest, d))?;
    if client.public && pkce.is_none() {
        return Err(fail(
            ErrorCode::InvalidRequest,
            "PKCE (S256) is required for public clients",
        ));
    }
    let hint_sub = match get("id_token_hint") {
        None => None,
        Some(hint) => match verify_id_token_hint(core, hint) {
            Some(h) => Some(h.sub),
            None => {
                return Err(fail(
                    ErrorCode::InvalidRequest,
                    "id_token_hint is not an ID token of this issuer",
                ));
            }
        },
    };
    let mfa = client.require_mfa || get("acr_values").is_some_and(acr_values_ask_mfa);
    Ok(AuthRequest {
        client,
        callback,
        scopes,
        nonce: get("nonce").map(str::to_owned),
        prompt,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        ui_locales: get("ui_locales").map(str::to_owned),
        mfa,
        acr_values: get("acr_values").map(str::to_owned),
        hint_sub,
        pkce,
        encoded: encode_without_prompt_login(pairs),
    })
}

/// The client, its redirect URI, and how to answer it: errors before this point are pages,
/// never redirects (RFC 6749 §4.1.2.1).
async fn parse_callback(
    core: &Core,
    pairs: &[(String, String)],
) -> std::result::Result<(Arc<Client>, Callback), AuthError> {
    let client_id =
        single(pairs, "client_id").map_err(|_| AuthError::Page("err_duplicate_parameter"))?;
    let Some(client_id) = client_id else {
        return Err(AuthError::Page("err_missing_client_id"));
    };
    let client = core
        .clients
        .get(&core.db, client_id)
        .await
        .map_err(|e| AuthError::Internal(e.into()))?
        .ok_or(AuthError::Page("err_unknown_client"))?;
    let redirect_uri =
        single(pairs, "redirect_uri").map_err(|_| AuthError::Page("err_duplicate_parameter"))?;
    let Some(redirect_uri) = redirect_uri else {
        return Err(AuthError::Page("err_missing_redirect_uri"));
    };
    if !client.redirect_uri_registered(redirect_uri) {
        return Err(AuthError::Page("err_bad_redirect_uri"));
    }
    // From here on errors are redirected, with `state` when it could be read.
    let mut callback = Callback {
        redirect_uri: redirect_uri.to_owned(),
        mode: ResponseMode::Query,
        state: single(pairs, "state").ok().flatten().map(str::to_owned),
    };
    match single(pairs, "response_mode") {
        Ok(None) | Ok(Some("query")) => {}
        Ok(Some("form_post")) => callback.mode = ResponseMode::FormPost,
        _ => {
            return Err(AuthError::Redirect {
                callback,
                error: ErrorCode::InvalidRequest,
                description: "response_mode must be query or form_post",
            });
        }
    }
    Ok((client, callback))
}

/// The requested scopes the client may have. Scopes the client did not register are ignored
/// (RFC 6749 §3.3); `offline_access` needs the refresh_token grant and, later, consent.
fn requested_scopes(
    client: &Client,
    param: Option<&str>,
) -> std::result::Result<Scopes, &'static str> {
    let requested = match param.map(Scopes::parse) {
        None => Scopes::default(),
        Some(Ok(s)) => s,
        Some(Err(_)) => return Err("scope has characters RFC 6749 does not allow"),
    };
    Ok(requested.filter(|s| {
        if s == "offline_access" {
            client.allows_grant(GrantType::RefreshToken)
        } else {
            client.scopes.iter().any(|c| c == s)
        }
    }))
}

/// The forms carry the request on; `prompt=login` is dropped from it, since the sign-in it
/// asks for is the one the form performs (other prompt values stay).
fn encode_without_prompt_login(pairs: &[(String, String)]) -> String {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if k == "prompt" {
            let rest: Vec<&str> = v
                .split(' ')
                .filter(|p| !p.is_empty() && *p != "login")
                .collect();
            if !rest.is_empty() {
                ser.append_pair(k, &rest.join(" "));
            }
        } else {
            ser.append_pair(k, v);
        }
    }
    ser.finish()
}

/// The claims guichet reads from an `id_token_hint`.
#[derive(Debug, Deserialize)]
pub struct HintClaims {
    pub iss: String,
    pub sub: String,
    pub aud: serde_json::Value,
    pub sid: Option<String>,
}

impl HintClaims {
    pub fn audience_contains(&self, client_id: &str) -> bool {
        match &self.aud {
            serde_json::Value::String(s) => s == client_id,
            serde_json::Value::Array(a) => a.iter().any(|v| v.as_str() == Some(client_id)),
            _ => false,
        }
    }

    /// The client the hint was issued to (its first audience).
    pub fn first_audience(&self) -> Option<&str> {
        match &self.aud {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Array(a) => a.first().and_then(|v| v.as_str()),
            _ => None,
        }
    }
}

/// Checks an ID token we issued: signature and `iss`, but not `exp` (Core §3.1.2.1 and
/// RP-Initiated Logout §2 allow expired hints).
pub fn verify_id_token_hint(core: &Core, hint: &str) -> Option<HintClaims> {
    let (typ, claims): (Option<String>, HintClaims) = core.keys.current().verify(hint).ok()?;
    if typ.as_deref() == Some("at+jwt") || claims.iss != core.urls.issuer {
        return None;
    }
    Some(claims)
}

/// The sign-in this request needs: it resumes at the authorization endpoint with the request,
/// for the user an `id_token_hint` names, if one does.
pub fn sign_in(req: &AuthRequest, now: i64) -> Flow {
    Flow::start(
        Continuation::Authorize(req.encoded.clone()),
        Requirements {
            user: req.hint_sub.clone(),
            mfa: req.mfa,
        },
        Display {
            client_name: Some(client_name(&req.client).to_owned()),
            ui_locales: req.ui_locales.clone(),
            client_id: Some(req.client.client_id.clone()),
        },
        now,
    )
}

pub fn client_name(client: &Client) -> &str {
    client.name.as_deref().unwrap_or(&client.client_id)
}

/// Whether the session may answer this request without signing in again: `prompt=login`,
/// `max_age` and `id_token_hint` (Core §3.1.2.1) may each rule it out, and so may a second
/// factor the request requires and the session lacks (step-up: `max_age` then asks for a
/// fresh one too, since the session's `auth_time` is its last factor's).
pub fn session_satisfies(req: &AuthRequest, session: &Session, now: i64) -> bool {
    if req.prompt.login {
        return false;
    }
    if req.mfa && !session.amr.iter().any(|m| m == AMR_MFA) {
        return false;
    }
    if let Some(max_age) = req.max_age
        && now - session.auth_time > max_age
    {
        return false;
    }
    match &req.hint_sub {
        Some(sub) => sub == &session.user_id,
        None => true,
    }
}

/// What to answer a request that a valid session satisfies.
#[derive(Debug)]
pub enum Decision {
    /// A code for the client.
    Code(String),
    /// The consent page, bound to this session and request by `binding`.
    AskConsent { binding: String },
    /// An error for the client (`consent_required` under `prompt=none`).
    Refuse(ErrorCode, &'static str),
}

/// The signed-in user's answer to a request: consent if it is needed (and may be asked), else
/// a code.
pub async fn decide(
    core: &Core,
    req: &AuthRequest,
    session: &Session,
    now: i64,
) -> Result<Decision> {
    let consented = if req.client.first_party {
        req.scopes.as_slice().to_vec()
    } else {
        core.db
            .consent_get(&session.user_id, &req.client.client_id)
            .await?
            .unwrap_or_default()
    };
    // offline_access alone never forces the consent page: without consent it is dropped.
    let needed = req.scopes.filter(|s| s != "offline_access");
    let needs_consent =
        !req.client.first_party && (req.prompt.consent || !needed.covered_by(&consented));
    if needs_consent {
        if req.prompt.none {
            return Ok(Decision::Refuse(
                ErrorCode::ConsentRequired,
                "the user must consent",
            ));
        }
        return Ok(Decision::AskConsent {
            binding: consent_binding(core, &session.sid, &req.encoded, now),
        });
    }
    let scopes = scopes_to_grant(req, &consented);
    Ok(Decision::Code(
        issue_code(core, req, session, &scopes, now).await?,
    ))
}

/// How long a consent page may wait for its answer.
pub const CONSENT_TTL: i64 = 600;

/// Binds a consent form to the session it was shown to, the request it was shown for, and
/// the time: `{time}.{HMAC(secret, sid, SHA-256(request), time)}`. A form posted from another
/// session, for another request, or too late is refused.
pub fn consent_binding(core: &Core, sid: &str, request: &str, now: i64) -> String {
    let at = now.to_string();
    let mac = hmac(
        core.keys.current().hmac_secret(),
        &[
            b"consent",
            sid.as_bytes(),
            digest(request).as_bytes(),
            at.as_bytes(),
        ],
    );
    format!("{at}.{mac}")
}

fn consent_binding_ok(core: &Core, sid: &str, request: &str, binding: &str, now: i64) -> bool {
    let Some((at, _)) = binding.split_once('.') else {
        return false;
    };
    let Ok(t) = at.parse::<i64>() else {
        return false;
    };
    (t..=t + CONSENT_TTL).contains(&now) && ct_eq(&consent_binding(core, sid, request, t), binding)
}

/// What the person answered on the consent page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentAnswer {
    Approve,
    Deny,
}

/// The outcome of a consent form.
#[derive(Debug)]
pub enum ConsentOutcome {
    /// Approved: a code for the client.
    Code(String),
    /// Denied: `access_denied` for the client.
    Denied,
    /// The form was not shown to this session for this request, or is too old.
    Unbound,
}

/// Records a consent answer. The caller has checked the session with `session::current` and
/// `session_satisfies`, as `/authorize` does; the binding ties the answer to that session and
/// request.
pub async fn consent(
    core: &Core,
    req: &AuthRequest,
    session: &Session,
    binding: &str,
    answer: ConsentAnswer,
    now: i64,
) -> Result<ConsentOutcome> {
    if !consent_binding_ok(core, &session.sid, &req.encoded, binding, now) {
        return Ok(ConsentOutcome::Unbound);
    }
    if answer == ConsentAnswer::Deny {
        return Ok(ConsentOutcome::Denied);
    }
    let mut consented = core
        .db
        .consent_get(&session.user_id, &req.client.client_id)
        .await?
        .unwrap_or_default();
    for s in req.scopes.iter() {
        if !consented.iter().any(|c| c == s) {
            consented.push(s.to_owned());
        }
    }
    core.db
        .consent_put(&session.user_id, &req.client.client_id, &consented, now)
        .await?;
    core.audit.record(
        AuditEvent::new(now, AuditKind::ConsentGranted)
            .user(&session.user_id)
            .client(&req.client.client_id)
            .detail(serde_json::json!({"scope": req.scopes.to_string()})),
    );
    let scopes = scopes_to_grant(req, &consented);
    Ok(ConsentOutcome::Code(
        issue_code(core, req, session, &scopes, now).await?,
    ))
}

/// What the authorization code stands for, kept in the short-lived store under its digest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CodeData {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    /// The class the ID token names (from `acr_values` and `amr`).
    #[serde(default)]
    pub acr: Option<String>,
    pub sid: String,
    pub session_expiry: i64,
    pub grant_id: String,
    pub expires_at: i64,
}

/// A tombstone replaces a redeemed code: presenting the code again names the grant to revoke.
pub const TOMBSTONE: &[u8] = b"T:";

pub fn code_key(code: &str) -> String {
    format!("code:{}", digest(code))
}

/// Issues a single-use code for `scopes` (already reduced to what was consented).
async fn issue_code(
    core: &Core,
    req: &AuthRequest,
    session: &Session,
    scopes: &Scopes,
    now: i64,
) -> Result<String> {
    let ttl = core.policy.code_ttl(&req.client);
    let code = random_token();
    let data = CodeData {
        client_id: req.client.client_id.clone(),
        redirect_uri: req.callback.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        scope: scopes.to_string(),
        nonce: req.nonce.clone(),
        code_challenge: req.pkce.as_ref().map(|p| p.challenge.clone()),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        acr: Some(acr_for(req.acr_values.as_deref(), &session.amr).to_owned()),
        sid: session.sid.clone(),
        session_expiry: session.absolute_expiry,
        grant_id: crate::service::tokens::grant_id_for_code(&code),
        expires_at: now + ttl,
    };
    let bytes = serde_json::to_vec(&data).map_err(|e| Error::Corrupt(e.to_string()))?;
    core.ephemeral
        .put(&code_key(&code), &bytes, now + ttl)
        .await?;
    Ok(code)
}

/// The scopes to grant given what the user consented to: `offline_access` is dropped unless
/// consented (stored, given now, or first-party).
pub fn scopes_to_grant(req: &AuthRequest, consented: &[String]) -> Scopes {
    req.scopes.filter(|s| {
        s != "offline_access" || req.client.first_party || consented.iter().any(|c| c == s)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompt_values_parse_and_none_stands_alone() {
        assert_eq!(
            Prompt::parse(Some("login consent")),
            Ok(Prompt {
                none: false,
                login: true,
                consent: true
            })
        );
        assert!(Prompt::parse(Some("none login")).is_err());
        assert!(Prompt::parse(Some("bogus")).is_err());
        assert_eq!(Prompt::parse(Some("select_account")), Ok(Prompt::default()));
    }

    #[test]
    fn pkce_takes_s256_only() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert_eq!(
            Pkce::parse(Some(c), Some("S256")),
            Ok(Some(Pkce {
                challenge: c.into()
            }))
        );
        assert!(Pkce::parse(Some(c), Some("plain")).is_err());
        assert!(Pkce::parse(Some(c), None).is_err());
        assert!(Pkce::parse(None, Some("S256")).is_err());
        assert!(Pkce::parse(Some("short"), Some("S256")).is_err());
        assert_eq!(Pkce::parse(None, None), Ok(None));
    }

    #[test]
    fn prompt_login_is_dropped_from_the_request_the_forms_carry() {
        let pairs = vec![
            ("client_id".to_owned(), "c".to_owned()),
            ("prompt".to_owned(), "login consent".to_owned()),
        ];
        assert_eq!(
            encode_without_prompt_login(&pairs),
            "client_id=c&prompt=consent"
        );
    }
}
