//! Invitations: a single-use link, good for seven days, that brings a person into an
//! establishment with rights (a new account, or a membership accepted by the owner of an
//! existing one). With no establishment and `admin` set it is the first administrator's set-up
//! link: it makes a global administrator and carries no address.

use serde::Serialize;

/// How long an invitation link stays good.
pub const INVITATION_TTL: i64 = 7 * 24 * 3600;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invitation {
    pub id: String,
    /// The invited address; `None` for a set-up link.
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `None` for a set-up link.
    pub establishment_id: Option<String>,
    /// The establishment's code and name, when it has one (read with the invitation).
    pub establishment_code: Option<String>,
    pub establishment_name: Option<String>,
    pub rights: Vec<String>,
    /// With an establishment: the person will administer it. Without: a global administrator.
    pub admin: bool,
    /// The actor's label (`cli`, `user:<id>`, `client:<id>`).
    pub invited_by: Option<String>,
    pub created_at: i64,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub accepted_by: Option<String>,
    pub revoked_at: Option<i64>,
}

/// Where an invitation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Accepted,
    Revoked,
    Expired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Accepted => "accepted",
            Status::Revoked => "revoked",
            Status::Expired => "expired",
        }
    }
}

impl Invitation {
    /// Accepted and revoked are final; a pending invitation expires at `expires_at`.
    pub fn status(&self, now: i64) -> Status {
        if self.accepted_at.is_some() {
            Status::Accepted
        } else if self.revoked_at.is_some() {
            Status::Revoked
        } else if self.expires_at <= now {
            Status::Expired
        } else {
            Status::Pending
        }
    }

    /// The first administrator's set-up link: no establishment, no address, admin.
    pub fn is_setup(&self) -> bool {
        self.establishment_id.is_none() && self.admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Invitation {
        Invitation {
            id: "i".into(),
            email: Some("a@example.org".into()),
            given_name: None,
            family_name: None,
            establishment_id: Some("e".into()),
            establishment_code: None,
            establishment_name: None,
            rights: vec![],
            admin: false,
            invited_by: None,
            created_at: 0,
            expires_at: 100,
            accepted_at: None,
            accepted_by: None,
            revoked_at: None,
        }
    }

    #[test]
    fn the_status_is_final_once_accepted_or_revoked_and_expires_at_the_deadline() {
        let mut i = inv();
        assert_eq!(i.status(99), Status::Pending);
        assert_eq!(i.status(100), Status::Expired);
        i.revoked_at = Some(5);
        assert_eq!(i.status(6), Status::Revoked);
        i.accepted_at = Some(4);
        assert_eq!(i.status(200), Status::Accepted);
        assert!(!i.is_setup());
    }
}
