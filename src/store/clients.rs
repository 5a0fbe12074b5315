//! Registered relying parties.

use sqlx::FromRow;

use super::{Db, Result, StoreError, conflict, json_list, to_json};
use crate::domain::alg::Alg;
use crate::domain::client::Client;
use crate::domain::grant::GrantType;

#[derive(FromRow)]
struct ClientRow {
    client_id: String,
    name: Option<String>,
    secret_hash: Option<String>,
    public: i64,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    grant_types: String,
    scopes: String,
    first_party: i64,
    introspect: i64,
    id_token_alg: String,
    access_token_alg: String,
    code_ttl: Option<i64>,
    access_token_ttl: Option<i64>,
    id_token_ttl: Option<i64>,
    offline_ttl: Option<i64>,
    disabled: i64,
    require_mfa: i64,
    backchannel_logout_uri: Option<String>,
    backchannel_logout_session_required: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<ClientRow> for Client {
    type Error = StoreError;

    fn try_from(r: ClientRow) -> Result<Client> {
        let alg = |s: &str| {
            Alg::parse(s).ok_or_else(|| StoreError::Corrupt(format!("unknown algorithm {s}")))
        };
        Ok(Client {
            id_token_alg: alg(&r.id_token_alg)?,
            access_token_alg: alg(&r.access_token_alg)?,
            redirect_uris: json_list(&r.redirect_uris)?,
            post_logout_redirect_uris: json_list(&r.post_logout_redirect_uris)?,
            grant_types: json_list(&r.grant_types)?
                .iter()
                .map(|g| {
                    GrantType::parse(g)
                        .ok_or_else(|| StoreError::Corrupt(format!("unknown grant type {g}")))
                })
                .collect::<Result<_>>()?,
            scopes: json_list(&r.scopes)?,
            client_id: r.client_id,
            name: r.name,
            secret_hash: r.secret_hash,
            public: r.public != 0,
            first_party: r.first_party != 0,
            introspect: r.introspect != 0,
            require_mfa: r.require_mfa != 0,
            code_ttl: r.code_ttl,
            access_token_ttl: r.access_token_ttl,
            id_token_ttl: r.id_token_ttl,
            offline_ttl: r.offline_ttl,
            backchannel_logout_uri: r.backchannel_logout_uri,
            backchannel_logout_session_required: r.backchannel_logout_session_required != 0,
            disabled: r.disabled != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const COLUMNS: &str = "client_id, name, secret_hash, public, redirect_uris, \
                       post_logout_redirect_uris, grant_types, scopes, first_party, id_token_alg, \
                       access_token_alg, code_ttl, access_token_ttl, id_token_ttl, offline_ttl, \
                       disabled, created_at, updated_at, introspect, require_mfa, \
                       backchannel_logout_uri, backchannel_logout_session_required";

impl Db {
    pub async fn client_insert(&self, c: &Client) -> Result<()> {
        self.client_insert_with(c, None).await
    }

    /// Stores a client registered at the registration endpoint, with the digest of its
    /// registration access token.
    pub async fn client_insert_registered(&self, c: &Client, token_hash: &str) -> Result<()> {
        self.client_insert_with(c, Some(token_hash)).await
    }

    async fn client_insert_with(&self, c: &Client, token_hash: Option<&str>) -> Result<()> {
        sqlx::query(
            "insert into clients (client_id, name, secret_hash, public, redirect_uris, \
             post_logout_redirect_uris, grant_types, scopes, first_party, id_token_alg, \
             access_token_alg, code_ttl, access_token_ttl, id_token_ttl, offline_ttl, disabled, \
             created_at, updated_at, introspect, require_mfa, backchannel_logout_uri, \
             backchannel_logout_session_required, registration_token_hash) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, $19, $20, $21, $22, $23)",
        )
        .bind(&c.client_id)
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(i64::from(c.public))
        .bind(to_json(&c.redirect_uris))
        .bind(to_json(&c.post_logout_redirect_uris))
        .bind(to_json(
            &c.grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect::<Vec<_>>(),
        ))
        .bind(to_json(&c.scopes))
        .bind(i64::from(c.first_party))
        .bind(c.id_token_alg.as_str())
        .bind(c.access_token_alg.as_str())
        .bind(c.code_ttl)
        .bind(c.access_token_ttl)
        .bind(c.id_token_ttl)
        .bind(c.offline_ttl)
        .bind(i64::from(c.disabled))
        .bind(c.created_at)
        .bind(c.updated_at)
        .bind(i64::from(c.introspect))
        .bind(i64::from(c.require_mfa))
        .bind(&c.backchannel_logout_uri)
        .bind(i64::from(c.backchannel_logout_session_required))
        .bind(token_hash)
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, || format!("client_id {:?}", c.client_id)))?;
        Ok(())
    }

    /// Every client, enabled or not, by id.
    pub async fn clients(&self) -> Result<Vec<Client>> {
        sqlx::query_as::<_, ClientRow>(&format!("select {COLUMNS} from clients order by client_id"))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .map(Client::try_from)
            .collect()
    }

    /// Replaces every option of a client (not its id, its creation time nor whether it is
    /// disabled, which have their own ways). `false` if there is no such client.
    pub async fn client_update(&self, c: &Client) -> Result<bool> {
        let done = sqlx::query(
            "update clients set name = $1, secret_hash = $2, public = $3, redirect_uris = $4, \
             post_logout_redirect_uris = $5, grant_types = $6, scopes = $7, first_party = $8, \
             id_token_alg = $9, access_token_alg = $10, code_ttl = $11, access_token_ttl = $12, \
             id_token_ttl = $13, offline_ttl = $14, updated_at = $15, introspect = $16, \
             require_mfa = $17, backchannel_logout_uri = $18, \
             backchannel_logout_session_required = $19 where client_id = $20",
        )
        .bind(&c.name)
        .bind(&c.secret_hash)
        .bind(i64::from(c.public))
        .bind(to_json(&c.redirect_uris))
        .bind(to_json(&c.post_logout_redirect_uris))
        .bind(to_json(
            &c.grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect::<Vec<_>>(),
        ))
        .bind(to_json(&c.scopes))
        .bind(i64::from(c.first_party))
        .bind(c.id_token_alg.as_str())
        .bind(c.access_token_alg.as_str())
        .bind(c.code_ttl)
        .bind(c.access_token_ttl)
        .bind(c.id_token_ttl)
        .bind(c.offline_ttl)
        .bind(c.updated_at)
        .bind(i64::from(c.introspect))
        .bind(i64::from(c.require_mfa))
        .bind(&c.backchannel_logout_uri)
        .bind(i64::from(c.backchannel_logout_session_required))
        .bind(&c.client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The digest of the registration access token of a client registered at the
    /// registration endpoint (`None` for any other client, or no such client).
    pub async fn client_registration_token(&self, client_id: &str) -> Result<Option<String>> {
        let hash: Option<Option<String>> =
            sqlx::query_scalar("select registration_token_hash from clients where client_id = $1")
                .bind(client_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(hash.flatten())
    }

    pub async fn client_by_id(&self, client_id: &str) -> Result<Option<Client>> {
        sqlx::query_as::<_, ClientRow>(&format!(
            "select {COLUMNS} from clients where client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await?
        .map(Client::try_from)
        .transpose()
    }

    /// The redirect URIs of every enabled client.
    pub async fn client_redirect_uris(&self) -> Result<Vec<Vec<String>>> {
        let rows: Vec<String> =
            sqlx::query_scalar("select redirect_uris from clients where disabled = 0")
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(|r| json_list(r)).collect()
    }

    /// Replaces a client's secret digest (the secret itself is never stored).
    pub async fn client_set_secret(&self, client_id: &str, hash: &str, now: i64) -> Result<bool> {
        let done = sqlx::query(
            "update clients set secret_hash = $1, updated_at = $2 where client_id = $3",
        )
        .bind(hash)
        .bind(now)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn client_set_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<bool> {
        let done =
            sqlx::query("update clients set disabled = $1, updated_at = $2 where client_id = $3")
                .bind(i64::from(disabled))
                .bind(now)
                .bind(client_id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets or clears the client's demand for a second factor at every sign-in.
    pub async fn client_set_require_mfa(
        &self,
        client_id: &str,
        on: bool,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "update clients set require_mfa = $1, updated_at = $2 where client_id = $3",
        )
        .bind(i64::from(on))
        .bind(now)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sets a client's back-channel logout URI (or clears it) and whether it needs `sid`
    /// (Back-Channel Logout 1.0 §2.2).
    pub async fn client_set_backchannel_logout(
        &self,
        client_id: &str,
        uri: Option<&str>,
        session_required: bool,
        now: i64,
    ) -> Result<bool> {
        let done = sqlx::query(
            "update clients set backchannel_logout_uri = $1, \
             backchannel_logout_session_required = $2, updated_at = $3 where client_id = $4",
        )
        .bind(uri)
        .bind(i64::from(session_required))
        .bind(now)
        .bind(client_id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Deletes a client and, by cascade, its grants, refresh tokens and consents.
    pub async fn client_delete(&self, client_id: &str) -> Result<bool> {
        let done = sqlx::query("delete from clients where client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
