//! Client registration and the per-node client cache.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::crypto::keys::Alg;
use crate::crypto::token::{digest, random_token};
use crate::domain::client::{Client, validate_backchannel_logout_uri, validate_redirect_uri};
use crate::domain::grant::GrantType;
use crate::domain::scope::valid_scope_token;
use crate::store::{Db, StoreError};

/// Clients are read on every token request: each node keeps them for at most `ttl` (10 s), so
/// a secret change or a disable reaches every node within that. Failed look-ups are not cached.
pub struct ClientCache {
    ttl: Duration,
    map: RwLock<HashMap<String, (Instant, Arc<Client>)>>,
    /// The origins of every enabled client's redirect URIs, for CORS preflights.
    origins: RwLock<Option<(Instant, Arc<HashSet<String>>)>>,
}

impl ClientCache {
    pub fn new(ttl: Duration) -> ClientCache {
        ClientCache {
            ttl,
            map: RwLock::new(HashMap::new()),
            origins: RwLock::new(None),
        }
    }

    /// The enabled client with that id, from the cache or the database.
    pub async fn get(&self, db: &Db, client_id: &str) -> Result<Option<Arc<Client>>, StoreError> {
        if let Ok(map) = self.map.read()
            && let Some((at, c)) = map.get(client_id)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(c.clone()));
        }
        let Some(client) = db.client_by_id(client_id).await? else {
            return Ok(None);
        };
        if client.disabled {
            return Ok(None);
        }
        let client = Arc::new(client);
        if let Ok(mut map) = self.map.write() {
            // Bounded: unknown ids are never inserted, so the map holds registered clients only.
            map.insert(client_id.to_owned(), (Instant::now(), client.clone()));
        }
        Ok(Some(client))
    }
}

impl ClientCache {
    /// Whether `origin` is the origin of a redirect URI of any enabled client.
    pub async fn origin_known(&self, db: &Db, origin: &str) -> Result<bool, StoreError> {
        if let Ok(guard) = self.origins.read()
            && let Some((at, set)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(set.contains(origin));
        }
        let mut set = HashSet::new();
        for uris in db.client_redirect_uris().await? {
            for uri in uris {
                if let Ok(u) = url::Url::parse(&uri) {
                    set.insert(u.origin().ascii_serialization());
                }
            }
        }
        let known = set.contains(origin);
        if let Ok(mut guard) = self.origins.write() {
            *guard = Some((Instant::now(), Arc::new(set)));
        }
        Ok(known)
    }
}

/// What `guichet client add` asks for.
#[derive(Debug, Clone)]
pub struct ClientSpec {
    pub client_id: String,
    pub name: Option<String>,
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: Vec<String>,
    pub first_party: bool,
    /// A resource server, allowed to introspect other clients' access tokens.
    pub introspect: bool,
    /// Everyone who signs in to it passes a second factor.
    pub require_mfa: bool,
    pub id_token_alg: Alg,
    pub access_token_alg: Alg,
    /// Per-client lifetimes in seconds; `None` takes the server's setting.
    pub lifetimes: Lifetimes,
    /// Where logout tokens are posted when a session the client took part in ends
    /// (Back-Channel Logout 1.0 §2.2).
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens.
    pub backchannel_logout_session_required: bool,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Lifetimes {
    pub code: Option<i64>,
    pub access_token: Option<i64>,
    pub id_token: Option<i64>,
    pub offline: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and stores a client. Returns the secret (printed once, stored as a digest) for
/// confidential clients.
pub async fn register(
    db: &Db,
    spec: ClientSpec,
    now: i64,
) -> Result<(Client, Option<String>), RegisterError> {
    let (client, secret) = new_client(spec, now)?;
    db.client_insert(&client).await?;
    Ok((client, secret))
}

/// The client `spec` describes, checked as at registration, with a fresh secret for a
/// confidential client (returned beside it, stored only as a digest). Nothing is stored.
pub fn new_client(spec: ClientSpec, now: i64) -> Result<(Client, Option<String>), RegisterError> {
    check_client_id(&spec.client_id)?;
    let secret = (!spec.public).then(random_token);
    let client = checked(spec, secret.as_deref().map(digest), now, now)?;
    Ok((client, secret))
}

fn check_client_id(client_id: &str) -> Result<(), RegisterError> {
    if client_id.is_empty()
        || client_id.len() > 255
        || !client_id
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b':')
    {
        return Err(RegisterError::Invalid(
            "client_id must be 1–255 visible ASCII characters without ':'".into(),
        ));
    }
    Ok(())
}

/// What a client's options say, as a spec: what an update starts from.
impl From<&Client> for ClientSpec {
    fn from(c: &Client) -> ClientSpec {
        ClientSpec {
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            public: c.public,
            redirect_uris: c.redirect_uris.clone(),
            post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
            grant_types: c
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            scopes: c.scopes.clone(),
            first_party: c.first_party,
            introspect: c.introspect,
            require_mfa: c.require_mfa,
            id_token_alg: c.id_token_alg,
            access_token_alg: c.access_token_alg,
            lifetimes: Lifetimes {
                code: c.code_ttl,
                access_token: c.access_token_ttl,
                id_token: c.id_token_ttl,
                offline: c.offline_ttl,
            },
            backchannel_logout_uri: c.backchannel_logout_uri.clone(),
            backchannel_logout_session_required: c.backchannel_logout_session_required,
        }
    }
}

/// Changes to a client's options; `None` keeps what is there. For the options that may be
/// unset (the name, the lifetimes, the back-channel logout URI), `Some(None)` unsets them (a
/// lifetime then follows the server's setting again).
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub name: Option<Option<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    /// Public (no secret, PKCE) or confidential; becoming confidential issues a secret.
    pub public: Option<bool>,
    pub first_party: Option<bool>,
    pub introspect: Option<bool>,
    pub require_mfa: Option<bool>,
    pub id_token_alg: Option<Alg>,
    pub access_token_alg: Option<Alg>,
    pub code_ttl: Option<Option<i64>>,
    pub access_token_ttl: Option<Option<i64>>,
    pub id_token_ttl: Option<Option<i64>>,
    pub offline_ttl: Option<Option<i64>>,
    pub backchannel_logout_uri: Option<Option<String>>,
    pub backchannel_logout_session_required: Option<bool>,
}

impl ClientChanges {
    pub fn is_empty(&self) -> bool {
        let ClientChanges {
            name,
            redirect_uris,
            post_logout_redirect_uris,
            grant_types,
            scopes,
            public,
            first_party,
            introspect,
            require_mfa,
            id_token_alg,
            access_token_alg,
            code_ttl,
            access_token_ttl,
            id_token_ttl,
            offline_ttl,
            backchannel_logout_uri,
            backchannel_logout_session_required,
        } = self;
        name.is_none()
            && redirect_uris.is_none()
            && post_logout_redirect_uris.is_none()
            && grant_types.is_none()
            && scopes.is_none()
            && public.is_none()
            && first_party.is_none()
            && introspect.is_none()
            && require_mfa.is_none()
            && id_token_alg.is_none()
            && access_token_alg.is_none()
            && code_ttl.is_none()
            && access_token_ttl.is_none()
            && id_token_ttl.is_none()
            && offline_ttl.is_none()
            && backchannel_logout_uri.is_none()
            && backchannel_logout_session_required.is_none()
    }

    fn apply(self, s: &mut ClientSpec) {
        fn put<T>(to: &mut T, v: Option<T>) {
            if let Some(v) = v {
                *to = v;
            }
        }
        put(&mut s.name, self.name);
        put(&mut s.redirect_uris, self.redirect_uris);
        put(
            &mut s.post_logout_redirect_uris,
            self.post_logout_redirect_uris,
        );
        put(&mut s.grant_types, self.grant_types);
        put(&mut s.scopes, self.scopes);
        put(&mut s.public, self.public);
        put(&mut s.first_party, self.first_party);
        put(&mut s.introspect, self.introspect);
        put(&mut s.require_mfa, self.require_mfa);
        put(&mut s.id_token_alg, self.id_token_alg);
        put(&mut s.access_token_alg, self.access_token_alg);
        put(&mut s.lifetimes.code, self.code_ttl);
        put(&mut s.lifetimes.access_token, self.access_token_ttl);
        put(&mut s.lifetimes.id_token, self.id_token_ttl);
        put(&mut s.lifetimes.offline, self.offline_ttl);
        // Without a URI there is no session to require: clearing the URI clears the flag
        // unless the change asks for it (which the check then refuses).
        if matches!(self.backchannel_logout_uri, Some(None))
            && self.backchannel_logout_session_required.is_none()
        {
            s.backchannel_logout_session_required = false;
        }
        put(&mut s.backchannel_logout_uri, self.backchannel_logout_uri);
        put(
            &mut s.backchannel_logout_session_required,
            self.backchannel_logout_session_required,
        );
    }
}

/// `client` with `changes`, checked by the rules of registration. A client that becomes
/// confidential gets a new secret (returned once); one that becomes public loses its secret.
/// Nothing is stored.
pub fn changed_client(
    client: &Client,
    changes: ClientChanges,
    now: i64,
) -> Result<(Client, Option<String>), RegisterError> {
    let mut spec = ClientSpec::from(client);
    changes.apply(&mut spec);
    let (secret_hash, secret) = match (client.public, spec.public) {
        (_, true) => (None, None),
        (true, false) => {
            let secret = random_token();
            (Some(digest(&secret)), Some(secret))
        }
        (false, false) => (client.secret_hash.clone(), None),
    };
    let mut updated = checked(spec, secret_hash, client.created_at, now)?;
    updated.disabled = client.disabled;
    Ok((updated, secret))
}

/// The rules every client follows, at registration and at each change; the client they make.
fn checked(
    mut spec: ClientSpec,
    secret_hash: Option<String>,
    created_at: i64,
    now: i64,
) -> Result<Client, RegisterError> {
    let bad = |s: String| Err(RegisterError::Invalid(s));
    let mut grant_types: Vec<GrantType> = Vec::new();
    for g in &spec.grant_types {
        let Some(g) = GrantType::parse(g) else {
            let all: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            return bad(format!(
                "unknown grant type {g:?} (one of {})",
                all.join(", ")
            ));
        };
        if !grant_types.contains(&g) {
            grant_types.push(g);
        }
    }
    if grant_types.is_empty() {
        grant_types = vec![GrantType::AuthorizationCode, GrantType::RefreshToken];
    }
    if spec.public && grant_types.contains(&GrantType::ClientCredentials) {
        return bad("a public client cannot use client_credentials".into());
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && spec.redirect_uris.is_empty() {
        return bad("--redirect-uri is required with the authorization_code grant".into());
    }
    for uri in spec
        .redirect_uris
        .iter()
        .chain(&spec.post_logout_redirect_uris)
    {
        validate_redirect_uri(uri).map_err(|e| RegisterError::Invalid(e.to_string()))?;
    }
    if let Some(uri) = &spec.backchannel_logout_uri {
        validate_backchannel_logout_uri(uri).map_err(|e| RegisterError::Invalid(e.to_string()))?;
    }
    if spec.backchannel_logout_session_required && spec.backchannel_logout_uri.is_none() {
        return bad("--backchannel-logout-session-required needs --backchannel-logout-uri".into());
    }
    if spec.scopes.is_empty() {
        spec.scopes = vec!["openid".into(), "profile".into(), "email".into()];
    }
    for s in &spec.scopes {
        if !valid_scope_token(s) {
            return bad(format!(
                "scope {s:?} has characters RFC 6749 §3.3 does not allow"
            ));
        }
    }
    let l = spec.lifetimes;
    for (name, v) in [
        ("--code-ttl", l.code),
        ("--access-token-ttl", l.access_token),
        ("--id-token-ttl", l.id_token),
        ("--offline-ttl", l.offline),
    ] {
        if v.is_some_and(|v| v <= 0) {
            return bad(format!("{name} must be a positive number of seconds"));
        }
    }
    if l.code.is_some_and(|v| v > 600) {
        // RFC 6749 §4.1.2: at most 10 minutes.
        return bad("--code-ttl must be at most 600 seconds".into());
    }
    Ok(Client {
        client_id: spec.client_id,
        name: spec.name,
        secret_hash,
        public: spec.public,
        redirect_uris: spec.redirect_uris,
        post_logout_redirect_uris: spec.post_logout_redirect_uris,
        grant_types,
        scopes: spec.scopes,
        first_party: spec.first_party,
        introspect: spec.introspect,
        require_mfa: spec.require_mfa,
        id_token_alg: spec.id_token_alg,
        access_token_alg: spec.access_token_alg,
        code_ttl: l.code,
        access_token_ttl: l.access_token,
        id_token_ttl: l.id_token,
        offline_ttl: l.offline,
        backchannel_logout_uri: spec.backchannel_logout_uri,
        backchannel_logout_session_required: spec.backchannel_logout_session_required,
        disabled: false,
        created_at,
        updated_at: now,
    })
}

/// Client authentication (RFC 6749 §2.3.1): the enabled client `client_id` if `secret` is
/// its secret (compared as digests in constant time), or if it is a public client and no
/// secret came. Anything else is `invalid_client`.
pub async fn authenticate(
    core: &crate::service::core::Core,
    client_id: &str,
    secret: Option<&str>,
) -> Result<Arc<Client>, crate::service::oauth::OAuthError> {
    use crate::service::oauth::OAuthError;
    let client = core
        .clients
        .get(&core.db, client_id)
        .await?
        .ok_or_else(OAuthError::invalid_client)?;
    let ok = match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) => crate::crypto::token::verify_digest(secret, hash),
        (None, None) => client.public,
        _ => false,
    };
    if ok {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client())
    }
}

/// Whether `origin` is the origin of a redirect URI of any enabled client (CORS preflights).
pub async fn origin_known(
    core: &crate::service::core::Core,
    origin: &str,
) -> Result<bool, StoreError> {
    core.clients.origin_known(&core.db, origin).await
}
