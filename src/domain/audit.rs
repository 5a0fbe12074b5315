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
        }
    }

    /// The kind stored as `s` (reading the table back), if this version knows it.
    pub fn parse(s: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub const ALL: [AuditKind; 39] = [
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
}
