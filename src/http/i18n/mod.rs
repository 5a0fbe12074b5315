//! French and English strings for the pages. The language is chosen from `ui_locales`, then
//! `Accept-Language`, then French (the institutions guichet serves are francophone first).

mod account;
mod activation;
mod admin;
mod invitation;
mod recovery;
mod self_service;
mod sign_in;
mod theme;

pub use account::ACCOUNT_STRINGS;
pub use activation::ACTIVATION_STRINGS;
pub use admin::ADMIN_STRINGS;
pub use invitation::INVITATION_STRINGS;
pub use recovery::RECOVERY_STRINGS;
pub use self_service::SELF_SERVICE_STRINGS;
pub use sign_in::STRINGS;
pub use theme::THEME_STRINGS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    Fr,
    En,
}

impl Locale {
    pub fn tag(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.split(['-', '_']).next().unwrap_or("").trim();
        if primary.eq_ignore_ascii_case("fr") {
            Some(Locale::Fr)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Locale::En)
        } else {
            None
        }
    }

    /// `ui_locales` (space-separated, preferred first), then `Accept-Language` (by q-value).
    pub fn negotiate(ui_locales: Option<&str>, accept_language: Option<&str>) -> Locale {
        if let Some(l) = ui_locales
            .into_iter()
            .flat_map(|s| s.split(' '))
            .find_map(Locale::from_tag)
        {
            return l;
        }
        if let Some(header) = accept_language {
            let mut best: Option<(f32, Locale)> = None;
            for part in header.split(',') {
                let mut pieces = part.split(';');
                let tag = pieces.next().unwrap_or("").trim();
                let q = pieces
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                if let Some(l) = Locale::from_tag(tag)
                    && q > 0.0
                    && best.is_none_or(|(bq, _)| q > bq)
                {
                    best = Some((q, l));
                }
            }
            if let Some((_, l)) = best {
                return l;
            }
        }
        Locale::Fr
    }
}

/// Every string of every table.
fn every_string() -> impl Iterator<Item = &'static (&'static str, &'static str, &'static str)> {
    STRINGS
        .iter()
        .chain(ACCOUNT_STRINGS)
        .chain(THEME_STRINGS)
        .chain(SELF_SERVICE_STRINGS)
        .chain(ACTIVATION_STRINGS)
        .chain(RECOVERY_STRINGS)
        .chain(ADMIN_STRINGS)
        .chain(INVITATION_STRINGS)
}

/// A string of the tables by key, if there is one (a label for a name that may have none).
pub fn lookup(locale: Locale, key: &str) -> Option<&'static str> {
    every_string()
        .find(|(k, _, _)| *k == key)
        .map(|(_, fr, en)| match locale {
            Locale::Fr => *fr,
            Locale::En => *en,
        })
}

pub fn table(locale: Locale) -> tera::Value {
    let mut map = tera::Map::new();
    for (key, fr, en) in every_string() {
        let s = match locale {
            Locale::Fr => fr,
            Locale::En => en,
        };
        map.insert((*key).to_owned(), tera::Value::String((*s).to_owned()));
    }
    tera::Value::Object(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_in_one_table_once() {
        let mut seen = std::collections::HashSet::new();
        for (key, fr, en) in every_string() {
            assert!(seen.insert(*key), "{key} is defined twice");
            assert!(!fr.is_empty() && !en.is_empty(), "{key} lacks a language");
        }
    }

    #[test]
    fn ui_locales_win_then_accept_language_then_french() {
        assert_eq!(Locale::negotiate(Some("se en-GB"), Some("fr")), Locale::En);
        assert_eq!(
            Locale::negotiate(Some("se"), Some("de, en;q=0.5, fr;q=0.8")),
            Locale::Fr
        );
        assert_eq!(Locale::negotiate(None, Some("en-US,en;q=0.9")), Locale::En);
        assert_eq!(Locale::negotiate(None, None), Locale::Fr);
    }
}
