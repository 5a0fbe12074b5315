//! The institution's look and words on every page and mail: its name, logo, colour, help-desk
//! contact and footer links. Plain data; `http::theme` reads it from the theme folder.

use serde::Serialize;

/// The accent colour of the pages without a theme (the one of `static/style.css`).
pub const DEFAULT_COLOR: &str = "#1d4f91";

/// What the help desk is called without a theme: generic, never a made-up address.
pub const DEFAULT_HELPDESK_FR: &str = "Contactez votre assistance informatique.";
pub const DEFAULT_HELPDESK_EN: &str = "Contact your IT help desk.";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Theme {
    /// Shown in the page header and in mail signatures.
    pub name: String,
    /// The URL path of the logo (`{base}/theme/<file>`), if there is one.
    pub logo: Option<String>,
    /// `#rgb` or `#rrggbb`: the pages' `--accent`.
    pub primary_color: String,
    pub helpdesk_fr: String,
    pub helpdesk_en: String,
    /// Where the help-desk text links to, if anywhere.
    pub helpdesk_url: Option<String>,
    /// Footer links (the IT charter, the privacy notice…).
    pub links: Vec<ThemeLink>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ThemeLink {
    pub label_fr: String,
    pub label_en: String,
    pub url: String,
}

impl Default for Theme {
    /// The neutral look of a deployment without a theme folder.
    fn default() -> Theme {
        Theme {
            name: "guichet".into(),
            logo: None,
            primary_color: DEFAULT_COLOR.into(),
            helpdesk_fr: DEFAULT_HELPDESK_FR.into(),
            helpdesk_en: DEFAULT_HELPDESK_EN.into(),
            helpdesk_url: None,
            links: Vec::new(),
        }
    }
}

impl Theme {
    /// The help-desk contact in `lang` (`fr` or `en`; anything else gets French, the default
    /// language of the pages).
    pub fn helpdesk(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.helpdesk_en
        } else {
            &self.helpdesk_fr
        }
    }
}

impl ThemeLink {
    pub fn label(&self, lang: &str) -> &str {
        if lang == "en" {
            &self.label_en
        } else {
            &self.label_fr
        }
    }
}

/// Whether `s` is a colour the theme may set: `#rgb` or `#rrggbb`. Nothing else reaches the
/// generated style sheet, so a theme cannot inject CSS.
pub fn is_color(s: &str) -> bool {
    s.strip_prefix('#')
        .is_some_and(|hex| matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_three_or_six_hex_digits_after_a_hash() {
        for good in ["#1d4f91", "#FFF", "#abc", "#000000"] {
            assert!(is_color(good), "{good}");
        }
        for bad in [
            "1d4f91",
            "#1d4f9",
            "#12345678",
            "#ggg",
            "red",
            "",
            "#",
            "#fff;}",
        ] {
            assert!(!is_color(bad), "{bad}");
        }
    }

    #[test]
    fn the_default_theme_is_neutral_and_speaks_both_languages() {
        let t = Theme::default();
        assert_eq!(t.name, "guichet");
        assert_eq!(t.logo, None);
        assert_eq!(t.helpdesk("en"), "Contact your IT help desk.");
        assert!(t.helpdesk("fr").contains("assistance"));
        assert_eq!(t.helpdesk("de"), t.helpdesk("fr"));
        assert!(is_color(&t.primary_color));
    }
}
