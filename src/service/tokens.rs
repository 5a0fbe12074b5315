//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4), token minting, and access-token
//! verification for userinfo and introspection.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::crypto::token::{ct_eq, digest, left_half_hash, random_token};
use crate::domain::acr::acr_of;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::client::Client;
use crate::domain::grant::GrantType;
use crate::domain::scope::{OIDC_SCOPES, Scopes};
use crate::domain::user::User;
use crate::ephemeral::Ephemeral;
use crate::service::authorize::{CodeData, TOMBSTONE, code_key, valid_pkce_string};
use crate::service::core::{Core, Policy};
use crate::service::error::Error;
use crate::service::oauth::OAuthError;
use crate::store::{Db, NewGrant, RefreshOutcome, Revoked, StoreError};

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// RFC 9068 access-token claims.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub exp: i64,
    pub aud: String,
    pub sub: String,
    pub client_id: String,
    pub iat: i64,
    pub jti: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<String>,
    #[serde(default)]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amr: Option<Vec<String>>,
}

impl AccessClaims {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split(' ').any(|t| t == s)
    }
}

/// `AccessClaims` as written, borrowing what it can.
#[derive(Serialize)]
struct AccessClaimsOut<'a> {
    iss: &'a str,
    exp: i64,
    aud: &'a str,
    sub: &'a str,
    client_id: &'a str,
    iat: i64,
    jti: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    gid: Option<&'a str>,
    scope: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    amr: Option<&'a [String]>,
}

/// Who a person-token is about, for minting.
struct Subject<'a> {
    user: &'a User,
    auth_time: i64,
    amr: &'a [String],
    acr: &'a str,
    sid: Option<&'a str>,
    grant_id: &'a str,
}

/// The revocation marker of a grant's access tokens in the short-lived store.
pub fn revoked_grant_key(gid: &str) -> String {
    format!("rev:g:{gid}")
}

pub fn revoked_jti_key(jti: &str) -> String {
    format!("rev:j:{jti}")
}

/// Writes a revocation marker for each revoked grant, living as long as an access token of
/// the grant's client may: the client's own access-token lifetime, or the server's.
pub async fn mark_revoked(core: &Core, revoked: &[Revoked], now: i64) -> Result<(), Error> {
    mark_revoked_in(
        &core.db,
        core.ephemeral.as_ref(),
        &core.policy,
        revoked,
        now,
    )
    .await
}

/// As [`mark_revoked`], with the parts it needs (the CLI has no running core).
pub async fn mark_revoked_in(
    db: &Db,
    ephemeral: &dyn Ephemeral,
    policy: &Policy,
    revoked: &[Revoked],
    now: i64,
) -> Result<(), Error> {
    let mut ttls: Vec<(&str, i64)> = Vec::new();
    for r in revoked {
        let ttl = match ttls.iter().find(|(c, _)| *c == r.client_id) {
            Some((_, t)) => *t,
            None => {
                // Read from the database: a disabled client is not in the cache.
                let t = match db.client_by_id(&r.client_id).await? {
                    Some(c) => policy.access_token_ttl(&c),
                    None => policy.access_token_ttl,
                };
                ttls.push((&r.client_id, t));
                t
            }
        };
        ephemeral
            .put(&revoked_grant_key(&r.id), b"1", now + ttl)
            .await?;
    }
    Ok(())
}

fn sign<T: Serialize>(
    core: &Core,
    alg: crate::crypto::keys::Alg,
    typ: &str,
    claims: &T,
) -> Result<String, OAuthError> {
    core.keys
        .current()
        .sign(alg, Some(typ), claims)
        .map_err(OAuthError::internal)
}

fn mint_access(
    core: &Core,
    client: &Client,
    sub: &str,
    scope: &str,
    person: Option<&Subject<'_>>,
    now: i64,
) -> Result<(String, i64), OAuthError> {
    let ttl = core.policy.access_token_ttl(client);
    let jti = random_token();
    // Borrowed: minting is on the client_credentials hot path.
    let claims = AccessClaimsOut {
        iss: &core.urls.issuer,
        exp: now + ttl,
        aud: core.policy.access_token_audience.as_str(),
        sub,
        client_id: &client.client_id,
        iat: now,
        jti: &jti,
        gid: person.map(|p| p.grant_id),
        scope,
        auth_time: person.map(|p| p.auth_time),
        amr: person.map(|p| p.amr),
    };
    Ok((sign(core, client.access_token_alg, "at+jwt", &claims)?, ttl))
}

/// The standard claims a scope releases (OpenID Connect Core §5.4).
pub fn user_claims(user: &User, scopes: &Scopes, out: &mut Map<String, Value>) {
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.insert(k.to_owned(), Value::String(v.clone()));
        }
    };
    if scopes.contains("profile") {
        let name = user
            .name
            .clone()
            .or_else(|| match (&user.given_name, &user.family_name) {
                (Some(g), Some(f)) => Some(format!("{g} {f}")),
                (Some(n), None) | (None, Some(n)) => Some(n.clone()),
                (None, None) => None,
            });
        put("name", &name);
        put("given_name", &user.given_name);
        put("family_name", &user.family_name);
        put("middle_name", &user.middle_name);
        put("nickname", &user.nickname);
        put("picture", &user.picture);
        put("website", &user.website);
        put("gender", &user.gender);
        put("birthdate", &user.birthdate);
        put("zoneinfo", &user.zoneinfo);
        put("locale", &user.locale);
        out.insert(
            "preferred_username".into(),
            Value::String(user.login.clone()),
        );
        out.insert("updated_at".into(), json!(user.updated_at));
    }
    if scopes.contains("email")
        && let Some(e) = &user.email
    {
        out.insert("email".into(), Value::String(e.clone()));
        out.insert("email_verified".into(), Value::Bool(user.email_verified));
    }
    if scopes.contains("phone")
        && let Some(p) = &user.phone_number
    {
        out.insert("phone_number".into(), Value::String(p.clone()));
        out.insert(
            "phone_number_verified".into(),
            Value::Bool(user.phone_number_verified),
        );
    }
    if scopes.contains("address")
        && let Some(a) = &user.address
    {
        out.insert("address".into(), a.clone());
    }
}

fn mint_id_token(
    core: &Core,
    client: &Client,
    p: &Subject<'_>,
    issue: &Issue<'_>,
    access_token: &str,
    now: i64,
) -> Result<String, OAuthError> {
    let (scopes, nonce) = (issue.scopes, issue.nonce);
    let ttl = client.id_token_ttl.unwrap_or(core.policy.id_token_ttl);
    let mut claims = Map::new();
    claims.insert("iss".into(), json!(core.urls.issuer));
    claims.insert("sub".into(), json!(p.user.id));
    claims.insert("aud".into(), json!(client.client_id));
    claims.insert("azp".into(), json!(client.client_id));
    claims.insert("exp".into(), json!(now + ttl));
    claims.insert("iat".into(), json!(now));
    claims.insert("auth_time".into(), json!(p.auth_time));
    claims.insert("amr".into(), json!(p.amr));
    claims.insert("acr".into(), json!(p.acr));
    if let Some(sid) = p.sid {
        claims.insert("sid".into(), json!(sid));
    }
    if let Some(n) = nonce {
        claims.insert("nonce".into(), json!(n));
    }
    claims.insert("at_hash".into(), json!(left_half_hash(access_token)));
    user_claims(p.user, scopes, &mut claims);
    if let Some(e) = &issue.establishments {
        claims.insert("establishments".into(), e.clone());
    }
    sign(core, client.id_token_alg, "JWT", &claims)
}

/// `grant_type=authorization_code`.
pub async fn exchange_code(
    core: &Core,
    client: &Arc<Client>,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let code = code.ok_or_else(|| OAuthError::invalid_request("code is required"))?;
    if code.len() > 256 {
        return Err(OAuthError::invalid_grant("the code is invalid or expired"));
    }
    let now = core.now();
    let at_ttl = core.policy.access_token_ttl(client);
    let tombstone_until = now + core.policy.code_ttl.max(client.code_ttl.unwrap_or(0)) + at_ttl;
    // The code is swapped for its tombstone atomically: of two concurrent redemptions on any
    // nodes, exactly one sees the code. The tombstone names the grant the code would create.
    let key = code_key(code);
    let grant_id = grant_id_for_code(code);
    let mut tombstone = TOMBSTONE.to_vec();
    tombstone.extend_from_slice(grant_id.as_bytes());
    let previous = core
        .ephemeral
        .swap(&key, &tombstone, tombstone_until, now)
        .await?;
    let Some(previous) = previous else {
        // Neither the code nor its tombstone: never issued, expired unredeemed, or redeemed
        // and its tombstone gone (past its life, or lost with Redis' data). The grant the code
        // created tells the last apart: a replay, whose tokens are revoked (RFC 6749 §4.1.2).
        // Only this failure reads the database.
        if core.db.grant_exists(&grant_id).await? {
            return Err(code_replayed(core, client, &grant_id, now).await);
        }
        return Err(OAuthError::invalid_grant("the code is invalid or expired"));
    };
    if previous.starts_with(TOMBSTONE) {
        return Err(code_replayed(core, client, &grant_id, now).await);
    }
    let data: CodeData = serde_json::from_slice(&previous).map_err(OAuthError::internal)?;
    if data.expires_at <= now {
        return Err(OAuthError::invalid_grant("the code is invalid or expired"));
    }
    if data.client_id != client.client_id {
        return Err(OAuthError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    match redirect_uri {
        Some(r) if r == data.redirect_uri => {}
        _ => {
            return Err(OAuthError::invalid_grant(
                "redirect_uri does not match the authorization request",
            ));
        }
    }
    match (&data.code_challenge, verifier) {
        (Some(challenge), Some(v)) => {
            if !valid_pkce_string(v) {
                return Err(OAuthError::invalid_grant("code_verifier is malformed"));
            }
            let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
            if !ct_eq(&computed, challenge) {
                return Err(OAuthError::invalid_grant("code_verifier does not match"));
            }
        }
        (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
        // RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a downgrade.
        (None, Some(_)) => {
            return Err(OAuthError::invalid_grant(
                "no code_challenge was sent for this code",
            ));
        }
        (None, None) => {}
    }
    let user = core
        .db
        .user_by_id(&data.user_id)
        .await?
        .filter(|u| !u.disabled)
        .ok_or_else(|| OAuthError::invalid_grant("the user can no longer sign in"))?;

    let scopes = stored_scopes(&data.scope)?;
    let offline = scopes.contains("offline_access");
    let with_refresh = client.allows_grant(GrantType::RefreshToken);
    let offline_ttl = client.offline_ttl.unwrap_or(core.policy.offline_ttl);
    let grant_expiry = if offline {
        now + offline_ttl
    } else {
        data.session_expiry
    };
    let refresh = with_refresh.then(random_token);
    let refresh_hash = refresh.as_deref().map(digest);
    let created = core
        .db
        .grant_create(
            &NewGrant {
                id: data.grant_id.clone(),
                user_id: user.id.clone(),
                client_id: client.client_id.clone(),
                scope: data.scope.clone(),
                sid: Some(data.sid.clone()),
                auth_time: data.auth_time,
                amr: data.amr.clone(),
                offline,
                created_at: now,
                expires_at: grant_expiry,
            },
            refresh_hash.as_deref().map(|h| (h, grant_expiry)),
        )
        .await;
    match created {
        Ok(()) => {}
        // The grant this code creates exists already: the code was redeemed before and the
        // tombstone that said so is gone (Redis replicates asynchronously, so a failover can
        // lose its last writes). The grant's key in the database is the last line against a
        // second redemption: treated as the replay it is.
        Err(StoreError::Conflict(_)) => {
            return Err(code_replayed(core, client, &data.grant_id, now).await);
        }
        Err(e) => return Err(e.into()),
    }
    // A replay that raced this redemption revoked the grant before it existed: honour it.
    if core
        .ephemeral
        .any_exists(&[revoked_grant_key(&data.grant_id).as_str()], now)
        .await?
    {
        core.db.grant_revoke(&data.grant_id, now).await?;
        return Err(OAuthError::invalid_grant("the code was already used"));
    }

    let subject = Subject {
        user: &user,
        auth_time: data.auth_time,
        amr: &data.amr,
        acr: data.acr.as_deref().unwrap_or_else(|| acr_of(&data.amr)),
        sid: Some(&data.sid),
        grant_id: &data.grant_id,
    };
    let issue = Issue {
        grant_type: GrantType::AuthorizationCode,
        scopes: &scopes,
        nonce: data.nonce.as_deref(),
        refresh_token: refresh,
        establishments: establishments_claim(core, &subject.user.id, &scopes)
            .await
            .map_err(Error::from)?,
    };
    issue_person_tokens(core, client, &subject, issue, now)
}

/// What a person's token response carries besides its subject.
struct Issue<'a> {
    grant_type: GrantType,
    scopes: &'a Scopes,
    nonce: Option<&'a str>,
    refresh_token: Option<String>,
    /// The `establishments` claim, read when the scope is granted.
    establishments: Option<Value>,
}

/// The `establishments` claim of `user_id` when `scopes` grant it (one database read).
pub async fn establishments_claim(
    core: &Core,
    user_id: &str,
    scopes: &Scopes,
) -> Result<Option<Value>, StoreError> {
    if !scopes.contains("establishments") {
        return Ok(None);
    }
    let memberships = core.db.memberships_of(user_id).await?;
    Ok(Some(crate::domain::establishment::claim(&memberships)))
}

/// The token response of a person's grant, for the code exchange and the refresh alike: an
/// access token, an ID token when `openid` is granted, and the refresh token given.
fn issue_person_tokens(
    core: &Core,
    client: &Client,
    subject: &Subject<'_>,
    issue: Issue<'_>,
    now: i64,
) -> Result<TokenResponse, OAuthError> {
    let scope_str = issue.scopes.to_string();
    let (access_token, expires_in) = mint_access(
        core,
        client,
        &subject.user.id,
        &scope_str,
        Some(subject),
        now,
    )?;
    let id_token = if issue.scopes.contains("openid") {
        Some(mint_id_token(
            core,
            client,
            subject,
            &issue,
            &access_token,
            now,
        )?)
    } else {
        None
    };
    issued(issue.grant_type);
    core.audit.record(
        AuditEvent::new(now, AuditKind::TokenIssued)
            .user(&subject.user.id)
            .client(&client.client_id)
            .detail(json!({"grant_type": issue.grant_type.as_str(), "grant": subject.grant_id})),
    );
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope_str,
        refresh_token: issue.refresh_token,
        id_token,
    })
}

/// Counts a token response in `guichet_tokens_issued_total` (literal labels: a static key).
fn issued(grant_type: GrantType) {
    match grant_type {
        GrantType::AuthorizationCode => {
            metrics::counter!("guichet_tokens_issued_total", "grant_type" => "authorization_code")
        }
        GrantType::RefreshToken => {
            metrics::counter!("guichet_tokens_issued_total", "grant_type" => "refresh_token")
        }
        GrantType::ClientCredentials => {
            metrics::counter!("guichet_tokens_issued_total", "grant_type" => "client_credentials")
        }
    }
    .increment(1);
}

/// A second redemption of a code: RFC 6749 §4.1.2 — revoke what the first one issued.
///
/// The database first (the grant and its refresh tokens), so that a failing short-lived store
/// cannot leave the grant alive; then the marker for its access tokens. The first redemption may
/// still be creating the grant: it checks for the marker once the grant exists, and this side
/// revokes again after writing the marker, so whichever order the two run in, the grant ends.
/// Only the replay that found the grant live writes an audit row.
async fn code_replayed(core: &Core, client: &Client, gid: &str, now: i64) -> OAuthError {
    metrics::counter!("guichet_token_replays_total", "kind" => "authorization_code").increment(1);
    let revoke = async {
        let mut was_live = core.db.grant_revoke(gid, now).await?;
        let revoked = Revoked {
            id: gid.to_owned(),
            client_id: client.client_id.clone(),
        };
        mark_revoked(core, std::slice::from_ref(&revoked), now).await?;
        if !was_live {
            was_live = core.db.grant_revoke(gid, now).await?;
        }
        Ok::<bool, Error>(was_live)
    };
    match revoke.await {
        Ok(true) => core.audit.record(
            AuditEvent::new(now, AuditKind::CodeReplayed)
                .client(&client.client_id)
                .detail(json!({"grant": gid})),
        ),
        Ok(false) => {}
        Err(e) => return e.into(),
    }
    OAuthError::invalid_grant("the code was already used")
}

/// The grant a code creates, derived from the code so that its tombstone can be written
/// without reading the code first.
pub fn grant_id_for_code(code: &str) -> String {
    let d = Sha256::digest(format!("grant:{code}").as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&d[..16]);
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// Scopes as stored with a code or a grant: written by guichet, so a malformed value is
/// corrupt data, not a client error.
fn stored_scopes(s: &str) -> Result<Scopes, OAuthError> {
    Scopes::parse(s).map_err(|e| OAuthError::internal(format!("stored scope: {e}")))
}

/// `grant_type=refresh_token`, with rotation (RFC 9700 §4.14.2).
pub async fn refresh(
    core: &Core,
    client: &Arc<Client>,
    token: Option<&str>,
    scope_param: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use refresh tokens",
        ));
    }
    let token = token.ok_or_else(|| OAuthError::invalid_request("refresh_token is required"))?;
    let narrowed = match scope_param {
        Some(s) => {
            Some(Scopes::parse(s).map_err(|_| OAuthError::invalid_scope("malformed scope"))?)
        }
        None => None,
    };
    let now = core.now();
    if let Some(n) = &narrowed {
        // RFC 6749 §6: the scope may only narrow; checked before rotating so that a refused
        // request does not burn the token. Only a live token of this client's is compared: any
        // other falls through to the rotation, which answers invalid_grant.
        if let Some((g, _)) = core
            .db
            .refresh_lookup(&digest(token), now)
            .await?
            .filter(|(g, _)| {
                g.client_id == client.client_id
                    && !g.revoked
                    && !g.user_disabled
                    && g.expires_at > now
            })
        {
            let granted = stored_scopes(&g.scope)?;
            if !n.covered_by(granted.as_slice()) {
                return Err(OAuthError::invalid_scope(
                    "scope exceeds the original grant",
                ));
            }
        }
    }
    let new_token = random_token();
    let offline_ttl = client.offline_ttl.unwrap_or(core.policy.offline_ttl);
    let outcome = core
        .db
        .refresh_rotate(
            &digest(token),
            &digest(&new_token),
            &client.client_id,
            now,
            now + offline_ttl,
        )
        .await?;
    let (grant, user) = match outcome {
        RefreshOutcome::Rotated(rotated) => *rotated,
        RefreshOutcome::Reused { grant_id } => {
            metrics::counter!("guichet_token_replays_total", "kind" => "refresh_token")
                .increment(1);
            let revoked = Revoked {
                id: grant_id.clone(),
                client_id: client.client_id.clone(),
            };
            mark_revoked(core, std::slice::from_ref(&revoked), now).await?;
            core.audit.record(
                AuditEvent::new(now, AuditKind::RefreshReplayed)
                    .client(&client.client_id)
                    .detail(json!({"grant": grant_id})),
            );
            return Err(OAuthError::invalid_grant(
                "the refresh token was already used",
            ));
        }
        RefreshOutcome::Invalid => {
            return Err(OAuthError::invalid_grant(
                "the refresh token is invalid or expired",
            ));
        }
    };
    let granted = stored_scopes(&grant.scope)?;
    let scopes = match narrowed {
        Some(n) if !n.is_empty() && n.covered_by(granted.as_slice()) => n,
        _ => granted,
    };
    let subject = Subject {
        user: &user,
        auth_time: grant.auth_time,
        amr: &grant.amr,
        acr: acr_of(&grant.amr),
        sid: grant.sid.as_deref(),
        grant_id: &grant.id,
    };
    let issue = Issue {
        grant_type: GrantType::RefreshToken,
        scopes: &scopes,
        nonce: None,
        refresh_token: Some(new_token),
        establishments: establishments_claim(core, &subject.user.id, &scopes)
            .await
            .map_err(Error::from)?,
    };
    issue_person_tokens(core, client, &subject, issue, now)
}

/// `grant_type=client_credentials` (RFC 6749 §4.4): no database write on this path.
pub fn client_credentials(
    core: &Core,
    client: &Arc<Client>,
    scope_param: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    if client.public || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(OAuthError::unauthorized_client(
            "this client may not use client_credentials",
        ));
    }
    let api_scopes = || {
        client
            .scopes
            .iter()
            .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
    };
    let scope_str = match scope_param {
        None => api_scopes().cloned().collect::<Vec<_>>().join(" "),
        Some(s) => {
            let wanted =
                Scopes::parse(s).map_err(|_| OAuthError::invalid_scope("malformed scope"))?;
            if !wanted.iter().all(|w| api_scopes().any(|a| a == w)) {
                return Err(OAuthError::invalid_scope(
                    "a requested scope is not registered for this client",
                ));
            }
            wanted.to_string()
        }
    };
    let now = core.now();
    let (access_token, expires_in) =
        mint_access(core, client, &client.client_id, &scope_str, None, now)?;
    // Counted, written off the request path: no database write here.
    core.audit.tally_client_credentials(now, &client.client_id);
    issued(GrantType::ClientCredentials);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
        scope: scope_str,
        refresh_token: None,
        id_token: None,
    })
}
