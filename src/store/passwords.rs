//! Password history, and what the self-service flows record of a person: birth date, personal
//! numbers, security question, charter acceptance, backup and redirection addresses.

use super::users::{USER_COLUMNS, UserRow};
use super::{Db, Result, StoreError, conflict};
use crate::domain::user::{User, normalize_personal_number};

impl Db {
    /// The user's previous password hashes, newest first, at most `limit`. The current hash
    /// is not among them (it is the user's own).
    pub async fn password_history(&self, user_id: &str, limit: usize) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "select hash from password_history where user_id = $1 order by seq desc limit $2",
        )
        .bind(user_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets a new password hash in one transaction: the current hash joins the history, the
    /// new one and `password_changed_at` are set (which ends the user's SSO sessions: their
    /// credential stamp changes), `must_change_password` is set as given, and the history is
    /// cut to its `keep` newest entries.
    pub async fn password_set_with_history(
        &self,
        user_id: &str,
        new_hash: &str,
        keep: usize,
        must_change: bool,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // Written first so that it takes the row's lock (PostgreSQL) or the write lock
        // (SQLite): two changes of one user's password follow each other, neither losing
        // the other's hash from the history.
        let touched = sqlx::query("update users set updated_at = $1 where id = $2")
            .bind(now)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        if touched.rows_affected() != 1 {
            return Err(StoreError::NotFound(format!("user {user_id}")));
        }
        let old: Option<String> =
            sqlx::query_scalar("select password_hash from users where id = $1")
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
        if let Some(old) = old {
            let last: i64 = sqlx::query_scalar(
                "select coalesce(max(seq), 0) from password_history where user_id = $1",
            )
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "insert into password_history (user_id, seq, hash, created_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(user_id)
            .bind(last + 1)
            .bind(&old)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            sqlx::query("delete from password_history where user_id = $1 and seq <= $2")
                .bind(user_id)
                .bind(last + 1 - i64::try_from(keep).unwrap_or(i64::MAX))
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(
            "update users set password_hash = $1, password_changed_at = $2, \
             must_change_password = $3, updated_at = $2 where id = $4",
        )
        .bind(new_hash)
        .bind(now)
        .bind(i64::from(must_change))
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets the birth date, YYYY-MM-DD (`domain::user::validate_birth_date`). False when
    /// there is no such user.
    pub async fn user_set_birth_date(&self, user_id: &str, birth_date: &str) -> Result<bool> {
        let done = sqlx::query("update users set birth_date = $1 where id = $2")
            .bind(birth_date)
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn user_birth_date(&self, user_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar::<_, Option<String>>("select birth_date from users where id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?
                .flatten(),
        )
    }

    /// Gives the user a personal number of a kind ("student", "staff"…), stored normalised.
    /// A number of that kind already given to anyone is a `Conflict` naming it.
    pub async fn user_personal_number_add(
        &self,
        user_id: &str,
        kind: &str,
        value: &str,
    ) -> Result<()> {
        insert_personal_number(&self.pool, user_id, kind, value).await
    }

    /// The user's personal numbers as (kind, normalised value), by kind.
    pub async fn user_personal_numbers(&self, user_id: &str) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "select kind, value_normalized from user_personal_numbers where user_id = $1 \
             order by kind, value_normalized",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The user who has this personal number and this birth date (both must match: the
    /// recovery flow's first step).
    pub async fn user_by_personal_number(
        &self,
        kind: &str,
        value: &str,
        birth_date: &str,
    ) -> Result<Option<User>> {
        let sql = format!(
            "select {USER_COLUMNS} from user_personal_numbers p join users u on u.id = p.user_id \
             where p.kind = $1 and p.value_normalized = $2 and u.birth_date = $3"
        );
        Ok(sqlx::query_as::<_, UserRow>(&sql)
            .bind(kind)
            .bind(normalize_personal_number(value))
            .bind(birth_date)
            .fetch_optional(&self.pool)
            .await?
            .map(User::from))
    }

    /// Sets the security question and the hash of its (normalised) answer.
    pub async fn user_set_security_question(
        &self,
        user_id: &str,
        question: &str,
        answer_hash: &str,
    ) -> Result<bool> {
        let done = sqlx::query(
            "update users set security_question = $1, security_answer_hash = $2 where id = $3",
        )
        .bind(question)
        .bind(answer_hash)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The security question and the hash of its answer, when the user has set one.
    pub async fn user_security_question(&self, user_id: &str) -> Result<Option<(String, String)>> {
        let row: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "select security_question, security_answer_hash from users where id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(match row {
            Some((Some(q), Some(a))) => Some((q, a)),
            _ => None,
        })
    }

    /// Records the acceptance of a version of the IT charter, now.
    pub async fn user_set_charter(&self, user_id: &str, version: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "update users set charter_version = $1, charter_accepted_at = $2 where id = $3",
        )
        .bind(version)
        .bind(now)
        .bind(user_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The charter version the user accepted, and when.
    pub async fn user_charter(&self, user_id: &str) -> Result<Option<(String, i64)>> {
        let row: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("select charter_version, charter_accepted_at from users where id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(match row {
            Some((Some(v), Some(at))) => Some((v, at)),
            _ => None,
        })
    }

    /// Sets the backup address (where reset links go) and the redirection of mail (`None`
    /// clears either).
    pub async fn user_set_emails(
        &self,
        user_id: &str,
        recovery: Option<&str>,
        redirect: Option<&str>,
    ) -> Result<bool> {
        let done =
            sqlx::query("update users set recovery_email = $1, redirect_email = $2 where id = $3")
                .bind(recovery)
                .bind(redirect)
                .bind(user_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The backup address and the redirection address, as (recovery, redirect).
    pub async fn user_emails(&self, user_id: &str) -> Result<(Option<String>, Option<String>)> {
        Ok(sqlx::query_as::<_, (Option<String>, Option<String>)>(
            "select recovery_email, redirect_email from users where id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await?
        .unwrap_or_default())
    }
}

/// Inserts one personal number, normalised (also within `user_insert`'s transaction).
pub(super) async fn insert_personal_number<'c, E>(
    executor: E,
    user_id: &str,
    kind: &str,
    value: &str,
) -> Result<()>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query(
        "insert into user_personal_numbers (user_id, kind, value_normalized) values ($1, $2, $3)",
    )
    .bind(user_id)
    .bind(kind)
    .bind(normalize_personal_number(value))
    .execute(executor)
    .await
    .map_err(|e| conflict(e, || format!("personal number {kind}={value}")))?;
    Ok(())
}
