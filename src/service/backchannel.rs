//! OpenID Connect Back-Channel Logout 1.0: when an SSO session ends, each client that took
//! part in it (a grant with its `sid`) and registered a `backchannel_logout_uri` is posted a
//! logout token (§2.4, §2.5), off the request path: a dead client never holds up a logout.

use serde::Serialize;
use serde_json::{Value, json};

use crate::crypto::keys::KeyError;
use crate::crypto::token::random_token;
use crate::domain::client::Client;
use crate::notify::outbound::Notification;
use crate::service::core::Core;
use crate::service::error::Result;

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// How long a logout token is good for: long enough for the courier's retries (§2.4 asks for
/// a short lifetime; §2.6 lets the client refuse older ones).
const LIFETIME: i64 = 120;

/// §2.4's claims. Never a `nonce` (§2.6 has the client refuse a token with one).
#[derive(Serialize)]
struct LogoutClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
    sub: &'a str,
    /// Always sent, whether or not the client set `backchannel_logout_session_required`: it
    /// names the session the ID tokens named, so the client ends exactly that one.
    sid: &'a str,
    events: Value,
}

/// The logout token for `client`: typed `logout+jwt` (§2.4) and signed with the client's ID
/// token algorithm, so that it checks it as it checks ID tokens.
pub fn logout_token(
    core: &Core,
    client: &Client,
    sid: &str,
    user_id: &str,
    now: i64,
) -> std::result::Result<String, KeyError> {
    let claims = LogoutClaims {
        iss: &core.urls.issuer,
        aud: &client.client_id,
        iat: now,
        exp: now + LIFETIME,
        jti: random_token(),
        sub: user_id,
        sid,
        events: json!({ EVENT: {} }),
    };
    core.keys
        .current()
        .sign(client.id_token_alg, Some("logout+jwt"), &claims)
}

/// The session `sid` of `user_id` has ended: every enabled client with a grant in it and a
/// back-channel logout URI is sent a logout token (§2.5), queued, each once.
pub async fn logged_out(core: &Core, sid: &str, user_id: &str, now: i64) -> Result<()> {
    for client_id in core.db.grant_clients_for_session(sid).await? {
        let Some(client) = core.clients.get(&core.db, &client_id).await? else {
            continue;
        };
        let Some(url) = &client.backchannel_logout_uri else {
            continue;
        };
        match logout_token(core, &client, sid, user_id, now) {
            Ok(token) => core.courier.notify(Notification {
                url: url.clone(),
                form: vec![("logout_token", token)],
                what: "oidc_backchannel",
            }),
            // The session has ended all the same; the client learns it at its next refresh.
            Err(e) => tracing::warn!(client_id, error = %e, "logout token not signed"),
        }
    }
    Ok(())
}
