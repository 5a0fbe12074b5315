//! The authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1): parsing,
//! validation and the authorization code.
//!
//! An anonymous request writes nothing to the store: the parameters travel in the login and
//! consent forms (the `request` hidden field) and are validated again when they come back.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::crypto::token::{digest, random_token};
use crate::domain::client::{Client, GRANT_AUTHORIZATION_CODE, GRANT_REFRESH_TOKEN};
use crate::domain::scope;
use crate::ephemeral::EphemeralError;
use crate::service::core::Core;
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

#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Arc<Client>,
    pub callback: Callback,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub prompt_none: bool,
    pub prompt_login: bool,
    pub prompt_consent: bool,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// `sub` of a valid `id_token_hint`.
    pub hint_sub: Option<String>,
    pub code_challenge: Option<String>,
    /// The request's parameters, urlencoded, for the hidden `request` field.
    pub encoded: String,
}

#[derive(Debug)]
pub enum AuthError {
    /// Client or redirect URI problems: an error page, never a redirect (RFC 6749 §4.1.2.1).
    Page(&'static str),
    /// Everything else goes back to the client with `error` and `error_description`.
    Redirect {
        callback: Callback,
        error: &'static str,
        description: &'static str,
    },
    Internal(String),
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
    "code_challenge",
    "code_challenge_method",
    "response_mode",
    "request",
    "request_uri",
];

fn single<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, ()> {
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

/// Validates an authorization request, first what decides where errors may go (client and
/// redirect URI), then the rest.
pub async fn parse(core: &Core, pairs: &[(String, String)]) -> Result<AuthRequest, AuthError> {
    let client_id =
        single(pairs, "client_id").map_err(|_| AuthError::Page("err_duplicate_parameter"))?;
    let Some(client_id) = client_id else {
        return Err(AuthError::Page("err_missing_client_id"));
    };
    let client = core
        .clients
        .get(&core.db, client_id)
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?
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
        state: None,
    };
    let fail =
        |callback: &Callback, error: &'static str, description: &'static str| AuthError::Redirect {
            callback: callback.clone(),
            error,
            description,
        };
    if let Ok(Some(s)) = single(pairs, "state") {
        callback.state = Some(s.to_owned());
    }
    match single(pairs, "response_mode") {
        Ok(None) | Ok(Some("query")) => {}
        Ok(Some("form_post")) => callback.mode = ResponseMode::FormPost,
        _ => {
            return Err(fail(
                &callback,
                "invalid_request",
                "response_mode must be query or form_post",
            ));
        }
    }
    for name in SINGLE {
        if single(pairs, name).is_err() {
            return Err(fail(
                &callback,
                "invalid_request",
                "a parameter is repeated",
            ));
        }
    }
    let get = |name: &str| single(pairs, name).ok().flatten();
    if get("request").is_some() {
        return Err(fail(
            &callback,
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if get("request_uri").is_some() {
        return Err(fail(
            &callback,
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match get("response_type") {
        None => {
            return Err(fail(
                &callback,
                "invalid_request",
                "response_type is required",
            ));
        }
        Some("code") => {}
        Some(_) => {
            return Err(fail(
                &callback,
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if !client.allows_grant(GRANT_AUTHORIZATION_CODE) {
        return Err(fail(
            &callback,
            "unauthorized_client",
            "this client may not use the authorization code grant",
        ));
    }

    let requested = match get("scope").map(scope::parse) {
        None => Vec::new(),
        Some(Ok(s)) => s,
        Some(Err(_)) => {
            return Err(fail(
                &callback,
                "invalid_scope",
                "scope has characters RFC 6749 does not allow",
            ));
        }
    };
    // Scopes the client did not register are ignored (RFC 6749 §3.3); offline_access needs the
    // refresh_token grant and, later, consent.
    let scopes: Vec<String> = requested
        .into_iter()
        .filter(|s| {
            if s == "offline_access" {
                client.allows_grant(GRANT_REFRESH_TOKEN)
            } else {
                client.scopes.contains(s)
            }
        })
        .collect();

    let (mut prompt_none, mut prompt_login, mut prompt_consent) = (false, false, false);
    if let Some(p) = get("prompt") {
        for v in p.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt_none = true,
                "login" => prompt_login = true,
                "consent" => prompt_consent = true,
                "select_account" => {}
                _ => return Err(fail(&callback, "invalid_request", "unknown prompt value")),
            }
        }
        if prompt_none && (prompt_login || prompt_consent) {
            // Core §3.1.2.1: none with any other value is an error.
            return Err(fail(
                &callback,
                "invalid_request",
                "prompt=none cannot be combined",
            ));
        }
    }
    let max_age = match get("max_age").map(str::parse::<i64>) {
        None => None,
        Some(Ok(n)) if n >= 0 => Some(n),
        Some(_) => {
            return Err(fail(
                &callback,
                "invalid_request",
                "max_age must be a non-negative integer",
            ));
        }
    };

    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), Some("S256")) if valid_pkce_string(c) && c.len() == 43 => Some(c.to_owned()),
        (Some(_), Some("S256")) => {
            return Err(fail(
                &callback,
                "invalid_request",
                "code_challenge is not a base64url SHA-256",
            ));
        }
        (None, Some(_)) => {
            return Err(fail(
                &callback,
                "invalid_request",
                "code_challenge is missing",
            ));
        }
        // RFC 7636 §4.3: no method means plain, which is refused like any other method.
        (Some(_), _) => {
            return Err(fail(
                &callback,
                "invalid_request",
                "code_challenge_method must be S256",
            ));
        }
    };
    if client.public && code_challenge.is_none() {
        return Err(fail(
            &callback,
            "invalid_request",
            "PKCE (S256) is required for public clients",
        ));
    }

    let hint_sub = match get("id_token_hint") {
        None => None,
        Some(hint) => match verify_id_token_hint(core, hint) {
            Some(h) => Some(h.sub),
            None => {
                return Err(fail(
                    &callback,
                    "invalid_request",
                    "id_token_hint is not an ID token of this issuer",
                ));
            }
        },
    };

    // The forms carry the request on; `prompt=login` is dropped from it, since the sign-in it
    // asks for is the one the form performs (other prompt values stay).
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
    Ok(AuthRequest {
        client,
        callback,
        scopes,
        nonce: get("nonce").map(str::to_owned),
        prompt_none,
        prompt_login,
        prompt_consent,
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        hint_sub,
        code_challenge,
        encoded: ser.finish(),
    })
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
pub async fn issue_code(
    core: &Core,
    req: &AuthRequest,
    session: &Session,
    scopes: &[String],
) -> Result<String, EphemeralError> {
    let now = core.now();
    let ttl = req.client.code_ttl.unwrap_or(core.policy.code_ttl);
    let code = random_token();
    let data = CodeData {
        client_id: req.client.client_id.clone(),
        redirect_uri: req.callback.redirect_uri.clone(),
        user_id: session.user_id.clone(),
        scope: scope::join(scopes),
        nonce: req.nonce.clone(),
        code_challenge: req.code_challenge.clone(),
        auth_time: session.auth_time,
        amr: session.amr.clone(),
        sid: session.sid.clone(),
        session_expiry: session.absolute_expiry,
        grant_id: crate::service::tokens::grant_id_for_code(&code),
        expires_at: now + ttl,
    };
    let bytes = serde_json::to_vec(&data).map_err(|e| EphemeralError::Backend(e.to_string()))?;
    core.ephemeral
        .put(&code_key(&code), &bytes, now + ttl)
        .await?;
    Ok(code)
}

/// Whether the session may answer this request without showing the login form again.
pub fn session_satisfies(req: &AuthRequest, session: &Session, now: i64, fresh: bool) -> bool {
    if fresh {
        return true;
    }
    if req.prompt_login {
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

/// The scopes to grant given what the user consented to: `offline_access` is dropped unless
/// consented (stored, given now, or first-party).
pub fn scopes_to_grant(req: &AuthRequest, consented: &[String]) -> Vec<String> {
    req.scopes
        .iter()
        .filter(|s| *s != "offline_access" || req.client.first_party || consented.contains(s))
        .cloned()
        .collect()
}
