//! Registered CAS services, beside the OpenID Connect clients.

use sqlx::FromRow;

use super::{Db, Result, StoreError, conflict, json_list, to_json};
use crate::domain::cas::{CasService, PatternKind};

#[derive(FromRow)]
struct ServiceRow {
    id: String,
    name: String,
    pattern: String,
    pattern_kind: String,
    attributes: String,
    allow_proxy: i64,
    require_mfa: i64,
    single_logout: i64,
    disabled: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ServiceRow> for CasService {
    type Error = StoreError;

    fn try_from(r: ServiceRow) -> Result<CasService> {
        Ok(CasService {
            pattern_kind: PatternKind::parse(&r.pattern_kind).ok_or_else(|| {
                StoreError::Corrupt(format!("unknown pattern kind {}", r.pattern_kind))
            })?,
            attributes: json_list(&r.attributes)?,
            id: r.id,
            name: r.name,
            pattern: r.pattern,
            allow_proxy: r.allow_proxy != 0,
            require_mfa: r.require_mfa != 0,
            single_logout: r.single_logout != 0,
            disabled: r.disabled != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "id, name, pattern, pattern_kind, attributes, allow_proxy, require_mfa, \
                       single_logout, disabled, created_at, updated_at";

impl Db {
    pub async fn cas_service_insert(&self, s: &CasService) -> Result<()> {
        sqlx::query(&format!(
            "insert into cas_services ({COLUMNS}) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.pattern)
        .bind(s.pattern_kind.as_str())
        .bind(to_json(&s.attributes))
        .bind(i64::from(s.allow_proxy))
        .bind(i64::from(s.require_mfa))
        .bind(i64::from(s.single_logout))
        .bind(i64::from(s.disabled))
        .bind(s.created_at)
        .bind(s.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || format!("CAS service {:?}", s.id)))?;
        Ok(())
    }

    /// Every registered service, enabled or not, in registration order.
    pub async fn cas_services(&self) -> Result<Vec<CasService>> {
        sqlx::query_as::<_, ServiceRow>(&format!(
            "select {COLUMNS} from cas_services order by created_at, id"
        ))
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(CasService::try_from)
        .collect()
    }

    pub async fn cas_service_by_id(&self, id: &str) -> Result<Option<CasService>> {
        sqlx::query_as::<_, ServiceRow>(&format!(
            "select {COLUMNS} from cas_services where id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .map(CasService::try_from)
        .transpose()
    }

    pub async fn cas_service_set_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool> {
        let done =
            sqlx::query("update cas_services set disabled = $1, updated_at = $2 where id = $3")
                .bind(i64::from(disabled))
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Replaces every option of a service (not its id nor its creation time). `false` if
    /// there is no such service.
    pub async fn cas_service_update(&self, s: &CasService) -> Result<bool> {
        let done = sqlx::query(
            "update cas_services set name = $1, pattern = $2, pattern_kind = $3, \
             attributes = $4, allow_proxy = $5, require_mfa = $6, single_logout = $7, \
             disabled = $8, updated_at = $9 where id = $10",
        )
        .bind(&s.name)
        .bind(&s.pattern)
        .bind(s.pattern_kind.as_str())
        .bind(to_json(&s.attributes))
        .bind(i64::from(s.allow_proxy))
        .bind(i64::from(s.require_mfa))
        .bind(i64::from(s.single_logout))
        .bind(i64::from(s.disabled))
        .bind(s.updated_at)
        .bind(&s.id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn cas_service_delete(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("delete from cas_services where id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
