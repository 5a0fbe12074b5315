//! Invitations (issue 9 §2): an administrator names a person, an establishment and rights; the
//! person receives a single-use link, good for seven days, to create their account, or, when
//! the address already belongs to an account, to accept the membership once signed in as that
//! account. The administrator never learns whether the address has an account: the answer and
//! the mail are the same, and only the link's page tells the person.
//!
//! The first administrator's set-up link is an invitation without an establishment or an
//! address that makes a global administrator; `guichet serve` prints one while the database
//! has no administrator, and `guichet admin create` prints a new one.
//!
//! Only the token's SHA-256 is stored, and a link is looked up by that digest. Accepting is
//! one transaction that claims the invitation (`store::invitations`): a second use fails.

use serde::Serialize;
use serde_json::json;

use crate::crypto::token::{ct_eq, digest, random_hex, random_token};
use crate::domain::audit::{AuditEvent, AuditKind};
use crate::domain::establishment::allowed_rights;
use crate::domain::invitation::{INVITATION_TTL, Invitation, Status};
use crate::domain::password_policy::Violation;
use crate::domain::user::{NewUser, User, normalize_identifier, validate_identifier};
use crate::service::admin::{Admin, AdminError};
use crate::service::core::Core;
use crate::service::error::Result as ServiceResult;
use crate::service::mailing::{Post, language};
use crate::service::password::new_user_violations;
use crate::store::{Claimed, Db, StoreError};

type Result<T> = std::result::Result<T, AdminError>;

/// At most this many invitations a page.
pub const PER_PAGE: i64 = 100;
/// The longest address accepted (RFC 5321 §4.5.3.1).
const MAX_ADDRESS: usize = 254;
/// The longest given or family name.
const MAX_NAME: usize = 200;

/// What an administrator enters to invite someone.
#[derive(Debug, Clone, Default)]
pub struct NewInvitation<'a> {
    pub email: &'a str,
    pub given_name: Option<&'a str>,
    pub family_name: Option<&'a str>,
    /// The establishment's code.
    pub establishment: &'a str,
    pub rights: &'a [String],
    /// The person will administer the establishment.
    pub admin: bool,
    /// The language of the mail (`fr`, `en`).
    pub locale: &'a str,
}

/// An invitation as the administration lists it (never its token).
#[derive(Debug, Clone, Serialize)]
pub struct Listed {
    #[serde(flatten)]
    pub invitation: Invitation,
    pub status: Status,
}

/// The link of a token.
pub fn link(issuer: &str, token: &str) -> String {
    format!("{issuer}/invitation/{token}")
}

fn address(raw: &str) -> Result<String> {
    let a = raw.trim();
    let ok = a.len() <= MAX_ADDRESS
        && validate_identifier(a).is_ok()
        && a.split_once('@')
            .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
    if ok {
        Ok(a.to_owned())
    } else {
        Err(AdminError::Invalid(format!(
            "{raw:?} is not an e-mail address"
        )))
    }
}

fn name(raw: Option<&str>) -> Result<Option<String>> {
    match raw.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() <= MAX_NAME && !n.chars().any(char::is_control) => {
            Ok(Some(n.to_owned()))
        }
        Some(_) => Err(AdminError::Invalid(format!(
            "a name must be at most {MAX_NAME} characters, without control characters"
        ))),
    }
}

impl Admin<'_> {
    /// Invites a person into an establishment the actor administers, with rights it defines;
    /// mails the link in `new.locale`. The same answer whether or not the address already
    /// belongs to an account.
    pub async fn invite(
        &self,
        new: &NewInvitation<'_>,
        post: &Post<'_>,
        now: i64,
    ) -> Result<Invitation> {
        let e = self.establishment(new.establishment).await?;
        let rights = allowed_rights(&e, new.rights)?;
        let email = address(new.email)?;
        let invitation = Invitation {
            id: format!("inv-{}", random_hex(8)),
            email: Some(email),
            given_name: name(new.given_name)?,
            family_name: name(new.family_name)?,
            establishment_id: Some(e.id.clone()),
            establishment_code: Some(e.code.clone()),
            establishment_name: Some(e.name.clone()),
            rights,
            admin: new.admin,
            invited_by: Some(self.actor.label()),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        let token = random_token();
        self.db
            .invitation_insert(&invitation, &digest(&token))
            .await?;
        self.audit(
            AuditEvent::new(now, AuditKind::InvitationCreated).detail(json!({
                "invitation": invitation.id,
                "establishment": e.code,
                "rights": invitation.rights,
                "admin": invitation.admin,
            })),
        )
        .await?;
        mail(post, &invitation, &token, new.locale).await?;
        Ok(invitation)
    }

    /// Invitations, newest first (`PER_PAGE` a page, from 0): of `establishment` if given,
    /// else of every establishment the actor administers (a global administrator also sees
    /// the set-up links).
    pub async fn invitations(
        &self,
        establishment: Option<&str>,
        page: u32,
        now: i64,
    ) -> Result<Vec<Listed>> {
        let one;
        let within = match establishment {
            Some(code) => {
                one = [self.establishment(code).await?.id];
                Some(&one[..])
            }
            None => self.actor.establishments(),
        };
        let all = self
            .db
            .invitations(within, PER_PAGE, i64::from(page) * PER_PAGE)
            .await?;
        Ok(all
            .into_iter()
            .map(|i| Listed {
                status: i.status(now),
                invitation: i,
            })
            .collect())
    }

    /// The invitation `id`, if the actor administers its establishment (set-up links: global
    /// administrators only); another one is "no such invitation".
    async fn invitation(&self, id: &str) -> Result<Invitation> {
        let unknown = || AdminError::NotFound(format!("no invitation {id:?}"));
        let i = self.db.invitation_by_id(id).await?.ok_or_else(unknown)?;
        let covered = match &i.establishment_id {
            Some(e) => self.actor.covers(e),
            None => self.actor.is_global(),
        };
        if covered { Ok(i) } else { Err(unknown()) }
    }

    /// A new link (and seven days again) for an invitation not used nor revoked; the old
    /// link dies. Mailed in `locale`.
    pub async fn resend(
        &self,
        id: &str,
        post: &Post<'_>,
        locale: &str,
        now: i64,
    ) -> Result<Invitation> {
        let mut i = self.invitation(id).await?;
        if i.email.is_none() {
            return Err(AdminError::Invalid(
                "a set-up link is not mailed: print a new one (guichet admin create)".into(),
            ));
        }
        let token = random_token();
        let expires_at = now + INVITATION_TTL;
        if !self
            .db
            .invitation_renew(&i.id, &digest(&token), expires_at)
            .await?
        {
            return Err(AdminError::Invalid(format!(
                "invitation {id:?} was {} already",
                i.status(now).as_str()
            )));
        }
        i.expires_at = expires_at;
        self.audit(
            AuditEvent::new(now, AuditKind::InvitationResent)
                .detail(json!({"invitation": i.id, "establishment": i.establishment_code})),
        )
        .await?;
        mail(post, &i, &token, locale).await?;
        Ok(i)
    }

    /// Revokes an invitation not used yet: its link is refused from now on.
    pub async fn revoke_invitation(&self, id: &str, now: i64) -> Result<Invitation> {
        let mut i = self.invitation(id).await?;
        if !self.db.invitation_revoke(&i.id, now).await? {
            return Err(AdminError::Invalid(format!(
                "invitation {id:?} was {} already",
                i.status(now).as_str()
            )));
        }
        i.revoked_at = Some(now);
        self.audit(
            AuditEvent::new(now, AuditKind::InvitationRevoked)
                .detail(json!({"invitation": i.id, "establishment": i.establishment_code})),
        )
        .await?;
        Ok(i)
    }

    /// A new set-up link for a global administrator (global actors only); older unused ones
    /// are revoked. Returns the URL and its deadline.
    pub async fn setup_link(&self, issuer: &str, now: i64) -> Result<(String, i64)> {
        self.check_global()?;
        self.db.invitation_revoke_setup_links(now).await?;
        let invitation = Invitation {
            id: format!("inv-{}", random_hex(8)),
            email: None,
            given_name: None,
            family_name: None,
            establishment_id: None,
            establishment_code: None,
            establishment_name: None,
            rights: Vec::new(),
            admin: true,
            invited_by: Some(self.actor.label()),
            created_at: now,
            expires_at: now + INVITATION_TTL,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        };
        let token = random_token();
        self.db
            .invitation_insert(&invitation, &digest(&token))
            .await?;
        self.audit(
            AuditEvent::new(now, AuditKind::InvitationCreated)
                .detail(json!({"invitation": invitation.id, "setup": true})),
        )
        .await?;
        Ok((link(issuer, &token), invitation.expires_at))
    }
}

/// Mails an invitation's link to its address.
async fn mail(post: &Post<'_>, i: &Invitation, token: &str, locale: &str) -> Result<()> {
    let Some(to) = &i.email else {
        return Ok(());
    };
    #[derive(Serialize)]
    struct Ctx<'a> {
        establishment: &'a str,
        rights: String,
        link: String,
        valid_days: i64,
        given_name: Option<&'a str>,
    }
    let ctx = Ctx {
        establishment: i
            .establishment_name
            .as_deref()
            .or(i.establishment_code.as_deref())
            .unwrap_or_default(),
        rights: i.rights.join(", "),
        link: link(post.issuer, token),
        valid_days: INVITATION_TTL / 86_400,
        given_name: i.given_name.as_deref(),
    };
    post.send(to, "invitation", language(Some(locale), "fr"), &ctx)
        .await?;
    Ok(())
}

// ---- The invited person's side -------------------------------------------------------------

/// A link's token has the shape of `random_token` (43 base64url characters).
fn well_formed(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The invitation a link opens, if it is still pending (used, revoked, expired and unknown
/// links are all `None`: one page says so). Looked up by the token's digest.
pub async fn pending(core: &Core, token: &str, now: i64) -> ServiceResult<Option<Invitation>> {
    if !well_formed(token) {
        return Ok(None);
    }
    Ok(core
        .db
        .invitation_by_token_hash(&digest(token))
        .await?
        .filter(|i| i.status(now) == Status::Pending))
}

/// The account that owns the invited address (any of its identifiers), if any.
pub async fn owner(core: &Core, invitation: &Invitation) -> ServiceResult<Option<User>> {
    owner_in(&core.db, invitation).await
}

async fn owner_in(db: &Db, invitation: &Invitation) -> ServiceResult<Option<User>> {
    let Some(email) = &invitation.email else {
        return Ok(None);
    };
    Ok(db.user_by_identifier(&normalize_identifier(email)).await?)
}

/// What the person typed to create their account from an invitation.
pub struct NewAccount<'a> {
    pub login: &'a str,
    pub password: String,
    pub confirm: &'a str,
    pub given_name: &'a str,
    pub family_name: &'a str,
    /// Only for a set-up link (an invitation carries its address).
    pub email: &'a str,
}

/// How creating an account from an invitation ended.
#[derive(Debug)]
pub enum Created {
    /// The account exists, with the membership (or the global administration).
    Done {
        login: String,
    },
    /// The link is unknown, used, revoked or expired.
    Gone,
    /// The invited address belongs to an account: sign in to accept.
    AccountExists,
    /// A strings-table key: what is wrong with the form (the link stays good).
    Invalid(&'static str),
    Mismatch,
    Refused(Vec<Violation>),
}

/// Creates the invited person's account, single use: the invitation is claimed in the same
/// transaction that creates the user and gives the membership.
pub async fn create_account(
    core: &Core,
    token: &str,
    form: NewAccount<'_>,
    now: i64,
) -> ServiceResult<Created> {
    let Some(invitation) = pending(core, token, now).await? else {
        return Ok(Created::Gone);
    };
    if owner(core, &invitation).await?.is_some() {
        return Ok(Created::AccountExists);
    }
    let login = form.login.trim();
    if validate_identifier(login).is_err() || login.chars().count() > 64 || login.contains('@') {
        return Ok(Created::Invalid("invitation_login_invalid"));
    }
    let (email, verified) = match &invitation.email {
        // The link reached this address: it is verified.
        Some(e) => (e.clone(), true),
        None => match address(form.email) {
            Ok(e) => (e, false),
            Err(_) => return Ok(Created::Invalid("invitation_email_invalid")),
        },
    };
    let (Ok(given_name), Ok(family_name)) =
        (name(Some(form.given_name)), name(Some(form.family_name)))
    else {
        return Ok(Created::Invalid("invitation_name_invalid"));
    };
    if !ct_eq(&form.password, form.confirm) {
        return Ok(Created::Mismatch);
    }
    let mut new = NewUser {
        login: login.to_owned(),
        email: Some(email),
        email_verified: verified,
        given_name,
        family_name,
        ..NewUser::default()
    };
    let broken = new_user_violations(&core.policy.password, &new, &form.password);
    if !broken.is_empty() {
        return Ok(Created::Refused(broken));
    }
    new.password_hash = Some(core.hasher.hash(form.password).await?);
    let user_id = match core
        .db
        .invitation_accept_new_user(&invitation, &new, now)
        .await
    {
        Ok(Claimed::Done(id)) => id,
        Ok(Claimed::Gone) => return Ok(Created::Gone),
        Err(StoreError::Conflict(_)) => {
            // The invited address may have become an account's since the page was shown; a
            // set-up link's typed address may be an account's.
            if owner(core, &invitation).await?.is_some() {
                return Ok(Created::AccountExists);
            }
            let typed = new.email.as_deref().map(normalize_identifier);
            if invitation.email.is_none()
                && let Some(e) = typed
                && core.db.user_by_identifier(&e).await?.is_some()
            {
                return Ok(Created::Invalid("invitation_email_taken"));
            }
            return Ok(Created::Invalid("invitation_login_taken"));
        }
        Err(e) => return Err(e.into()),
    };
    let mut events = vec![
        AuditEvent::new(now, AuditKind::UserCreated)
            .user(&user_id)
            .detail(json!({"invitation": invitation.id})),
        accepted(&invitation, &user_id, now),
    ];
    if invitation.is_setup() {
        events.push(
            AuditEvent::new(now, AuditKind::AdministratorChanged)
                .user(&user_id)
                .detail(json!({"global": true, "by": "setup-link"})),
        );
    }
    core.db.audit_insert(&events).await?;
    Ok(Created::Done {
        login: login.to_owned(),
    })
}

fn accepted(i: &Invitation, user_id: &str, now: i64) -> AuditEvent {
    AuditEvent::new(now, AuditKind::InvitationAccepted)
        .user(user_id)
        .detail(json!({
            "invitation": i.id,
            "establishment": i.establishment_code,
            "rights": i.rights,
            "admin": i.admin,
        }))
}

/// How accepting an invitation as a signed-in user ended.
#[derive(Debug)]
pub enum Accepted {
    /// The membership is the user's.
    Done,
    Gone,
    /// The signed-in account does not own the invited address: nothing given.
    WrongAccount,
}

/// Gives the invitation's membership to `user`, who must own the invited address (single
/// use).
pub async fn accept(core: &Core, token: &str, user: &User, now: i64) -> ServiceResult<Accepted> {
    let Some(invitation) = pending(core, token, now).await? else {
        return Ok(Accepted::Gone);
    };
    let owns = owner(core, &invitation)
        .await?
        .is_some_and(|o| o.id == user.id);
    if !owns || user.disabled || invitation.is_setup() {
        return Ok(Accepted::WrongAccount);
    }
    match core
        .db
        .invitation_accept_existing(&invitation, &user.id, now)
        .await?
    {
        Claimed::Done(()) => {
            core.db
                .audit_insert(&[accepted(&invitation, &user.id, now)])
                .await?;
            Ok(Accepted::Done)
        }
        Claimed::Gone => Ok(Accepted::Gone),
    }
}
