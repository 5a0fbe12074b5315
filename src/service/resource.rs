//! What resource servers and clients ask of issued tokens: access-token verification (for
//! userinfo and introspection), revocation (RFC 7009) and introspection (RFC 7662).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::crypto::token::digest;
use crate::domain::client::Client;
use crate::domain::scope::Scopes;
use crate::service::core::Core;
use crate::service::error::Error;
use crate::service::tokens::{
    AccessClaims, mark_revoked, revoked_grant_key, revoked_jti_key, user_claims,
};
use crate::store::Revoked;

/// A live access token and the (enabled) client it was issued to.
#[derive(Debug)]
pub struct Bearer {
    pub claims: AccessClaims,
    pub client: Arc<Client>,
}

/// Why an access token was refused.
#[derive(Debug)]
pub enum BearerError {
    Invalid,
    Internal(Error),
}

impl From<Error> for BearerError {
    fn from(e: Error) -> BearerError {
        BearerError::Internal(e)
    }
}

/// Verifies an access token: our signature, `typ` at+jwt, issuer, audience, expiry by the
/// injected clock, no revocation marker for its grant or `jti` (one store round trip), and a
/// client that is still enabled (a disabled client's tokens are refused while it is).
pub async fn verify_access_token(
    core: &Core,
    token: &str,
    now: i64,
) -> Result<Bearer, BearerError> {
    let (typ, claims): (Option<String>, AccessClaims) = core
        .keys
        .current()
        .verify(token)
        .map_err(|_| BearerError::Invalid)?;
    if typ.as_deref() != Some("at+jwt")
        || claims.iss != core.urls.issuer
        || claims.aud != core.policy.access_token_audience.as_str()
        || claims.exp <= now
    {
        return Err(BearerError::Invalid);
    }
    let jti_key = revoked_jti_key(&claims.jti);
    let gid_key = claims.gid.as_deref().map(revoked_grant_key);
    let mut keys: Vec<&str> = vec![jti_key.as_str()];
    if let Some(k) = &gid_key {
        keys.push(k);
    }
    if core
        .ephemeral
        .any_exists(&keys, now)
        .await
        .map_err(Error::from)?
    {
        return Err(BearerError::Invalid);
    }
    let client = core
        .clients
        .get(&core.db, &claims.client_id)
        .await
        .map_err(Error::from)?
        .ok_or(BearerError::Invalid)?;
    Ok(Bearer { claims, client })
}

/// RFC 7009: revoking a refresh token revokes its grant (and the grant's access tokens);
/// revoking an access token revokes its `jti`. Unknown tokens and other clients' tokens
/// change nothing (the endpoint answers 200 all the same).
pub async fn revoke(core: &Core, client: &Client, token: &str, now: i64) -> Result<(), Error> {
    if token.len() <= 64
        && let Some((grant, _)) = core.db.refresh_lookup(&digest(token), now).await?
    {
        if grant.client_id == client.client_id && core.db.grant_revoke(&grant.id, now).await? {
            let revoked = Revoked {
                id: grant.id,
                client_id: grant.client_id,
            };
            mark_revoked(core, std::slice::from_ref(&revoked), now).await?;
        }
        return Ok(());
    }
    match verify_access_token(core, token, now).await {
        Ok(b) if b.claims.client_id == client.client_id => {
            core.ephemeral
                .put(&revoked_jti_key(&b.claims.jti), b"1", b.claims.exp)
                .await?;
            Ok(())
        }
        Ok(_) | Err(BearerError::Invalid) => Ok(()),
        Err(BearerError::Internal(e)) => Err(e),
    }
}

/// RFC 7662 §2.2: the metadata of a live token, or `None` for anything else. A client may
/// introspect its own tokens; a client registered as a resource server (`introspect`) may
/// introspect any client's (§4: others learn nothing of tokens not theirs).
pub async fn introspect(
    core: &Core,
    caller: &Client,
    token: &str,
    now: i64,
) -> Result<Option<Value>, Error> {
    let may_see = |client_id: &str| caller.introspect || client_id == caller.client_id;
    match verify_access_token(core, token, now).await {
        Ok(Bearer { claims, .. }) => {
            if !may_see(&claims.client_id) {
                return Ok(None);
            }
            match core.db.user_by_id(&claims.sub).await? {
                // client_credentials tokens are about the client, not a user.
                None if claims.gid.is_none() => {}
                Some(u) if !u.disabled => {}
                _ => return Ok(None),
            }
            let mut body = json!({
                "active": true,
                "scope": claims.scope,
                "client_id": claims.client_id,
                "token_type": "Bearer",
                "exp": claims.exp,
                "iat": claims.iat,
                "sub": claims.sub,
                "aud": claims.aud,
                "iss": claims.iss,
                "jti": claims.jti,
            });
            if let Some(t) = claims.auth_time {
                body["auth_time"] = json!(t);
            }
            return Ok(Some(body));
        }
        Err(BearerError::Internal(e)) => return Err(e),
        Err(BearerError::Invalid) => {}
    }
    if token.len() <= 64
        && let Some((g, exp)) = core.db.refresh_lookup(&digest(token), now).await?
        && may_see(&g.client_id)
        && !g.revoked
        && !g.user_disabled
        && core.clients.get(&core.db, &g.client_id).await?.is_some()
    {
        return Ok(Some(json!({
            "active": true,
            "scope": g.scope,
            "client_id": g.client_id,
            "exp": exp,
            "sub": g.user_id,
            "iss": core.urls.issuer,
        })));
    }
    Ok(None)
}

/// What UserInfo (OpenID Connect Core §5.3) answers a valid access token.
pub enum UserInfo {
    /// `sub` and the claims the token's scopes release, and the client (for CORS).
    Claims { body: Value, client: Arc<Client> },
    /// The token was not issued with `openid`.
    InsufficientScope,
}

/// The claims about the token's user (an enabled user only).
pub async fn userinfo(core: &Core, token: &str, now: i64) -> Result<UserInfo, BearerError> {
    let Bearer { claims, client } = verify_access_token(core, token, now).await?;
    if !claims.has_scope("openid") {
        return Ok(UserInfo::InsufficientScope);
    }
    let user = match core.db.user_by_id(&claims.sub).await.map_err(Error::from)? {
        Some(u) if !u.disabled => u,
        _ => return Err(BearerError::Invalid),
    };
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    let mut body = Map::new();
    body.insert("sub".into(), Value::String(user.id.clone()));
    user_claims(&user, &scopes, &mut body);
    if let Some(e) = crate::service::tokens::establishments_claim(core, &user.id, &scopes)
        .await
        .map_err(Error::from)?
    {
        body.insert("establishments".into(), e);
    }
    Ok(UserInfo::Claims {
        body: Value::Object(body),
        client,
    })
}
