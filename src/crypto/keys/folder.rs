//! The key folder: listing, parsing, locking and writing files.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::encoding::AsDer as _;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;

use super::material::Key;
use super::{Alg, KeyError, io_err};

/// What identifies the folder's contents: (file name, size, modification time), sorted by name.
pub(super) type Fingerprint = Vec<(String, u64, Option<SystemTime>)>;

/// The folder listing, classified.
pub(super) struct Scan {
    /// (alg, unix time, file name) of files named like keys.
    pub(super) keys: Vec<(Alg, u64, String)>,
    /// (unix time, file name) of files named like HMAC secrets.
    pub(super) hmacs: Vec<(u64, String)>,
    pub(super) fingerprint: Fingerprint,
    pub(super) warnings: Vec<String>,
}

impl Scan {
    pub(super) fn read(dir: &Path) -> Result<Scan, KeyError> {
        let mut scan = Scan {
            keys: vec![],
            hmacs: vec![],
            fingerprint: vec![],
            warnings: vec![],
        };
        for entry in fs::read_dir(dir).map_err(io_err(dir))? {
            let entry = entry.map_err(io_err(dir))?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                scan.warnings
                    .push(format!("ignoring {}: name is not UTF-8", path.display()));
                continue;
            };
            if name.starts_with('.') || name == crate::crypto::secretbox::KEY_FILE {
                // .lock, .gitignore, temporary files, Kubernetes ..data; the secret box's key
                continue;
            }
            // follows symlinks (secret mounts); a file retired since the listing is skipped
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            if !meta.is_file() {
                continue;
            }
            scan.fingerprint
                .push((name.clone(), meta.len(), meta.modified().ok()));
            if let Some(ts) = name
                .strip_prefix("hmac-")
                .and_then(|s| s.strip_suffix(".key"))
            {
                if let Some(ts) = parse_ts(ts) {
                    scan.hmacs.push((ts, name));
                    continue;
                }
            } else if let Some((alg, ts)) =
                name.strip_suffix(".pem").and_then(|s| s.split_once('-'))
                && let (Some(alg), Some(ts)) = (Alg::parse(alg), parse_ts(ts))
            {
                scan.keys.push((alg, ts, name));
                continue;
            }
            scan.warnings.push(format!(
                "ignoring {}: name is not <ES256|RS256|EdDSA>-<unix time>.pem nor hmac-<unix time>.key",
                path.display()
            ));
        }
        scan.fingerprint.sort();
        // RS256, ES256, EdDSA; newest first
        scan.keys
            .sort_by(|a, b| (a.0.index(), &b.1, &b.2).cmp(&(b.0.index(), &a.1, &a.2)));
        scan.hmacs.sort_by(|a, b| b.cmp(a));
        Ok(scan)
    }
}

fn parse_ts(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The parsed contents of the folder, possibly incomplete.
pub(super) struct Loaded {
    pub(super) keys: Vec<Key>,
    pub(super) hmac: Option<[u8; 32]>,
    pub(super) fingerprint: Fingerprint,
    pub(super) warnings: Vec<String>,
}

impl Loaded {
    pub(super) fn read(dir: &Path) -> Result<Loaded, KeyError> {
        Loaded::parse(dir, Scan::read(dir)?)
    }

    pub(super) fn parse(dir: &Path, scan: Scan) -> Result<Loaded, KeyError> {
        let mut warnings = scan.warnings;
        let mut keys: Vec<Key> = Vec::with_capacity(scan.keys.len());
        for (alg, _, name) in scan.keys {
            let path = dir.join(&name);
            // unreadable is an error (never generate over keys we could not read), unparseable is
            // a warning, gone since the listing (retired) is nothing
            let text = match fs::read(&path) {
                Ok(text) => text,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_err(&path)(e)),
            };
            match Key::parse(alg, &text) {
                Ok(mut key) => {
                    if let Some(first) = keys.iter_mut().find(|k| k.kid == key.kid) {
                        warnings.push(format!(
                            "{} holds the same key as {} (kid {})",
                            path.display(),
                            first.files.join(", "),
                            key.kid
                        ));
                        first.files.push(name);
                    } else {
                        key.files.push(name);
                        keys.push(key);
                    }
                }
                Err(reason) => warnings.push(format!("ignoring {}: {reason}", path.display())),
            }
        }
        let hmac = match scan.hmacs.first() {
            None => None,
            Some((_, name)) => Some(read_hmac(&dir.join(name))?),
        };
        Ok(Loaded {
            keys,
            hmac,
            fingerprint: scan.fingerprint,
            warnings,
        })
    }

    pub(super) fn log_warnings(&self) {
        for w in &self.warnings {
            tracing::warn!("{w}");
        }
    }
}

fn read_hmac(path: &Path) -> Result<[u8; 32], KeyError> {
    let text = fs::read_to_string(path).map_err(io_err(path))?;
    let bad = |reason: &str| KeyError::Parse {
        path: path.to_path_buf(),
        reason: reason.into(),
    };
    let raw = B64
        .decode(text.trim().trim_end_matches('='))
        .map_err(|_| bad("not base64url text"))?;
    raw.try_into()
        .map_err(|_| bad("the HMAC secret must be 32 bytes"))
}

pub(super) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub(super) fn create_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(io_err(dir))
}

fn secret_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    options.write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Exclusive lock on `<dir>/.lock`, released when the file is dropped.
pub(super) fn lock(dir: &Path) -> Result<File, KeyError> {
    let path = dir.join(".lock");
    let file = secret_options()
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    file.lock().map_err(io_err(&path))?;
    Ok(file)
}

/// Writes `contents` to `<dir>/<name>` (mode 0600) through a temporary file and a rename, so that
/// a concurrent reader never sees a partial file. Call under the lock.
pub(super) fn write_secret_file(dir: &Path, name: &str, contents: &[u8]) -> Result<(), KeyError> {
    let path = dir.join(name);
    if fs::symlink_metadata(&path).is_ok() {
        let source = io::Error::new(io::ErrorKind::AlreadyExists, "file exists");
        return Err(KeyError::Io { path, source });
    }
    let tmp = dir.join(format!(".tmp-{}-{name}", std::process::id()));
    let write = || -> io::Result<()> {
        let mut file = secret_options().create(true).truncate(true).open(&tmp)?;
        file.write_all(contents)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    };
    if let Err(source) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(KeyError::Io { path, source });
    }
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Generates a key, writes `<dir>/<alg>-<ts>.pem`, returns its kid.
pub(super) fn write_new_key(dir: &Path, alg: Alg, ts: u64) -> Result<String, KeyError> {
    let failed = |_| {
        KeyError::Generate(match alg {
            Alg::RS256 => "an RS256 key",
            Alg::ES256 => "an ES256 key",
            Alg::EdDSA => "an EdDSA key",
        })
    };
    let der = match alg {
        Alg::ES256 => EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING)
            .and_then(|kp| kp.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        Alg::RS256 => RsaKeyPair::generate(KeySize::Rsa2048)
            .and_then(|kp| kp.as_der())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
        Alg::EdDSA => Ed25519KeyPair::generate()
            .and_then(|kp| kp.to_pkcs8v1())
            .map_err(failed)?
            .as_ref()
            .to_vec(),
    };
    let text = pem::encode_config(
        &pem::Pem::new("PRIVATE KEY", der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    let name = format!("{alg}-{ts}.pem");
    let kid = Key::parse(alg, text.as_bytes())
        .map_err(|reason| KeyError::Parse {
            path: dir.join(&name),
            reason,
        })?
        .kid;
    write_secret_file(dir, &name, text.as_bytes())?;
    Ok(kid)
}

pub(super) fn write_new_hmac(dir: &Path, ts: u64) -> Result<(), KeyError> {
    let mut secret = [0u8; 32];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| KeyError::Generate("the HMAC secret"))?;
    write_secret_file(
        dir,
        &format!("hmac-{ts}.key"),
        B64.encode(secret).as_bytes(),
    )
}
