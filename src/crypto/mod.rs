//! Password hashing, signing keys and JWKS, random tokens, one-time codes, secrets at rest.

pub mod keys;
pub mod otp;
pub mod password;
pub mod secretbox;
pub mod token;
