//! Administration of people: creating an account, editing its profile and identifiers. One
//! rule each for the CLI, the console and the JSON API (on `Admin`, bounded by its actor).

use serde::Deserialize;
use serde_json::json;

use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::establishment::allowed_rights;
use crate::domain::user::{NewUser, User, validate_birth_date, validate_identifier};
use crate::service::admin::{Admin, AdminError};

type Result<T> = std::result::Result<T, AdminError>;

/// What an administrator changes in a profile: a field left `None` stays; `Some(None)` (JSON
/// `null`, an emptied form field) clears it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProfileChanges {
    #[serde(default, deserialize_with = "some")]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub family_name: Option<Option<String>>,
    /// A new address becomes an identifier in place of the old one (which no longer signs
    /// in); it is unverified unless `email_verified` says otherwise.
    #[serde(default, deserialize_with = "some")]
    pub email: Option<Option<String>>,
    pub email_verified: Option<bool>,
    #[serde(default, deserialize_with = "some")]
    pub phone_number: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "some")]
    pub locale: Option<Option<String>>,
}

/// A present field, even `null`, is `Some` (serde's default would make `null` `None`).
fn some<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

const FIELD_MAX: usize = 255;

/// A trimmed value, `None` when empty; refused when too long or with control characters.
fn field(name: &str, value: Option<&str>) -> Result<Option<String>> {
    let Some(v) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > FIELD_MAX || v.chars().any(char::is_control) {
        return Err(AdminError::Invalid(format!(
            "{name} must be at most {FIELD_MAX} characters, without control characters"
        )));
    }
    Ok(Some(v.to_owned()))
}

fn email(value: Option<&str>) -> Result<Option<String>> {
    let e = field("email", value)?;
    if let Some(e) = &e {
        validate_identifier(e).map_err(|err| AdminError::Invalid(err.to_string()))?;
        let (local, domain) = e.split_once('@').unwrap_or(("", ""));
        if local.is_empty() || !domain.contains('.') || domain.contains('@') {
            return Err(AdminError::Invalid(format!(
                "{e:?} is not an e-mail address"
            )));
        }
    }
    Ok(e)
}

fn locale(value: Option<&str>) -> Result<Option<String>> {
    let l = field("locale", value)?;
    if let Some(l) = &l
        && (l.len() > 35 || !l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
    {
        return Err(AdminError::Invalid(format!("{l:?} is not a language tag")));
    }
    Ok(l)
}

impl Admin<'_> {
    /// Creates an account. `new.password_hash` is the caller's (checked against the policy
    /// with `service::password::new_user_violations` and hashed on the pool), or none: the
    /// person then activates or is invited. An establishment administrator must place the new
    /// person in one of their establishments (`membership`: code and rights).
    pub async fn create_user(
        &self,
        mut new: NewUser,
        membership: Option<(&str, &[String])>,
        now: i64,
    ) -> Result<User> {
        new.login = new.login.trim().to_owned();
        validate_identifier(&new.login).map_err(|e| AdminError::Invalid(e.to_string()))?;
        for id in &mut new.identifiers {
            *id = id.trim().to_owned();
            validate_identifier(id).map_err(|e| AdminError::Invalid(e.to_string()))?;
        }
        new.email = email(new.email.as_deref())?;
        new.given_name = field("given_name", new.given_name.as_deref())?;
        new.family_name = field("family_name", new.family_name.as_deref())?;
        new.phone_number = field("phone_number", new.phone_number.as_deref())?;
        new.category = field("category", new.category.as_deref())?;
        if let Some(d) = &new.birth_date {
            validate_birth_date(d).map_err(|e| AdminError::Invalid(e.to_string()))?;
        }
        let placed = match membership {
            Some((code, rights)) => {
                let e = self.establishment(code).await?;
                let rights = allowed_rights(&e, rights)?;
                Some((e, rights))
            }
            None if !self.actor.is_global() => {
                return Err(AdminError::Forbidden(
                    "an establishment administrator creates people in their establishment".into(),
                ));
            }
            None => None,
        };
        let (user, _) = self.db.user_insert(&new, now).await?;
        self.audit(AuditEvent::new(now, AuditKind::UserCreated).user(&user.id))
            .await?;
        if let Some((e, rights)) = placed {
            self.db
                .membership_put(&user.id, &e.id, &rights, false, now)
                .await?;
            self.audit(
                AuditEvent::new(now, AuditKind::MembershipGranted)
                    .user(&user.id)
                    .detail(json!({"establishment": e.code, "rights": rights, "admin": false})),
            )
            .await?;
        }
        Ok(user)
    }

    /// Changes a profile; a new e-mail address replaces the old one as an identifier in the
    /// same transaction. Returns the user as now stored.
    pub async fn update_profile(
        &self,
        user: &User,
        changes: &ProfileChanges,
        now: i64,
    ) -> Result<User> {
        self.check_user(user).await?;
        let mut next = user.clone();
        let mut changed: Vec<&str> = Vec::new();
        let set = |name: &'static str,
                   slot: &mut Option<String>,
                   value: Option<String>,
                   changed: &mut Vec<&str>| {
            if *slot != value {
                *slot = value;
                changed.push(name);
            }
        };
        if let Some(v) = &changes.name {
            set(
                "name",
                &mut next.name,
                field("name", v.as_deref())?,
                &mut changed,
            );
        }
        if let Some(v) = &changes.given_name {
            let v = field("given_name", v.as_deref())?;
            set("given_name", &mut next.given_name, v, &mut changed);
        }
        if let Some(v) = &changes.family_name {
            let v = field("family_name", v.as_deref())?;
            set("family_name", &mut next.family_name, v, &mut changed);
        }
        if let Some(v) = &changes.phone_number {
            let v = field("phone_number", v.as_deref())?;
            if next.phone_number != v {
                next.phone_number_verified = false;
            }
            set("phone_number", &mut next.phone_number, v, &mut changed);
        }
        if let Some(v) = &changes.category {
            let v = field("category", v.as_deref())?;
            set("category", &mut next.category, v, &mut changed);
        }
        if let Some(v) = &changes.locale {
            set(
                "locale",
                &mut next.locale,
                locale(v.as_deref())?,
                &mut changed,
            );
        }
        if let Some(v) = &changes.email {
            let v = email(v.as_deref())?;
            if next.email != v {
                next.email_verified = false;
            }
            set("email", &mut next.email, v, &mut changed);
        }
        if let Some(verified) = changes.email_verified
            && next.email.is_some()
            && next.email_verified != verified
        {
            next.email_verified = verified;
            changed.push("email_verified");
        }
        if changed.is_empty() {
            return Ok(next);
        }
        self.db
            .user_update_profile(&next, user.email.as_deref(), now)
            .await?;
        // Field names only: the audit trail keeps no personal data it does not need.
        self.audit(
            AuditEvent::new(now, AuditKind::UserUpdated)
                .user(&user.id)
                .detail(json!({"changed": changed})),
        )
        .await?;
        Ok(next)
    }

    /// Adds an identifier (an e-mail address or a number) the person may sign in with.
    pub async fn add_identifier(&self, user: &User, identifier: &str, now: i64) -> Result<()> {
        self.check_user(user).await?;
        let identifier = identifier.trim();
        validate_identifier(identifier).map_err(|e| AdminError::Invalid(e.to_string()))?;
        self.db
            .user_identifier_insert(&user.id, identifier, now)
            .await?;
        self.audit(
            AuditEvent::new(now, AuditKind::UserUpdated)
                .user(&user.id)
                .detail(json!({"identifier_added": true})),
        )
        .await
    }
}
