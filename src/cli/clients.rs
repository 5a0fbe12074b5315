//! `guichet client show/list/update`: reading and changing clients through
//! `service::admin` (the same rules as the console and the API).

use anyhow::{Context, bail};
use clap::Args;
use serde_json::json;

use super::{AdminContext, ClientRef, print};
use crate::config::Settings;
use crate::crypto::keys::Alg;
use crate::domain::client::Client;
use crate::domain::clock::Clock;
use crate::service::clients::ClientChanges;

/// What `client update` may change; what is not given stays. A repeated option replaces the
/// whole list (give every redirect URI the client keeps).
#[derive(Debug, Args)]
pub struct ClientUpdate {
    #[arg(long)]
    pub client_id: String,
    /// A display name shown on the login and consent pages.
    #[arg(long, conflicts_with = "no_name")]
    pub name: Option<String>,
    /// Remove the display name.
    #[arg(long)]
    pub no_name: bool,
    /// The redirect URIs (repeat for several; they replace the registered ones).
    #[arg(long = "redirect-uri", conflicts_with = "no_redirect_uris")]
    pub redirect_uris: Vec<String>,
    /// Remove every redirect URI (a client without the authorization_code grant).
    #[arg(long)]
    pub no_redirect_uris: bool,
    #[arg(
        long = "post-logout-redirect-uri",
        conflicts_with = "no_post_logout_redirect_uris"
    )]
    pub post_logout_redirect_uris: Vec<String>,
    #[arg(long)]
    pub no_post_logout_redirect_uris: bool,
    /// authorization_code, refresh_token, client_credentials (replace the registered ones).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// The scopes the client may ask for (replace the registered ones).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Make it a public client (no secret, PKCE mandatory): its secret is dropped.
    #[arg(long, conflicts_with = "confidential")]
    pub public: bool,
    /// Make it a confidential client: a new secret is printed, once.
    #[arg(long)]
    pub confidential: bool,
    /// Skip the consent page.
    #[arg(long, conflicts_with = "no_first_party")]
    pub first_party: bool,
    #[arg(long)]
    pub no_first_party: bool,
    /// A resource server: may introspect other clients' access tokens (RFC 7662 §4).
    #[arg(long, conflicts_with = "no_introspect")]
    pub introspect: bool,
    #[arg(long)]
    pub no_introspect: bool,
    /// Everyone who signs in to this client must pass a second factor.
    #[arg(long, conflicts_with = "no_require_mfa")]
    pub require_mfa: bool,
    #[arg(long)]
    pub no_require_mfa: bool,
    #[arg(long, value_parser = ["RS256", "ES256", "EdDSA"])]
    pub id_token_alg: Option<String>,
    #[arg(long, value_parser = ["ES256", "RS256", "EdDSA"])]
    pub access_token_alg: Option<String>,
    /// Seconds, or `default` for the server's setting (GUICHET_CODE_TTL).
    #[arg(long)]
    pub code_ttl: Option<String>,
    /// Seconds, or `default` (GUICHET_ACCESS_TOKEN_TTL).
    #[arg(long)]
    pub access_token_ttl: Option<String>,
    /// Seconds, or `default` (GUICHET_ID_TOKEN_TTL).
    #[arg(long)]
    pub id_token_ttl: Option<String>,
    /// Seconds, or `default` (GUICHET_OFFLINE_TTL).
    #[arg(long)]
    pub offline_ttl: Option<String>,
    /// Where guichet posts logout tokens (Back-Channel Logout 1.0): https, or http on
    /// loopback.
    #[arg(long, conflicts_with = "no_backchannel_logout_uri")]
    pub backchannel_logout_uri: Option<String>,
    /// Stop sending logout tokens to this client.
    #[arg(long)]
    pub no_backchannel_logout_uri: bool,
    /// The client needs `sid` in its logout tokens.
    #[arg(long, conflicts_with = "no_backchannel_logout_session_required")]
    pub backchannel_logout_session_required: bool,
    #[arg(long)]
    pub no_backchannel_logout_session_required: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn either(yes: bool, no: bool) -> Option<bool> {
    match (yes, no) {
        (true, _) => Some(true),
        (_, true) => Some(false),
        _ => None,
    }
}

/// A list given (replacing), cleared with `--no-…`, or unchanged.
fn list(given: Vec<String>, clear: bool) -> Option<Vec<String>> {
    if clear {
        Some(Vec::new())
    } else if given.is_empty() {
        None
    } else {
        Some(given)
    }
}

/// A lifetime in seconds, or `default` for the server's setting.
fn lifetime(name: &str, value: Option<String>) -> anyhow::Result<Option<Option<i64>>> {
    match value.as_deref() {
        None => Ok(None),
        Some("default") => Ok(Some(None)),
        Some(v) => {
            let n: i64 = v
                .parse()
                .with_context(|| format!("--{name} must be seconds or default, not {v:?}"))?;
            Ok(Some(Some(n)))
        }
    }
}

fn alg(s: Option<String>) -> anyhow::Result<Option<Alg>> {
    s.map(|s| Alg::parse(&s).with_context(|| format!("unknown algorithm {s}")))
        .transpose()
}

impl ClientUpdate {
    fn changes(self) -> anyhow::Result<ClientChanges> {
        let changes = ClientChanges {
            name: match (self.name, self.no_name) {
                (Some(n), _) => Some(Some(n)),
                (None, true) => Some(None),
                (None, false) => None,
            },
            redirect_uris: list(self.redirect_uris, self.no_redirect_uris),
            post_logout_redirect_uris: list(
                self.post_logout_redirect_uris,
                self.no_post_logout_redirect_uris,
            ),
            grant_types: list(self.grant_types, false),
            scopes: list(self.scopes, false),
            public: either(self.public, self.confidential),
            first_party: either(self.first_party, self.no_first_party),
            introspect: either(self.introspect, self.no_introspect),
            require_mfa: either(self.require_mfa, self.no_require_mfa),
            id_token_alg: alg(self.id_token_alg)?,
            access_token_alg: alg(self.access_token_alg)?,
            code_ttl: lifetime("code-ttl", self.code_ttl)?,
            access_token_ttl: lifetime("access-token-ttl", self.access_token_ttl)?,
            id_token_ttl: lifetime("id-token-ttl", self.id_token_ttl)?,
            offline_ttl: lifetime("offline-ttl", self.offline_ttl)?,
            backchannel_logout_uri: match (
                self.backchannel_logout_uri,
                self.no_backchannel_logout_uri,
            ) {
                (Some(u), _) => Some(Some(u)),
                (None, true) => Some(None),
                (None, false) => None,
            },
            backchannel_logout_session_required: either(
                self.backchannel_logout_session_required,
                self.no_backchannel_logout_session_required,
            ),
        };
        if changes.is_empty() {
            bail!("nothing to change: give at least one option (see --help)");
        }
        Ok(changes)
    }
}

/// A client as the CLI prints it: every option, never a secret.
pub fn shown(c: &Client) -> serde_json::Value {
    serde_json::to_value(c).unwrap_or_else(|_| json!({ "client_id": c.client_id }))
}

pub async fn update(settings: Settings, args: ClientUpdate) -> anyhow::Result<()> {
    let client_id = args.client_id.clone();
    let changes = args.changes()?;
    let ctx = AdminContext::open(&settings).await?;
    let done = ctx
        .admin()
        .update_client(&client_id, changes, Clock::system().now())
        .await;
    ctx.close().await;
    let (client, secret) = done?;
    let mut out = shown(&client);
    if let Some(s) = secret {
        out["client_secret"] = json!(s);
    }
    print(out);
    Ok(())
}

pub async fn show(settings: Settings, args: ClientRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let found = ctx.admin().client(&args.client_id).await;
    ctx.close().await;
    print(shown(&found?));
    Ok(())
}

pub async fn list_all(settings: Settings) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let all = ctx.admin().clients().await;
    ctx.close().await;
    print(json!({ "clients": all?.iter().map(shown).collect::<Vec<_>>() }));
    Ok(())
}
