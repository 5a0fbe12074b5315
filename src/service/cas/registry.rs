//! The CAS service registry: registration (the CLI, later the console) and the per-node cache
//! that every `/cas` request consults.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use crate::crypto::token::random_hex;
use crate::domain::cas::{self, CasService, CompiledService, PatternKind};
use crate::store::{Db, StoreError};

/// Every node keeps the compiled list for at most `ttl` (10 s), so that a registration or a
/// disable reaches every node within that.
pub struct CasRegistry {
    ttl: Duration,
    cache: RwLock<Option<(Instant, Arc<Vec<CompiledService>>)>>,
}

impl CasRegistry {
    pub fn new(ttl: Duration) -> CasRegistry {
        CasRegistry {
            ttl,
            cache: RwLock::new(None),
        }
    }

    /// The enabled service that owns `url`, if any.
    pub async fn find(&self, db: &Db, url: &str) -> Result<Option<Arc<CasService>>, StoreError> {
        let all = self.all(db).await?;
        Ok(cas::find(&all, url).map(|c| c.service.clone()))
    }

    /// The enabled service with this id, if any.
    pub async fn by_id(&self, db: &Db, id: &str) -> Result<Option<Arc<CasService>>, StoreError> {
        let all = self.all(db).await?;
        Ok(all
            .iter()
            .find(|c| c.service.id == id && !c.service.disabled)
            .map(|c| c.service.clone()))
    }

    async fn all(&self, db: &Db) -> Result<Arc<Vec<CompiledService>>, StoreError> {
        if let Ok(guard) = self.cache.read()
            && let Some((at, list)) = guard.as_ref()
            && at.elapsed() < self.ttl
        {
            return Ok(list.clone());
        }
        let mut list = Vec::new();
        for s in db.cas_services().await? {
            match CompiledService::new(s) {
                Ok(c) => list.push(c),
                // Registration checks patterns; one that no longer compiles (a newer regex
                // engine) owns nothing rather than taking the registry down.
                Err(e) => tracing::error!(error = %e, "CAS service pattern ignored"),
            }
        }
        let list = Arc::new(list);
        if let Ok(mut guard) = self.cache.write() {
            *guard = Some((Instant::now(), list.clone()));
        }
        Ok(list)
    }

    /// Forgets the cached list (after a change made by this process).
    pub fn invalidate(&self) {
        if let Ok(mut guard) = self.cache.write() {
            *guard = None;
        }
    }
}

/// What `guichet cas-service add` asks for.
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    pub name: String,
    pub pattern: String,
    pub pattern_kind: PatternKind,
    pub attributes: Vec<String>,
    pub allow_proxy: bool,
    pub require_mfa: bool,
    pub single_logout: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Invalid(#[from] cas::ServiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Validates and stores a service under a new id (`cas-` and 16 hex digits).
pub async fn register(db: &Db, spec: ServiceSpec, now: i64) -> Result<CasService, RegisterError> {
    let mut attributes = spec.attributes;
    attributes.dedup();
    cas::validate(&spec.name, &spec.pattern, spec.pattern_kind, &attributes)?;
    let mut id = random_hex(8);
    id.insert_str(0, "cas-");
    let service = CasService {
        id,
        name: spec.name.trim().to_owned(),
        pattern: spec.pattern,
        pattern_kind: spec.pattern_kind,
        attributes,
        allow_proxy: spec.allow_proxy,
        require_mfa: spec.require_mfa,
        single_logout: spec.single_logout,
        disabled: false,
        created_at: now,
        updated_at: now,
    };
    db.cas_service_insert(&service).await?;
    Ok(service)
}

/// Changes to a service's options; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct ServiceChanges {
    pub name: Option<String>,
    pub pattern: Option<String>,
    pub pattern_kind: Option<PatternKind>,
    pub attributes: Option<Vec<String>>,
    pub allow_proxy: Option<bool>,
    pub require_mfa: Option<bool>,
    pub single_logout: Option<bool>,
    pub enabled: Option<bool>,
}

impl ServiceChanges {
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.pattern.is_none()
            && self.pattern_kind.is_none()
            && self.attributes.is_none()
            && self.allow_proxy.is_none()
            && self.require_mfa.is_none()
            && self.single_logout.is_none()
            && self.enabled.is_none()
    }
}

/// `service` with `changes`, checked as at registration (a new pattern is checked against
/// its kind, the new one or the old). Nothing is stored.
pub fn changed(
    service: &CasService,
    changes: ServiceChanges,
    now: i64,
) -> Result<CasService, RegisterError> {
    let mut s = service.clone();
    if let Some(name) = changes.name {
        s.name = name.trim().to_owned();
    }
    if let Some(p) = changes.pattern {
        s.pattern = p;
    }
    if let Some(k) = changes.pattern_kind {
        s.pattern_kind = k;
    }
    if let Some(mut a) = changes.attributes {
        a.dedup();
        s.attributes = a;
    }
    if let Some(v) = changes.allow_proxy {
        s.allow_proxy = v;
    }
    if let Some(v) = changes.require_mfa {
        s.require_mfa = v;
    }
    if let Some(v) = changes.single_logout {
        s.single_logout = v;
    }
    if let Some(v) = changes.enabled {
        s.disabled = !v;
    }
    cas::validate(&s.name, &s.pattern, s.pattern_kind, &s.attributes)?;
    s.updated_at = now;
    Ok(s)
}
