//! Key material: parsing PKCS#8 files, signing, public members, thumbprints, JOSE headers.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, PublicKeyComponents};
use aws_lc_rs::signature::{
    self as sig, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, ParsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::{Alg, KeyError};

/// Public members of a key, base64url without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Public {
    Ec { x: String, y: String },
    Rsa { n: String, e: String },
    Okp { x: String },
}

impl Public {
    /// RFC 7638 JWK thumbprint: SHA-256 over the required members in lexicographic order.
    pub(super) fn thumbprint(&self) -> String {
        // base64url values need no JSON escaping
        let canonical = match self {
            Public::Ec { x, y } => format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
            Public::Rsa { n, e } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
            Public::Okp { x } => format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
        };
        B64.encode(Sha256::digest(canonical.as_bytes()))
    }
}

pub(super) enum Signer {
    Ec(EcdsaKeyPair),
    Rsa(RsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// One parsed key file.
pub(super) struct Key {
    pub(super) kid: String,
    pub(super) alg: Alg,
    /// File names holding this key (several only if a file was copied under another name).
    pub(super) files: Vec<String>,
    pub(super) signer: Signer,
    pub(super) verifier: ParsedPublicKey,
    pub(super) public: Public,
}

impl Key {
    pub(super) fn parse(alg: Alg, pem_text: &[u8]) -> Result<Key, String> {
        let block = pem::parse(pem_text).map_err(|e| format!("not PEM: {e}"))?;
        if block.tag() != "PRIVATE KEY" {
            return Err(format!(
                "PEM label {:?}, expected \"PRIVATE KEY\" (PKCS#8)",
                block.tag()
            ));
        }
        let der = block.contents();
        let rejected = |e: aws_lc_rs::error::KeyRejected| format!("not a PKCS#8 {alg} key: {e}");
        let (signer, verifier, public) = match alg {
            Alg::ES256 => {
                let kp = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(rejected)?;
                let point = kp.public_key().as_ref();
                let (x, y) = match point {
                    [4, xy @ ..] if xy.len() == 64 => xy.split_at(32),
                    _ => return Err("unexpected P-256 public point encoding".into()),
                };
                let verifier =
                    ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).map_err(rejected)?;
                let public = Public::Ec {
                    x: B64.encode(x),
                    y: B64.encode(y),
                };
                (Signer::Ec(kp), verifier, public)
            }
            Alg::RS256 => {
                let kp = RsaKeyPair::from_pkcs8(der).map_err(rejected)?;
                let c = PublicKeyComponents::<Vec<u8>>::from(kp.public_key());
                let verifier = c
                    .to_parsed_public_key(&sig::RSA_PKCS1_2048_8192_SHA256)
                    .map_err(rejected)?;
                let public = Public::Rsa {
                    n: B64.encode(&c.n),
                    e: B64.encode(&c.e),
                };
                (Signer::Rsa(kp), verifier, public)
            }
            Alg::EdDSA => {
                let kp = Ed25519KeyPair::from_pkcs8(der).map_err(rejected)?;
                let pk = kp.public_key().as_ref();
                let verifier = ParsedPublicKey::new(&sig::ED25519, pk).map_err(rejected)?;
                let public = Public::Okp { x: B64.encode(pk) };
                (Signer::Ed(kp), verifier, public)
            }
        };
        Ok(Key {
            kid: public.thumbprint(),
            alg,
            files: Vec::new(),
            signer,
            verifier,
            public,
        })
    }

    /// Appends `.` and the base64url signature of `out` (the signing input) to `out`.
    pub(super) fn append_signature(&self, out: &mut String) -> Result<(), KeyError> {
        let failed = || KeyError::Sign {
            alg: self.alg,
            kid: self.kid.clone(),
        };
        match &self.signer {
            Signer::Ec(kp) => {
                let s = kp
                    .sign(&SystemRandom::new(), out.as_bytes())
                    .map_err(|_| failed())?;
                out.push('.');
                B64.encode_string(s.as_ref(), out);
            }
            Signer::Rsa(kp) => {
                let mut s = vec![0u8; kp.public_modulus_len()];
                kp.sign(
                    &sig::RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    out.as_bytes(),
                    &mut s,
                )
                .map_err(|_| failed())?;
                out.push('.');
                B64.encode_string(&s, out);
            }
            Signer::Ed(kp) => {
                let s = kp.sign(out.as_bytes());
                out.push('.');
                B64.encode_string(s.as_ref(), out);
            }
        }
        Ok(())
    }

    pub(super) fn jwk(&self) -> Jwk<'_> {
        let mut jwk = Jwk {
            kty: "EC",
            crv: None,
            n: None,
            e: None,
            x: None,
            y: None,
            kid: &self.kid,
            use_: "sig",
            alg: self.alg.as_str(),
        };
        match &self.public {
            Public::Ec { x, y } => {
                (jwk.crv, jwk.x, jwk.y) = (Some("P-256"), Some(x.as_str()), Some(y.as_str()));
            }
            Public::Rsa { n, e } => {
                (jwk.kty, jwk.n, jwk.e) = ("RSA", Some(n.as_str()), Some(e.as_str()));
            }
            Public::Okp { x } => {
                (jwk.kty, jwk.crv, jwk.x) = ("OKP", Some("Ed25519"), Some(x.as_str()));
            }
        }
        jwk
    }
}

#[derive(Serialize)]
pub(super) struct Jwk<'a> {
    kty: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    crv: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    n: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    e: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    x: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    y: Option<&'a str>,
    kid: &'a str,
    #[serde(rename = "use")]
    use_: &'static str,
    alg: &'static str,
}

#[derive(Serialize)]
pub(super) struct OutHeader<'a> {
    pub(super) alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) typ: Option<&'a str>,
    pub(super) kid: &'a str,
}

#[derive(Deserialize)]
pub(super) struct InHeader {
    pub(super) alg: String,
    pub(super) kid: Option<String>,
    pub(super) typ: Option<String>,
    pub(super) crit: Option<serde::de::IgnoredAny>,
}
