//! Second factors: what a user has enrolled, and the rules for the phone numbers SMS codes go to.

use serde::{Deserialize, Serialize};

/// A kind of second factor; a user has at most one of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FactorKind {
    /// A code from an authenticator app (RFC 6238).
    Totp,
    /// A code sent by SMS to a verified number.
    Sms,
}

impl FactorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FactorKind::Totp => "totp",
            FactorKind::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<FactorKind> {
        match s {
            "totp" => Some(FactorKind::Totp),
            "sms" => Some(FactorKind::Sms),
            _ => None,
        }
    }
}

/// An enrolled second factor.
#[derive(Debug, Clone, Serialize)]
pub struct Factor {
    pub user_id: String,
    pub kind: FactorKind,
    /// E.164, SMS only.
    pub phone: Option<String>,
    /// The TOTP secret sealed by `crypto::secretbox` (with the user id as associated data);
    /// TOTP only, never shown.
    #[serde(skip)]
    pub secret: Option<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

/// Why a typed phone number cannot receive codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("no phone number given")]
    Empty,
    #[error("a phone number holds digits, spaces, dots, dashes, parentheses and a leading +")]
    Characters,
    #[error(
        "give the number with its country code (+33 6 12 34 56 78), or a French number of 10 \
         digits (06 12 34 56 78)"
    )]
    NoCountryCode,
    #[error("an international number has 8 to 15 digits after the +, the first not 0")]
    Length,
}

/// E.164 from what a person types: "+33 6 12 34 56 78", "+33612345678", "06 12 34 56 78" (a
/// French national number with a leading 0 and 10 digits becomes +33…), dots/dashes/spaces/
/// parentheses ignored; 8–15 digits after '+'; anything else refused.
///
/// Two more forms people write are read too: "0033 6 12 34 56 78" (00, the international
/// prefix of most of Europe, for +) and "+33 (0)6 12 34 56 78" (the trunk 0 in parentheses is
/// not dialled from abroad, so it is dropped).
pub fn normalize_phone(raw: &str) -> Result<String, PhoneError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(PhoneError::Empty);
    }
    let (international, rest) = match raw.strip_prefix('+') {
        Some(rest) => (true, rest.replacen("(0)", "", 1)),
        None => (false, raw.to_owned()),
    };
    let mut digits = String::with_capacity(rest.len());
    for c in rest.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '.' | '-' | '(' | ')' => {}
            c if c.is_whitespace() => {}
            _ => return Err(PhoneError::Characters),
        }
    }
    if digits.is_empty() {
        return Err(PhoneError::Empty);
    }
    let international_digits = if international {
        digits
    } else if let Some(after) = digits.strip_prefix("00") {
        after.to_owned()
    } else if digits.len() == 10 && digits.starts_with('0') {
        // French national format: 0 then 9 digits, the first of which is not 0.
        return if digits.as_bytes()[1] == b'0' {
            Err(PhoneError::NoCountryCode)
        } else {
            Ok(format!("+33{}", &digits[1..]))
        };
    } else {
        return Err(PhoneError::NoCountryCode);
    };
    // E.164 §6.1: at most 15 digits; country codes never begin with 0. Fewer than 8 digits is
    // no mobile number anywhere.
    if !(8..=15).contains(&international_digits.len()) || international_digits.starts_with('0') {
        return Err(PhoneError::Length);
    }
    Ok(format!("+{international_digits}"))
}

/// What a page shows of a number: all but the last two digits hidden, e.g. "+33 •••••••78".
/// The country code stays visible when it can be told (ITU-T E.164 assigns codes of one, two
/// or three digits, none a prefix of another).
pub fn mask_phone(e164: &str) -> String {
    let digits = e164.strip_prefix('+').unwrap_or(e164);
    if digits.len() < 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return "•".repeat(e164.chars().count().max(4));
    }
    let cc_len = country_code_len(digits);
    let (cc, national) = if digits.len() > cc_len + 2 {
        digits.split_at(cc_len)
    } else {
        ("", digits)
    };
    let (hidden, shown) = national.split_at(national.len() - 2);
    let dots = "•".repeat(hidden.len());
    if cc.is_empty() {
        format!("+{dots}{shown}")
    } else {
        format!("+{cc} {dots}{shown}")
    }
}

/// The length of the E.164 country code `digits` begins with: 1 and 7 are zones of their own,
/// the two-digit codes are listed, every other code has three digits.
fn country_code_len(digits: &str) -> usize {
    const TWO: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with(['1', '7']) {
        1
    } else if TWO.iter().any(|cc| digits.starts_with(cc)) {
        2
    } else {
        3
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn factor_kinds_round_trip_through_their_names() {
        for k in [FactorKind::Totp, FactorKind::Sms] {
            assert_eq!(FactorKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).unwrap(),
                serde_json::json!(k.as_str())
            );
        }
        assert_eq!(FactorKind::parse("TOTP"), None);
    }

    #[test]
    fn a_factor_never_serialises_its_secret() {
        let f = Factor {
            user_id: "u".into(),
            kind: FactorKind::Totp,
            phone: None,
            secret: Some("v1.sealed".into()),
            created_at: 1,
            last_used_at: None,
        };
        let json = serde_json::to_string(&f).unwrap();
        assert!(
            !json.contains("sealed") && !json.contains("secret"),
            "{json}"
        );
    }

    #[test]
    fn phone_numbers_as_people_type_them_become_e164() {
        for (typed, e164) in [
            ("+33 6 12 34 56 78", "+33612345678"),
            ("+33612345678", "+33612345678"),
            ("06 12 34 56 78", "+33612345678"),
            ("06.12.34.56.78", "+33612345678"),
            ("06-12-34-56-78", "+33612345678"),
            (" 07 12 34 56 78 ", "+33712345678"),
            ("06\u{a0}12\u{202f}34 56 78", "+33612345678"),
            ("+33 (0)6 12 34 56 78", "+33612345678"),
            ("0033 6 12 34 56 78", "+33612345678"),
            ("+1 (415) 555-0100", "+14155550100"),
            ("+44 20 7946 0958", "+442079460958"),
            ("+262 692 12 34 56", "+262692123456"),
        ] {
            assert_eq!(normalize_phone(typed), Ok(e164.to_owned()), "{typed:?}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for (typed, err) in [
            ("", PhoneError::Empty),
            ("   ", PhoneError::Empty),
            ("+", PhoneError::Empty),
            ("6 12 34 56 78", PhoneError::NoCountryCode),
            ("00 0612345678", PhoneError::Length),
            ("001234567", PhoneError::Length),
            ("612345678", PhoneError::NoCountryCode),
            ("061234567", PhoneError::NoCountryCode),
            ("061234567890", PhoneError::NoCountryCode),
            ("+33 6 12 34 56 78 90 12 34", PhoneError::Length),
            ("+1234567", PhoneError::Length),
            ("+0612345678", PhoneError::Length),
            ("+33 6 12 34 56 7a", PhoneError::Characters),
            ("+33+612345678", PhoneError::Characters),
            ("tel:+33612345678", PhoneError::Characters),
            ("+３３612345678", PhoneError::Characters),
            ("+33612345678;ext=1", PhoneError::Characters),
        ] {
            assert_eq!(normalize_phone(typed), Err(err), "{typed:?}");
        }
    }

    #[test]
    fn masks_keep_the_country_code_and_the_last_two_digits() {
        assert_eq!(mask_phone("+33612345678"), "+33 •••••••78");
        assert_eq!(mask_phone("+14155550100"), "+1 ••••••••00");
        assert_eq!(mask_phone("+262692123456"), "+262 •••••••56");
        assert_eq!(mask_phone("+442079460958"), "+44 ••••••••58");
        // nothing hidden is shown even for odd input
        assert_eq!(mask_phone("+123"), "+•23");
        assert_eq!(mask_phone("garbage"), "•••••••");
    }
}
