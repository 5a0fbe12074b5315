//! Random secrets and their stored digests.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 256-bit random value, base64url without padding (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// `bytes` random bytes in lower-case hex (CAS tickets: `[A-Za-z0-9-]` only, CAS §3.7).
pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    let mut out = String::with_capacity(bytes * 2);
    for b in buf {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// What is stored for a 256-bit secret: SHA-256, base64url. A slow hash adds nothing for
/// secrets this long and would only slow the token endpoint.
pub fn digest(secret: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(secret.as_bytes()))
}

/// Compares a presented secret with a stored digest in constant time.
pub fn verify_digest(secret: &str, stored: &str) -> bool {
    digest(secret).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// Constant-time equality of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// OpenID Connect Core §3.1.3.6 `at_hash`: the left half of SHA-256 of the access token.
pub fn left_half_hash(value: &str) -> String {
    let d = Sha256::digest(value.as_bytes());
    URL_SAFE_NO_PAD.encode(&d[..16])
}

/// HMAC-SHA256 with the folder's secret, base64url: signs the CSRF double-submit cookie.
pub fn hmac(key: &[u8], parts: &[&[u8]]) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    URL_SAFE_NO_PAD.encode(ctx.sign().as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_chars_of_base64url_and_differ() {
        let a = random_token();
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(a, random_token());
    }

    #[test]
    fn digests_verify_only_the_same_secret() {
        let d = digest("s3cret");
        assert!(verify_digest("s3cret", &d));
        assert!(!verify_digest("s3cret ", &d));
    }

    #[test]
    fn at_hash_is_the_left_half_of_sha256_base64url() {
        // Computed independently: base64url(sha256(token)[..16]) without padding.
        assert_eq!(
            left_half_hash("jHkWEdUXMU1BwAsC4vtUsZwnNEw"),
            "EWAkqAQ0xK4cUsDz6eVWLg"
        );
    }
}
