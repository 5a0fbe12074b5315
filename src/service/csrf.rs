//! CSRF tokens: a signed double submit (OWASP CSRF Prevention, "signed double-submit
//! cookie"). The cookie holds a random value; the form holds the HMAC of it under the keys
//! folder's secret, so a token cannot be made for a cookie without the secret.

use crate::crypto::token::{ct_eq, hmac, random_token};
use crate::service::core::Core;

/// The cookie value to keep (a well-formed one the browser sent) or a new one.
pub fn cookie_value(sent: Option<&str>) -> String {
    match sent {
        Some(v) if v.len() == 43 => v.to_owned(),
        _ => random_token(),
    }
}

/// The token a form carries for this cookie value.
pub fn token(core: &Core, cookie_value: &str) -> String {
    hmac(
        core.keys.current().hmac_secret(),
        &[b"csrf", cookie_value.as_bytes()],
    )
}

/// Whether a posted token matches the cookie (constant time).
pub fn verify(core: &Core, cookie_value: &str, posted: &str) -> bool {
    ct_eq(&token(core, cookie_value), posted)
}
