//! Second factors and recovery codes. Secrets arrive sealed and codes hashed: nothing here can
//! open or test them.

use sqlx::FromRow;

use super::{Db, Result, StoreError};
use crate::domain::mfa::{Factor, FactorKind};

#[derive(FromRow)]
struct FactorRow {
    user_id: String,
    kind: String,
    phone: Option<String>,
    secret: Option<String>,
    created_at: i64,
    last_used_at: Option<i64>,
}

impl TryFrom<FactorRow> for Factor {
    type Error = StoreError;

    fn try_from(r: FactorRow) -> Result<Factor> {
        Ok(Factor {
            kind: FactorKind::parse(&r.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown factor kind {}", r.kind)))?,
            user_id: r.user_id,
            phone: r.phone,
            secret: r.secret,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
        })
    }
}

impl Db {
    /// Enrols a factor, replacing the user's factor of the same kind (one transaction).
    ///
    /// One upsert statement: atomic on its own, and a concurrent enrolment of the same kind
    /// leaves one of the two whole rather than a conflict.
    pub async fn factor_put(&self, f: &Factor) -> Result<()> {
        sqlx::query(
            "insert into user_factors (user_id, kind, phone, secret, created_at, last_used_at) \
             values ($1, $2, $3, $4, $5, $6) \
             on conflict (user_id, kind) do update set phone = excluded.phone, \
             secret = excluded.secret, created_at = excluded.created_at, \
             last_used_at = excluded.last_used_at",
        )
        .bind(&f.user_id)
        .bind(f.kind.as_str())
        .bind(&f.phone)
        .bind(&f.secret)
        .bind(f.created_at)
        .bind(f.last_used_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The user's factors, ordered by kind.
    pub async fn factors_of(&self, user_id: &str) -> Result<Vec<Factor>> {
        sqlx::query_as::<_, FactorRow>(
            "select user_id, kind, phone, secret, created_at, last_used_at from user_factors \
             where user_id = $1 order by kind",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Factor::try_from)
        .collect()
    }

    /// Removes one factor; false if the user had none of that kind.
    pub async fn factor_delete(&self, user_id: &str, kind: FactorKind) -> Result<bool> {
        let done = sqlx::query("delete from user_factors where user_id = $1 and kind = $2")
            .bind(user_id)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes every factor and recovery code of the user; returns how many factors went.
    pub async fn factors_delete_all(&self, user_id: &str) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("delete from user_factors where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected())
    }

    /// Records a successful use of the factor (shown on the account page).
    pub async fn factor_used(&self, user_id: &str, kind: FactorKind, now: i64) -> Result<()> {
        sqlx::query("update user_factors set last_used_at = $1 where user_id = $2 and kind = $3")
            .bind(now)
            .bind(user_id)
            .bind(kind.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Replaces the user's recovery codes by `hashes` (one transaction).
    pub async fn recovery_codes_replace(
        &self,
        user_id: &str,
        hashes: &[String],
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if !hashes.is_empty() {
            let values: Vec<String> = (0..hashes.len())
                .map(|i| format!("($1, ${}, $2)", i + 3))
                .collect();
            let sql = format!(
                "insert into recovery_codes (user_id, code_hash, created_at) values {}",
                values.join(", ")
            );
            let mut q = sqlx::query(&sql).bind(user_id).bind(now);
            for h in hashes {
                q = q.bind(h);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Marks the unused code with this hash used; true if it was there and unused (single use
    /// even under concurrency: one UPDATE … WHERE used_at IS NULL).
    pub async fn recovery_code_use(&self, user_id: &str, hash: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "update recovery_codes set used_at = $1 \
             where user_id = $2 and code_hash = $3 and used_at is null",
        )
        .bind(now)
        .bind(user_id)
        .bind(hash)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// (codes left unused, when the set was created) — (0, None) if none.
    pub async fn recovery_codes_status(&self, user_id: &str) -> Result<(i64, Option<i64>)> {
        Ok(sqlx::query_as(
            "select (select count(*) from recovery_codes where user_id = $1 and used_at is null), \
             (select max(created_at) from recovery_codes where user_id = $1)",
        )
        .bind(user_id)
        .fetch_one(&self.pool)
        .await?)
    }
}
