//! Password hashing, signing keys and JWKS, random tokens.

pub mod keys;
pub mod password;
pub mod token;
