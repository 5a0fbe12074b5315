//! Administration: what `guichet user …` and `guichet client …` do, and what an admin console
//! will do. One rule each for ending a user's sessions and grants, and a client's. Each action
//! writes its audit row at once (they are rare, and must not be lost).

use crate::crypto::token::{digest, random_token};
use crate::domain::admin::{Actor, Principal, Reach};
use crate::domain::alg::{Alg, AlgSet};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::client::validate_backchannel_logout_uri;
use crate::domain::mfa::mask_phone;
use crate::domain::user::{User, normalize_identifier};
use crate::ephemeral::Ephemeral;
use crate::service::core::{Core, Policy};
use crate::service::error::Error;
use crate::service::lockout;
use crate::service::password;
use crate::service::tokens::mark_revoked_in;
use crate::store::Db;

/// What an administrative action needs: the database, the short-lived store shared with the
/// servers (Redis; with the in-process store, a local one whose markers reach no server), and
/// the token policy.
pub struct Admin<'a> {
    pub db: &'a Db,
    pub ephemeral: &'a dyn Ephemeral,
    pub policy: &'a Policy,
    /// Who acts: every method checks its reach (`domain::admin`), and audit rows name it.
    pub actor: &'a Actor,
    /// The algorithms the keys folder has a key for, which a client's tokens may use; `None`
    /// when the folder is not made yet (its first start makes a key of every algorithm).
    pub signing_algs: Option<AlgSet>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    /// Beyond the actor's reach (an establishment administrator asking for what only a global
    /// administrator may do, or about another establishment).
    #[error("{0}")]
    Forbidden(String),
    /// Already taken (an identifier, a code, a client id).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Service(#[from] Error),
}

impl From<crate::store::StoreError> for AdminError {
    fn from(e: crate::store::StoreError) -> AdminError {
        match e {
            crate::store::StoreError::Conflict(what) => {
                AdminError::Conflict(format!("{what} is already taken"))
            }
            e => AdminError::Service(e.into()),
        }
    }
}

type Result<T> = std::result::Result<T, AdminError>;

/// The reach of a person's administration, `None` if they administer nothing.
pub async fn actor_for_user(db: &Db, user: &User) -> Result<Option<Actor>> {
    if user.disabled {
        return Ok(None);
    }
    let (global, establishments) = db.administration_of(&user.id).await?;
    let reach = if global {
        Reach::All
    } else if establishments.is_empty() {
        return Ok(None);
    } else {
        Reach::Establishments(establishments)
    };
    Ok(Some(Actor {
        principal: Principal::User(user.id.clone()),
        reach,
    }))
}

impl<'a> Admin<'a> {
    /// The administration of a running server, for `actor`.
    pub fn new(core: &'a Core, actor: &'a Actor) -> Admin<'a> {
        Admin {
            db: &core.db,
            ephemeral: core.ephemeral.as_ref(),
            policy: &core.policy,
            actor,
            signing_algs: {
                let keys = core.keys.current();
                Some(Alg::ALL.into_iter().filter(|a| keys.has_alg(*a)).collect())
            },
        }
    }
}

impl Admin<'_> {
    /// Refuses what only a global administrator may do.
    pub fn check_global(&self) -> Result<()> {
        if self.actor.is_global() {
            Ok(())
        } else {
            Err(AdminError::Forbidden(
                "only a global administrator may do this".into(),
            ))
        }
    }

    /// Refuses an establishment the actor does not administer.
    pub fn check_establishment(&self, establishment_id: &str) -> Result<()> {
        if self.actor.covers(establishment_id) {
            Ok(())
        } else {
            Err(AdminError::Forbidden(
                "this establishment is not one you administer".into(),
            ))
        }
    }

    /// An establishment administrator sees only members of their establishments (anyone else
    /// is "no such user", whether they exist or not), and changes no administrator whose
    /// reach is wider than their own.
    pub async fn check_user(&self, user: &User) -> Result<()> {
        let Some(mine) = self.actor.establishments() else {
            return Ok(());
        };
        let memberships = self.db.memberships_of(&user.id).await?;
        if !memberships
            .iter()
            .any(|m| mine.contains(&m.establishment_id))
        {
            return Err(no_user(&user.login));
        }
        let (global, administered) = self.db.administration_of(&user.id).await?;
        if global || administered.iter().any(|e| !mine.contains(e)) {
            return Err(AdminError::Forbidden(
                "this person administers more than you do".into(),
            ));
        }
        Ok(())
    }

    /// The user any of whose identifiers is `login`, within the actor's reach.
    pub async fn find_user(&self, login: &str) -> Result<User> {
        let user = self
            .db
            .user_by_identifier(&normalize_identifier(login))
            .await?
            .ok_or_else(|| no_user(login))?;
        self.check_user_visible(&user, login).await?;
        Ok(user)
    }

    /// The user with this id (the `sub`), within the actor's reach.
    pub async fn find_user_by_id(&self, id: &str) -> Result<User> {
        let user = self.db.user_by_id(id).await?.ok_or_else(|| no_user(id))?;
        self.check_user_visible(&user, id).await?;
        Ok(user)
    }

    /// Visibility only (reading is allowed on anyone in the reach); the not-found message
    /// names what was asked, as for a user who does not exist.
    async fn check_user_visible(&self, user: &User, asked: &str) -> Result<()> {
        let Some(mine) = self.actor.establishments() else {
            return Ok(());
        };
        let memberships = self.db.memberships_of(&user.id).await?;
        if memberships
            .iter()
            .any(|m| mine.contains(&m.establishment_id))
        {
            Ok(())
        } else {
            Err(no_user(asked))
        }
    }

    /// Revokes every grant of a user, with markers for their access tokens. SSO sessions end
    /// through the credential stamp, which the caller's change has just altered.
    async fn end_user_grants(&self, user_id: &str, now: i64) -> Result<usize> {
        let revoked = self.db.grants_revoke_for_user(user_id, now).await?;
        mark_revoked_in(self.db, self.ephemeral, self.policy, &revoked, now).await?;
        Ok(revoked.len())
    }

    /// Sets a new password (already hashed, and checked with `service::password::violations`);
    /// the old one joins the history, the user's SSO sessions and grants end. Returns how many
    /// grants were revoked.
    pub async fn set_password(&self, user: &User, hash: &str, now: i64) -> Result<usize> {
        self.replace_password(user, hash, false, now).await
    }

    /// `set_password`, and with `must_change` a temporary password: the person must choose a
    /// new one at their next sign-in.
    pub async fn replace_password(
        &self,
        user: &User,
        hash: &str,
        must_change: bool,
        now: i64,
    ) -> Result<usize> {
        self.check_user(user).await?;
        Ok(password::replace_hash(
            self.db,
            self.ephemeral,
            self.policy,
            user,
            hash,
            must_change,
            now,
        )
        .await?)
    }

    /// Disables a user (their sessions and grants end, for good: enabling brings none back)
    /// or enables them again. Returns how many grants were revoked.
    pub async fn set_user_disabled(&self, user: &User, disabled: bool, now: i64) -> Result<usize> {
        self.check_user(user).await?;
        self.db.user_set_disabled(&user.id, disabled, now).await?;
        let revoked = if disabled {
            self.end_user_grants(&user.id, now).await?
        } else {
            0
        };
        let kind = if disabled {
            AuditKind::UserDisabled
        } else {
            AuditKind::UserEnabled
        };
        self.audit(AuditEvent::new(now, kind).user(&user.id))
            .await?;
        Ok(revoked)
    }

    /// Users matching `query` in their login, identifiers, name or e-mail address (at most
    /// 100 a page), as the administration lists them: no secret, no hash.
    pub async fn search_users(&self, query: &str, page: u32) -> Result<Vec<serde_json::Value>> {
        const PER_PAGE: i64 = 100;
        let needle = normalize_identifier(query);
        let users = self
            .db
            .users_search(
                &needle,
                self.actor.establishments(),
                PER_PAGE,
                i64::from(page) * PER_PAGE,
            )
            .await?;
        Ok(users
            .iter()
            .map(|u| {
                serde_json::json!({
                    "id": u.id,
                    "login": u.login,
                    "name": u.name,
                    "given_name": u.given_name,
                    "family_name": u.family_name,
                    "email": u.email,
                    "category": u.category,
                    "disabled": u.disabled,
                })
            })
            .collect())
    }

    /// Removes a client for good: its grants are revoked first (access tokens refused where
    /// the markers reach), then the client, its grants, refresh tokens and consents are deleted.
    /// Nodes forget it within their client cache's 10 s.
    pub async fn remove_client(&self, client_id: &str, now: i64) -> Result<usize> {
        self.check_global()?;
        let revoked = self.db.grants_revoke_for_client(client_id, now).await?;
        mark_revoked_in(self.db, self.ephemeral, self.policy, &revoked, now).await?;
        if !self.db.client_delete(client_id).await? {
            return Err(AdminError::NotFound(format!("no client {client_id:?}")));
        }
        self.audit(
            AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(client_id)
                .detail(serde_json::json!({"removed": true})),
        )
        .await?;
        Ok(revoked.len())
    }

    /// Makes the user's next sign-in ask for a new password before anything else (the current
    /// one still signs in, once); sessions already open go on.
    pub async fn require_password_change(&self, user: &User, now: i64) -> Result<()> {
        self.check_user(user).await?;
        self.db.user_require_password_change(&user.id, now).await?;
        self.audit(AuditEvent::new(now, AuditKind::PasswordChangeRequired).user(&user.id))
            .await
    }

    /// Removes one of a user's identifiers (an e-mail address or a number they no longer
    /// use); the login itself cannot be removed.
    pub async fn remove_identifier(&self, user: &User, identifier: &str, now: i64) -> Result<()> {
        self.check_user(user).await?;
        let normalized = normalize_identifier(identifier);
        if normalized == normalize_identifier(&user.login) {
            return Err(AdminError::Invalid(
                "the login is not removed: it names the account".into(),
            ));
        }
        if !self
            .db
            .user_identifier_delete(&user.id, &normalized)
            .await?
        {
            return Err(AdminError::NotFound(format!(
                "{identifier:?} is not an identifier of {:?}",
                user.login
            )));
        }
        self.audit(
            AuditEvent::new(now, AuditKind::IdentifierRemoved)
                .user(&user.id)
                .detail(serde_json::json!({"kind_removed": "identifier"})),
        )
        .await
    }

    /// Deletes a user for good: their grants are revoked first (access tokens refused at once
    /// where the markers reach), their sessions end (no such user any more), and the audit
    /// trail, which names the id, stays.
    /// An establishment administrator deletes only people who belong to their establishments
    /// alone (another establishment's member is theirs to keep).
    pub async fn delete_user(&self, user: &User, now: i64) -> Result<usize> {
        self.check_user(user).await?;
        if let Some(mine) = self.actor.establishments() {
            let memberships = self.db.memberships_of(&user.id).await?;
            if memberships
                .iter()
                .any(|m| !mine.contains(&m.establishment_id))
            {
                return Err(AdminError::Forbidden(
                    "this person also belongs to an establishment you do not administer".into(),
                ));
            }
        }
        let revoked = self.end_user_grants(&user.id, now).await?;
        self.db.user_delete(&user.id).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::UserDeleted)
                .user(&user.id)
                .detail(serde_json::json!({"login": user.login})),
        )
        .await?;
        Ok(revoked)
    }

    /// A new secret for a confidential client (returned once, stored as a digest).
    pub async fn rotate_client_secret(&self, client_id: &str, now: i64) -> Result<String> {
        self.check_global()?;
        let client = self.client(client_id).await?;
        if client.public {
            return Err(AdminError::Invalid(format!(
                "{client_id:?} is a public client: it has no secret"
            )));
        }
        let secret = random_token();
        self.db
            .client_set_secret(&client.client_id, &digest(&secret), now)
            .await?;
        self.audit(AuditEvent::new(now, AuditKind::ClientSecretRotated).client(client_id))
            .await?;
        Ok(secret)
    }

    /// Disables a client (its grants are revoked and its access tokens refused while it is
    /// disabled; every node knows within the client cache's 10 s) or enables it again (its
    /// revoked grants stay revoked). Returns how many grants were revoked.
    pub async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: i64,
    ) -> Result<usize> {
        self.check_global()?;
        if !self
            .db
            .client_set_disabled(client_id, disabled, now)
            .await?
        {
            return Err(AdminError::NotFound(format!("no client {client_id:?}")));
        }
        let revoked = if disabled {
            let revoked = self.db.grants_revoke_for_client(client_id, now).await?;
            mark_revoked_in(self.db, self.ephemeral, self.policy, &revoked, now).await?;
            revoked.len()
        } else {
            0
        };
        let kind = if disabled {
            AuditKind::ClientDisabled
        } else {
            AuditKind::ClientEnabled
        };
        self.audit(AuditEvent::new(now, kind).client(client_id))
            .await?;
        Ok(revoked)
    }

    /// Lifts a lockout at once (the count starts again).
    pub async fn unlock(&self, user: &User, now: i64) -> Result<bool> {
        self.check_user(user).await?;
        let was = lockout::locked_until(self.ephemeral, &user.id, now)
            .await
            .map_err(Error::from)?
            .is_some();
        lockout::unlock(self.ephemeral, &user.id)
            .await
            .map_err(Error::from)?;
        self.audit(AuditEvent::new(now, AuditKind::AccountUnlocked).user(&user.id))
            .await?;
        Ok(was)
    }

    /// Removes every second factor and recovery code of a user (a lost phone): the next
    /// sign-in asks for the password only, or enrols again where a second factor is required.
    pub async fn mfa_reset(&self, user: &User, now: i64) -> Result<u64> {
        self.check_user(user).await?;
        let removed = self.db.factors_delete_all(&user.id).await?;
        crate::service::mfa::mark_changed(self.ephemeral, &user.id, now).await?;
        self.audit(
            AuditEvent::new(now, AuditKind::MfaReset)
                .user(&user.id)
                .detail(serde_json::json!({"factors_removed": removed})),
        )
        .await?;
        Ok(removed)
    }

    /// What `user show` prints: the account, whether it is locked, its factors (never a
    /// secret).
    pub async fn show_user(&self, user: &User, now: i64) -> Result<serde_json::Value> {
        self.check_user_visible(user, &user.login).await?;
        let locked_until = lockout::locked_until(self.ephemeral, &user.id, now)
            .await
            .map_err(Error::from)?;
        let factors = self.db.factors_of(&user.id).await?;
        let (recovery_left, _) = self.db.recovery_codes_status(&user.id).await?;
        let identifiers = self.db.user_identifiers(&user.id).await?;
        let memberships = self.db.memberships_of(&user.id).await?;
        Ok(serde_json::json!({
            "id": user.id,
            "login": user.login,
            "identifiers": identifiers.iter().map(|(_, v)| v).collect::<Vec<_>>(),
            "email": user.email,
            "category": user.category,
            "disabled": user.disabled,
            "locked": locked_until.is_some(),
            "locked_until": locked_until,
            "factors": factors.iter().map(|f| serde_json::json!({
                "kind": f.kind.as_str(),
                "phone": f.phone.as_deref().map(mask_phone),
                "created_at": f.created_at,
                "last_used_at": f.last_used_at,
            })).collect::<Vec<_>>(),
            "recovery_codes_left": recovery_left,
            "memberships": memberships.iter().map(|m| serde_json::json!({
                "establishment": m.code,
                "rights": m.rights,
                "admin": m.admin,
            })).collect::<Vec<_>>(),
        }))
    }

    /// Whether a client requires a second factor of everyone who signs in to it (every node
    /// applies it within the client cache's 10 s; sessions without one are asked for it).
    pub async fn set_client_require_mfa(&self, client_id: &str, on: bool, now: i64) -> Result<()> {
        self.check_global()?;
        if !self.db.client_set_require_mfa(client_id, on, now).await? {
            return Err(AdminError::NotFound(format!("no client {client_id:?}")));
        }
        self.audit(
            AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(client_id)
                .detail(serde_json::json!({"require_mfa": on})),
        )
        .await
    }

    /// Changes where a client receives logout tokens and whether it needs `sid` in them
    /// (Back-Channel Logout 1.0 §2.2); what is not given stays. Every node sees it within the
    /// client cache's 10 s. Returns the URI and the flag now in force.
    pub async fn set_client_backchannel_logout(
        &self,
        client_id: &str,
        uri: Option<Option<&str>>,
        session_required: Option<bool>,
        now: i64,
    ) -> Result<(Option<String>, bool)> {
        self.check_global()?;
        let client = self.client(client_id).await?;
        let uri = match uri {
            Some(u) => u.map(str::to_owned),
            None => client.backchannel_logout_uri,
        };
        if let Some(u) = &uri {
            validate_backchannel_logout_uri(u).map_err(|e| AdminError::Invalid(e.to_string()))?;
        }
        // Without a URI there is nothing to require the session of.
        let required =
            uri.is_some() && session_required.unwrap_or(client.backchannel_logout_session_required);
        if session_required == Some(true) && uri.is_none() {
            return Err(AdminError::Invalid(
                "--session-required true needs a back-channel logout URI (--uri)".into(),
            ));
        }
        if !self
            .db
            .client_set_backchannel_logout(client_id, uri.as_deref(), required, now)
            .await?
        {
            return Err(AdminError::NotFound(format!("no client {client_id:?}")));
        }
        self.audit(
            AuditEvent::new(now, AuditKind::ClientUpdated)
                .client(client_id)
                .detail(serde_json::json!({
                    "backchannel_logout_uri": uri,
                    "backchannel_logout_session_required": required,
                })),
        )
        .await?;
        Ok((uri, required))
    }

    /// Writes an audit row naming the actor (`by` in its detail).
    pub async fn audit(&self, event: AuditEvent) -> Result<()> {
        self.db.audit_insert(&[by(self.actor, event)]).await?;
        Ok(())
    }

    /// Makes a person a global administrator, or no longer one.
    pub async fn set_global_administrator(&self, user: &User, on: bool, now: i64) -> Result<()> {
        self.check_global()?;
        if on {
            self.db.administrator_put(&user.id, now).await?;
        } else {
            if let Principal::User(me) = &self.actor.principal
                && *me == user.id
            {
                return Err(AdminError::Invalid(
                    "you cannot remove your own administration".into(),
                ));
            }
            if !self.db.administrator_delete(&user.id).await? {
                return Err(AdminError::NotFound(format!(
                    "{:?} is not a global administrator",
                    user.login
                )));
            }
        }
        self.audit(
            AuditEvent::new(now, AuditKind::AdministratorChanged)
                .user(&user.id)
                .detail(serde_json::json!({"global": on})),
        )
        .await
    }

    /// Global administrators, as the console and the CLI list them.
    pub async fn administrators(&self) -> Result<Vec<(String, String)>> {
        self.check_global()?;
        Ok(self.db.administrators().await?)
    }
}

/// The audit row with `by` (the actor's label) added to its detail.
pub fn by(actor: &Actor, mut event: AuditEvent) -> AuditEvent {
    let mut detail = event
        .detail
        .as_deref()
        .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(map) = detail.as_object_mut() {
        map.insert("by".into(), serde_json::Value::String(actor.label()));
    }
    event.detail = Some(detail.to_string());
    event
}

fn no_user(asked: &str) -> AdminError {
    AdminError::NotFound(format!("no user has the identifier {asked:?}"))
}
