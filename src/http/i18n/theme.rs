//! The institution's theme around every page. (key, French, English)

/// The strings around the institution's theme: the login page's self-service links, the
/// help-desk contact, the footer.
pub const THEME_STRINGS: &[(&str, &str, &str)] = &[
    (
        "login_forgot_password",
        "Mot de passe oublié ?",
        "Forgot your password?",
    ),
    (
        "login_activate",
        "Première connexion ? Activez votre compte",
        "First sign-in? Activate your account",
    ),
    ("theme_help", "Besoin d’aide ?", "Need help?"),
    ("theme_links", "Liens utiles", "Useful links"),
];
