//! Secrets at rest: TOTP secrets are sealed with AES-256-GCM under a key kept in the keys
//! directory, beside the signing keys, so that a copy of the database alone reveals none. The
//! same file key, through a separate derived key, peppers the digests of recovery codes.

use std::fmt;
use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rand::RngCore as _;

/// The key file's name in the keys directory.
pub const KEY_FILE: &str = "secretbox.key";

/// The version prefix of a sealed value: a later format (another cipher, a rotated key) gets
/// another prefix, and values of both kinds can be told apart in the database.
const PREFIX: &str = "v1.";
const TAG_LEN: usize = 16;

/// Seals and opens secrets, and computes peppered digests. Cheap to share behind an `Arc`.
pub struct SecretBox {
    aead: LessSafeKey,
    mac: hmac::Key,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretBoxError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{0}: not a secret box key (32 bytes, or their base64url text)")]
    BadKey(PathBuf),
    /// Not sealed by this key, for this `aad`, or altered since.
    #[error("the sealed value cannot be opened")]
    Undecryptable,
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    /// `<dir>/secretbox.key`: 32 random bytes, created (mode 0600, dir created if needed) when
    /// absent.
    ///
    /// The file holds the key as base64url text, like the HMAC secret beside it; a file of
    /// exactly 32 raw bytes is read too. Nodes starting together on a shared directory agree:
    /// the file appears whole or not at all (written aside, then hard-linked into place, which
    /// fails if another node linked its own first; that one is then read).
    pub fn load_or_generate(dir: &Path) -> Result<SecretBox, SecretBoxError> {
        let path = dir.join(KEY_FILE);
        match fs::read(&path) {
            Ok(bytes) => return Ok(SecretBox::from_key(parse_key(&bytes, &path)?)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => return Err(SecretBoxError::Io { path, source }),
        }
        create_dir(dir)?;
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        let tmp = dir.join(format!(".tmp-{}-{KEY_FILE}", std::process::id()));
        let written = write_new(&tmp, B64.encode(key).as_bytes()).and_then(|()| {
            let linked = fs::hard_link(&tmp, &path);
            let _ = fs::remove_file(&tmp);
            linked
        });
        match written {
            Ok(()) => {
                tracing::info!(dir = %dir.display(), "generated the secret box key");
                Ok(SecretBox::from_key(key))
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let bytes = fs::read(&path).map_err(|source| SecretBoxError::Io {
                    path: path.clone(),
                    source,
                })?;
                Ok(SecretBox::from_key(parse_key(&bytes, &path)?))
            }
            Err(source) => {
                let _ = fs::remove_file(&tmp);
                Err(SecretBoxError::Io { path, source })
            }
        }
    }

    /// The box of this file key. The AEAD and MAC keys are derived from it under distinct
    /// labels (HMAC-SHA256 of the label: HKDF-Expand's single block, the file key being
    /// uniformly random already), so neither use can stand in for the other.
    #[allow(clippy::expect_used)] // a constant length, not input: see below
    pub fn from_key(key: [u8; 32]) -> SecretBox {
        let file_key = hmac::Key::new(hmac::HMAC_SHA256, &key);
        let derive = |label: &[u8]| hmac::sign(&file_key, label);
        let aead_key = derive(b"guichet secretbox v1 aead");
        let mac_key = derive(b"guichet secretbox v1 mac");
        // An HMAC-SHA256 output is 32 bytes, exactly the key length AES-256 takes.
        let aead = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, aead_key.as_ref()).expect("a 32-byte AES-256 key"),
        );
        SecretBox {
            aead,
            mac: hmac::Key::new(hmac::HMAC_SHA256, mac_key.as_ref()),
        }
    }

    /// "v1." + base64url(no pad) of nonce(12 random bytes) || ciphertext || tag. `aad` binds
    /// it (we pass the user id, so a sealed secret copied to another user's row does not open).
    ///
    /// Random 96-bit nonces are safe for far more values than one key will ever seal here
    /// (NIST SP 800-38D §8.3: 2^32).
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&nonce);
        let mut body = plaintext.to_vec();
        // Sealing fails only past AES-GCM's input limit (64 GiB); such a value would come
        // out as one that `open` refuses rather than as a panic.
        if self
            .aead
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .is_err()
        {
            return PREFIX.to_owned();
        }
        out.extend_from_slice(&body);
        format!("{PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Vec<u8>, SecretBoxError> {
        let raw = sealed
            .strip_prefix(PREFIX)
            .and_then(|b| B64.decode(b).ok())
            .filter(|raw| raw.len() >= NONCE_LEN + TAG_LEN)
            .ok_or(SecretBoxError::Undecryptable)?;
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretBoxError::Undecryptable)?;
        let mut body = body.to_vec();
        let plain = self
            .aead
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .map_err(|_| SecretBoxError::Undecryptable)?;
        Ok(plain.to_vec())
    }

    /// HMAC-SHA256 under a key derived from the file key (domain-separated from the AEAD key),
    /// base64url no pad: a peppered digest for recovery codes, so a database copy alone cannot
    /// test guesses.
    ///
    /// Each part is length-prefixed, so `["ab", "c"]` and `["a", "bc"]` differ.
    pub fn mac(&self, parts: &[&[u8]]) -> String {
        let mut ctx = hmac::Context::with_key(&self.mac);
        for p in parts {
            ctx.update(&(p.len() as u64).to_be_bytes());
            ctx.update(p);
        }
        B64.encode(ctx.sign().as_ref())
    }
}

fn parse_key(bytes: &[u8], path: &Path) -> Result<[u8; 32], SecretBoxError> {
    let bad = || SecretBoxError::BadKey(path.to_path_buf());
    if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
        return Ok(raw);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| bad())?;
    B64.decode(text.trim().trim_end_matches('='))
        .ok()
        .and_then(|raw| raw.try_into().ok())
        .ok_or_else(bad)
}

fn create_dir(dir: &Path) -> Result<(), SecretBoxError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|source| SecretBoxError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// Writes a new file, readable by its owner only, and syncs it.
fn write_new(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn sb() -> SecretBox {
        SecretBox::from_key([7u8; 32])
    }

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_and_aad() {
        let b = sb();
        let sealed = b.seal(b"twenty bytes secret!", b"user-1");
        assert!(sealed.starts_with("v1."));
        assert!(!sealed.contains('='));
        assert_eq!(b.open(&sealed, b"user-1").unwrap(), b"twenty bytes secret!");
        // a fresh nonce each time
        assert_ne!(sealed, b.seal(b"twenty bytes secret!", b"user-1"));
        // the empty plaintext too
        assert_eq!(b.open(&b.seal(b"", b""), b"").unwrap(), b"");
    }

    #[test]
    fn another_aad_or_key_does_not_open_it() {
        let sealed = sb().seal(b"secret", b"user-1");
        assert!(matches!(
            sb().open(&sealed, b"user-2"),
            Err(SecretBoxError::Undecryptable)
        ));
        assert!(
            SecretBox::from_key([8u8; 32])
                .open(&sealed, b"user-1")
                .is_err()
        );
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let b = sb();
        let sealed = b.seal(b"secret", b"u");
        let mut raw = B64.decode(&sealed[3..]).unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let forged = format!("v1.{}", B64.encode(&raw));
            assert!(b.open(&forged, b"u").is_err(), "byte {i} flipped");
            raw[i] ^= 1;
        }
        for bad in [
            "",
            "v1.",
            "v2.".to_owned().as_str(),
            &sealed[3..],
            &sealed[..sealed.len() - 2],
            &format!("v2.{}", &sealed[3..]),
            &format!("{sealed}="),
        ] {
            assert!(b.open(bad, b"u").is_err(), "{bad:?} opened");
        }
    }

    #[test]
    fn macs_depend_on_the_key_and_the_split_of_parts() {
        let b = sb();
        let m = b.mac(&[b"user", b"K7QM4XDP2WNA"]);
        assert_eq!(m.len(), 43);
        assert_eq!(m, b.mac(&[b"user", b"K7QM4XDP2WNA"]));
        assert_ne!(m, b.mac(&[b"use", b"rK7QM4XDP2WNA"]));
        assert_ne!(
            m,
            SecretBox::from_key([8u8; 32]).mac(&[b"user", b"K7QM4XDP2WNA"])
        );
        // not the plain HMAC under the file key: the MAC key is derived
        assert_ne!(
            m,
            crate::crypto::token::hmac(&[7u8; 32], &[b"user", b"K7QM4XDP2WNA"])
        );
    }

    #[test]
    fn the_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let first = SecretBox::load_or_generate(&keys).unwrap();
        let path = keys.join(KEY_FILE);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = first.seal(b"secret", b"u");
        let again = SecretBox::load_or_generate(&keys).unwrap();
        assert_eq!(again.open(&sealed, b"u").unwrap(), b"secret");
        assert_eq!(first.mac(&[b"x"]), again.mac(&[b"x"]));
        // no temporary file left behind
        let names: Vec<_> = fs::read_dir(&keys)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [KEY_FILE]);
        assert_eq!(format!("{first:?}"), "SecretBox(..)");
    }

    #[test]
    fn a_key_file_of_raw_bytes_is_read_and_a_bad_one_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), [7u8; 32]).unwrap();
        let b = SecretBox::load_or_generate(dir.path()).unwrap();
        assert_eq!(b.mac(&[b"x"]), sb().mac(&[b"x"]));
        fs::write(dir.path().join(KEY_FILE), "too short").unwrap();
        assert!(matches!(
            SecretBox::load_or_generate(dir.path()),
            Err(SecretBoxError::BadKey(_))
        ));
    }
}
