//! The e-mails guichet sends, as tera templates compiled into the binary: for each message and
//! language (`fr`, `en`), `templates/mail/<name>.<lang>.txt` (its first line is
//! `Subject: …`, then a blank line, then the plain-text body) and `<name>.<lang>.html` (the
//! HTML body, escaped automatically, extending `mail/base.html`).

use serde::Serialize;
use tera::{Context, Tera};

use super::{Mail, MailError};

/// The languages every message exists in.
pub const LANGUAGES: &[&str] = &["fr", "en"];

/// Every message and the context fields its templates use:
/// - `activation_link`: `login`, `link`, `valid_until` (a time, already formatted);
/// - `redirect_confirm`: `link`;
/// - `password_changed`: `login`, `when`, `ip`;
/// - `reset_link`: `login`, `link`, `valid_minutes`;
/// - `forgot_login`: `login`;
/// - `recovery_done`: `login`, `when`;
/// - `invitation`: `establishment`, `rights` (already joined), `link`, `valid_days`, and
///   `given_name` if known.
pub const NAMES: &[&str] = &[
    "activation_link",
    "redirect_confirm",
    "password_changed",
    "reset_link",
    "forgot_login",
    "recovery_done",
    "invitation",
];

macro_rules! mail_templates {
    ($($name:literal),* $(,)?) => {
        &[$(
            (concat!($name, ".fr.txt"), include_str!(concat!("../../templates/mail/", $name, ".fr.txt"))),
            (concat!($name, ".en.txt"), include_str!(concat!("../../templates/mail/", $name, ".en.txt"))),
            (concat!($name, ".fr.html"), include_str!(concat!("../../templates/mail/", $name, ".fr.html"))),
            (concat!($name, ".en.html"), include_str!(concat!("../../templates/mail/", $name, ".en.html"))),
        )*]
    };
}

const SOURCES: &[(&str, &str)] = mail_templates!(
    "activation_link",
    "redirect_confirm",
    "password_changed",
    "reset_link",
    "forgot_login",
    "recovery_done",
    "invitation",
);

const BASE: (&str, &str) = (
    "mail/base.html",
    include_str!("../../templates/mail/base.html"),
);

/// The compiled mail templates; build once at start-up and share.
#[derive(Debug)]
pub struct MailTemplates {
    tera: Tera,
}

impl MailTemplates {
    /// Compiles every template; an error is a bug in a shipped template.
    pub fn new() -> Result<MailTemplates, MailError> {
        let mut tera = Tera::default();
        tera.autoescape_on(vec![".html"]);
        tera.set_escape_fn(escape_html);
        tera.add_raw_templates(std::iter::once(BASE).chain(SOURCES.iter().copied()))
            .map_err(|e| MailError::Build(format!("mail templates: {e:?}")))?;
        Ok(MailTemplates { tera })
    }

    /// Renders message `name` in `lang` (`fr` or `en`) with `ctx` (a struct or map that
    /// serialises to an object): returns the subject, the plain text and the HTML.
    pub fn render(
        &self,
        name: &str,
        lang: &str,
        ctx: &impl Serialize,
    ) -> Result<(String, String, String), MailError> {
        if !LANGUAGES.contains(&lang) {
            return Err(MailError::Build(format!("no mail in language {lang:?}")));
        }
        let context = Context::from_serialize(ctx)
            .map_err(|e| MailError::Build(format!("mail {name}: {e}")))?;
        let render = |ext: &str| {
            self.tera
                .render(&format!("{name}.{lang}.{ext}"), &context)
                .map_err(|e| MailError::Build(format!("mail {name}.{lang}.{ext}: {e:?}")))
        };
        let text = render("txt")?;
        let html = render("html")?;
        let (first, body) = text.split_once('\n').unwrap_or((&text, ""));
        let subject = first
            .strip_prefix("Subject:")
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                MailError::Build(format!("mail {name}.{lang}.txt: no \"Subject:\" line"))
            })?
            .to_owned();
        Ok((
            subject,
            body.trim_start_matches(['\r', '\n']).to_owned(),
            html,
        ))
    }

    /// [`MailTemplates::render`] addressed to `to`, ready for [`super::Mailer::send`].
    pub fn mail(
        &self,
        to: &str,
        name: &str,
        lang: &str,
        ctx: &impl Serialize,
    ) -> Result<Mail, MailError> {
        let (subject, text, html) = self.render(name, lang, ctx)?;
        Ok(Mail {
            to: to.to_owned(),
            subject,
            text,
            html: Some(html),
        })
    }
}

/// HTML escaping for text and attribute values: `&`, `<`, `>`, `"` and `'`. Unlike tera's
/// default it leaves `/` alone, so links in the HTML part read as they do in the text part
/// (and tests can find them), while staying as safe in quoted attributes.
fn escape_html(input: &str) -> String {
    let mut out = String::with_capacity(input.len() + input.len() / 8);
    for c in input.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    /// One context with every field any message uses, with characters HTML must escape.
    fn everything() -> serde_json::Value {
        serde_json::json!({
            "login": "alice<b>",
            "link": "https://idp.example/activate/confirm?t=abc&lang=fr",
            "valid_until": "30/11/2026 23:59",
            "when": "30/11/2026 10:15",
            "ip": "192.0.2.7",
            "valid_minutes": 60,
            "establishment": "IUT <Créteil>",
            "rights": "staff, print",
            "valid_days": 7,
            "given_name": "Alice",
            "institution": "Université Exemple",
            "helpdesk": "Assistance : 01 23 45 67 89",
        })
    }

    #[test]
    fn every_message_renders_in_both_languages_with_a_subject_text_and_escaped_html() {
        let templates = MailTemplates::new().unwrap();
        for name in NAMES {
            for lang in LANGUAGES {
                let (subject, text, html) = templates.render(name, lang, &everything()).unwrap();
                let at = format!("{name}.{lang}");
                assert!(!subject.is_empty() && !subject.contains('\n'), "{at}");
                assert!(!text.starts_with('\n') && text.len() > 40, "{at}: {text}");
                assert!(html.contains("<html") && html.contains("</html>"), "{at}");
                // Plain text is not escaped; HTML is.
                assert!(
                    !text.contains("&amp;") && !text.contains("&lt;"),
                    "{at}: {text}"
                );
                assert!(!html.contains("alice<b>"), "{at}: unescaped login");
                if text.contains("https://") {
                    assert!(
                        text.contains("https://idp.example/activate/confirm?t=abc&lang=fr"),
                        "{at}: {text}"
                    );
                    assert!(
                        html.contains("https://idp.example/activate/confirm?t=abc&amp;lang=fr"),
                        "{at}: {html}"
                    );
                }
            }
        }
    }

    #[test]
    fn each_message_carries_its_own_fields() {
        let t = MailTemplates::new().unwrap();
        let ctx = everything();
        let has = |name: &str, lang: &str, needles: &[&str]| {
            let (_, text, html) = t.render(name, lang, &ctx).unwrap();
            for n in needles {
                assert!(text.contains(n), "{name}.{lang} text lacks {n}: {text}");
            }
            (text, html)
        };
        for lang in LANGUAGES {
            has("activation_link", lang, &["alice<b>", "https://", "23:59"]);
            has("redirect_confirm", lang, &["https://"]);
            has(
                "password_changed",
                lang,
                &["alice<b>", "10:15", "192.0.2.7"],
            );
            has("reset_link", lang, &["alice<b>", "https://", "60"]);
            has("forgot_login", lang, &["alice<b>"]);
            has("recovery_done", lang, &["alice<b>", "10:15"]);
            let (_, html) = has(
                "invitation",
                lang,
                &["IUT <Créteil>", "staff, print", "https://", "7", "Alice"],
            );
            assert!(html.contains("IUT &lt;Créteil&gt;"), "{html}");
            // Every message signs with the institution and its help desk.
            for name in NAMES {
                let (_, html) = has(name, lang, &["Université Exemple", "01 23 45 67 89"]);
                assert!(html.contains("Université Exemple"), "{name}.{lang}");
            }
        }
        let (fr, _) = has("reset_link", "fr", &[]);
        let (en, _) = has("reset_link", "en", &[]);
        assert_ne!(fr, en);
    }

    #[test]
    fn unknown_messages_languages_and_missing_fields_are_errors() {
        let t = MailTemplates::new().unwrap();
        assert!(t.render("nope", "fr", &everything()).is_err());
        assert!(t.render("reset_link", "de", &everything()).is_err());
        assert!(
            t.render("reset_link", "fr", &serde_json::json!({"login": "a"}))
                .is_err()
        );
        assert!(t.render("reset_link", "fr", &"not an object").is_err());
        let mail = t
            .mail("a@example.org", "forgot_login", "en", &everything())
            .unwrap();
        assert_eq!(mail.to, "a@example.org");
        assert!(mail.html.is_some());
    }
}
