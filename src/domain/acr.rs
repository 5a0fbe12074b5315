//! Authentication context classes (`acr`) and methods (`amr`, RFC 8176) guichet names in ID
//! tokens and accepts in `acr_values`.

/// A password alone.
pub const ACR_PASSWORD: &str = "urn:guichet:acr:pwd";
/// A password and a second factor.
pub const ACR_MFA: &str = "urn:guichet:acr:mfa";
/// Every class, weakest first (the discovery document's `acr_values_supported`).
pub const ACR_VALUES: &[&str] = &[ACR_PASSWORD, ACR_MFA];

/// The `amr` of sign-ins with more than one factor.
pub const AMR_MFA: &str = "mfa";

/// The class a session's methods reach.
pub fn acr_of(amr: &[String]) -> &'static str {
    if amr.iter().any(|m| m == AMR_MFA) {
        ACR_MFA
    } else {
        ACR_PASSWORD
    }
}

/// The class an ID token names: of the classes a request's `acr_values` lists (preferred
/// first), the first the session's methods satisfy (a password-only class is satisfied by any
/// session); without one, the class the methods reach (OpenID Connect Core §2: the class the
/// authentication performed satisfied).
pub fn acr_for(acr_values: Option<&str>, amr: &[String]) -> &'static str {
    let reached = acr_of(amr);
    acr_values
        .into_iter()
        .flat_map(|v| v.split(' '))
        .find_map(|v| match v {
            ACR_PASSWORD => Some(ACR_PASSWORD),
            ACR_MFA if reached == ACR_MFA => Some(ACR_MFA),
            _ => None,
        })
        .unwrap_or(reached)
}

/// Whether a request's `acr_values` (space-separated, preferred first) asks for a second
/// factor: its first class we know is the multi-factor one. Unknown classes are ignored
/// (`acr_values` is a voluntary claim request, OpenID Connect Core §3.1.2.1).
pub fn acr_values_ask_mfa(acr_values: &str) -> bool {
    acr_values
        .split(' ')
        .find(|v| ACR_VALUES.contains(v))
        .is_some_and(|v| v == ACR_MFA)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_follows_the_methods_and_the_first_known_value_wins() {
        assert_eq!(acr_of(&["pwd".into()]), ACR_PASSWORD);
        assert_eq!(acr_of(&["pwd".into(), "otp".into(), "mfa".into()]), ACR_MFA);
        assert!(acr_values_ask_mfa("urn:other urn:guichet:acr:mfa"));
        assert!(!acr_values_ask_mfa(
            "urn:guichet:acr:pwd urn:guichet:acr:mfa"
        ));
        assert!(!acr_values_ask_mfa("urn:other"));
        let mfa = ["pwd".into(), "otp".into(), "mfa".into()];
        assert_eq!(acr_for(Some("urn:guichet:acr:pwd"), &mfa), ACR_PASSWORD);
        assert_eq!(acr_for(Some("urn:x urn:guichet:acr:mfa"), &mfa), ACR_MFA);
        assert_eq!(acr_for(None, &mfa), ACR_MFA);
        assert_eq!(
            acr_for(Some("urn:guichet:acr:mfa"), &["pwd".into()]),
            ACR_PASSWORD
        );
    }
}
