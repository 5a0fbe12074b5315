//! Messages to people outside the browser: SMS codes through an HTTP gateway, and the outbox
//! directory that receives them (and, later, e-mail) when no gateway is configured; and calls
//! to applications (logout notifications, the CAS proxy callback). An
//! infrastructure layer beside `store`: it imports only `domain`.

pub mod outbound;
pub mod outbox;
pub mod sms;

pub use outbox::Outbox;
pub use sms::{DynSms, GatewaySms, OutboxSms, SmsError, SmsSender, sender};
