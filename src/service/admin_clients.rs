//! Administration of the applications: OpenID Connect clients and CAS services, registered,
//! read, changed and removed by global administrators only (`Admin::check_global`). Every
//! change is audited with the actor, and reaches every node within the client cache's (and
//! the CAS registry's) 10 s: they re-read the database after that.

use serde_json::{Value, json};

use crate::domain::alg::Alg;
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::cas::CasService;
use crate::domain::client::Client;
use crate::service::admin::{Admin, AdminError};
use crate::service::cas::registry::{self, ServiceChanges, ServiceSpec};
use crate::service::clients::{self, ClientChanges, ClientSpec, RegisterError};
use crate::store::StoreError;

type Result<T> = std::result::Result<T, AdminError>;

impl From<RegisterError> for AdminError {
    fn from(e: RegisterError) -> AdminError {
        match e {
            RegisterError::Invalid(m) => AdminError::Invalid(m),
            RegisterError::Store(e) => store_error(e),
        }
    }
}

impl From<registry::RegisterError> for AdminError {
    fn from(e: registry::RegisterError) -> AdminError {
        match e {
            registry::RegisterError::Invalid(e) => AdminError::Invalid(e.to_string()),
            registry::RegisterError::Store(e) => store_error(e),
        }
    }
}

/// A taken id is the administrator's mistake, not the server's.
fn store_error(e: StoreError) -> AdminError {
    match e {
        StoreError::Conflict(what) => AdminError::Invalid(format!("{what} is already taken")),
        e => e.into(),
    }
}

impl Admin<'_> {
    /// Registers a client; returns it, and its secret (confidential clients) to be shown once:
    /// only its digest is stored.
    pub async fn register_client(
        &self,
        spec: ClientSpec,
        now: i64,
    ) -> Result<(Client, Option<String>)> {
        self.check_global()?;
        self.check_signing_keys(&[spec.id_token_alg, spec.access_token_alg])?;
        let (client, secret) = clients::register(self.db, spec, now).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::ClientCreated)
                .client(&client.client_id)
                .detail(json!({"protocol": "oidc"})),
        )
        .await?;
        Ok((client, secret))
    }

    /// One client, enabled or not (never its secret: only a digest is stored).
    pub async fn client(&self, client_id: &str) -> Result<Client> {
        self.check_global()?;
        self.db
            .client_by_id(client_id)
            .await?
            .ok_or_else(|| no_client(client_id))
    }

    /// Every client, enabled or not, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        self.check_global()?;
        Ok(self.db.clients().await?)
    }

    /// Changes any of a client's options, under the rules of registration (exact redirect
    /// URIs, RFC 8252 loopback and private-use schemes, grant types and their needs,
    /// lifetimes…). A client made confidential gets a secret, returned once; one made public
    /// loses its secret. Every node applies the change within its client cache's 10 s.
    pub async fn update_client(
        &self,
        client_id: &str,
        changes: ClientChanges,
        now: i64,
    ) -> Result<(Client, Option<String>)> {
        self.check_global()?;
        if changes.is_empty() {
            return Err(AdminError::Invalid("nothing to change".into()));
        }
        let algs = [changes.id_token_alg, changes.access_token_alg];
        self.check_signing_keys(&algs.into_iter().flatten().collect::<Vec<_>>())?;
        let before = self.client(client_id).await?;
        let (after, secret) = clients::changed_client(&before, changes, now)?;
        if !self.db.client_update(&after).await? {
            return Err(no_client(client_id));
        }
        let mut changed = changed_fields(&before, &after);
        if before.secret_hash != after.secret_hash {
            changed.push("secret".into());
        }
        self.audit(
            AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(client_id)
                .detail(json!({"changed": changed})),
        )
        .await?;
        Ok((after, secret))
    }

    /// A client given an algorithm that no key of the keys folder signs with would get
    /// `server_error` at every token request: refused, saying what to run first.
    fn check_signing_keys(&self, algs: &[Alg]) -> Result<()> {
        let Some(have) = self.signing_algs else {
            return Ok(());
        };
        match algs.iter().find(|a| !have.contains(**a)) {
            None => Ok(()),
            Some(a) => Err(AdminError::Invalid(format!(
                "no {a} key in the keys folder: run `guichet keys rotate --alg {a}` and copy \
                 the new file to every node first"
            ))),
        }
    }

    /// Registers a CAS service under a new id (`cas-…`).
    pub async fn register_cas_service(&self, spec: ServiceSpec, now: i64) -> Result<CasService> {
        self.check_global()?;
        let service = registry::register(self.db, spec, now).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::ClientCreated)
                .client(&service.id)
                .detail(json!({"protocol": "cas"})),
        )
        .await?;
        Ok(service)
    }

    /// One CAS service, enabled or not.
    pub async fn cas_service(&self, id: &str) -> Result<CasService> {
        self.check_global()?;
        self.db
            .cas_service_by_id(id)
            .await?
            .ok_or_else(|| no_service(id))
    }

    /// Every CAS service, enabled or not, in registration order.
    pub async fn cas_services(&self) -> Result<Vec<CasService>> {
        self.check_global()?;
        Ok(self.db.cas_services().await?)
    }

    /// Changes any of a service's options (name, pattern and its kind, released attributes,
    /// proxying, second factor, single logout, enabled), checked as at registration. Every
    /// node applies it within its registry's 10 s.
    pub async fn update_cas_service(
        &self,
        id: &str,
        changes: ServiceChanges,
        now: i64,
    ) -> Result<CasService> {
        self.check_global()?;
        if changes.is_empty() {
            return Err(AdminError::Invalid("nothing to change".into()));
        }
        let before = self.cas_service(id).await?;
        let after = registry::changed(&before, changes, now)?;
        if !self.db.cas_service_update(&after).await? {
            return Err(no_service(id));
        }
        let changed = changed_fields(&before, &after);
        self.audit(
            AuditEvent::new(now, AuditKind::CasServiceUpdated)
                .client(id)
                .detail(json!({"changed": changed, "disabled": after.disabled})),
        )
        .await?;
        Ok(after)
    }

    /// Removes a CAS service for good: its URLs get the error page, no ticket, on every node
    /// within 10 s.
    pub async fn remove_cas_service(&self, id: &str, now: i64) -> Result<()> {
        self.check_global()?;
        if !self.db.cas_service_delete(id).await? {
            return Err(no_service(id));
        }
        self.audit(
            AuditEvent::new(now, AuditKind::CasServiceUpdated)
                .client(id)
                .detail(json!({"removed": true})),
        )
        .await
    }
}

/// The names of the options that differ (as serialised: never a secret), for the audit row.
fn changed_fields<T: serde::Serialize>(before: &T, after: &T) -> Vec<String> {
    let (Ok(Value::Object(b)), Ok(Value::Object(a))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| k.as_str() != "updated_at" && b.get(k.as_str()) != Some(v))
        .map(|(k, _)| k.clone())
        .collect()
}

fn no_client(client_id: &str) -> AdminError {
    AdminError::NotFound(format!("no client {client_id:?}"))
}

fn no_service(id: &str) -> AdminError {
    AdminError::NotFound(format!("no CAS service {id:?}"))
}
