//! Security events: what happened, to whom, from where. Written off the request path by
//! `service::audit`; never a secret in them.

/// Every kind of audit event, as stored in `audit_events.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    LoginSuccess,
    LoginFailure,
    LoginThrottled,
    ConsentGranted,
    TokenIssued,
    CodeReplayed,
    RefreshReplayed,
    Logout,
    UserCreated,
    UserPasswordChanged,
    UserDisabled,
    UserEnabled,
    ClientCreated,
    ClientSecretRotated,
    ClientUpdated,
    ClientDisabled,
    ClientEnabled,
    MfaEnrolled,
    MfaRemoved,
    MfaReset,
    MfaSucceeded,
    MfaFailed,
    RecoveryCodesGenerated,
    SmsSent,
    AccountLocked,
    AccountUnlocked,
    PasswordResetSent,
    PasswordResetRefused,
    PasswordReset,
    AccountActivated,
    RecoverySuccess,
    RecoveryFailure,
    EstablishmentCreated,
    EstablishmentUpdated,
    MembershipGranted,
    MembershipRevoked,
    UserDeleted,
    IdentifierRemoved,
    PasswordChangeRequired,
    AdministratorChanged,
    UserUpdated,
    InvitationCreated,
    InvitationResent,
    InvitationRevoked,
    InvitationAccepted,
    CasServiceUpdated,
}

impl AuditKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::LoginSuccess => "login.success",
            AuditKind::LoginFailure => "login.failure",
            AuditKind::LoginThrottled => "login.throttled",
            AuditKind::ConsentGranted => "consent.granted",
            AuditKind::TokenIssued => "token.issued",
            AuditKind::CodeReplayed => "code.replayed",
            AuditKind::RefreshReplayed => "refresh.replayed",
            AuditKind::Logout => "logout",
            AuditKind::UserCreated => "user.created",
            AuditKind::UserPasswordChanged => "user.password_changed",
            AuditKind::UserDisabled => "user.disabled",
            AuditKind::UserEnabled => "user.enabled",
            AuditKind::ClientCreated => "client.created",
            AuditKind::ClientSecretRotated => "client.secret_rotated",
            AuditKind::ClientUpdated => "client.updated",
            AuditKind::ClientDisabled => "client.disabled",
            AuditKind::ClientEnabled => "client.enabled",
            AuditKind::MfaEnrolled => "mfa.enrolled",
            AuditKind::MfaRemoved => "mfa.removed",
            AuditKind::MfaReset => "mfa.reset",
            AuditKind::MfaSucceeded => "mfa.success",
            AuditKind::MfaFailed => "mfa.failure",
            AuditKind::RecoveryCodesGenerated => "mfa.recovery_codes_generated",
            AuditKind::SmsSent => "mfa.sms_sent",
            AuditKind::AccountLocked => "account.locked",
            AuditKind::AccountUnlocked => "account.unlocked",
            AuditKind::PasswordResetSent => "password.reset_sent",
            AuditKind::PasswordResetRefused => "password.reset_refused",
            AuditKind::PasswordReset => "password.reset",
            AuditKind::AccountActivated => "account.activated",
            AuditKind::RecoverySuccess => "recovery.success",
            AuditKind::RecoveryFailure => "recovery.failure",
            AuditKind::EstablishmentCreated => "establishment.created",
            AuditKind::EstablishmentUpdated => "establishment.updated",
            AuditKind::MembershipGranted => "membership.granted",
            AuditKind::MembershipRevoked => "membership.revoked",
            AuditKind::UserDeleted => "user.deleted",
            AuditKind::IdentifierRemoved => "user.identifier_removed",
            AuditKind::PasswordChangeRequired => "user.password_change_required",
            AuditKind::AdministratorChanged => "administrator.changed",
            AuditKind::UserUpdated => "user.updated",
            AuditKind::InvitationCreated => "invitation.created",
            AuditKind::InvitationResent => "invitation.resent",
            AuditKind::InvitationRevoked => "invitation.revoked",
            AuditKind::InvitationAccepted => "invitation.accepted",
            AuditKind::CasServiceUpdated => "cas_service.updated",
        }
    }

    /// The kind stored as `s` (reading the table back), if this version knows it.
    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const ALL: [AuditKind; 46] = [
        AuditKind::LoginSuccess,
        AuditKind::LoginFailure,
        AuditKind::LoginThrottled,
        AuditKind::ConsentGranted,
        AuditKind::TokenIssued,
        AuditKind::CodeReplayed,
        AuditKind::RefreshReplayed,
        AuditKind::Logout,
        AuditKind::UserCreated,
        AuditKind::UserPasswordChanged,
        AuditKind::UserDisabled,
        AuditKind::UserEnabled,
        AuditKind::ClientCreated,
        AuditKind::ClientSecretRotated,
        AuditKind::ClientUpdated,
        AuditKind::ClientDisabled,
        AuditKind::ClientEnabled,
        AuditKind::MfaEnrolled,
        AuditKind::MfaRemoved,
        AuditKind::MfaReset,
        AuditKind::MfaSucceeded,
        AuditKind::MfaFailed,
        AuditKind::RecoveryCodesGenerated,
        AuditKind::SmsSent,
        AuditKind::AccountLocked,
        AuditKind::AccountUnlocked,
        AuditKind::PasswordResetSent,
        AuditKind::PasswordResetRefused,
        AuditKind::PasswordReset,
        AuditKind::AccountActivated,
        AuditKind::RecoverySuccess,
        AuditKind::RecoveryFailure,
        AuditKind::EstablishmentCreated,
        AuditKind::EstablishmentUpdated,
        AuditKind::MembershipGranted,
        AuditKind::MembershipRevoked,
        AuditKind::UserDeleted,
        AuditKind::IdentifierRemoved,
        AuditKind::PasswordChangeRequired,
        AuditKind::AdministratorChanged,
        AuditKind::UserUpdated,
        AuditKind::InvitationCreated,
        AuditKind::InvitationResent,
        AuditKind::InvitationRevoked,
        AuditKind::InvitationAccepted,
        AuditKind::CasServiceUpdated,
    ];
}

#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub at: i64,
    pub kind: AuditKind,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Free-form JSON; never a secret.
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(at: i64, kind: AuditKind) -> AuditEvent {
        AuditEvent {
            at,
            kind,
            user_id: None,
            client_id: None,
            ip: None,
            detail: None,
        }
    }
    pub fn user(mut self, id: &str) -> Self {
        self.user_id = Some(id.to_owned());
        self
    }
    pub fn user_opt(mut self, id: Option<&str>) -> Self {
        self.user_id = id.map(str::to_owned);
        self
    }
    pub fn client_opt(mut self, id: Option<&str>) -> Self {
        self.client_id = id.map(str::to_owned);
        self
    }
    pub fn client(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }
    pub fn ip(mut self, ip: Option<String>) -> Self {
        self.ip = ip;
        self
    }
    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail.to_string());
        self
    }
}

/// The most rows one search returns: an export larger than this goes page by page.
pub const AUDIT_PAGE_MAX: usize = 10_000;

/// A row of the audit table as read back for the administrators. The kind stays the stored
/// text: a row written by a newer node (an unknown kind) is shown, not dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// UUIDv7, time-ordered; with `at`, the position of the row for keyset pagination.
    pub id: String,
    pub at: i64,
    pub kind: String,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
}

/// Where a page ends: the next page holds the rows strictly older than this one, in the
/// order `at desc, id desc`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: i64,
    pub id: String,
}

impl AuditCursor {
    /// `AT.ID`, opaque to callers (a console passes it back as it got it).
    pub fn encode(&self) -> String {
        format!("{}.{}", self.at, self.id)
    }

    pub fn parse(s: &str) -> Option<AuditCursor> {
        let (at, id) = s.split_once('.')?;
        if id.is_empty() {
            return None;
        }
        Some(AuditCursor {
            at: at.parse().ok()?,
            id: id.to_owned(),
        })
    }
}

/// Which audit rows a search wants; every field left empty matches every row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    /// Any of these kinds; empty means every kind.
    pub kinds: Vec<AuditKind>,
    /// Unix seconds, inclusive.
    pub from: Option<i64>,
    /// Unix seconds, exclusive.
    pub to: Option<i64>,
    /// Rows strictly after this position (newest first), for the next page.
    pub before: Option<AuditCursor>,
    /// At most this many rows (1 to `AUDIT_PAGE_MAX`).
    pub limit: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_stored_name_and_parses_back() {
        let mut names: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
        for k in AuditKind::ALL {
            assert_eq!(AuditKind::parse(k.as_str()), Some(k));
        }
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), AuditKind::ALL.len());
        assert_eq!(
            AuditKind::parse("mfa.success"),
            Some(AuditKind::MfaSucceeded)
        );
        assert_eq!(AuditKind::parse("nope"), None);
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote_and_refuses_garbage() {
        let c = AuditCursor {
            at: 1_700_000_000,
            id: "0190b2c4-aaaa".into(),
        };
        assert_eq!(AuditCursor::parse(&c.encode()), Some(c));
        assert_eq!(AuditCursor::parse("x.y"), None);
        assert_eq!(AuditCursor::parse("12."), None);
        assert_eq!(AuditCursor::parse("12"), None);
    }
}
