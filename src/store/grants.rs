//! Grants, their rotating refresh tokens, and remembered consents.

use sqlx::FromRow;

use super::users::{USER_COLUMNS, UserRow};
use super::{Backend, Db, Result, StoreError, conflict, json_list, to_json};
use crate::domain::user::User;

/// A grant as created when an authorization code is redeemed.
#[derive(Debug, Clone)]
pub struct NewGrant {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub offline: bool,
    pub created_at: i64,
    pub expires_at: i64,
}

#[derive(Debug, Clone)]
pub struct GrantRow {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub sid: Option<String>,
    pub auth_time: i64,
    pub amr: Vec<String>,
    pub offline: bool,
    pub expires_at: i64,
    pub revoked: bool,
    pub user_disabled: bool,
}

#[derive(FromRow)]
struct GrantSql {
    id: String,
    user_id: String,
    client_id: String,
    scope: String,
    sid: Option<String>,
    auth_time: i64,
    amr: String,
    offline: i64,
    expires_at: i64,
    revoked_at: Option<i64>,
    user_disabled: i64,
}

impl TryFrom<GrantSql> for GrantRow {
    type Error = StoreError;
    fn try_from(g: GrantSql) -> Result<GrantRow> {
        Ok(GrantRow {
            amr: json_list(&g.amr)?,
            id: g.id,
            user_id: g.user_id,
            client_id: g.client_id,
            scope: g.scope,
            sid: g.sid,
            auth_time: g.auth_time,
            offline: g.offline != 0,
            expires_at: g.expires_at,
            revoked: g.revoked_at.is_some(),
            user_disabled: g.user_disabled != 0,
        })
    }
}

#[derive(FromRow)]
struct GrantWithUser {
    grant_id: String,
    grant_client_id: String,
    grant_scope: String,
    grant_sid: Option<String>,
    grant_auth_time: i64,
    grant_amr: String,
    grant_offline: i64,
    grant_expires_at: i64,
    grant_revoked_at: Option<i64>,
    #[sqlx(flatten)]
    user: UserRow,
}

fn grant_with_user(row: GrantWithUser) -> Result<(GrantRow, User)> {
    let user = User::from(row.user);
    let grant = GrantRow {
        id: row.grant_id,
        user_id: user.id.clone(),
        client_id: row.grant_client_id,
        scope: row.grant_scope,
        sid: row.grant_sid,
        auth_time: row.grant_auth_time,
        amr: json_list(&row.grant_amr)?,
        offline: row.grant_offline != 0,
        expires_at: row.grant_expires_at,
        revoked: row.grant_revoked_at.is_some(),
        user_disabled: user.disabled,
    };
    Ok((grant, user))
}

/// A grant just revoked: its id and its client (whose access-token lifetime says how long the
/// revocation marker must live).
#[derive(Debug, Clone, FromRow)]
pub struct Revoked {
    pub id: String,
    pub client_id: String,
}

/// What presenting a refresh token came to.
#[derive(Debug)]
pub enum RefreshOutcome {
    /// The token was live: it is now used and `new_hash` replaces it. With the grant's user.
    Rotated(Box<(GrantRow, User)>),
    /// The token had already been used: the whole grant is now revoked (RFC 9700 §4.14.2).
    Reused { grant_id: String },
    /// Unknown, expired, revoked, another client's, or its user is disabled.
    Invalid,
}

impl Db {
    /// Creates a grant and, if given, its first refresh token, in one transaction.
    pub async fn grant_create(&self, g: &NewGrant, refresh: Option<(&str, i64)>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "insert into grants (id, user_id, client_id, scope, sid, auth_time, amr, offline, \
             created_at, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(&g.id)
        .bind(&g.user_id)
        .bind(&g.client_id)
        .bind(&g.scope)
        .bind(&g.sid)
        .bind(g.auth_time)
        .bind(to_json(&g.amr))
        .bind(i64::from(g.offline))
        .bind(g.created_at)
        .bind(g.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, || format!("grant {}", g.id)))?;
        if let Some((hash, expires_at)) = refresh {
            sqlx::query(
                "insert into refresh_tokens (token_hash, grant_id, created_at, expires_at) \
                 values ($1, $2, $3, $4)",
            )
            .bind(hash)
            .bind(&g.id)
            .bind(g.created_at)
            .bind(expires_at)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Rotates a refresh token atomically: marks `old_hash` used (only if it was not), checks
    /// its grant, and stores `new_hash`. The new token of an offline grant lives until
    /// `offline_expiry` (sliding); a session-bound one until the grant's end.
    ///
    /// On PostgreSQL the usual case is one statement (one round trip); anything else, and
    /// SQLite, takes the transaction below, which also tells a replay from an invalid token.
    pub async fn refresh_rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        client_id: &str,
        now: i64,
        offline_expiry: i64,
    ) -> Result<RefreshOutcome> {
        if self.backend == Backend::Postgres
            && let Some(rotated) = self
                .refresh_rotate_one_statement(old_hash, new_hash, client_id, now, offline_expiry)
                .await?
        {
            return Ok(RefreshOutcome::Rotated(Box::new(rotated)));
        }
        let new_expiry = |g: &GrantRow| {
            if g.offline {
                offline_expiry
            } else {
                g.expires_at
            }
        };
        let mut tx = self.pool.begin().await?;
        let grant_id: Option<String> = sqlx::query_scalar(
            "update refresh_tokens set used_at = $1 \
             where token_hash = $2 and used_at is null and expires_at > $3 returning grant_id",
        )
        .bind(now)
        .bind(old_hash)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(grant_id) = grant_id else {
            let used: Option<(String, Option<i64>)> = sqlx::query_as(
                "select grant_id, used_at from refresh_tokens where token_hash = $1",
            )
            .bind(old_hash)
            .fetch_optional(&mut *tx)
            .await?;
            return match used {
                Some((grant_id, Some(_))) => {
                    // Only the client the grant belongs to can trigger the revocation.
                    let done = sqlx::query(
                        "update grants set revoked_at = $1 \
                         where id = $2 and client_id = $3 and revoked_at is null",
                    )
                    .bind(now)
                    .bind(&grant_id)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    if done.rows_affected() == 1 {
                        Ok(RefreshOutcome::Reused { grant_id })
                    } else {
                        Ok(RefreshOutcome::Invalid)
                    }
                }
                _ => Ok(RefreshOutcome::Invalid),
            };
        };
        // The grant and its user in one read: the new tokens need the user's claims.
        let sql = format!(
            "select g.id as grant_id, g.client_id as grant_client_id, g.scope as grant_scope, \
             g.sid as grant_sid, g.auth_time as grant_auth_time, g.amr as grant_amr, \
             g.offline as grant_offline, g.expires_at as grant_expires_at, \
             g.revoked_at as grant_revoked_at, {USER_COLUMNS} \
             from grants g join users u on u.id = g.user_id where g.id = $1"
        );
        let row: Option<GrantWithUser> = sqlx::query_as(&sql)
            .bind(&grant_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            return Ok(RefreshOutcome::Invalid);
        };
        let (grant, user) = grant_with_user(row)?;
        if grant.revoked
            || grant.user_disabled
            || grant.client_id != client_id
            || grant.expires_at <= now
        {
            // Rolling back leaves the token as it was: presenting another client's token
            // must not burn it.
            tx.rollback().await?;
            return Ok(RefreshOutcome::Invalid);
        }
        let expires_at = new_expiry(&grant);
        sqlx::query(
            "insert into refresh_tokens (token_hash, grant_id, created_at, expires_at) \
             values ($1, $2, $3, $4)",
        )
        .bind(new_hash)
        .bind(&grant.id)
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        if grant.offline {
            sqlx::query("update grants set expires_at = $1 where id = $2")
                .bind(expires_at)
                .bind(&grant.id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(RefreshOutcome::Rotated(Box::new((grant, user))))
    }

    /// PostgreSQL's data-modifying CTEs do the whole rotation of a live token in one statement;
    /// `None` when the token is not live for this client (the caller then finds out why).
    async fn refresh_rotate_one_statement(
        &self,
        old_hash: &str,
        new_hash: &str,
        client_id: &str,
        now: i64,
        offline_expiry: i64,
    ) -> Result<Option<(GrantRow, User)>> {
        let sql = format!(
            "with used as ( \
                 update refresh_tokens t set used_at = $1 \
                 from grants g join users u on u.id = g.user_id \
                 where t.token_hash = $2 and t.used_at is null and t.expires_at > $1 \
                   and g.id = t.grant_id and g.revoked_at is null and g.client_id = $3 \
                   and g.expires_at > $1 and u.disabled = 0 \
                 returning g.id as grant_id, g.client_id as grant_client_id, \
                   g.scope as grant_scope, g.sid as grant_sid, g.auth_time as grant_auth_time, \
                   g.amr as grant_amr, g.offline as grant_offline, \
                   case when g.offline = 1 then $4 else g.expires_at end as grant_expires_at, \
                   g.revoked_at as grant_revoked_at, {USER_COLUMNS}), \
             fresh as ( \
                 insert into refresh_tokens (token_hash, grant_id, created_at, expires_at) \
                 select $5, grant_id, $1, grant_expires_at from used), \
             slide as ( \
                 update grants set expires_at = $4 \
                 where id in (select grant_id from used where grant_offline = 1)) \
             select * from used"
        );
        let row: Option<GrantWithUser> = sqlx::query_as(&sql)
            .bind(now)
            .bind(old_hash)
            .bind(client_id)
            .bind(offline_expiry)
            .bind(new_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(grant_with_user).transpose()
    }

    /// The grant behind a refresh token and the token's expiry, if the token is live (unused
    /// and unexpired).
    pub async fn refresh_lookup(&self, hash: &str, now: i64) -> Result<Option<(GrantRow, i64)>> {
        #[derive(FromRow)]
        struct WithToken {
            #[sqlx(flatten)]
            grant: GrantSql,
            token_expires_at: i64,
        }
        let sql =
            "select g.id, g.user_id, g.client_id, g.scope, g.sid, g.auth_time, g.amr, g.offline, \
             g.expires_at, g.revoked_at, u.disabled as user_disabled, \
             t.expires_at as token_expires_at \
             from grants g join users u on u.id = g.user_id \
             join refresh_tokens t on t.grant_id = g.id \
             where t.token_hash = $1 and t.used_at is null and t.expires_at > $2"
                .to_string();
        let row: Option<WithToken> = sqlx::query_as(&sql)
            .bind(hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((GrantRow::try_from(r.grant)?, r.token_expires_at)))
            .transpose()
    }

    /// Whether a grant with this id was ever created (and not yet cleaned up), revoked or not.
    pub async fn grant_exists(&self, id: &str) -> Result<bool> {
        let row: Option<i32> = sqlx::query_scalar("select 1 from grants where id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Revokes one grant; returns whether it was live.
    pub async fn grant_revoke(&self, id: &str, now: i64) -> Result<bool> {
        let done =
            sqlx::query("update grants set revoked_at = $1 where id = $2 and revoked_at is null")
                .bind(now)
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes the session-bound (not offline) grants of an SSO session; returns each one's
    /// id and client.
    pub async fn grants_revoke_for_session(&self, sid: &str, now: i64) -> Result<Vec<Revoked>> {
        Ok(sqlx::query_as(
            "update grants set revoked_at = $1 \
             where sid = $2 and offline = 0 and revoked_at is null returning id, client_id",
        )
        .bind(now)
        .bind(sid)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The clients that hold a grant of an SSO session, offline or not, revoked or not: those
    /// to tell when it ends (Back-Channel Logout 1.0 §2.5), each once.
    pub async fn grant_clients_for_session(&self, sid: &str) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "select distinct client_id from grants where sid = $1 order by client_id",
        )
        .bind(sid)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes every live grant of a user (password change, disable); returns each one's id
    /// and client.
    pub async fn grants_revoke_for_user(&self, user_id: &str, now: i64) -> Result<Vec<Revoked>> {
        Ok(sqlx::query_as(
            "update grants set revoked_at = $1 where user_id = $2 and revoked_at is null \
             returning id, client_id",
        )
        .bind(now)
        .bind(user_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes every live grant of a client (disable); returns their ids.
    pub async fn grants_revoke_for_client(
        &self,
        client_id: &str,
        now: i64,
    ) -> Result<Vec<Revoked>> {
        Ok(sqlx::query_as(
            "update grants set revoked_at = $1 where client_id = $2 and revoked_at is null \
             returning id, client_id",
        )
        .bind(now)
        .bind(client_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// The scopes a user has consented to for a client.
    pub async fn consent_get(&self, user_id: &str, client_id: &str) -> Result<Option<Vec<String>>> {
        let scopes: Option<String> =
            sqlx::query_scalar("select scopes from consents where user_id = $1 and client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        scopes.map(|s| json_list(&s)).transpose()
    }

    /// Remembers the consent (replacing the previous set with `scopes`).
    pub async fn consent_put(
        &self,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "insert into consents (user_id, client_id, scopes, granted_at) values ($1, $2, $3, $4) \
             on conflict (user_id, client_id) do update set scopes = excluded.scopes, \
             granted_at = excluded.granted_at",
        )
        .bind(user_id)
        .bind(client_id)
        .bind(to_json(scopes))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
