//! The password policy: what a new password must be, wherever it is set (sign-in's forced
//! change, self-service, the CLI). Pure rules: the history check, which needs the stored
//! hashes, is `service::password`'s.
//!
//! Length is the rule that matters (NIST SP 800-63B §5.1.1.2, OWASP ASVS 6.2): at least 12
//! characters, at least 64 allowed, any Unicode, no composition rules; a password is also
//! refused when it holds the login or the person's names, or is one of the most common
//! passwords.

use std::collections::HashSet;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// The policy's settings.
#[derive(Debug, Clone)]
pub struct PasswordPolicy {
    /// Fewest characters (Unicode scalar values after NFC).
    pub min_length: usize,
    /// Most characters: at least 64 (ASVS 6.2.9), so that passphrases and password managers
    /// fit; the bound only keeps argon2's input reasonable.
    pub max_length: usize,
    /// How many previous passwords (besides the current one) a new one must differ from.
    pub history: usize,
}

impl Default for PasswordPolicy {
    fn default() -> PasswordPolicy {
        PasswordPolicy {
            min_length: 12,
            max_length: 256,
            history: 3,
        }
    }
}

/// A rule a new password breaks; each names itself for the page ("at least 12 characters",
/// …) through its strings-table key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Violation {
    TooShort,
    TooLong,
    ContainsLogin,
    ContainsName,
    Banned,
    /// The current password or one of the last `history` ones.
    Reused,
    /// The new password and its confirmation differ (the pages' check).
    Mismatch,
}

impl Violation {
    /// The rules a page lists before the person types, in the order `check` reports them.
    pub const RULES: [Violation; 6] = [
        Violation::TooShort,
        Violation::TooLong,
        Violation::ContainsLogin,
        Violation::ContainsName,
        Violation::Banned,
        Violation::Reused,
    ];

    /// The strings-table key that names the rule on a page.
    pub fn key(self) -> &'static str {
        match self {
            Violation::TooShort => "pw_too_short",
            Violation::TooLong => "pw_too_long",
            Violation::ContainsLogin => "pw_contains_login",
            Violation::ContainsName => "pw_contains_name",
            Violation::Banned => "pw_banned",
            Violation::Reused => "pw_reused",
            Violation::Mismatch => "pw_mismatch",
        }
    }

    /// The rule in English, for the command line and logs (pages use [`Violation::key`]).
    pub fn describe(self, policy: &PasswordPolicy) -> String {
        match self {
            Violation::TooShort => format!("at least {} characters", policy.min_length),
            Violation::TooLong => format!("at most {} characters", policy.max_length),
            Violation::ContainsLogin => "must not contain the login".into(),
            Violation::ContainsName => "must not contain the person's names".into(),
            Violation::Banned => "must not be one of the most common passwords".into(),
            Violation::Reused => format!(
                "must differ from the current password and the {} before it",
                policy.history
            ),
            Violation::Mismatch => "the two passwords must match".into(),
        }
    }
}

/// What the person and the account are, for the rules that depend on them.
pub struct Context<'a> {
    pub login: &'a str,
    /// Given, family and display name (absent ones left out).
    pub names: &'a [&'a str],
}

/// Names and logins shorter than this are not looked for: "Li" or "al" would forbid too many
/// passwords for no gain.
const MIN_NAME: usize = 3;

/// NFC then lower case: the form in which passwords, logins and names are compared.
fn folded(s: &str) -> String {
    s.nfc().flat_map(char::to_lowercase).collect()
}

/// The parts of a name looked for in a password: the whole name and each of its words
/// ("Jean-Pierre Le Goff": "jean-pierre le goff", "jean", "pierre", "goff"), folded, of at
/// least three characters.
fn name_parts(name: &str) -> Vec<String> {
    let whole = folded(name.trim());
    let mut parts: Vec<String> = whole
        .split(|c: char| !c.is_alphanumeric())
        .map(str::to_owned)
        .collect();
    parts.push(whole);
    parts.retain(|p| p.chars().count() >= MIN_NAME);
    parts
}

/// Every rule the password breaks, in a stable order (that of [`Violation::RULES`]): length
/// counted in Unicode scalar values after NFC; any Unicode allowed; no composition rules;
/// login (and the local part of a login that is an e-mail address) and names compared
/// case-insensitively, those shorter than 3 characters ignored.
/// `Reused` and `Mismatch` are the callers' (they need the stored hashes, or the form).
pub fn check(
    policy: &PasswordPolicy,
    password: &str,
    ctx: &Context<'_>,
    banned: &BannedList,
) -> Vec<Violation> {
    let mut broken = Vec::new();
    let length = password.nfc().count();
    if length < policy.min_length {
        broken.push(Violation::TooShort);
    }
    if length > policy.max_length {
        broken.push(Violation::TooLong);
    }
    let pw = folded(password);
    // A login that is an e-mail address is also looked for by its local part.
    let login = folded(ctx.login.trim());
    let local = login.split('@').next().unwrap_or_default();
    if [login.as_str(), local]
        .iter()
        .any(|l| l.chars().count() >= MIN_NAME && pw.contains(l))
    {
        broken.push(Violation::ContainsLogin);
    }
    if ctx
        .names
        .iter()
        .flat_map(|n| name_parts(n))
        .any(|part| pw.contains(&part))
    {
        broken.push(Violation::ContainsName);
    }
    if banned.contains(password) {
        broken.push(Violation::Banned);
    }
    broken
}

/// The banned list shipped with guichet: the 10,000 most common passwords of the SecLists
/// project (see `data/README.md`), one per line.
static COMMON: &str = include_str!("../../data/banned-passwords.txt");

static COMMON_LIST: LazyLock<BannedList> = LazyLock::new(|| BannedList::from_lines(COMMON));

/// Passwords refused whatever their length, compared case-insensitively (after NFC).
pub struct BannedList {
    folded: HashSet<String>,
}

impl BannedList {
    /// The list compiled into the binary, built once.
    pub fn common() -> &'static BannedList {
        &COMMON_LIST
    }

    /// A list from text, one password per line (blank lines skipped).
    pub fn from_lines(text: &str) -> BannedList {
        BannedList {
            folded: text
                .lines()
                .map(|l| l.trim_end_matches('\r'))
                .filter(|l| !l.is_empty())
                .map(folded)
                .collect(),
        }
    }

    pub fn contains(&self, pw: &str) -> bool {
        self.folded.contains(&folded(pw))
    }

    /// How many distinct passwords (case folded) the list holds.
    pub fn len(&self) -> usize {
        self.folded.len()
    }

    pub fn is_empty(&self) -> bool {
        self.folded.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: [Violation; 0] = [];

    fn none() -> Context<'static> {
        Context {
            login: "",
            names: &[],
        }
    }

    fn broken(password: &str, ctx: &Context<'_>) -> Vec<Violation> {
        check(
            &PasswordPolicy::default(),
            password,
            ctx,
            BannedList::common(),
        )
    }

    #[test]
    fn the_defaults_are_12_to_256_characters_and_three_previous_passwords() {
        let p = PasswordPolicy::default();
        assert_eq!((p.min_length, p.max_length, p.history), (12, 256, 3));
    }

    #[test]
    fn a_long_enough_password_of_any_kind_passes() {
        assert_eq!(broken("correct horse battery staple", &none()), NONE);
        assert_eq!(broken("a brand new passphrase", &none()), NONE);
        // No composition rules: lower-case letters alone are fine.
        assert_eq!(broken("zzzzzzzzzzzzq", &none()), NONE);
    }

    #[test]
    fn eleven_characters_are_too_short_and_twelve_are_enough() {
        assert_eq!(broken("xkcd-936-ab", &none()), [Violation::TooShort]);
        assert_eq!(broken("xkcd-936-abc", &none()), NONE);
        assert_eq!(broken("", &none()), [Violation::TooShort]);
    }

    #[test]
    fn length_counts_unicode_characters_after_nfc_not_bytes() {
        // Twelve characters, 24 bytes: long enough.
        assert_eq!(broken("éàüöïçñßøåæœ", &none()), NONE);
        // "é" typed as e + combining acute is one character once composed: eleven in all.
        let decomposed = "e\u{301}".repeat(11);
        assert_eq!(decomposed.chars().count(), 22);
        assert_eq!(broken(&decomposed, &none()), [Violation::TooShort]);
        // Emoji and CJK are as good as letters.
        assert_eq!(broken("🔑🔒🗝️密码パスワード암호", &none()), NONE);
    }

    #[test]
    fn passwords_of_64_and_128_characters_are_accepted_and_257_refused() {
        let p64 = "abcdefgh".repeat(8);
        let p128 = "correct horse battery staple ".repeat(5)[..128].to_owned();
        assert_eq!(p64.chars().count(), 64);
        assert_eq!(p128.chars().count(), 128);
        assert_eq!(broken(&p64, &none()), NONE);
        assert_eq!(broken(&p128, &none()), NONE);
        assert_eq!(broken(&"é".repeat(256), &none()), NONE);
        assert_eq!(broken(&"é".repeat(257), &none()), [Violation::TooLong]);
    }

    #[test]
    fn the_login_is_refused_whatever_its_case() {
        let ctx = Context {
            login: "jdupont",
            names: &[],
        };
        assert_eq!(
            broken("my JDupont password", &ctx),
            [Violation::ContainsLogin]
        );
        assert_eq!(broken("my j.dupont password", &ctx), NONE);
        let email = Context {
            login: "Jean.Dupont@example.org",
            names: &[],
        };
        assert_eq!(
            broken("hello jean.dupont!", &email),
            [Violation::ContainsLogin]
        );
        // A login of fewer than three characters is not looked for.
        let short = Context {
            login: "jd",
            names: &[],
        };
        assert_eq!(broken("jd's long password", &short), NONE);
    }

    #[test]
    fn the_persons_names_and_their_words_are_refused_whatever_their_case() {
        let ctx = Context {
            login: "e12345",
            names: &["Élodie", "Le Goff", "Élodie Le Goff"],
        };
        assert_eq!(
            broken("I am ÉLODIE, hello", &ctx),
            [Violation::ContainsName]
        );
        assert_eq!(
            broken("the goff family rules", &ctx),
            [Violation::ContainsName]
        );
        // "Le" is shorter than three characters: not a name to look for.
        assert_eq!(broken("le chat est noir", &ctx), NONE);
        // Composed and decomposed forms compare alike.
        assert_eq!(
            broken("hello e\u{301}lodie friend", &ctx),
            [Violation::ContainsName]
        );
        let both = Context {
            login: "egoff",
            names: &["Goff"],
        };
        assert_eq!(
            broken("egoff", &both),
            [
                Violation::TooShort,
                Violation::ContainsLogin,
                Violation::ContainsName,
            ]
        );
    }

    #[test]
    fn the_most_common_passwords_are_refused_whatever_their_case() {
        let list = BannedList::common();
        assert!(list.contains("123456"));
        assert!(list.contains("PassWord"));
        assert!(!list.contains("correct horse battery staple"));
        // The shipped list: 10,000 lines, a few of which differ by case only.
        assert_eq!(COMMON.lines().count(), 10_000);
        assert!(list.len() > 9_900, "{}", list.len());
        // Banned entries of twelve characters or more reach the banned rule alone.
        assert!(list.contains("1qaz2wsx3edc"));
        assert_eq!(broken("1QAZ2WSX3EDC", &none()), [Violation::Banned]);
        assert_eq!(
            broken("QWERTY", &none()),
            [Violation::TooShort, Violation::Banned]
        );
    }

    #[test]
    fn a_list_built_from_text_skips_blank_lines_and_folds_case() {
        let list = BannedList::from_lines("Sunshine\r\n\nDragon\n");
        assert_eq!(list.len(), 2);
        assert!(list.contains("SUNSHINE") && list.contains("dragon"));
        assert!(!list.is_empty());
    }

    #[test]
    fn each_rule_has_a_key_and_a_description() {
        let p = PasswordPolicy::default();
        assert_eq!(Violation::TooShort.key(), "pw_too_short");
        assert_eq!(Violation::TooShort.describe(&p), "at least 12 characters");
        for v in Violation::RULES.into_iter().chain([Violation::Mismatch]) {
            assert!(v.key().starts_with("pw_"));
            assert!(!v.describe(&p).is_empty());
        }
        assert_eq!(
            serde_json::to_string(&Violation::ContainsLogin)
                .ok()
                .as_deref(),
            Some("\"contains_login\"")
        );
    }
}
