//! The theme folder (`GUICHET_THEME_DIR`): `theme.toml` read and checked once at start-up, and
//! the two files it makes public, `{base}/theme/theme.css` (the accent colour: the CSP allows
//! no inline style) and `{base}/theme/<logo>`. The logo is read into memory at start-up and
//! served by name: no path from a request ever reaches the file system.

use std::path::Path;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use figment::Figment;
use figment::providers::{Format, Toml};
use serde::Deserialize;

use crate::domain::theme::{
    DEFAULT_COLOR, DEFAULT_HELPDESK_EN, DEFAULT_HELPDESK_FR, Theme, ThemeLink, is_color,
};
use crate::http::state::AppState;

/// Browsers may keep the theme's files an hour: they change only when the server restarts.
const CACHE: &str = "public, max-age=3600";

/// A logo larger than this is a mistake (a print-resolution file), not a page header.
const MAX_LOGO_BYTES: u64 = 1024 * 1024;

/// The files the theme serves, held in memory.
#[derive(Debug, Clone)]
pub struct ThemeFiles {
    css: Bytes,
    logo: Option<Logo>,
}

#[derive(Debug, Clone)]
struct Logo {
    /// The file name, checked to be a plain name (see [`logo_content_type`]).
    file: String,
    content_type: &'static str,
    bytes: Bytes,
}

/// A theme folder that cannot be used; the message names the folder and the problem.
#[derive(Debug, thiserror::Error)]
#[error("GUICHET_THEME_DIR {dir}: {why}")]
pub struct ThemeError {
    dir: String,
    why: String,
}

/// `theme.toml` as written; unknown keys are refused so that a typo does not go unnoticed.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeToml {
    name: String,
    logo: Option<String>,
    primary_color: Option<String>,
    helpdesk_fr: Option<String>,
    helpdesk_en: Option<String>,
    helpdesk_url: Option<String>,
    #[serde(default)]
    links: Vec<LinkToml>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LinkToml {
    label_fr: String,
    label_en: String,
    url: String,
}

/// The theme of `dir` (the neutral default without one), and its files for `{base}/theme/`.
pub fn load(dir: Option<&Path>, base: &str) -> Result<(Theme, ThemeFiles), ThemeError> {
    let Some(dir) = dir else {
        let theme = Theme::default();
        let files = ThemeFiles {
            css: css(&theme.primary_color),
            logo: None,
        };
        return Ok((theme, files));
    };
    let fail = |why: String| ThemeError {
        dir: dir.display().to_string(),
        why,
    };
    let path = dir.join("theme.toml");
    if !path.is_file() {
        return Err(fail("no theme.toml in this folder".into()));
    }
    let raw: ThemeToml = Figment::from(Toml::file_exact(&path))
        .extract()
        .map_err(|e| fail(format!("theme.toml: {e}").replace('\n', " ")))?;
    let name = non_empty("name", raw.name).map_err(&fail)?;
    let primary_color = raw.primary_color.unwrap_or_else(|| DEFAULT_COLOR.into());
    if !is_color(&primary_color) {
        return Err(fail(format!(
            "primary_color {primary_color:?} must be #rgb or #rrggbb"
        )));
    }
    let helpdesk_fr = optional_text("helpdesk_fr", raw.helpdesk_fr, DEFAULT_HELPDESK_FR);
    let helpdesk_en = optional_text("helpdesk_en", raw.helpdesk_en, DEFAULT_HELPDESK_EN);
    let helpdesk_url = raw
        .helpdesk_url
        .map(|u| link_url("helpdesk_url", u))
        .transpose()
        .map_err(&fail)?;
    let links = raw
        .links
        .into_iter()
        .map(|l| {
            Ok(ThemeLink {
                label_fr: non_empty("links.label_fr", l.label_fr)?,
                label_en: non_empty("links.label_en", l.label_en)?,
                url: link_url("links.url", l.url)?,
            })
        })
        .collect::<Result<Vec<_>, String>>()
        .map_err(&fail)?;
    let logo = raw
        .logo
        .map(|file| read_logo(dir, file))
        .transpose()
        .map_err(&fail)?;
    let theme = Theme {
        name,
        logo: logo.as_ref().map(|l| format!("{base}/theme/{}", l.file)),
        primary_color,
        helpdesk_fr: helpdesk_fr.map_err(&fail)?,
        helpdesk_en: helpdesk_en.map_err(&fail)?,
        helpdesk_url,
        links,
    };
    let files = ThemeFiles {
        css: css(&theme.primary_color),
        logo,
    };
    Ok((theme, files))
}

fn non_empty(key: &str, value: String) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(format!("{key} must not be empty"));
    }
    Ok(value.to_owned())
}

fn optional_text(key: &str, value: Option<String>, default: &str) -> Result<String, String> {
    match value {
        Some(v) => non_empty(key, v),
        None => Ok(default.to_owned()),
    }
}

/// Links go to web pages, mail or phone: a `javascript:` URL in a footer would run in our
/// origin (the CSP blocks it too; this says so at start-up).
fn link_url(key: &str, value: String) -> Result<String, String> {
    let url = url::Url::parse(value.trim())
        .map_err(|_| format!("{key} {value:?} is not an absolute URL"))?;
    if !matches!(url.scheme(), "https" | "http" | "mailto" | "tel") {
        return Err(format!(
            "{key} {value:?} must be an https, http, mailto or tel URL"
        ));
    }
    Ok(value.trim().to_owned())
}

/// The logo's content type from its name, once the name is known to be a plain file name of
/// the folder: ASCII letters, digits, `.`, `-`, `_`, not starting with a dot (so no path
/// separator, no `..`, no hidden file), with an image extension.
fn logo_content_type(file: &str) -> Result<&'static str, String> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if !plain {
        return Err(format!(
            "logo {file:?} must be the name of a file of the theme folder (letters, digits, \
             '.', '-', '_'; no path)"
        ));
    }
    let ext = file
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "svg" => Ok("image/svg+xml"),
        "png" => Ok("image/png"),
        "jpg" | "jpeg" => Ok("image/jpeg"),
        "webp" => Ok("image/webp"),
        _ => Err(format!(
            "logo {file:?} must be an svg, png, jpg or webp file"
        )),
    }
}

fn read_logo(dir: &Path, file: String) -> Result<Logo, String> {
    let content_type = logo_content_type(&file)?;
    let path = dir.join(&file);
    let meta =
        std::fs::metadata(&path).map_err(|e| format!("logo {file:?} cannot be read: {e}"))?;
    if !meta.is_file() {
        return Err(format!("logo {file:?} is not a file"));
    }
    if meta.len() > MAX_LOGO_BYTES {
        return Err(format!("logo {file:?} is larger than 1 MiB"));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("logo {file:?} cannot be read: {e}"))?;
    Ok(Logo {
        file,
        content_type,
        bytes: Bytes::from(bytes),
    })
}

/// The style sheet that sets the accent colour (checked by [`is_color`], so nothing else can
/// reach it).
fn css(color: &str) -> Bytes {
    Bytes::from(format!(":root {{ --accent: {color}; }}\n"))
}

/// `{base}/theme/theme.css` and `{base}/theme/<logo>`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/theme/theme.css", get(theme_css_get))
        .route("/theme/{file}", get(theme_file_get))
}

async fn theme_css_get(State(state): State<AppState>) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, CACHE),
        ],
        state.theme_files.css.clone(),
    )
        .into_response()
}

/// The configured logo, matched by name only (an SVG opened on its own is still under the
/// edge's CSP, which runs no script).
async fn theme_file_get(
    State(state): State<AppState>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    match &state.theme_files.logo {
        Some(logo) if logo.file == file => (
            [
                (header::CONTENT_TYPE, logo.content_type),
                (header::CACHE_CONTROL, CACHE),
            ],
            logo.bytes.clone(),
        )
            .into_response(),
        _ => state.pages.error(
            StatusCode::NOT_FOUND,
            super::locale(&headers, None),
            "err_not_found",
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOML: &str = r##"
name = "Université Exemple"
logo = "logo.svg"
primary_color = "#1d4f91"
helpdesk_fr = "Assistance : 01 23 45 67 89, assistance@exemple.fr"
helpdesk_en = "Help desk: +33 1 23 45 67 89, help@example.org"
helpdesk_url = "https://help.exemple.fr"
[[links]]
label_fr = "Charte informatique"
label_en = "IT charter"
url = "https://exemple.fr/charte"
"##;

    fn folder(toml: &str, logo: Option<&str>) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        std::fs::write(dir.path().join("theme.toml"), toml).unwrap_or_else(|e| unreachable!("{e}"));
        if let Some(name) = logo {
            std::fs::write(
                dir.path().join(name),
                "<svg xmlns='http://www.w3.org/2000/svg'/>",
            )
            .unwrap_or_else(|e| unreachable!("{e}"));
        }
        dir
    }

    fn error(toml: &str, logo: Option<&str>) -> String {
        let dir = folder(toml, logo);
        match load(Some(dir.path()), "/sso") {
            Ok(t) => unreachable!("accepted: {t:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn a_valid_folder_gives_the_theme_and_its_files() {
        let dir = folder(TOML, Some("logo.svg"));
        let (theme, files) = load(Some(dir.path()), "/sso").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(theme.name, "Université Exemple");
        assert_eq!(theme.logo.as_deref(), Some("/sso/theme/logo.svg"));
        assert_eq!(
            theme.helpdesk("en"),
            "Help desk: +33 1 23 45 67 89, help@example.org"
        );
        assert!(theme.helpdesk("fr").starts_with("Assistance"));
        assert_eq!(
            theme.helpdesk_url.as_deref(),
            Some("https://help.exemple.fr")
        );
        assert_eq!(theme.links.len(), 1);
        assert_eq!(theme.links[0].label("en"), "IT charter");
        assert_eq!(&files.css[..], b":root { --accent: #1d4f91; }\n");
        let logo = files.logo.unwrap_or_else(|| unreachable!());
        assert_eq!(logo.content_type, "image/svg+xml");
        assert!(logo.bytes.starts_with(b"<svg"));
    }

    #[test]
    fn without_a_folder_the_theme_is_the_neutral_default() {
        let (theme, files) = load(None, "").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(theme, Theme::default());
        assert!(files.logo.is_none());
        assert_eq!(&files.css[..], b":root { --accent: #1d4f91; }\n");
    }

    #[test]
    fn only_the_name_is_required() {
        let dir = folder("name = \"École\"\n", None);
        let (theme, _) = load(Some(dir.path()), "").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            theme,
            Theme {
                name: "École".into(),
                ..Theme::default()
            }
        );
    }

    #[test]
    fn a_bad_colour_is_refused() {
        for bad in ["red", "#12345", "#fff; } body { display: none"] {
            let toml = TOML.replace("#1d4f91", bad);
            let e = error(&toml, Some("logo.svg"));
            assert!(
                e.contains("primary_color") && e.starts_with("GUICHET_THEME_DIR "),
                "{e}"
            );
        }
    }

    #[test]
    fn a_missing_logo_file_is_refused() {
        let e = error(TOML, None);
        assert!(e.contains("logo \"logo.svg\" cannot be read"), "{e}");
    }

    #[test]
    fn a_logo_with_a_path_is_refused() {
        for bad in [
            "../logo.svg",
            "img/logo.svg",
            "img\\\\logo.svg",
            "/etc/logo.svg",
            ".logo.svg",
        ] {
            let toml = TOML.replace("\"logo.svg\"", &format!("\"{bad}\""));
            let e = error(&toml, Some("logo.svg"));
            assert!(e.contains("no path"), "{bad}: {e}");
        }
        let e = error(&TOML.replace("logo.svg", "logo.gif"), Some("logo.gif"));
        assert!(e.contains("svg, png, jpg or webp"), "{e}");
    }

    #[test]
    fn other_mistakes_name_the_key() {
        for (toml, needle) in [
            (
                TOML.replace("name = \"Université Exemple\"", "name = \" \""),
                "name must not be empty",
            ),
            (
                TOML.replace("https://exemple.fr/charte", "javascript:alert(1)"),
                "links.url",
            ),
            (
                TOML.replace("https://help.exemple.fr", "help.exemple.fr"),
                "helpdesk_url",
            ),
            (format!("{TOML}\ncolour = \"#fff\""), "colour"),
            ("logo = \"logo.svg\"".into(), "name"),
        ] {
            let e = error(&toml, Some("logo.svg"));
            assert!(e.contains(needle) && !e.contains('\n'), "{needle}: {e}");
        }
        let empty = tempfile::tempdir().unwrap_or_else(|e| unreachable!("{e}"));
        let e = load(Some(empty.path()), "").err().map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("no theme.toml")));
    }
}
