//! Users and their login identifiers.

use sqlx::FromRow;

use super::passwords::insert_personal_number;
use super::{Db, Result, StoreError, conflict};
use crate::domain::user::{NewUser, User, identifier_kind, normalize_identifier};

#[derive(FromRow)]
pub(super) struct UserRow {
    id: String,
    login: String,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    middle_name: Option<String>,
    nickname: Option<String>,
    email: Option<String>,
    email_verified: i64,
    phone_number: Option<String>,
    phone_number_verified: i64,
    address: Option<String>,
    birthdate: Option<String>,
    locale: Option<String>,
    zoneinfo: Option<String>,
    picture: Option<String>,
    website: Option<String>,
    gender: Option<String>,
    category: Option<String>,
    password_hash: Option<String>,
    must_change_password: i64,
    password_changed_at: Option<i64>,
    sessions_revoked_at: Option<i64>,
    disabled: i64,
    created_at: i64,
    updated_at: i64,
}

pub(super) const USER_COLUMNS: &str = "u.id, u.login, u.name, u.given_name, u.family_name, u.middle_name, \
    u.nickname, u.email, u.email_verified, u.phone_number, u.phone_number_verified, u.address, \
    u.birthdate, u.locale, u.zoneinfo, u.picture, u.website, u.gender, u.category, \
    u.password_hash, u.must_change_password, u.password_changed_at, u.sessions_revoked_at, u.disabled, u.created_at, \
    u.updated_at";

impl From<UserRow> for User {
    fn from(r: UserRow) -> User {
        User {
            id: r.id,
            login: r.login,
            name: r.name,
            given_name: r.given_name,
            family_name: r.family_name,
            middle_name: r.middle_name,
            nickname: r.nickname,
            email: r.email,
            email_verified: r.email_verified != 0,
            phone_number: r.phone_number,
            phone_number_verified: r.phone_number_verified != 0,
            address: r.address.and_then(|a| serde_json::from_str(&a).ok()),
            birthdate: r.birthdate,
            locale: r.locale,
            zoneinfo: r.zoneinfo,
            picture: r.picture,
            website: r.website,
            gender: r.gender,
            category: r.category,
            password_hash: r.password_hash,
            must_change_password: r.must_change_password != 0,
            password_changed_at: r.password_changed_at,
            sessions_revoked_at: r.sessions_revoked_at,
            disabled: r.disabled != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl Db {
    /// Creates a user with its login and extra identifiers in one transaction. An identifier
    /// already used by anyone (in any kind) is a `Conflict` naming it.
    pub async fn user_insert(&self, new: &NewUser, now: i64) -> Result<(User, Vec<String>)> {
        let mut tx = self.pool.begin().await?;
        let (id, stored) = insert_user(&mut tx, new, now).await?;
        tx.commit().await?;
        let user = self
            .user_by_id(&id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
        Ok((user, stored))
    }

    /// The user any of whose identifiers normalises to `normalized`.
    pub async fn user_by_identifier(&self, normalized: &str) -> Result<Option<User>> {
        let sql = format!(
            "select {USER_COLUMNS} from user_identifiers i join users u on u.id = i.user_id \
             where i.normalized = $1"
        );
        Ok(sqlx::query_as::<_, UserRow>(&sql)
            .bind(normalized)
            .fetch_optional(&self.pool)
            .await?
            .map(User::from))
    }

    /// The names a user signs in with, as (kind, value), login first.
    pub async fn user_identifiers(&self, user_id: &str) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "select kind, value from user_identifiers where user_id = $1 \
             order by case kind when 'login' then 0 when 'email' then 1 else 2 end, value",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<User>> {
        let sql = format!("select {USER_COLUMNS} from users u where u.id = $1");
        Ok(sqlx::query_as::<_, UserRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(User::from))
    }

    /// Sets or clears the disabled flag. Disabling also marks the time from which the user's
    /// SSO sessions are over (their credential stamp changes), so enabling again brings none
    /// back.
    pub async fn user_set_disabled(&self, id: &str, disabled: bool, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "update users set disabled = $1, updated_at = $2, \
             sessions_revoked_at = case when $1 = 1 then $2 else sessions_revoked_at end \
             where id = $3",
        )
        .bind(i64::from(disabled))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes one identifier of a user (never the login: its kind is `login`); returns
    /// whether one was removed.
    pub async fn user_identifier_delete(&self, user_id: &str, normalized: &str) -> Result<bool> {
        let done = sqlx::query(
            "delete from user_identifiers where user_id = $1 and normalized = $2 \
             and kind <> 'login'",
        )
        .bind(user_id)
        .bind(normalized)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds an identifier to a user (an e-mail address or a number); one used by anyone is a
    /// `Conflict`.
    pub async fn user_identifier_insert(&self, user_id: &str, value: &str, now: i64) -> Result<()> {
        sqlx::query(
            "insert into user_identifiers (normalized, user_id, kind, value, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(normalize_identifier(value))
        .bind(user_id)
        .bind(identifier_kind(value))
        .bind(value)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || format!("identifier {value:?}")))?;
        Ok(())
    }

    /// Writes a user's profile (the names, e-mail address, phone number, category and locale
    /// of `user`) and, when the address changed, moves its identifier in the same
    /// transaction: the old address no longer signs in, the new one does (a `Conflict` if it
    /// is someone else's).
    pub async fn user_update_profile(
        &self,
        user: &User,
        old_email: Option<&str>,
        now: i64,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "update users set name = $1, given_name = $2, family_name = $3, email = $4, \
             email_verified = $5, phone_number = $6, phone_number_verified = $7, \
             category = $8, locale = $9, updated_at = $10 where id = $11",
        )
        .bind(&user.name)
        .bind(&user.given_name)
        .bind(&user.family_name)
        .bind(&user.email)
        .bind(i64::from(user.email_verified))
        .bind(&user.phone_number)
        .bind(i64::from(user.phone_number_verified))
        .bind(&user.category)
        .bind(&user.locale)
        .bind(now)
        .bind(&user.id)
        .execute(&mut *tx)
        .await?;
        let old = old_email.map(normalize_identifier);
        let new = user.email.as_deref().map(normalize_identifier);
        if old != new {
            if let Some(old) = &old {
                sqlx::query(
                    "delete from user_identifiers where user_id = $1 and normalized = $2 \
                     and kind = 'email'",
                )
                .bind(&user.id)
                .bind(old)
                .execute(&mut *tx)
                .await?;
            }
            if let (Some(normalized), Some(value)) = (&new, &user.email) {
                // The user may already have it as an identifier: then it stays as it is.
                let (taken,): (i64,) = sqlx::query_as(
                    "select count(*) from user_identifiers where normalized = $1 and user_id = $2",
                )
                .bind(normalized)
                .bind(&user.id)
                .fetch_one(&mut *tx)
                .await?;
                if taken == 0 {
                    sqlx::query(
                        "insert into user_identifiers \
                         (normalized, user_id, kind, value, created_at) \
                         values ($1, $2, 'email', $3, $4)",
                    )
                    .bind(normalized)
                    .bind(&user.id)
                    .bind(value)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, || format!("identifier {value:?}")))?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a user and, by the tables' cascades, their identifiers, factors, grants, refresh
    /// tokens, consents, password history and memberships. The audit trail names the id and
    /// stays.
    pub async fn user_delete(&self, id: &str) -> Result<bool> {
        let done = sqlx::query("delete from users where id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Users whose login, identifiers, name or e-mail address contain `needle` (already
    /// normalised: lower-case), by login; at most `limit`, after `offset`.
    pub async fn users_search(
        &self,
        needle: &str,
        within: Option<&[String]>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<User>> {
        // LIKE's own characters in the needle are matched literally.
        let escaped: String = needle
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        let pattern = format!("%{escaped}%");
        // Only members of these establishments (an establishment administrator's search): one
        // placeholder per id, so one statement serves both databases.
        let within_sql = match within {
            None => String::new(),
            Some(ids) => {
                let marks: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 4)).collect();
                let marks = if marks.is_empty() {
                    "null".to_owned()
                } else {
                    marks.join(", ")
                };
                format!(
                    "and exists (select 1 from memberships m where m.user_id = u.id \
                     and m.establishment_id in ({marks})) "
                )
            }
        };
        let sql = format!(
            "select {USER_COLUMNS} from users u where \
             (lower(u.login) like $1 escape '\\' \
             or lower(coalesce(u.email, '')) like $1 escape '\\' \
             or lower(coalesce(u.name, '')) like $1 escape '\\' \
             or lower(coalesce(u.given_name, '') || ' ' || coalesce(u.family_name, '')) \
                like $1 escape '\\' \
             or exists (select 1 from user_identifiers i where i.user_id = u.id \
                and i.normalized like $1 escape '\\')) {within_sql}\
             order by u.login limit $2 offset $3"
        );
        let mut query = sqlx::query_as::<_, UserRow>(&sql)
            .bind(pattern)
            .bind(limit)
            .bind(offset);
        for id in within.unwrap_or_default() {
            query = query.bind(id);
        }
        Ok(query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(User::from)
            .collect())
    }

    /// Sets the flag that makes the next sign-in ask for a new password first.
    pub async fn user_require_password_change(&self, id: &str, now: i64) -> Result<bool> {
        let done =
            sqlx::query("update users set must_change_password = 1, updated_at = $1 where id = $2")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }
}

/// Inserts a user with its login and identifiers within `tx` (`user_insert`, and an
/// invitation accepted by a new person); returns the new id and the identifiers stored.
pub(super) async fn insert_user(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    new: &NewUser,
    now: i64,
) -> Result<(String, Vec<String>)> {
    let id = uuid::Uuid::new_v4().to_string();
    sqlx::query(
        "insert into users (id, login, email, email_verified, given_name, family_name, \
         phone_number, category, password_hash, created_at, updated_at, \
         must_change_password, birth_date) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&id)
    .bind(&new.login)
    .bind(&new.email)
    .bind(i64::from(new.email_verified))
    .bind(&new.given_name)
    .bind(&new.family_name)
    .bind(&new.phone_number)
    .bind(&new.category)
    .bind(&new.password_hash)
    .bind(now)
    .bind(now)
    .bind(i64::from(new.must_change_password))
    .bind(&new.birth_date)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, || format!("login {:?}", new.login)))?;
    for (kind, value) in &new.personal_numbers {
        insert_personal_number(&mut **tx, &id, kind, value).await?;
    }

    let mut identifiers: Vec<(String, &str, &str)> = vec![(
        normalize_identifier(&new.login),
        "login",
        new.login.as_str(),
    )];
    if let Some(email) = &new.email {
        identifiers.push((normalize_identifier(email), "email", email.as_str()));
    }
    for extra in &new.identifiers {
        identifiers.push((
            normalize_identifier(extra),
            identifier_kind(extra),
            extra.as_str(),
        ));
    }
    // The same identifier given twice for one user (login equal to e-mail…) is stored once.
    identifiers.sort_by(|a, b| a.0.cmp(&b.0));
    identifiers.dedup_by(|a, b| a.0 == b.0);
    let mut stored = Vec::with_capacity(identifiers.len());
    for (normalized, kind, value) in identifiers {
        sqlx::query(
            "insert into user_identifiers (normalized, user_id, kind, value, created_at) \
             values ($1, $2, $3, $4, $5)",
        )
        .bind(&normalized)
        .bind(&id)
        .bind(kind)
        .bind(value)
        .bind(now)
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict(e, || format!("identifier {value:?}")))?;
        stored.push(value.to_owned());
    }
    Ok((id, stored))
}
