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
    ClientDisabled,
    ClientEnabled,
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
            AuditKind::ClientDisabled => "client.disabled",
            AuditKind::ClientEnabled => "client.enabled",
        }
    }
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
