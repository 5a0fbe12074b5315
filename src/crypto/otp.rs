//! One-time codes: TOTP (RFC 6238) for authenticator apps, SMS codes, recovery codes, and the
//! QR code that carries an `otpauth://` URI to a phone.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use rand::{Rng as _, RngCore as _};
use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, TOTP};

/// RFC 6238 §5.2 recommends 30 seconds; it is also what every authenticator app assumes.
pub const TOTP_STEP: u64 = 30;
pub const TOTP_DIGITS: usize = 6;
/// How many recovery codes a set holds.
pub const RECOVERY_CODES: usize = 10;

/// Letters and digits less 0, O, 1 and I, which read alike: 32 symbols, 5 bits each.
const RECOVERY_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
/// 12 symbols: 60 bits, beyond guessing within any lockout.
const RECOVERY_LEN: usize = 12;

/// RFC 3986 §2.3 unreserved characters stay as they are; everything else is percent-encoded.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// 20 random bytes: the 160 bits RFC 4226 §4 (R6) recommends for HMAC-SHA1.
pub fn new_totp_secret() -> Vec<u8> {
    let mut secret = vec![0u8; 20];
    rand::rng().fill_bytes(&mut secret);
    secret
}

fn totp(secret: &[u8]) -> TOTP {
    // Unchecked: the length rule of `TOTP::new` (at least 128 bits) is for secrets we did not
    // make; ours are 160 bits, and the RFC's own test secret is accepted either way.
    TOTP::new_unchecked(Algorithm::SHA1, TOTP_DIGITS, 1, TOTP_STEP, secret.to_vec())
}

/// RFC 4648 no padding, as authenticator apps show it.
pub fn base32(secret: &[u8]) -> String {
    totp(secret).get_secret_base32()
}

/// `otpauth://totp/Issuer:account?secret=..&issuer=..&algorithm=SHA1&digits=6&period=30`, in
/// the Key URI Format authenticator apps read: issuer and account percent-encoded (a space
/// becomes `%20`, never `+`), the issuer given both in the label and as a parameter.
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = utf8_percent_encode(issuer, URI_COMPONENT).to_string();
    let account = utf8_percent_encode(account, URI_COMPONENT);
    let secret = base32(secret);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}\
         &algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}"
    )
}

/// An inline `<svg …>` element (no XML prolog), `role="img"` labelled "QR code", about 200 px
/// square, dark modules on white with the quiet zone. Empty if `data` does not fit in a QR code
/// (about 2,300 bytes at the error correction used here).
pub fn qr_svg(data: &str) -> String {
    qr_svg_labelled(data, "QR code")
}

/// [`qr_svg`] with another accessible name (a translated one).
pub fn qr_svg_labelled(data: &str, label: &str) -> String {
    // Level M (15% recovery): smaller modules than Q or H for the same size, and a screen
    // has no stains to recover from.
    let Ok(code) = QrCode::with_error_correction_level(data.as_bytes(), EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .build();
    let start = image.find("<svg").unwrap_or(0);
    let label = html_attribute(label);
    image[start..].replacen(
        "<svg ",
        &format!(r#"<svg role="img" aria-label="{label}" "#),
        1,
    )
}

fn html_attribute(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The time step (unix time / 30) at which `code` is valid for `secret`, checking the current
/// step and one on each side (±1, RFC 6238 §5.2); constant-time comparison; `None` unless
/// `code` is exactly 6 ASCII digits once spaces are removed.
///
/// All three steps are compared whatever the outcome, so the time taken does not tell which
/// matched; if two do (one chance in a million), the latest is returned. The caller refuses a
/// step at or before the last one it accepted (RFC 6238 §5.2: a code is used once).
pub fn totp_matching_step(secret: &[u8], code: &str, now: i64) -> Option<u64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != TOTP_DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = u64::try_from(now).ok()? / TOTP_STEP;
    let mut found = None;
    for step in [
        current.checked_sub(1),
        Some(current),
        current.checked_add(1),
    ]
    .into_iter()
    .flatten()
    {
        if bool::from(totp_code(secret, step).as_bytes().ct_eq(code.as_bytes())) {
            found = Some(step);
        }
    }
    found
}

/// The code of `step` (for tests and the enrolment check).
pub fn totp_code(secret: &[u8], step: u64) -> String {
    totp(secret).generate(step.saturating_mul(TOTP_STEP))
}

/// 6 digits, uniform (rand 0.9).
pub fn new_sms_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// 10 codes like "K7QM-4XDP-2WNA" (12 symbols from an unambiguous 32-char alphabet: 60 bits each).
pub fn new_recovery_codes() -> Vec<String> {
    let mut rng = rand::rng();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = String::with_capacity(RECOVERY_LEN + 2);
            for i in 0..RECOVERY_LEN {
                if i > 0 && i % 4 == 0 {
                    code.push('-');
                }
                // 32 divides 256: the low 5 bits of a random byte are uniform.
                let b = rng.random::<u8>() & 31;
                code.push(char::from(RECOVERY_ALPHABET[usize::from(b)]));
            }
            code
        })
        .collect()
}

/// A typed recovery code in canonical form (upper-case, spaces and dashes removed, alphabet and
/// length checked), or None: "k7qm 4xdp-2wna" is "K7QM4XDP2WNA".
pub fn normalize_recovery_code(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc_6238_sha1_test_vectors() {
        // RFC 6238 Appendix B, SHA1, the last 6 of its 8 digits (RFC 4226 §5.3: the code is
        // the value modulo 10^digits).
        for (time, eight) in [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                totp_code(RFC_SECRET, time / TOTP_STEP),
                eight[2..],
                "T={time}"
            );
            assert_eq!(
                totp_matching_step(RFC_SECRET, &eight[2..], time as i64),
                Some(time / TOTP_STEP)
            );
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_two_are_not() {
        let secret = new_totp_secret();
        assert_eq!(secret.len(), 20);
        let now = 1_800_000_015i64;
        let step = now as u64 / TOTP_STEP;
        for (delta, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let s = step.checked_add_signed(delta).unwrap();
            let code = totp_code(&secret, s);
            let found = totp_matching_step(&secret, &code, now);
            if ok {
                assert_eq!(found, Some(s), "step {delta:+}");
            } else if found.is_some() {
                // the code of a step ±2 may equal one of the window by chance (3 in 10^6)
                assert!(
                    (-1..=1)
                        .any(|d| totp_code(&secret, step.checked_add_signed(d).unwrap()) == code)
                );
            }
        }
    }

    #[test]
    fn codes_must_be_six_ascii_digits_spaces_aside() {
        let now = 1_234_567_890;
        assert_eq!(
            totp_matching_step(RFC_SECRET, "005924", now),
            Some(41_152_263)
        );
        assert_eq!(
            totp_matching_step(RFC_SECRET, " 005 924 ", now),
            Some(41_152_263)
        );
        for bad in [
            "",
            "5924",
            "0059245",
            "89005924",
            "00592a",
            "005-924",
            "００５９２４",
            "+05924",
        ] {
            assert_eq!(totp_matching_step(RFC_SECRET, bad, now), None, "{bad:?}");
        }
        assert_eq!(totp_matching_step(RFC_SECRET, "005924", -1), None);
    }

    #[test]
    fn base32_and_the_otpauth_uri_follow_the_key_uri_format() {
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(b"f"), "MY");
        assert_eq!(
            otpauth_uri(RFC_SECRET, "École ACME", "alice@example.org"),
            "otpauth://totp/%C3%89cole%20ACME:alice%40example.org?\
             secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%C3%89cole%20ACME\
             &algorithm=SHA1&digits=6&period=30"
        );
        // a colon in the account cannot split the label
        assert!(otpauth_uri(RFC_SECRET, "I", "a:b").contains("/I:a%3Ab?"));
    }

    #[test]
    fn the_qr_code_is_an_inline_svg_element() {
        let svg = qr_svg(&otpauth_uri(&new_totp_secret(), "Guichet", "alice"));
        assert!(
            svg.starts_with(r#"<svg role="img" aria-label="QR code" xmlns="#),
            "{svg}"
        );
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("<?xml"));
        assert!(svg.contains(r##"fill="#fff""##) && svg.contains(r##"fill="#000""##));
        let width: u32 = svg
            .split(r#"width=""#)
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .parse()
            .unwrap();
        assert!((200..260).contains(&width), "{width}");
        assert!(
            qr_svg_labelled("x", "Code \"QR\" <>")
                .contains(r#"aria-label="Code &quot;QR&quot; &lt;&gt;""#)
        );
        assert_eq!(qr_svg(&"x".repeat(5000)), "");
    }

    #[test]
    fn sms_codes_are_six_digits() {
        let codes: Vec<String> = (0..50).map(|_| new_sms_code()).collect();
        assert!(
            codes
                .iter()
                .all(|c| c.len() == 6 && c.bytes().all(|b| b.is_ascii_digit()))
        );
        assert!(codes.iter().any(|c| c != &codes[0]));
    }

    #[test]
    fn recovery_codes_are_ten_distinct_groups_of_unambiguous_symbols() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 14, "{c}");
            assert_eq!(c.matches('-').count(), 2);
            assert_eq!(&c[4..5], "-");
            assert!(!c.contains(['0', 'O', '1', 'I']));
            let canonical = normalize_recovery_code(c).unwrap();
            assert_eq!(canonical, c.replace('-', ""));
            assert_eq!(
                normalize_recovery_code(&c.to_lowercase().replace('-', " ")),
                Some(canonical)
            );
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn typed_recovery_codes_are_checked() {
        assert_eq!(
            normalize_recovery_code(" k7qm-4xdp 2wna "),
            Some("K7QM4XDP2WNA".into())
        );
        for bad in [
            "",
            "K7QM-4XDP-2WN",
            "K7QM-4XDP-2WNAA",
            "K7QM-4XDP-2WN0",
            "K7QM-4XDP-2WNO",
            "K7QM_4XDP_2WNA",
            "K7QM-4XDP-2WNÀ",
        ] {
            assert_eq!(normalize_recovery_code(bad), None, "{bad:?}");
        }
    }
}
