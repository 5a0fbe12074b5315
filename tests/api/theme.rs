//! The institution's look and words (`GUICHET_THEME_DIR`): its name, logo, colour, help desk
//! and footer links on the pages, the self-service links of the login page, and the settings
//! that refuse to start with a bad theme or a bad self-service policy.

use std::path::Path;

use guichet::app::Application;
use guichet::clock::Clock;
use guichet::config::Settings;
use scraper::{Html, Selector};

use crate::helpers::*;

/// The first bytes of a PNG file: enough for a content type to matter.
const LOGO: &[u8] = b"\x89PNG\r\n\x1a\n not really a picture";

const THEME: &str = r##"
name = "Université Exemple"
logo = "logo.png"
primary_color = "#c8102e"
helpdesk_fr = "Assistance : 01 23 45 67 89, assistance@exemple.fr"
helpdesk_en = "Help desk: +33 1 23 45 67 89, help@example.org"
helpdesk_url = "https://help.exemple.fr/"
[[links]]
label_fr = "Charte informatique"
label_en = "IT charter"
url = "https://exemple.fr/charte"
"##;

fn write_theme(dir: &Path, toml: &str) {
    std::fs::write(dir.join("theme.toml"), toml).unwrap();
    std::fs::write(dir.join("logo.png"), LOGO).unwrap();
}

async fn spawn_themed(dir: &Path) -> TestApp {
    spawn_with(Options {
        theme_dir: Some(dir.to_path_buf()),
        ..Options::default()
    })
    .await
}

async fn page(app: &TestApp, path: &str, lang: &str) -> Html {
    let res = send(
        app.browser
            .get(app.url(path))
            .header("accept-language", lang),
    )
    .await;
    Html::parse_document(&res.text().await.unwrap())
}

fn text(doc: &Html, selector: &str) -> String {
    let sel = Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no {selector}"))
        .text()
        .collect::<String>()
        .trim()
        .to_owned()
}

fn attr(doc: &Html, selector: &str, name: &str) -> String {
    let sel = Selector::parse(selector).unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr(name))
        .unwrap_or_else(|| panic!("no {selector}[{name}]"))
        .to_owned()
}

fn count(doc: &Html, selector: &str) -> usize {
    doc.select(&Selector::parse(selector).unwrap()).count()
}

#[tokio::test]
async fn the_login_page_shows_the_institution_its_help_desk_and_the_self_service_links() {
    let theme = tempfile::tempdir().unwrap();
    write_theme(theme.path(), THEME);
    let app = spawn_themed(theme.path()).await;

    let fr = page(&app, "/login", "fr-FR,fr;q=0.9").await;
    assert_eq!(text(&fr, "header.site .site-name"), "Université Exemple");
    assert_eq!(attr(&fr, "header.site img.logo", "src"), "/theme/logo.png");
    let help = text(&fr, "#helpdesk");
    assert!(
        help.contains("Assistance : 01 23 45 67 89, assistance@exemple.fr"),
        "{help}"
    );
    assert_eq!(attr(&fr, "#helpdesk a", "href"), "https://help.exemple.fr/");
    assert_eq!(
        count(&fr, "#helpdesk"),
        1,
        "the help desk shows once on the login page"
    );
    assert_eq!(text(&fr, "footer.site nav a"), "Charte informatique");
    assert_eq!(
        attr(&fr, "footer.site nav a", "href"),
        "https://exemple.fr/charte"
    );
    assert_eq!(attr(&fr, "#reset-link", "href"), "/reset");
    assert_eq!(text(&fr, "#reset-link"), "Mot de passe oublié ?");
    assert_eq!(attr(&fr, "#activate-link", "href"), "/activate");
    assert_eq!(
        text(&fr, "#activate-link"),
        "Première connexion ? Activez votre compte"
    );

    let en = page(&app, "/login", "en-GB,en;q=0.8").await;
    assert_eq!(text(&en, "header.site .site-name"), "Université Exemple");
    assert!(
        text(&en, "#helpdesk").contains("Help desk: +33 1 23 45 67 89, help@example.org"),
        "{}",
        text(&en, "#helpdesk")
    );
    assert_eq!(text(&en, "footer.site nav a"), "IT charter");
    assert_eq!(text(&en, "#reset-link"), "Forgot your password?");
    assert_eq!(
        text(&en, "#activate-link"),
        "First sign-in? Activate your account"
    );

    // every page carries the theme: the 404 page shows the help desk in its footer
    let missing = page(&app, "/no-such-page", "en").await;
    assert_eq!(
        text(&missing, "header.site .site-name"),
        "Université Exemple"
    );
    assert!(text(&missing, "footer.site #helpdesk").contains("help@example.org"));
}

#[tokio::test]
async fn the_logo_and_the_colour_are_served_cached_and_nothing_else_of_the_folder() {
    let theme = tempfile::tempdir().unwrap();
    write_theme(theme.path(), THEME);
    let app = spawn_themed(theme.path()).await;

    let logo = send(app.browser.get(app.url("/theme/logo.png"))).await;
    assert_eq!(logo.status(), 200);
    assert_eq!(logo.headers()["content-type"], "image/png");
    assert_eq!(logo.headers()["cache-control"], "public, max-age=3600");
    assert_eq!(&logo.bytes().await.unwrap()[..], LOGO);

    let css = send(app.browser.get(app.url("/theme/theme.css"))).await;
    assert_eq!(css.status(), 200);
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");
    assert_eq!(css.headers()["cache-control"], "public, max-age=3600");
    assert!(css.text().await.unwrap().contains("--accent: #c8102e;"));

    std::fs::write(theme.path().join("secret.png"), b"not for the web").unwrap();
    for path in [
        "/theme/theme.toml",
        "/theme/secret.png",
        "/theme/..%2Ftheme.toml",
        "/theme/%2E%2E%2Flogo.png",
    ] {
        let res = send(app.browser.get(app.url(path))).await;
        assert_eq!(res.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn without_a_theme_the_pages_are_neutral_and_still_give_a_help_desk() {
    let app = spawn_app().await;
    let en = page(&app, "/login", "en").await;
    assert_eq!(text(&en, "header.site .site-name"), "guichet");
    assert_eq!(count(&en, "header.site img"), 0);
    assert!(text(&en, "#helpdesk").contains("Contact your IT help desk."));
    assert_eq!(count(&en, "footer.site nav"), 0);
    assert_eq!(attr(&en, "#reset-link", "href"), "/reset");
    let fr = page(&app, "/login", "fr").await;
    assert!(text(&fr, "#helpdesk").contains("Contactez votre assistance informatique."));
    let css = send(app.browser.get(app.url("/theme/theme.css"))).await;
    assert!(css.text().await.unwrap().contains("--accent: #1d4f91;"));
    let logo = send(app.browser.get(app.url("/theme/logo.png"))).await;
    assert_eq!(logo.status(), 404);
}

#[tokio::test]
async fn a_bad_theme_stops_start_up_with_one_line_naming_the_problem() {
    let theme = tempfile::tempdir().unwrap();
    write_theme(theme.path(), &THEME.replace("#c8102e", "crimson"));
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let settings = Settings {
        issuer: format!("http://127.0.0.1:{port}"),
        listen: format!("127.0.0.1:{port}"),
        database_url: format!("sqlite://{}", dir.path().join("g.db").display()).into(),
        keys_dir: dir.path().join("keys"),
        theme_dir: Some(theme.path().to_path_buf()),
        ..Settings::default()
    };
    let e = match Application::build_with_listener(settings, Clock::system(), listener).await {
        Ok(_) => panic!("started with a bad colour"),
        Err(e) => format!("{e:#}"),
    };
    assert!(
        e.starts_with("GUICHET_THEME_DIR ") && e.contains("primary_color \"crimson\""),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    assert!(
        !dir.path().join("g.db").exists(),
        "the theme is checked before the database is touched"
    );
}

#[test]
fn a_self_service_policy_that_does_not_parse_is_a_bad_setting() {
    let ok = Settings {
        self_service_denied: "staff:reset,recover;external:activate".into(),
        ..Settings::default()
    };
    assert!(ok.validate().is_ok());
    let bad = Settings {
        self_service_denied: "staff:reset,forgot".into(),
        ..Settings::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("GUICHET_SELF_SERVICE_DENIED") && e.contains("\"forgot\""),
        "{e}"
    );
}

#[tokio::test]
async fn the_self_service_policy_reaches_the_services() {
    use guichet::domain::self_service::SelfService;
    let app = spawn_with(Options {
        settings: Some(|s| s.self_service_denied = "staff:reset,recover".into()),
        ..Options::default()
    })
    .await;
    let policy = &app.core.policy.self_service;
    assert!(!policy.allows(Some("staff"), SelfService::Reset));
    assert!(!policy.allows(Some("staff"), SelfService::Recover));
    assert!(policy.allows(Some("staff"), SelfService::ChangePassword));
    assert!(policy.allows(Some("student"), SelfService::Reset));
}
