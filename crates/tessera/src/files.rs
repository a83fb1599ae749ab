//! The data dir is private to tessera's user: its SQLite file holds the
//! signing keys and every server secret (CSRF, refresh-successor and OAuth
//! sealing keys). The dir is created 0700 and the database file 0600 before
//! SQLite opens it; SQLite gives its `-wal` and `-shm` files the database
//! file's mode. The binary also sets the process umask to 077 (`main.rs`),
//! so nothing it writes later is readable by others either. `tessera
//! doctor` fails on anything looser ([`loose_modes`]).

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use anyhow::Context;

/// The SQLite file inside the data dir.
pub const DATABASE_FILE: &str = "tessera.db";

/// The files next to it that hold the same data.
const DATABASE_FILES: [&str; 3] = ["tessera.db", "tessera.db-wal", "tessera.db-shm"];

/// Creates the data dir (0700, with any missing parents) and an empty
/// database file in it (0600) unless they exist; the database file's path.
/// Existing modes are left alone (doctor reports them).
pub fn prepare_database(data_dir: &Path) -> anyhow::Result<PathBuf> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .with_context(|| format!("creating data dir {}", data_dir.display()))?;
    // A data dir inside a project (`tessera serve` run from an app's
    // folder, as `npx @tessera/next init` suggests) must never be
    // committed: it holds every secret. Only written when missing.
    let ignore = data_dir.join(".gitignore");
    if !ignore.exists() {
        std::fs::write(
            &ignore,
            "# tessera's data: secrets and user data, never committed\n*\n",
        )
        .with_context(|| format!("creating {}", ignore.display()))?;
    }
    let file = data_dir.join(DATABASE_FILE);
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&file)
    {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(e).with_context(|| format!("creating {}", file.display()));
        }
    }
    Ok(file)
}

/// The data dir and the database files that others than tessera's user
/// may read or write, with their modes.
pub fn loose_modes(data_dir: &Path) -> Vec<(PathBuf, u32)> {
    std::iter::once(data_dir.to_path_buf())
        .chain(DATABASE_FILES.iter().map(|f| data_dir.join(f)))
        .filter_map(|path| {
            let mode = std::fs::metadata(&path).ok()?.permissions().mode() & 0o777;
            (mode & 0o077 != 0).then_some((path, mode))
        })
        .collect()
}

/// Sets the process umask to 077: every file and dir the process creates
/// from now on is its user's alone. Call first thing in `main`.
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}
