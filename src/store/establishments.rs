//! Establishments and memberships.

use sqlx::FromRow;

use super::{Db, Result, conflict, json_list, to_json};
use crate::domain::establishment::{Establishment, Membership};

#[derive(FromRow)]
struct EstablishmentRow {
    id: String,
    code: String,
    name: String,
    rights: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<EstablishmentRow> for Establishment {
    type Error = super::StoreError;

    fn try_from(r: EstablishmentRow) -> Result<Establishment> {
        Ok(Establishment {
            rights: json_list(&r.rights)?,
            id: r.id,
            code: r.code,
            name: r.name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(FromRow)]
struct MembershipRow {
    establishment_id: String,
    code: String,
    name: String,
    rights: String,
    admin: i64,
}

impl Db {
    pub async fn establishment_insert(&self, e: &Establishment) -> Result<()> {
        sqlx::query(
            "insert into establishments (id, code, name, rights, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&e.id)
        .bind(&e.code)
        .bind(&e.name)
        .bind(to_json(&e.rights))
        .bind(e.created_at)
        .bind(e.updated_at)
        .execute(&self.pool)
        .await
        .map_err(|err| conflict(err, || format!("establishment code {:?}", e.code)))?;
        Ok(())
    }

    pub async fn establishment_by_code(&self, code: &str) -> Result<Option<Establishment>> {
        sqlx::query_as::<_, EstablishmentRow>(
            "select id, code, name, rights, created_at, updated_at from establishments \
             where code = $1",
        )
        .bind(code)
        .fetch_optional(&self.pool)
        .await?
        .map(Establishment::try_from)
        .transpose()
    }

    pub async fn establishments(&self) -> Result<Vec<Establishment>> {
        sqlx::query_as::<_, EstablishmentRow>(
            "select id, code, name, rights, created_at, updated_at from establishments \
             order by code",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(Establishment::try_from)
        .collect()
    }

    /// Replaces an establishment's name and list of rights; rights no longer defined are
    /// taken from its members in the same transaction.
    pub async fn establishment_update(&self, e: &Establishment, now: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "update establishments set name = $1, rights = $2, updated_at = $3 where id = $4",
        )
        .bind(&e.name)
        .bind(to_json(&e.rights))
        .bind(now)
        .bind(&e.id)
        .execute(&mut *tx)
        .await?;
        let members: Vec<(String, String)> =
            sqlx::query_as("select user_id, rights from memberships where establishment_id = $1")
                .bind(&e.id)
                .fetch_all(&mut *tx)
                .await?;
        for (user_id, rights) in members {
            let held = json_list(&rights)?;
            let kept: Vec<String> = held
                .iter()
                .filter(|r| e.rights.contains(r))
                .cloned()
                .collect();
            if kept.len() != held.len() {
                sqlx::query(
                    "update memberships set rights = $1, updated_at = $2 \
                     where user_id = $3 and establishment_id = $4",
                )
                .bind(to_json(&kept))
                .bind(now)
                .bind(&user_id)
                .bind(&e.id)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(done.rows_affected() == 1)
    }

    /// Makes `user_id` a member of `establishment_id` with exactly `rights`, administering it
    /// or not (a new membership, or new rights for an existing one).
    pub async fn membership_put(
        &self,
        user_id: &str,
        establishment_id: &str,
        rights: &[String],
        admin: bool,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "insert into memberships \
             (user_id, establishment_id, rights, admin, created_at, updated_at) \
             values ($1, $2, $3, $4, $5, $5) \
             on conflict (user_id, establishment_id) \
             do update set rights = excluded.rights, admin = excluded.admin, \
             updated_at = excluded.updated_at",
        )
        .bind(user_id)
        .bind(establishment_id)
        .bind(to_json(rights))
        .bind(i64::from(admin))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn membership_delete(&self, user_id: &str, establishment_id: &str) -> Result<bool> {
        let done =
            sqlx::query("delete from memberships where user_id = $1 and establishment_id = $2")
                .bind(user_id)
                .bind(establishment_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// A user's memberships, by establishment code.
    pub async fn memberships_of(&self, user_id: &str) -> Result<Vec<Membership>> {
        sqlx::query_as::<_, MembershipRow>(
            "select m.establishment_id, e.code, e.name, m.rights, m.admin from memberships m \
             join establishments e on e.id = m.establishment_id \
             where m.user_id = $1 order by e.code",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .map(|r| {
            Ok(Membership {
                rights: json_list(&r.rights)?,
                admin: r.admin != 0,
                establishment_id: r.establishment_id,
                code: r.code,
                name: r.name,
            })
        })
        .collect()
    }

    /// The logins of an establishment's members, with their rights.
    pub async fn establishment_members(
        &self,
        establishment_id: &str,
    ) -> Result<Vec<(String, String, Vec<String>)>> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "select u.id, u.login, m.rights from memberships m join users u on u.id = m.user_id \
             where m.establishment_id = $1 order by u.login",
        )
        .bind(establishment_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|(id, login, rights)| Ok((id, login, json_list(&rights)?)))
            .collect()
    }

    /// Makes `user_id` a global administrator (again: no error).
    pub async fn administrator_put(&self, user_id: &str, now: i64) -> Result<()> {
        sqlx::query(
            "insert into administrators (user_id, created_at) values ($1, $2) \
             on conflict (user_id) do nothing",
        )
        .bind(user_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn administrator_delete(&self, user_id: &str) -> Result<bool> {
        let done = sqlx::query("delete from administrators where user_id = $1")
            .bind(user_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// How far a user's administration reaches: whether they are a global administrator, and
    /// the ids of the establishments they administer. One round trip.
    pub async fn administration_of(&self, user_id: &str) -> Result<(bool, Vec<String>)> {
        let rows: Vec<(String,)> = sqlx::query_as(
            "select '' from administrators where user_id = $1 \
             union all \
             select establishment_id from memberships where user_id = $1 and admin = 1",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?;
        let global = rows.iter().any(|(id,)| id.is_empty());
        let ids = rows
            .into_iter()
            .map(|(id,)| id)
            .filter(|id| !id.is_empty())
            .collect();
        Ok((global, ids))
    }

    /// Global administrators, as (id, login).
    pub async fn administrators(&self) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "select u.id, u.login from administrators a join users u on u.id = a.user_id \
             order by u.login",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether any administrator exists (an empty database offers the set-up link).
    pub async fn has_administrator(&self) -> Result<bool> {
        let (n,): (i64,) = sqlx::query_as("select count(*) from administrators")
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }
}
