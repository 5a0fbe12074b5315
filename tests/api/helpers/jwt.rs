//! Reading tokens and JSON bodies: JWT parts (unverified: signatures are checked through the
//! client library or the server), and the token fields of a token response.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The claims of a JWT, unverified (tests check signatures through the client library).
pub fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn jwt_header(token: &str) -> Value {
    let header = token.split('.').next().unwrap();
    let bytes = URL_SAFE_NO_PAD.decode(header).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// Base64url without padding, as in a JWT.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The string member `k` of a JSON object.
pub fn str_of<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing or not a string in {v}"))
}

/// The access token of a token response.
pub fn at(tokens: &Value) -> String {
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// The `id_token` of a token response.
pub fn id_token(tokens: &Value) -> String {
    str_of(tokens, "id_token").to_owned()
}

/// The refresh token of a token response.
pub fn rt(tokens: &Value) -> String {
    tokens["refresh_token"]
        .as_str()
        .expect("refresh token")
        .to_owned()
}
