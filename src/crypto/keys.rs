//! Signing keys: the key folder, JWS signing and verification, the JWKS, the HMAC secret.
//!
//! Key files are `<dir>/<alg>-<unix time>.pem` (PKCS#8 "PRIVATE KEY", mode 0600) with `alg` one of
//! `ES256`, `RS256`, `EdDSA`; the newest file of an algorithm signs, every key is published in the
//! JWKS and accepted by [`KeySet::verify`]. `<dir>/hmac-<unix time>.key` holds a 32-byte secret
//! (base64url) for signed cookies. Creation happens under an exclusive lock on `<dir>/.lock`.
//!
//! Signing and verification go straight to aws-lc-rs with key pairs and public keys parsed once
//! per reload: `jsonwebtoken::encode` re-parses and re-validates the PKCS#8 document on every call,
//! even from a kept `EncodingKey` (which only holds the DER bytes).

mod folder;
mod material;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::write::EncoderStringWriter;
use serde::Serialize;

use folder::{
    Fingerprint, Loaded, Scan, create_dir, lock, unix_now, write_new_hmac, write_new_key,
};
use material::{InHeader, Jwk, Key, OutHeader, Signer};

pub use crate::domain::alg::Alg;

/// The `jsonwebtoken` name of an algorithm (the tests verify with that crate).
pub fn jwt_alg(alg: Alg) -> jsonwebtoken::Algorithm {
    match alg {
        Alg::RS256 => jsonwebtoken::Algorithm::RS256,
        Alg::ES256 => jsonwebtoken::Algorithm::ES256,
        Alg::EdDSA => jsonwebtoken::Algorithm::EdDSA,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{}: {source}", .path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{}: {reason}", .path.display())]
    Parse { path: PathBuf, reason: String },
    #[error("generating {0} failed")]
    Generate(&'static str),
    #[error("no usable signing key in {}", .0.display())]
    NoKeys(PathBuf),
    #[error("no HMAC secret (hmac-<unix time>.key) in {}", .0.display())]
    NoHmacSecret(PathBuf),
    #[error("no signing key for {0}")]
    NoKeyForAlg(Alg),
    #[error("unknown kid {0:?}")]
    UnknownKid(String),
    #[error("refusing to retire kid {kid:?}: it is the only {alg} key (rotate first)")]
    LastKeyOfAlg { kid: String, alg: Alg },
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    #[error("token algorithm {0:?} is not accepted")]
    AlgNotAccepted(String),
    #[error("token algorithm {got:?} does not match key {kid:?} ({expected})")]
    AlgMismatch {
        kid: String,
        expected: Alg,
        got: String,
    },
    #[error("invalid signature for kid {0:?}")]
    BadSignature(String),
    #[error("claims (de)serialisation failed: {0}")]
    Claims(#[source] serde_json::Error),
    #[error("signing with {alg} key {kid:?} failed")]
    Sign { alg: Alg, kid: String },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An immutable, fully parsed set of keys.
pub struct KeySet {
    /// Ordered RS256, ES256, EdDSA; newest first within an algorithm.
    keys: Vec<Key>,
    /// Index in `keys` of the signing key of each algorithm (by `Alg::index`).
    signers: [Option<usize>; 3],
    jwks: bytes::Bytes,
    hmac: [u8; 32],
    fingerprint: Fingerprint,
}

impl KeySet {
    /// Sign `claims` as a compact JWS with the newest key of `alg`; header has `alg`, `kid`, and
    /// `typ` if given (e.g. "at+jwt", "JWT").
    pub fn sign<T: Serialize>(
        &self,
        alg: Alg,
        typ: Option<&str>,
        claims: &T,
    ) -> Result<String, KeyError> {
        let key = self.signers[alg.index()]
            .and_then(|i| self.keys.get(i))
            .ok_or(KeyError::NoKeyForAlg(alg))?;
        let sig_len = match &key.signer {
            Signer::Rsa(kp) => kp.public_modulus_len() * 4 / 3 + 4,
            _ => 88,
        };
        let mut out = String::with_capacity(448 + sig_len);
        let header = OutHeader {
            alg: alg.as_str(),
            typ,
            kid: &key.kid,
        };
        let mut w = EncoderStringWriter::from_consumer(&mut out, &B64);
        serde_json::to_writer(&mut w, &header).map_err(KeyError::Claims)?;
        w.into_inner().push('.');
        let mut w = EncoderStringWriter::from_consumer(&mut out, &B64);
        serde_json::to_writer(&mut w, claims).map_err(KeyError::Claims)?;
        w.into_inner();
        key.append_signature(&mut out)?;
        Ok(out)
    }

    /// Verify a compact JWS signed by one of our keys (looked up by the header's kid; the header
    /// alg must equal that key's alg; `none` refused). Checks the signature ONLY: no
    /// exp/nbf/iss/aud validation. Returns the header's `typ` (if any) and the claims.
    pub fn verify<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<(Option<String>, T), KeyError> {
        let (signing_input, sig_b64) = token
            .rsplit_once('.')
            .ok_or(KeyError::Malformed("not a compact JWS"))?;
        let (header_b64, payload_b64) = signing_input
            .split_once('.')
            .ok_or(KeyError::Malformed("not a compact JWS"))?;
        if payload_b64.contains('.') {
            return Err(KeyError::Malformed("more than three parts"));
        }
        let header = B64
            .decode(header_b64)
            .map_err(|_| KeyError::Malformed("header is not base64url"))?;
        let header: InHeader = serde_json::from_slice(&header)
            .map_err(|_| KeyError::Malformed("header is not a valid JOSE header"))?;
        if header.crit.is_some() {
            return Err(KeyError::Malformed("unsupported crit header"));
        }
        if header.alg.eq_ignore_ascii_case("none") {
            return Err(KeyError::AlgNotAccepted(header.alg));
        }
        let kid = header.kid.ok_or(KeyError::Malformed("no kid in header"))?;
        let key = self
            .keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| KeyError::UnknownKid(kid.clone()))?;
        if header.alg != key.alg.as_str() {
            return Err(KeyError::AlgMismatch {
                kid,
                expected: key.alg,
                got: header.alg,
            });
        }
        let signature = B64
            .decode(sig_b64)
            .map_err(|_| KeyError::Malformed("signature is not base64url"))?;
        key.verifier
            .verify_sig(signing_input.as_bytes(), &signature)
            .map_err(|_| KeyError::BadSignature(kid))?;
        let payload = B64
            .decode(payload_b64)
            .map_err(|_| KeyError::Malformed("payload is not base64url"))?;
        let claims = serde_json::from_slice(&payload).map_err(KeyError::Claims)?;
        Ok((header.typ, claims))
    }

    /// The pre-serialised `{"keys":[...]}` document.
    pub fn jwks_json(&self) -> &[u8] {
        &self.jwks
    }

    /// The same document as shared bytes: serving it copies nothing.
    pub fn jwks_bytes(&self) -> bytes::Bytes {
        self.jwks.clone()
    }

    /// Algorithms that have at least one signing key, in the order RS256, ES256, EdDSA.
    pub fn algs(&self) -> Vec<Alg> {
        Alg::ALL.into_iter().filter(|a| self.has_alg(*a)).collect()
    }

    pub fn has_alg(&self, alg: Alg) -> bool {
        self.signers[alg.index()].is_some()
    }

    /// (kid, alg) of every key, newest first per alg.
    pub fn list(&self) -> Vec<(String, Alg)> {
        self.keys.iter().map(|k| (k.kid.clone(), k.alg)).collect()
    }

    pub fn hmac_secret(&self) -> &[u8; 32] {
        &self.hmac
    }

    fn build(loaded: Loaded, dir: &Path) -> Result<KeySet, KeyError> {
        let hmac = loaded
            .hmac
            .ok_or_else(|| KeyError::NoHmacSecret(dir.to_path_buf()))?;
        if loaded.keys.is_empty() {
            return Err(KeyError::NoKeys(dir.to_path_buf()));
        }
        let keys = loaded.keys;
        let mut signers = [None; 3];
        for (i, k) in keys.iter().enumerate().rev() {
            signers[k.alg.index()] = Some(i);
        }
        #[derive(Serialize)]
        struct Jwks<'a> {
            keys: Vec<Jwk<'a>>,
        }
        let jwks = serde_json::to_vec(&Jwks {
            keys: keys.iter().map(Key::jwk).collect(),
        })
        .map_err(KeyError::Claims)?;
        Ok(KeySet {
            keys,
            signers,
            jwks: jwks.into(),
            hmac,
            fingerprint: loaded.fingerprint,
        })
    }
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet")
            .field("keys", &self.list())
            .field("hmac_secret", &"[redacted]")
            .finish()
    }
}

/// The key folder and its current key set.
pub struct Keys {
    dir: PathBuf,
    current: ArcSwap<KeySet>,
}

impl Keys {
    /// Create the folder if needed, generate the default keys and hmac secret if there is no key
    /// (under the lock), load everything.
    pub fn load_or_generate(dir: &Path) -> Result<Keys, KeyError> {
        create_dir(dir)?;
        let mut loaded = Loaded::read(dir)?;
        if loaded.keys.is_empty() || loaded.hmac.is_none() {
            // Nothing is written without the lock; the folder may be read-only when complete.
            let _lock = lock(dir)?;
            loaded = Loaded::read(dir)?;
            let mut changed = false;
            if loaded.keys.is_empty() {
                let now = unix_now();
                for alg in [Alg::ES256, Alg::RS256, Alg::EdDSA] {
                    let kid = write_new_key(dir, alg, now)?;
                    tracing::info!(%alg, %kid, dir = %dir.display(), "generated signing key");
                }
                changed = true;
            }
            if loaded.hmac.is_none() {
                write_new_hmac(dir, unix_now())?;
                tracing::info!(dir = %dir.display(), "generated HMAC secret");
                changed = true;
            }
            if changed {
                loaded = Loaded::read(dir)?;
            }
        }
        loaded.log_warnings();
        let set = KeySet::build(loaded, dir)?;
        Ok(Keys {
            dir: dir.to_path_buf(),
            current: ArcSwap::from_pointee(set),
        })
    }

    /// What `guichet check-config` says of the folder, reading and parsing it and writing
    /// nothing: its keys as (kid, alg), or `None` when the folder or its keys do not exist yet
    /// (the first start generates them).
    pub fn inspect(dir: &Path) -> Result<Option<Vec<(String, Alg)>>, KeyError> {
        if !dir.exists() {
            return Ok(None);
        }
        let loaded = Loaded::read(dir)?;
        if loaded.keys.is_empty() && loaded.hmac.is_none() {
            return Ok(None);
        }
        Ok(Some(KeySet::build(loaded, dir)?.list()))
    }

    /// The current key set (cheap clone of an Arc).
    pub fn current(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Re-read the folder and swap in the new set (called on SIGHUP and every 60 s). On error keep
    /// the old set and return the error. A folder whose listing (names, sizes, times) is unchanged
    /// is not re-parsed.
    pub fn reload(&self) -> Result<(), KeyError> {
        let scan = Scan::read(&self.dir)?;
        if scan.fingerprint == self.current.load().fingerprint {
            return Ok(());
        }
        let loaded = Loaded::parse(&self.dir, scan)?;
        loaded.log_warnings();
        let set = KeySet::build(loaded, &self.dir)?;
        tracing::info!(keys = ?set.list(), "key set reloaded");
        self.current.store(Arc::new(set));
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("dir", &self.dir)
            .field("current", &self.current.load())
            .finish()
    }
}

/// `guichet keys rotate [--alg]`: generate a new key file for `alg` (newest, so it signs from the
/// next reload), return (kid, alg). The filename's unix time is strictly greater than that of any
/// existing file of that alg.
pub fn rotate(dir: &Path, alg: Alg) -> Result<(String, Alg), KeyError> {
    create_dir(dir)?;
    let _lock = lock(dir)?;
    let scan = Scan::read(dir)?;
    let newest = scan
        .keys
        .iter()
        .filter(|(a, _, _)| *a == alg)
        .map(|(_, ts, _)| *ts)
        .max();
    let ts = newest.map_or(0, |t| t.saturating_add(1)).max(unix_now());
    let kid = write_new_key(dir, alg, ts)?;
    tracing::info!(%alg, %kid, "rotated signing key");
    Ok((kid, alg))
}

/// `guichet keys retire --kid K`: remove the file of that kid. Refuse if it is the only key of its
/// algorithm: a client may sign its tokens with that algorithm.
pub fn retire(dir: &Path, kid: &str) -> Result<(), KeyError> {
    if !dir.is_dir() {
        return Err(KeyError::NoKeys(dir.to_path_buf()));
    }
    let _lock = lock(dir)?;
    let loaded = Loaded::read(dir)?;
    loaded.log_warnings();
    let key = loaded
        .keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or_else(|| KeyError::UnknownKid(kid.to_owned()))?;
    let same_alg = loaded.keys.iter().filter(|k| k.alg == key.alg).count();
    if same_alg == 1 {
        return Err(KeyError::LastKeyOfAlg {
            kid: kid.to_owned(),
            alg: key.alg,
        });
    }
    for name in &key.files {
        let path = dir.join(name);
        fs::remove_file(&path).map_err(io_err(&path))?;
        tracing::info!(kid, file = %path.display(), "retired signing key");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
