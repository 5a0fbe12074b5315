//! Invitations (table `invitations`, migration 0007): stored with the SHA-256 of their link's
//! token, never the token. Acceptance is one transaction that claims the invitation (an update
//! that succeeds once) and gives what it carries, so a second use fails and a failed one gives
//! nothing.

use sqlx::FromRow;

use super::users::insert_user;
use super::{Db, Result, json_list, to_json};
use crate::domain::invitation::Invitation;
use crate::domain::user::NewUser;

#[derive(FromRow)]
struct InvitationRow {
    id: String,
    email: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    establishment_id: Option<String>,
    code: Option<String>,
    name: Option<String>,
    rights: String,
    admin: i64,
    invited_by: Option<String>,
    created_at: i64,
    expires_at: i64,
    accepted_at: Option<i64>,
    accepted_by: Option<String>,
    revoked_at: Option<i64>,
}

impl TryFrom<InvitationRow> for Invitation {
    type Error = super::StoreError;

    fn try_from(r: InvitationRow) -> Result<Invitation> {
        Ok(Invitation {
            rights: json_list(&r.rights)?,
            admin: r.admin != 0,
            id: r.id,
            email: r.email,
            given_name: r.given_name,
            family_name: r.family_name,
            establishment_id: r.establishment_id,
            establishment_code: r.code,
            establishment_name: r.name,
            invited_by: r.invited_by,
            created_at: r.created_at,
            expires_at: r.expires_at,
            accepted_at: r.accepted_at,
            accepted_by: r.accepted_by,
            revoked_at: r.revoked_at,
        })
    }
}

const COLUMNS: &str = "i.id, i.email, i.given_name, i.family_name, i.establishment_id, \
    e.code, e.name, i.rights, i.admin, i.invited_by, i.created_at, i.expires_at, \
    i.accepted_at, i.accepted_by, i.revoked_at \
    from invitations i left join establishments e on e.id = i.establishment_id";

/// The claim: only a pending invitation (neither used nor revoked, not expired) is taken.
const CLAIM: &str = "update invitations set accepted_at = $1, accepted_by = $2 \
    where id = $3 and accepted_at is null and revoked_at is null and expires_at > $1";

/// What accepting an invitation did.
#[derive(Debug)]
pub enum Claimed<T> {
    Done(T),
    /// Used, revoked or expired meanwhile: nothing given.
    Gone,
}

impl Db {
    /// Stores an invitation with the digest of its link's token.
    pub async fn invitation_insert(&self, i: &Invitation, token_hash: &str) -> Result<()> {
        sqlx::query(
            "insert into invitations (id, token_hash, email, given_name, family_name, \
             establishment_id, rights, admin, invited_by, created_at, expires_at) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&i.id)
        .bind(token_hash)
        .bind(&i.email)
        .bind(&i.given_name)
        .bind(&i.family_name)
        .bind(&i.establishment_id)
        .bind(to_json(&i.rights))
        .bind(i64::from(i.admin))
        .bind(&i.invited_by)
        .bind(i.created_at)
        .bind(i.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The invitation whose token has this digest (an indexed lookup by the digest: nothing
    /// is compared with the token itself).
    pub async fn invitation_by_token_hash(&self, token_hash: &str) -> Result<Option<Invitation>> {
        let sql = format!("select {COLUMNS} where i.token_hash = $1");
        sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?
            .map(Invitation::try_from)
            .transpose()
    }

    pub async fn invitation_by_id(&self, id: &str) -> Result<Option<Invitation>> {
        let sql = format!("select {COLUMNS} where i.id = $1");
        sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .map(Invitation::try_from)
            .transpose()
    }

    /// Invitations to establishments, newest first: of those in `within` (all of them with
    /// `None`); set-up links only when `within` is `None`.
    pub async fn invitations(
        &self,
        within: Option<&[String]>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Invitation>> {
        // One placeholder per id, so one statement serves both databases.
        let filter = match within {
            None => String::new(),
            Some([]) => "where 1 = 0 ".to_owned(),
            Some(ids) => {
                let marks: Vec<String> = (0..ids.len()).map(|n| format!("${}", n + 3)).collect();
                format!("where i.establishment_id in ({}) ", marks.join(", "))
            }
        };
        let sql =
            format!("select {COLUMNS} {filter}order by i.created_at desc, i.id limit $1 offset $2");
        let mut query = sqlx::query_as::<_, InvitationRow>(&sql)
            .bind(limit)
            .bind(offset);
        for id in within.unwrap_or_default() {
            query = query.bind(id);
        }
        query
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Invitation::try_from)
            .collect()
    }

    /// A new token and deadline for a pending (or expired) invitation: the old link dies.
    /// False if it was used or revoked.
    pub async fn invitation_renew(
        &self,
        id: &str,
        token_hash: &str,
        expires_at: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "update invitations set token_hash = $1, expires_at = $2 \
             where id = $3 and accepted_at is null and revoked_at is null",
        )
        .bind(token_hash)
        .bind(expires_at)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes an invitation not used yet; false if it was used or revoked already.
    pub async fn invitation_revoke(&self, id: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "update invitations set revoked_at = $1 \
             where id = $2 and accepted_at is null and revoked_at is null",
        )
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Revokes every unused set-up link; returns how many.
    pub async fn invitation_revoke_setup_links(&self, now: i64) -> Result<u64> {
        let done = sqlx::query(
            "update invitations set revoked_at = $1 \
             where establishment_id is null and admin = 1 \
             and accepted_at is null and revoked_at is null",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Accepts `invitation` for a new person in one transaction: claims it, creates the user,
    /// and gives the membership (or the global administration of a set-up link). A taken
    /// identifier is a `Conflict` and leaves the invitation pending.
    pub async fn invitation_accept_new_user(
        &self,
        invitation: &Invitation,
        new: &NewUser,
        now: i64,
    ) -> Result<Claimed<String>> {
        let mut tx = self.pool.begin().await?;
        let (user_id, _) = insert_user(&mut tx, new, now).await?;
        let claimed = sqlx::query(CLAIM)
            .bind(now)
            .bind(&user_id)
            .bind(&invitation.id)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Claimed::Gone);
        }
        give(&mut tx, invitation, &user_id, now).await?;
        tx.commit().await?;
        Ok(Claimed::Done(user_id))
    }

    /// Accepts `invitation` for an existing user in one transaction: claims it and gives the
    /// membership.
    pub async fn invitation_accept_existing(
        &self,
        invitation: &Invitation,
        user_id: &str,
        now: i64,
    ) -> Result<Claimed<()>> {
        let mut tx = self.pool.begin().await?;
        let claimed = sqlx::query(CLAIM)
            .bind(now)
            .bind(user_id)
            .bind(&invitation.id)
            .execute(&mut *tx)
            .await?;
        if claimed.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Claimed::Gone);
        }
        give(&mut tx, invitation, user_id, now).await?;
        tx.commit().await?;
        Ok(Claimed::Done(()))
    }
}

/// What an invitation carries: a membership with its rights (and its administration), or the
/// global administration of a set-up link.
async fn give(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    invitation: &Invitation,
    user_id: &str,
    now: i64,
) -> Result<()> {
    match &invitation.establishment_id {
        Some(est) => {
            sqlx::query(
                "insert into memberships \
                 (user_id, establishment_id, rights, admin, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, $5) \
                 on conflict (user_id, establishment_id) \
                 do update set rights = excluded.rights, admin = excluded.admin, \
                 updated_at = excluded.updated_at",
            )
            .bind(user_id)
            .bind(est)
            .bind(to_json(&invitation.rights))
            .bind(i64::from(invitation.admin))
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        None if invitation.admin => {
            sqlx::query(
                "insert into administrators (user_id, created_at) values ($1, $2) \
                 on conflict (user_id) do nothing",
            )
            .bind(user_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        }
        None => {}
    }
    Ok(())
}
