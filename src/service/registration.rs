//! RFC 7591 dynamic client registration (and OpenID Connect Dynamic Client Registration 1.0):
//! an application registers itself at `POST /register` with an initial access token the
//! operator handed out (`GUICHET_REGISTRATION_TOKEN`), then reads its registration back at
//! `registration_client_uri` with the registration access token it was given (RFC 7592 §2.1,
//! Registration 1.0 §4). Off unless configured. Clients registered so are third-party: they
//! ask consent, never get the `admin` scope, and are audited "by registration".

use serde::Deserialize;
use serde_json::{Value, json};

use crate::crypto::keys::Alg;
use crate::crypto::token::{digest, random_hex, random_token, verify_digest};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::client::{Client, validate_backchannel_logout_uri, validate_redirect_uri};
use crate::domain::grant::GrantType;
use crate::domain::scope::OIDC_SCOPES;
use crate::service::clients::{ClientSpec, Lifetimes, RegisterError, new_client};
use crate::service::core::Core;
use crate::service::oauth::{ErrorCode, OAuthError};

/// Why a registration (or a read of one) gets no client.
#[derive(Debug)]
pub enum RegistrationError {
    /// Registration is off: the endpoint does not exist (404).
    Off,
    /// No initial (or registration) access token, or the wrong one: 401 with
    /// `WWW-Authenticate: Bearer error="invalid_token"` (RFC 6750 §3.1).
    InvalidToken,
    /// `invalid_redirect_uri`, `invalid_client_metadata` (RFC 7591 §3.2.2), or a server error.
    Refused(OAuthError),
}

impl From<OAuthError> for RegistrationError {
    fn from(e: OAuthError) -> RegistrationError {
        RegistrationError::Refused(e)
    }
}

impl From<crate::store::StoreError> for RegistrationError {
    fn from(e: crate::store::StoreError) -> RegistrationError {
        RegistrationError::Refused(e.into())
    }
}

type Result<T> = std::result::Result<T, RegistrationError>;

/// The client metadata guichet reads (RFC 7591 §2, Registration 1.0 §2); any other member is
/// ignored, as RFC 7591 §2 requires, and not echoed back.
#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(default)]
    redirect_uris: Vec<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    client_name: Option<String>,
    scope: Option<String>,
    #[serde(default)]
    post_logout_redirect_uris: Vec<String>,
    backchannel_logout_uri: Option<String>,
    #[serde(default)]
    backchannel_logout_session_required: bool,
    id_token_signed_response_alg: Option<String>,
    subject_type: Option<String>,
    sector_identifier_uri: Option<String>,
    jwks: Option<Value>,
    jwks_uri: Option<String>,
    initiate_login_uri: Option<String>,
}

fn bad_metadata(d: impl Into<String>) -> RegistrationError {
    RegistrationError::Refused(OAuthError::new(
        ErrorCode::InvalidClientMetadata,
        description(&d.into()),
    ))
}

fn bad_redirect_uri(d: impl Into<String>) -> RegistrationError {
    RegistrationError::Refused(OAuthError::new(
        ErrorCode::InvalidRedirectUri,
        description(&d.into()),
    ))
}

/// RFC 7591 §3.2.2 takes `error_description` from RFC 6749 §5.2: printable ASCII without
/// `"` and `\`. Quotes become `'`; anything else outside the set (the client's own
/// non-ASCII or control characters echoed back) becomes `?`.
fn description(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '"' => '\'',
            '\\' => '/',
            ' ' | '!' | '#'..='[' | ']'..='~' => c,
            _ => '?',
        })
        .collect()
}

/// The presented bearer token against the configured one's digest, in constant time.
fn check_initial_token(core: &Core, token: Option<&str>) -> Result<()> {
    let Some(expected) = core.policy.registration_token.as_deref() else {
        return Err(RegistrationError::Off);
    };
    match token {
        Some(t) if verify_digest(t, expected) => Ok(()),
        _ => Err(RegistrationError::InvalidToken),
    }
}

/// What a registration answers: 201 and this body (the client's metadata, its id, and the
/// secrets shown once).
pub async fn register(core: &Core, token: Option<&str>, body: &[u8], now: i64) -> Result<Value> {
    check_initial_token(core, token)?;
    let m: Metadata = match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => {
            serde_json::from_value(v).map_err(|e| bad_metadata(format!("client metadata: {e}")))?
        }
        _ => return Err(bad_metadata("the request body must be a JSON object")),
    };
    let (spec, auth_method) = spec(m)?;
    // Tokens in an algorithm no key of this server signs with could never be issued.
    if !core.keys.current().has_alg(spec.id_token_alg) {
        return Err(bad_metadata(format!(
            "id_token_signed_response_alg {} is not offered by this server now",
            spec.id_token_alg
        )));
    }
    let (client, secret) = new_client(spec, now).map_err(|e| match e {
        RegisterError::Invalid(d) => bad_metadata(d),
        RegisterError::Store(e) => e.into(),
    })?;
    let registration_token = random_token();
    core.db
        .client_insert_registered(&client, &digest(&registration_token))
        .await?;
    core.db
        .audit_insert(&[AuditEvent::new(now, AuditKind::ClientCreated)
            .client(&client.client_id)
            .detail(json!({"protocol": "oidc", "by": "registration"}))])
        .await?;
    let mut out = metadata(core, &client, auth_method);
    if let Some(secret) = secret {
        out["client_secret"] = json!(secret);
        // RFC 7591 §3.2.1: 0, the secret does not expire.
        out["client_secret_expires_at"] = json!(0);
    }
    out["registration_access_token"] = json!(registration_token);
    Ok(out)
}

/// A registered client reads its registration with its registration access token (RFC 7592
/// §2.1; Registration 1.0 §4.2). An unknown client and a wrong token answer alike (401), so
/// the endpoint tells nothing about which client ids exist.
pub async fn read(core: &Core, client_id: &str, token: Option<&str>) -> Result<Value> {
    if core.policy.registration_token.is_none() {
        return Err(RegistrationError::Off);
    }
    let Some(token) = token else {
        return Err(RegistrationError::InvalidToken);
    };
    let stored = core.db.client_registration_token(client_id).await?;
    // Compare against a digest even when there is none, so both answers take as long.
    let expected = stored.unwrap_or_else(|| digest(&random_token()));
    if !verify_digest(token, &expected) {
        return Err(RegistrationError::InvalidToken);
    }
    let client = core
        .db
        .client_by_id(client_id)
        .await?
        .ok_or(RegistrationError::InvalidToken)?;
    let method = if client.public {
        "none"
    } else {
        "client_secret_basic"
    };
    let mut out = metadata(core, &client, method);
    if !client.public {
        out["client_secret_expires_at"] = json!(0);
    }
    Ok(out)
}

/// The registered metadata (RFC 7591 §3.2.1), as stored.
fn metadata(core: &Core, client: &Client, auth_method: &str) -> Value {
    let code = client.allows_grant(GrantType::AuthorizationCode);
    let mut out = json!({
        "client_id": client.client_id,
        "client_id_issued_at": client.created_at,
        "redirect_uris": client.redirect_uris,
        "token_endpoint_auth_method": auth_method,
        "grant_types": client.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "response_types": if code { vec!["code"] } else { vec![] },
        "scope": client.scopes.join(" "),
        "id_token_signed_response_alg": client.id_token_alg.as_str(),
        "subject_type": "public",
        "registration_client_uri": format!("{}/register/{}", core.urls.issuer, client.client_id),
    });
    if let Some(name) = &client.name {
        out["client_name"] = json!(name);
    }
    if !client.post_logout_redirect_uris.is_empty() {
        out["post_logout_redirect_uris"] = json!(client.post_logout_redirect_uris);
    }
    if let Some(uri) = &client.backchannel_logout_uri {
        out["backchannel_logout_uri"] = json!(uri);
        out["backchannel_logout_session_required"] =
            json!(client.backchannel_logout_session_required);
    }
    out
}

/// The metadata checked (RFC 7591 §2, §3.2.2; Registration 1.0 §2) and turned into a client
/// spec; with the authentication method the client asked for.
fn spec(m: Metadata) -> Result<(ClientSpec, &'static str)> {
    // RFC 7591 §2: the default is client_secret_basic; guichet takes the secret either way.
    let (public, method) = match m.token_endpoint_auth_method.as_deref() {
        None | Some("client_secret_basic") => (false, "client_secret_basic"),
        Some("client_secret_post") => (false, "client_secret_post"),
        Some("none") => (true, "none"),
        Some(other) => {
            return Err(bad_metadata(format!(
                "token_endpoint_auth_method {other:?} is not supported (client_secret_basic, \
                 client_secret_post or none)"
            )));
        }
    };
    // RFC 7591 §2: defaults authorization_code and code.
    let grant_types = m
        .grant_types
        .unwrap_or_else(|| vec!["authorization_code".into()]);
    let response_types = m.response_types.unwrap_or_else(|| vec!["code".into()]);
    for g in &grant_types {
        if GrantType::parse(g).is_none() {
            return Err(bad_metadata(format!(
                "grant type {g:?} is not supported (authorization_code, refresh_token, \
                 client_credentials)"
            )));
        }
    }
    if let Some(r) = response_types.iter().find(|r| *r != "code") {
        return Err(bad_metadata(format!(
            "response type {r:?} is not supported (code)"
        )));
    }
    // RFC 7591 §2.1: the code response type goes with the authorization_code grant, and the
    // grant with the response type.
    let code_grant = grant_types.iter().any(|g| g == "authorization_code");
    let code_response = response_types.iter().any(|r| r == "code");
    if code_grant != code_response {
        return Err(bad_metadata(
            "grant_types and response_types disagree: authorization_code goes with code \
             (RFC 7591 §2.1)",
        ));
    }
    if grant_types.is_empty() {
        return Err(bad_metadata("grant_types must not be empty"));
    }
    if code_grant && m.redirect_uris.is_empty() {
        return Err(bad_redirect_uri(
            "redirect_uris is required with the authorization_code grant",
        ));
    }
    for uri in &m.redirect_uris {
        validate_redirect_uri(uri).map_err(|e| bad_redirect_uri(e.to_string()))?;
    }
    for uri in &m.post_logout_redirect_uris {
        validate_redirect_uri(uri).map_err(|e| bad_metadata(format!("post-logout {e}")))?;
    }
    if let Some(uri) = &m.backchannel_logout_uri {
        validate_backchannel_logout_uri(uri).map_err(|e| bad_metadata(e.to_string()))?;
    } else if m.backchannel_logout_session_required {
        return Err(bad_metadata(
            "backchannel_logout_session_required needs backchannel_logout_uri",
        ));
    }
    let scopes: Vec<String> = match &m.scope {
        None => vec!["openid".into(), "profile".into(), "email".into()],
        Some(s) => s.split_whitespace().map(str::to_owned).collect(),
    };
    if scopes.is_empty() {
        return Err(bad_metadata("scope must name at least one scope"));
    }
    // Only the scopes the server knows; `admin` (the administration API) never by this route.
    if let Some(s) = scopes.iter().find(|s| !OIDC_SCOPES.contains(&s.as_str())) {
        return Err(bad_metadata(format!(
            "scope {s:?} cannot be registered here (one of {})",
            OIDC_SCOPES.join(" ")
        )));
    }
    let name = match m.client_name.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(n) if n.chars().count() > 200 || n.chars().any(char::is_control) => {
            return Err(bad_metadata(
                "client_name must be at most 200 characters, without control characters",
            ));
        }
        Some(n) => Some(n.to_owned()),
    };
    let id_token_alg = match m.id_token_signed_response_alg.as_deref() {
        None => Alg::RS256,
        Some(a @ ("RS256" | "ES256" | "EdDSA")) => Alg::parse(a).unwrap_or(Alg::RS256),
        Some(other) => {
            return Err(bad_metadata(format!(
                "id_token_signed_response_alg {other:?} is not supported (RS256, ES256 or EdDSA)"
            )));
        }
    };
    // Registration 1.0 §8: only public subject identifiers are issued.
    if m.subject_type.as_deref().is_some_and(|t| t != "public") || m.sector_identifier_uri.is_some()
    {
        return Err(bad_metadata(
            "only the public subject_type is supported (no pairwise identifiers)",
        ));
    }
    // RFC 7591 §2: jwks and jwks_uri MUST NOT both be present.
    if m.jwks.is_some() && m.jwks_uri.is_some() {
        return Err(bad_metadata("jwks and jwks_uri must not both be present"));
    }
    // Registration 1.0 §2: initiate_login_uri MUST use https.
    if m.initiate_login_uri
        .as_deref()
        .is_some_and(|u| !u.starts_with("https://"))
    {
        return Err(bad_metadata("initiate_login_uri must use https"));
    }
    if public && grant_types.iter().any(|g| g == "client_credentials") {
        return Err(bad_metadata(
            "a client without a secret (none) cannot use client_credentials",
        ));
    }
    let spec = ClientSpec {
        client_id: format!("dyn-{}", random_hex(16)),
        name,
        public,
        redirect_uris: m.redirect_uris,
        post_logout_redirect_uris: m.post_logout_redirect_uris,
        grant_types,
        scopes,
        // A self-registered application is a third party: the person consents.
        first_party: false,
        introspect: false,
        require_mfa: false,
        id_token_alg,
        access_token_alg: Alg::ES256,
        lifetimes: Lifetimes::default(),
        backchannel_logout_uri: m.backchannel_logout_uri,
        backchannel_logout_session_required: m.backchannel_logout_session_required,
    };
    Ok((spec, method))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_descriptions_keep_to_the_characters_rfc_6749_allows() {
        assert_eq!(
            description("redirect URI \"a\\b\" é\n"),
            "redirect URI 'a/b' ??"
        );
    }
}
