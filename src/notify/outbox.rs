//! The outbox: a directory where each message that no gateway (SMS) or server (SMTP) takes is
//! written as its own file, for development, tests, and sites that relay messages themselves.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// A directory of message files named `<unix-millis>-<kind>-<8 random hex>.<ext>`, so that a
/// listing sorts them by time and a reader can pick one kind (`sms`, `mail`) by name.
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn new(dir: impl Into<PathBuf>) -> Outbox {
        Outbox { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `body` as a new file and returns its path. The directory is created (mode 0700)
    /// if missing; the file has mode 0600, since messages carry codes. The file is written under
    /// a hidden temporary name and renamed, so a reader never sees a partial message. `kind` and
    /// `ext` go into the file name and so must be non-empty ASCII letters, digits, `-` or `_`.
    pub async fn write(&self, kind: &str, ext: &str, body: &[u8]) -> io::Result<PathBuf> {
        for part in [kind, ext] {
            if !is_name_part(part) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("outbox: {part:?} cannot be part of a file name"),
                ));
            }
        }
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        // 32 random bits keep two messages of the same millisecond (two nodes sharing the
        // directory, or a burst) from taking the same name.
        let name = format!("{millis}-{kind}-{:08x}.{ext}", rand::random::<u32>());
        let dir = self.dir.clone();
        let body = body.to_vec();
        tokio::task::spawn_blocking(move || write_file(&dir, &name, &body))
            .await
            .map_err(io::Error::other)?
    }
}

fn is_name_part(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn write_file(dir: &Path, name: &str, body: &[u8]) -> io::Result<PathBuf> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)?;

    let path = dir.join(name);
    // A leading dot and no final extension: readers that list `*.json` skip it.
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let write = || -> io::Result<()> {
        let mut file = options.open(&tmp)?;
        file.write_all(body)?;
        file.sync_all()?;
        fs::rename(&tmp, &path)
    };
    if let Err(e) = write() {
        let _ = fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself is durable once the directory is synced.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(path)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_message_is_one_private_file_named_by_time_kind_and_random_suffix() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(tmp.path().join("a/outbox"));
        let path = outbox.write("sms", "json", b"{\"x\":1}").await.unwrap();

        assert_eq!(path.parent(), Some(outbox.dir()));
        assert_eq!(fs::read(&path).unwrap(), b"{\"x\":1}");
        let name = path.file_name().unwrap().to_str().unwrap();
        let (millis, rest) = name.split_once('-').unwrap();
        assert!(
            millis.parse::<u128>().unwrap() > 1_600_000_000_000,
            "{name}"
        );
        let (random, ext) = rest.strip_prefix("sms-").unwrap().split_once('.').unwrap();
        assert_eq!(ext, "json");
        assert_eq!(random.len(), 8, "{name}");
        assert!(random.bytes().all(|b| b.is_ascii_hexdigit()), "{name}");

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(outbox.dir()), 0o700);
        }
    }

    #[tokio::test]
    async fn concurrent_writes_get_distinct_files_and_leave_no_temporary_file() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(tmp.path());
        let writes = (0..64).map(|i| {
            let outbox = outbox.clone();
            tokio::spawn(
                async move { outbox.write("sms", "json", format!("{i}").as_bytes()).await },
            )
        });
        let mut paths = Vec::new();
        for w in writes {
            paths.push(w.await.unwrap().unwrap());
        }
        paths.sort();
        paths.dedup();
        assert_eq!(paths.len(), 64);
        let mut bodies: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| fs::read_to_string(e.unwrap().path()).unwrap())
            .collect();
        bodies.sort_by_key(|b| b.parse::<u32>().unwrap());
        let expected: Vec<String> = (0..64).map(|i| i.to_string()).collect();
        assert_eq!(bodies, expected, "one file per message and nothing else");
    }

    #[tokio::test]
    async fn kind_and_extension_cannot_leave_the_directory() {
        let tmp = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(tmp.path());
        for (kind, ext) in [
            ("../x", "json"),
            ("sms", "json/.."),
            ("", "json"),
            ("sms", ""),
        ] {
            let err = outbox.write(kind, ext, b"x").await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{kind:?} {ext:?}");
        }
        assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
