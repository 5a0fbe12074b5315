//! The SQLite database file holds password hashes: it is created mode 0600, and an existing
//! file readable by others is tightened at start-up.
//!
//! SQLite creates the main file with mode 0644 (less the umask). It creates the `-wal`, `-shm`
//! and `-journal` files with the mode of the main file (`findCreateFileMode` in its Unix VFS,
//! which then `fchmod`s past the umask), so creating the main file 0600 before sqlx opens it
//! covers them all. Side files left with looser modes by an earlier run are tightened too.

use std::io;
use std::path::{Path, PathBuf};

use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use url::Url;

use super::{Result, StoreError};

/// The suffixes SQLite appends to the database path for its side files.
const SIDE_FILES: &[&str] = &["-wal", "-shm", "-journal"];

/// The file a SQLite URL names, as sqlx will read it, and whether sqlx may create it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct SqliteFile {
    pub path: PathBuf,
    pub create: bool,
}

/// Reads `url` the way sqlx's `Any` driver does (`Url::parse`, then the SQLite options parser,
/// which accepts `sqlite://path`, `sqlite:path`, a percent-encoded path and a query string).
/// `None` for an in-memory database, or for one with no file name (a temporary database).
pub(super) fn sqlite_file(url: &str) -> Result<Option<SqliteFile>> {
    let url =
        Url::parse(url).map_err(|e| StoreError::Database(sqlx::Error::Configuration(e.into())))?;
    // sqlx keeps `:memory:` and `mode=memory` in a flag it does not expose (and its
    // `to_url_lossy` panics on an in-memory database), so the query is read here as sqlx
    // reads it: each `mode` sets a flag.
    let rest = url
        .as_str()
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    let modes: Vec<_> = form_urlencoded::parse(params.as_bytes())
        .filter(|(key, _)| key == "mode")
        .map(|(_, value)| value)
        .collect();
    if database == ":memory:" || modes.iter().any(|m| m == "memory") {
        return Ok(None);
    }
    let options = SqliteConnectOptions::from_url(&url)?;
    let path = options.get_filename();
    if path.as_os_str().is_empty() {
        return Ok(None);
    }
    Ok(Some(SqliteFile {
        path: path.to_path_buf(),
        create: modes.iter().any(|m| m == "rwc"),
    }))
}

/// Creates the database file with mode 0600 if it is missing (and may be created), and removes
/// the group and other bits of the file and its side files where they have any.
#[cfg(unix)]
pub(super) fn secure(file: &SqliteFile) -> Result<()> {
    use std::fs::OpenOptions;
    use std::os::unix::fs::OpenOptionsExt;

    if file.create {
        // `create_new`: never truncates, and of two nodes starting at once one creates it.
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&file.path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(file_error(&file.path, e)),
        }
    }
    tighten(&file.path);
    for suffix in SIDE_FILES {
        let mut side = file.path.clone().into_os_string();
        side.push(suffix);
        tighten(Path::new(&side));
    }
    Ok(())
}

#[cfg(not(unix))]
pub(super) fn secure(_file: &SqliteFile) -> Result<()> {
    Ok(())
}

/// Removes the group and other bits (and the owner's execute bit) of `path` if it has any:
/// 0644 becomes 0600, 0444 stays read-only as 0400. A missing file is left alone; a file that
/// cannot be changed (another owner, a read-only mount) is logged, not fatal.
#[cfg(unix)]
fn tighten(path: &Path) {
    use std::os::unix::fs::PermissionsExt;

    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.permissions().mode() & 0o7777;
    if mode & 0o077 == 0 {
        return;
    }
    let tight = mode & 0o600;
    match std::fs::set_permissions(path, std::fs::Permissions::from_mode(tight)) {
        Ok(()) => tracing::warn!(
            path = %path.display(),
            was = format_args!("{mode:04o}"),
            now = format_args!("{tight:04o}"),
            "the database file was readable by other users: its mode is tightened"
        ),
        Err(e) => tracing::error!(
            path = %path.display(),
            mode = format_args!("{mode:04o}"),
            error = %e,
            "the database file is readable by other users and its mode cannot be changed"
        ),
    }
}

fn file_error(path: &Path, e: io::Error) -> StoreError {
    StoreError::File(format!("{}: {e}", path.display()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn file(path: &str, create: bool) -> Option<SqliteFile> {
        Some(SqliteFile {
            path: PathBuf::from(path),
            create,
        })
    }

    #[test]
    fn urls_name_the_file_sqlx_opens() {
        for (url, expected) in [
            ("sqlite://guichet.db?mode=rwc", file("guichet.db", true)),
            ("sqlite:guichet.db?mode=rwc", file("guichet.db", true)),
            (
                "sqlite:///var/lib/g/guichet.db?mode=rwc",
                file("/var/lib/g/guichet.db", true),
            ),
            (
                "sqlite:/var/lib/g/guichet.db?mode=rwc",
                file("/var/lib/g/guichet.db", true),
            ),
            ("sqlite:///srv/a%20b.db?mode=rwc", file("/srv/a b.db", true)),
            ("sqlite:///srv/a b.db?mode=rwc", file("/srv/a b.db", true)),
            ("sqlite://g.db?cache=shared&mode=rwc", file("g.db", true)),
            ("sqlite://g.db?mode=ro", file("g.db", false)),
            ("sqlite://g.db?mode=rw", file("g.db", false)),
            ("sqlite::memory:", None),
            ("sqlite://g.db?mode=memory", None),
            ("sqlite://?mode=rwc", None),
        ] {
            assert_eq!(sqlite_file(url).unwrap(), expected, "{url}");
        }
        // not a URL to the `Any` driver either (an empty host with a port `memory:`)
        assert!(sqlite_file("sqlite://:memory:").is_err());
    }

    #[cfg(unix)]
    mod unix {
        use std::os::unix::fs::PermissionsExt;

        use super::super::super::Db;
        use super::*;

        fn mode(path: &Path) -> u32 {
            std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
        }

        fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
            let mut s = path.to_path_buf().into_os_string();
            s.push(suffix);
            PathBuf::from(s)
        }

        /// Opens, migrates (a write, so the WAL and shared-memory files exist while the pool
        /// is open) and returns the modes of the three files.
        async fn modes_after_a_write(url: &str, path: &Path) -> [String; 3] {
            let db = Db::connect(url).await.unwrap();
            db.migrate().await.unwrap();
            let modes = [
                path.to_path_buf(),
                with_suffix(path, "-wal"),
                with_suffix(path, "-shm"),
            ]
            .map(|p| format!("{:04o}", mode(&p)));
            db.close().await;
            modes
        }

        #[tokio::test]
        async fn a_new_database_and_its_wal_and_shm_files_are_private() {
            let dir = tempfile::tempdir().unwrap();
            for (i, form) in ["sqlite://", "sqlite:"].iter().enumerate() {
                let path = dir.path().join(format!("g{i}.db"));
                let url = format!("{form}{}", path.display());
                assert_eq!(
                    modes_after_a_write(&url, &path).await,
                    ["0600", "0600", "0600"],
                    "{url}"
                );
            }
        }

        #[tokio::test]
        async fn an_existing_world_readable_database_is_tightened() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("guichet.db");
            let url = format!("sqlite://{}", path.display());
            // A database from before this check: SQLite's own 0644, with its side files
            // left behind by a crash.
            let db = Db::connect(&url).await.unwrap();
            db.migrate().await.unwrap();
            db.close().await;
            for p in [
                path.clone(),
                with_suffix(&path, "-wal"),
                with_suffix(&path, "-shm"),
            ] {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&p)
                    .unwrap();
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
            }
            assert_eq!(
                modes_after_a_write(&url, &path).await,
                ["0600", "0600", "0600"]
            );
            // a read-only file stays read-only
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();
            tighten(&path);
            assert_eq!(mode(&path), 0o400);
        }

        #[tokio::test]
        async fn a_missing_folder_is_reported_with_the_path() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("missing/guichet.db");
            let Err(e) = Db::connect(&format!("sqlite://{}", path.display())).await else {
                panic!("opened a database in a missing folder");
            };
            assert!(e.to_string().contains("missing/guichet.db"), "{e}");
        }

        #[tokio::test]
        async fn in_memory_databases_touch_no_file() {
            let db = Db::connect("sqlite::memory:").await.unwrap();
            db.migrate().await.unwrap();
            assert!(!Path::new(":memory:").exists());
        }
    }
}
