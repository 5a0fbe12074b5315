//! The command line: `serve` and the administration commands. Standard output carries only the
//! JSON result (save `audit export` without `--output`, which writes CSV there); logs go to
//! standard error. Exit 0 on success, 1 with one line on standard error
//! on failure, 2 on usage errors (clap). Every command applies pending migrations first.

mod admins;
mod audit;
mod cas;
mod check;
mod cleanup;
mod clients;
mod establishments;
mod invitations;
mod users;

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::app::{Application, open_db, open_store, policy};
use crate::config::Settings;
use crate::crypto::keys::{self, Alg};
use crate::crypto::password::Hasher;
use crate::domain::admin::Actor;
use crate::domain::alg::AlgSet;
use crate::domain::clock::Clock;
use crate::domain::password_policy::{PasswordPolicy, Violation};
use crate::domain::user::{
    NewUser, parse_personal_number, validate_birth_date, validate_identifier,
};
use crate::ephemeral::DynEphemeral;
use crate::service::admin::Admin;
use crate::service::clients::{ClientSpec, Lifetimes};
use crate::service::core::Policy;
use crate::service::password;
use crate::store::Db;
use crate::telemetry;

#[derive(Debug, Parser)]
#[command(
    name = "guichet",
    version,
    about = "An identity provider: OpenID Connect and CAS"
)]
pub struct Cli {
    /// TOML configuration file (keys are the GUICHET_* names in lower case, without the prefix).
    #[arg(long, global = true, env = "GUICHET_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Check the configuration and reach the database, the short-lived store, the keys
    /// folder and the SMTP server; a JSON report, exit 1 on any problem. Writes nothing.
    CheckConfig,
    /// Remove what has expired (grants, refresh tokens, invitations, old audit events) once,
    /// now, as the servers do in the background; prints what went.
    Cleanup,
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage client applications.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage CAS services.
    #[command(subcommand)]
    CasService(cas::CasServiceCommand),
    /// Manage establishments and the rights they define.
    #[command(subcommand)]
    Establishment(establishments::EstablishmentCommand),
    /// Manage users' memberships of establishments.
    #[command(subcommand)]
    Membership(establishments::MembershipCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Search the audit log (JSON) or export it (CSV).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Manage global administrators.
    #[command(subcommand)]
    Admin(admins::AdminCommand),
    /// Invite people into establishments; list, resend and revoke invitations.
    #[command(subcommand)]
    Invitation(invitations::InvitationCommand),
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user.
    Add(Box<UserAdd>),
    /// Set a new password; the user's SSO sessions and refresh tokens end.
    SetPassword(UserSetPassword),
    /// Stop a user from signing in; their sessions and tokens stop working.
    Disable(UserRef),
    /// Let a disabled user sign in again.
    Enable(UserRef),
    /// Remove one identifier (an old e-mail address or number) from a user; not the login.
    RemoveIdentifier(UserRemoveIdentifier),
    /// Add an identifier (an e-mail address or a number) the user may sign in with.
    AddIdentifier(users::UserAddIdentifier),
    /// Change the profile (names, e-mail address, phone, category, language).
    Update(users::UserUpdate),
    /// Delete a user for good: grants revoked, sessions over; the audit trail stays.
    Delete(UserRef),
    /// Find users by login, identifier, name or e-mail address (part of one, any case).
    Search(UserSearch),
    /// Make the user's next sign-in ask for a new password first.
    RequirePasswordChange(UserRef),
    /// Lift a lockout (too many failed passwords or codes) at once.
    Unlock(UserRef),
    /// Remove every second factor and recovery code (a lost phone).
    MfaReset(UserRef),
    /// Print the account: locked or not, second factors enrolled (never a secret).
    Show(UserRef),
}

#[derive(Debug, Args)]
pub struct UserSearch {
    /// What to look for.
    #[arg(long)]
    pub query: String,
    /// The page (100 users each), from 0.
    #[arg(long, default_value_t = 0)]
    pub page: u32,
}

#[derive(Debug, Args)]
pub struct UserRemoveIdentifier {
    /// Any identifier of the user.
    #[arg(long)]
    pub login: String,
    /// The identifier to remove.
    #[arg(long)]
    pub identifier: String,
}

#[derive(Debug, Args)]
pub struct UserRef {
    /// Any of the user's identifiers (login, e-mail, number).
    #[arg(long)]
    pub login: String,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("secret").required(true).args(["password", "password_stdin"]))]
pub struct UserSetPassword {
    /// Any of the user's identifiers (login, e-mail, number).
    #[arg(long)]
    pub login: String,
    /// The password (visible in the process list: prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub password_stdin: bool,
    /// A temporary password: the user must choose a new one at their next sign-in.
    #[arg(long)]
    pub temporary: bool,
}

#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("secret").required(true).args(["password", "password_stdin"]))]
pub struct UserAdd {
    #[arg(long)]
    pub login: String,
    /// The password (visible in the process list: prefer --password-stdin).
    #[arg(long)]
    pub password: Option<String>,
    /// Read the password from standard input (first line).
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub email_verified: bool,
    /// Another identifier the user may sign in with (student/staff number…); repeatable.
    #[arg(long = "identifier")]
    pub identifiers: Vec<String>,
    #[arg(long)]
    pub given_name: Option<String>,
    #[arg(long)]
    pub family_name: Option<String>,
    #[arg(long)]
    pub phone: Option<String>,
    /// student, staff, external…
    #[arg(long)]
    pub category: Option<String>,
    /// A temporary password: the user must choose a new one at first sign-in (activation).
    #[arg(long)]
    pub temporary: bool,
    /// YYYY-MM-DD; with a personal number, it identifies the person when they recover their
    /// account.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub birth_date: Option<String>,
    /// A personal number for account recovery (student, staff…); repeatable.
    #[arg(long = "personal-number", value_name = "KIND=VALUE")]
    pub personal_numbers: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client application.
    Add(Box<ClientAdd>),
    /// Change any of a client's options (what is not given stays); JSON of the client out.
    Update(Box<clients::ClientUpdate>),
    /// Print a client's options (never its secret).
    Show(ClientRef),
    /// List every client, enabled or not.
    List,
    /// Replace a confidential client's secret (every node uses the new one within 10 s).
    RotateSecret(ClientRef),
    /// Refuse a client everywhere within 10 s.
    Disable(ClientRef),
    /// Accept a disabled client again.
    Enable(ClientRef),
    /// Remove a client for good: its grants, refresh tokens and consents go with it.
    Remove(ClientRef),
    /// Require (or stop requiring) a second factor of everyone who signs in to a client.
    RequireMfa(ClientRequireMfa),
    /// Set or clear where a client receives logout tokens (OpenID Connect Back-Channel
    /// Logout 1.0), and whether it needs the session id in them.
    BackchannelLogout(ClientBackchannelLogout),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("where").args(["uri", "clear"])))]
pub struct ClientBackchannelLogout {
    #[arg(long)]
    pub client_id: String,
    /// The client's back-channel logout URI: https, or http on loopback; no fragment.
    #[arg(long)]
    pub uri: Option<String>,
    /// Stop sending logout tokens to this client.
    #[arg(long)]
    pub clear: bool,
    /// true or false: the client needs `sid` in its logout tokens (guichet always sends it).
    #[arg(long, action = clap::ArgAction::Set, value_parser = clap::value_parser!(bool))]
    pub session_required: Option<bool>,
}

#[derive(Debug, Args)]
pub struct ClientRequireMfa {
    #[arg(long)]
    pub client_id: String,
    /// true or false.
    #[arg(long, action = clap::ArgAction::Set, value_parser = clap::value_parser!(bool), default_value_t = true)]
    pub on: bool,
}

#[derive(Debug, Args)]
pub struct ClientRef {
    #[arg(long)]
    pub client_id: String,
}

#[derive(Debug, Args)]
pub struct ClientAdd {
    #[arg(long)]
    pub client_id: String,
    /// A display name shown on the login and consent pages.
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// A public client (no secret, PKCE mandatory).
    #[arg(long)]
    pub public: bool,
    /// authorization_code, refresh_token, client_credentials (default: the first two).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    /// Default: openid profile email.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Skip the consent page.
    #[arg(long)]
    pub first_party: bool,
    /// A resource server: may introspect other clients' access tokens (RFC 7662 §4).
    #[arg(long)]
    pub introspect: bool,
    /// Everyone who signs in to this client must pass a second factor (enrolling one first
    /// if they have none).
    #[arg(long)]
    pub require_mfa: bool,
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256", "EdDSA"])]
    pub id_token_alg: String,
    #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256", "EdDSA"])]
    pub access_token_alg: String,
    /// Authorization code lifetime for this client, seconds (default: GUICHET_CODE_TTL).
    #[arg(long)]
    pub code_ttl: Option<i64>,
    /// Access token lifetime, seconds (default: GUICHET_ACCESS_TOKEN_TTL).
    #[arg(long)]
    pub access_token_ttl: Option<i64>,
    /// ID token lifetime, seconds (default: GUICHET_ID_TOKEN_TTL).
    #[arg(long)]
    pub id_token_ttl: Option<i64>,
    /// Offline refresh token idle lifetime, seconds (default: GUICHET_OFFLINE_TTL).
    #[arg(long)]
    pub offline_ttl: Option<i64>,
    /// Where guichet posts logout tokens when a session the client took part in ends
    /// (Back-Channel Logout 1.0): https, or http on loopback.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// The client needs `sid` in its logout tokens (guichet always sends it).
    #[arg(long, requires = "backchannel_logout_uri")]
    pub backchannel_logout_session_required: bool,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Generate a new signing key; it signs once the servers reload (SIGHUP or within 60 s).
    Rotate {
        #[arg(long, default_value = "ES256", value_parser = ["ES256", "RS256", "EdDSA"])]
        alg: String,
    },
    /// Remove a key (after the tokens it signed have expired).
    Retire {
        /// A kid may begin with `-` (base64url): it is taken as a value, not an option.
        #[arg(long, allow_hyphen_values = true)]
        kid: String,
    },
}

fn print(value: serde_json::Value) {
    println!("{value}");
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let (settings, warnings) = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log, settings.log_format);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    match cli.command {
        Command::Serve => serve(settings).await,
        Command::CheckConfig => check::run(settings, &warnings).await,
        Command::Cleanup => cleanup::run(settings).await,
        Command::Migrate => {
            let (db, applied) = open_db(&settings).await?;
            db.close().await;
            print(json!({ "applied": applied }));
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => user_add(settings, *args).await,
        Command::User(UserCommand::SetPassword(args)) => user_set_password(settings, args).await,
        Command::User(UserCommand::Disable(args)) => user_set_disabled(settings, args, true).await,
        Command::User(UserCommand::Enable(args)) => user_set_disabled(settings, args, false).await,
        Command::User(UserCommand::RemoveIdentifier(args)) => {
            user_remove_identifier(settings, args).await
        }
        Command::User(UserCommand::Delete(args)) => user_delete(settings, args).await,
        Command::User(UserCommand::AddIdentifier(args)) => {
            users::add_identifier(settings, args).await
        }
        Command::User(UserCommand::Update(args)) => users::update(settings, args).await,
        Command::User(UserCommand::RequirePasswordChange(args)) => {
            let ctx = AdminContext::open(&settings).await?;
            let done = async {
                let user = ctx.admin().find_user(&args.login).await?;
                ctx.admin()
                    .require_password_change(&user, Clock::system().now())
                    .await?;
                anyhow::Ok(
                    json!({ "id": user.id, "login": user.login, "must_change_password": true }),
                )
            }
            .await;
            ctx.close().await;
            print(done?);
            Ok(())
        }
        Command::User(UserCommand::Search(args)) => {
            let ctx = AdminContext::open(&settings).await?;
            let found = ctx.admin().search_users(&args.query, args.page).await;
            ctx.close().await;
            print(json!({ "users": found?, "page": args.page }));
            Ok(())
        }
        Command::User(UserCommand::Unlock(args)) => user_unlock(settings, args).await,
        Command::User(UserCommand::MfaReset(args)) => user_mfa_reset(settings, args).await,
        Command::User(UserCommand::Show(args)) => user_show(settings, args).await,
        Command::Client(ClientCommand::RequireMfa(args)) => {
            client_require_mfa(settings, args).await
        }
        Command::Client(ClientCommand::Add(args)) => client_add(settings, *args).await,
        Command::Client(ClientCommand::Update(args)) => clients::update(settings, *args).await,
        Command::Client(ClientCommand::Show(args)) => clients::show(settings, args).await,
        Command::Client(ClientCommand::List) => clients::list_all(settings).await,
        Command::Client(ClientCommand::BackchannelLogout(args)) => {
            client_backchannel_logout(settings, args).await
        }
        Command::Client(ClientCommand::RotateSecret(args)) => {
            client_rotate_secret(settings, args).await
        }
        Command::Client(ClientCommand::Disable(args)) => {
            client_set_disabled(settings, args, true).await
        }
        Command::Client(ClientCommand::Remove(args)) => {
            let ctx = AdminContext::open(&settings).await?;
            let done = ctx
                .admin()
                .remove_client(&args.client_id, Clock::system().now())
                .await;
            ctx.close().await;
            let revoked = done?;
            print(
                json!({ "client_id": args.client_id, "removed": true, "grants_revoked": revoked }),
            );
            Ok(())
        }
        Command::Client(ClientCommand::Enable(args)) => {
            client_set_disabled(settings, args, false).await
        }
        Command::CasService(cmd) => cas::run(settings, cmd).await,
        Command::Establishment(cmd) => establishments::establishment(settings, cmd).await,
        Command::Membership(cmd) => establishments::membership_cmd(settings, cmd).await,
        Command::Audit(cmd) => audit::run(settings, cmd).await,
        Command::Admin(cmd) => admins::run(settings, cmd).await,
        Command::Invitation(cmd) => invitations::run(settings, cmd).await,
        Command::Keys(cmd) => {
            // Migrations first, as for every command.
            let (db, _) = open_db(&settings).await?;
            db.close().await;
            match cmd {
                KeysCommand::Rotate { alg } => {
                    let alg = Alg::parse(&alg).context("unknown algorithm")?;
                    let (kid, alg) = keys::rotate(&settings.keys_dir, alg)?;
                    print(json!({ "kid": kid, "alg": alg.as_str() }));
                }
                KeysCommand::Retire { kid } => {
                    keys::retire(&settings.keys_dir, &kid)?;
                    print(json!({ "retired": kid }));
                }
            }
            Ok(())
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let listen = settings.listen.clone();
    let issuer = settings.issuer.clone();
    let app = Application::build(settings, Clock::system()).await?;
    tracing::info!(
        %issuer,
        %listen,
        port = app.port(),
        metrics_port = ?app.metrics_port(),
        "guichet is serving"
    );
    if let Some(setup) = app.setup_link().await? {
        // Printed (one JSON line, like every command) and logged: the only way in on a
        // database without an administrator.
        tracing::warn!(
            setup_url = %setup.0,
            expires_at = setup.1,
            "no administrator yet: open the set-up link to create the first one"
        );
        print(json!({ "setup_url": setup.0, "expires_at": setup.1 }));
    }
    app.run_until(shutdown_signal()).await
}

/// SIGTERM or Ctrl-C: stop accepting, drain in-flight requests, flush the audit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
    tracing::info!("shutting down");
}

/// The password from `--password` or the first line of standard input (the policy is checked
/// by the caller, who knows the user).
fn read_password(password: Option<String>, stdin: bool) -> anyhow::Result<String> {
    let password = match (password, stdin) {
        (Some(p), false) => p,
        (None, true) => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("cannot read the password from stdin")?;
            s.lines().next().unwrap_or("").to_owned()
        }
        _ => bail!("give exactly one of --password and --password-stdin"),
    };
    Ok(password)
}

/// Fails with one line naming every rule of the policy the password breaks.
fn refuse_broken(policy: &PasswordPolicy, broken: &[Violation]) -> anyhow::Result<()> {
    if broken.is_empty() {
        return Ok(());
    }
    let rules: Vec<String> = broken.iter().map(|v| v.describe(policy)).collect();
    bail!("password refused: {}", rules.join("; "))
}

/// What the administration commands work with: the database, and the short-lived store the
/// servers share (Redis) so that revocation markers reach them. With the in-process store,
/// markers go to a local store no server reads: the servers' own checks apply (a disabled
/// user or client is refused at once; a changed password's access tokens live out their
/// lifetime).
struct AdminContext {
    db: Db,
    ephemeral: DynEphemeral,
    sweeper: Option<tokio::task::JoinHandle<()>>,
    policy: Policy,
    /// The command line acts with a global administrator's reach: whoever runs it holds the
    /// server's database and keys.
    actor: Actor,
    /// What the keys folder can sign with; `None` when it is not made yet (the first start
    /// makes a key of every algorithm) or cannot be read (left for `serve` and `check-config`
    /// to report).
    signing_algs: Option<AlgSet>,
}

impl AdminContext {
    async fn open(settings: &Settings) -> anyhow::Result<AdminContext> {
        let (db, _) = open_db(settings).await?;
        let (ephemeral, sweeper) = open_store(settings, &Clock::system()).await?;
        Ok(AdminContext {
            db,
            ephemeral,
            sweeper,
            policy: policy(settings),
            actor: Actor::cli(),
            signing_algs: match keys::Keys::inspect(&settings.keys_dir) {
                Ok(Some(keys)) => Some(keys.into_iter().map(|(_, alg)| alg).collect()),
                _ => None,
            },
        })
    }

    fn admin(&self) -> Admin<'_> {
        Admin {
            db: &self.db,
            ephemeral: self.ephemeral.as_ref(),
            policy: &self.policy,
            actor: &self.actor,
            signing_algs: self.signing_algs,
        }
    }

    async fn close(self) {
        if let Some(s) = self.sweeper {
            s.abort();
        }
        self.db.close().await;
    }
}

async fn user_set_password(settings: Settings, args: UserSetPassword) -> anyhow::Result<()> {
    let password = read_password(args.password, args.password_stdin)?;
    let ctx = AdminContext::open(&settings).await?;
    let user = ctx.admin().find_user(&args.login).await?;
    let hasher = Hasher::new(1)?;
    let policy = &ctx.policy.password;
    let broken = password::violations(&ctx.db, &hasher, policy, &user, &password).await?;
    refuse_broken(policy, &broken)?;
    let hash = hasher.hash(password).await?;
    let revoked = ctx
        .admin()
        .replace_password(&user, &hash, args.temporary, Clock::system().now())
        .await?;
    ctx.close().await;
    print(json!({ "id": user.id, "login": user.login, "grants_revoked": revoked }));
    Ok(())
}

async fn user_set_disabled(
    settings: Settings,
    args: UserRef,
    disabled: bool,
) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let user = ctx.admin().find_user(&args.login).await?;
    let revoked = ctx
        .admin()
        .set_user_disabled(&user, disabled, Clock::system().now())
        .await?;
    ctx.close().await;
    print(
        json!({ "id": user.id, "login": user.login, "disabled": disabled, "grants_revoked": revoked }),
    );
    Ok(())
}

async fn user_remove_identifier(
    settings: Settings,
    args: UserRemoveIdentifier,
) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let result = async {
        let user = ctx.admin().find_user(&args.login).await?;
        ctx.admin()
            .remove_identifier(&user, &args.identifier, Clock::system().now())
            .await?;
        let identifiers = ctx.db.user_identifiers(&user.id).await?;
        anyhow::Ok(json!({
            "id": user.id,
            "login": user.login,
            "identifiers": identifiers.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }))
    }
    .await;
    ctx.close().await;
    print(result?);
    Ok(())
}

async fn user_delete(settings: Settings, args: UserRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let result = async {
        let user = ctx.admin().find_user(&args.login).await?;
        let revoked = ctx.admin().delete_user(&user, Clock::system().now()).await?;
        anyhow::Ok(json!({ "id": user.id, "login": user.login, "deleted": true, "grants_revoked": revoked }))
    }
    .await;
    ctx.close().await;
    print(result?);
    Ok(())
}

async fn user_unlock(settings: Settings, args: UserRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let user = ctx.admin().find_user(&args.login).await?;
    let was_locked = ctx.admin().unlock(&user, Clock::system().now()).await?;
    ctx.close().await;
    print(json!({ "id": user.id, "login": user.login, "was_locked": was_locked }));
    Ok(())
}

async fn user_mfa_reset(settings: Settings, args: UserRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let user = ctx.admin().find_user(&args.login).await?;
    let removed = ctx.admin().mfa_reset(&user, Clock::system().now()).await?;
    ctx.close().await;
    print(json!({ "id": user.id, "login": user.login, "factors_removed": removed }));
    Ok(())
}

async fn user_show(settings: Settings, args: UserRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let user = ctx.admin().find_user(&args.login).await?;
    let shown = ctx.admin().show_user(&user, Clock::system().now()).await?;
    ctx.close().await;
    print(shown);
    Ok(())
}

async fn client_require_mfa(settings: Settings, args: ClientRequireMfa) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    ctx.admin()
        .set_client_require_mfa(&args.client_id, args.on, Clock::system().now())
        .await?;
    ctx.close().await;
    print(json!({ "client_id": args.client_id, "require_mfa": args.on }));
    Ok(())
}

async fn client_backchannel_logout(
    settings: Settings,
    args: ClientBackchannelLogout,
) -> anyhow::Result<()> {
    let uri = match (&args.uri, args.clear) {
        (Some(u), _) => Some(Some(u.as_str())),
        (None, true) => Some(None),
        (None, false) => None,
    };
    let ctx = AdminContext::open(&settings).await?;
    let (uri, required) = ctx
        .admin()
        .set_client_backchannel_logout(
            &args.client_id,
            uri,
            args.session_required,
            Clock::system().now(),
        )
        .await?;
    ctx.close().await;
    print(json!({
        "client_id": args.client_id,
        "backchannel_logout_uri": uri,
        "backchannel_logout_session_required": required,
    }));
    Ok(())
}

async fn client_rotate_secret(settings: Settings, args: ClientRef) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let secret = ctx
        .admin()
        .rotate_client_secret(&args.client_id, Clock::system().now())
        .await?;
    ctx.close().await;
    print(json!({ "client_id": args.client_id, "client_secret": secret }));
    Ok(())
}

async fn client_set_disabled(
    settings: Settings,
    args: ClientRef,
    disabled: bool,
) -> anyhow::Result<()> {
    let ctx = AdminContext::open(&settings).await?;
    let revoked = ctx
        .admin()
        .set_client_disabled(&args.client_id, disabled, Clock::system().now())
        .await?;
    ctx.close().await;
    print(json!({ "client_id": args.client_id, "disabled": disabled, "grants_revoked": revoked }));
    Ok(())
}

async fn user_add(settings: Settings, args: UserAdd) -> anyhow::Result<()> {
    let password = read_password(args.password, args.password_stdin)?;
    validate_identifier(&args.login)?;
    for id in args.identifiers.iter().chain(args.email.iter()) {
        validate_identifier(id)?;
    }
    if let Some(e) = &args.email
        && !e.contains('@')
    {
        bail!("--email {e:?} is not an e-mail address");
    }
    if let Some(d) = &args.birth_date {
        validate_birth_date(d)?;
    }
    let personal_numbers = args
        .personal_numbers
        .iter()
        .map(|p| parse_personal_number(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut new = NewUser {
        login: args.login.trim().to_owned(),
        email: args.email.map(|e| e.trim().to_owned()),
        email_verified: args.email_verified,
        identifiers: args
            .identifiers
            .iter()
            .map(|i| i.trim().to_owned())
            .collect(),
        given_name: args.given_name,
        family_name: args.family_name,
        phone_number: args.phone,
        category: args.category,
        must_change_password: args.temporary,
        birth_date: args.birth_date,
        personal_numbers,
        ..NewUser::default()
    };
    let policy = policy(&settings).password;
    refuse_broken(
        &policy,
        &password::new_user_violations(&policy, &new, &password),
    )?;
    let ctx = AdminContext::open(&settings).await?;
    let done = async {
        let hasher = Hasher::new(1)?;
        new.password_hash = Some(hasher.hash(password).await?);
        let user = ctx
            .admin()
            .create_user(new, None, Clock::system().now())
            .await?;
        let identifiers = ctx.db.user_identifiers(&user.id).await?;
        anyhow::Ok(json!({
            "id": user.id,
            "login": user.login,
            "identifiers": identifiers.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        }))
    }
    .await;
    ctx.close().await;
    print(done?);
    Ok(())
}

async fn client_add(settings: Settings, args: ClientAdd) -> anyhow::Result<()> {
    let alg = |s: &str| Alg::parse(s).with_context(|| format!("unknown algorithm {s}"));
    let spec = ClientSpec {
        client_id: args.client_id,
        name: args.name,
        public: args.public,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types: args.grant_types,
        scopes: args.scopes,
        first_party: args.first_party,
        introspect: args.introspect,
        require_mfa: args.require_mfa,
        id_token_alg: alg(&args.id_token_alg)?,
        access_token_alg: alg(&args.access_token_alg)?,
        lifetimes: Lifetimes {
            code: args.code_ttl,
            access_token: args.access_token_ttl,
            id_token: args.id_token_ttl,
            offline: args.offline_ttl,
        },
        backchannel_logout_uri: args.backchannel_logout_uri,
        backchannel_logout_session_required: args.backchannel_logout_session_required,
    };
    let ctx = AdminContext::open(&settings).await?;
    let done = ctx
        .admin()
        .register_client(spec, Clock::system().now())
        .await;
    ctx.close().await;
    let (client, secret) = done?;
    let mut out = json!({ "client_id": client.client_id });
    if let Some(s) = secret {
        out["client_secret"] = json!(s);
    }
    print(out);
    Ok(())
}
