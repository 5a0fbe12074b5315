//! OpenID Connect Discovery 1.0 §3: the provider's metadata, built at start-up and after each
//! keys reload (it lists the signing algorithms of the keys folder).

use serde_json::json;

use crate::crypto::keys::KeySet;
use crate::domain::acr::ACR_VALUES;
use crate::service::core::Urls;

/// The discovery document, built at start-up and after each keys reload.
pub fn document(urls: &Urls, keys: &KeySet) -> Result<Vec<u8>, serde_json::Error> {
    let algs: Vec<&str> = keys.algs().iter().map(|a| a.as_str()).collect();
    let mut doc = json!({
        "issuer": urls.issuer,
        "authorization_endpoint": urls.authorize,
        "token_endpoint": urls.token,
        "userinfo_endpoint": urls.userinfo,
        "jwks_uri": urls.jwks,
        "revocation_endpoint": urls.revoke,
        "introspection_endpoint": urls.introspect,
        "end_session_endpoint": urls.end_session,
        "scopes_supported": ["openid", "profile", "email", "phone", "address", "offline_access", "establishments"],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": algs,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "claims_supported": [
            "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp", "at_hash",
            "name", "given_name", "family_name", "middle_name", "nickname", "preferred_username",
            "picture", "website", "gender", "birthdate", "zoneinfo", "locale", "updated_at",
            "email", "email_verified", "phone_number", "phone_number_verified", "address",
            "establishments"
        ],
        "acr_values_supported": ACR_VALUES,
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_request_uri_registration": false,
        "authorization_response_iss_parameter_supported": true,
        "ui_locales_supported": ["fr", "en"],
        "frontchannel_logout_supported": false,
        // Back-Channel Logout 1.0 §2.1: logout tokens always carry `sid`.
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    });
    // RFC 8414 §2, Discovery 1.0 §3: advertised only when applications may register.
    if let Some(uri) = &urls.registration {
        doc["registration_endpoint"] = json!(uri);
    }
    serde_json::to_vec(&doc)
}
