//! Durable file writes: a temporary file in the same folder, `fsync`, `rename`, then
//! `fsync` of the folder, so that after a crash a file is either whole or absent.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

/// Atomically replaces `path` with `bytes`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    write_atomic_with_mode(path, bytes, 0o644)
}

/// Like [`write_atomic`], creating the file with Unix permission bits `mode`.
pub(crate) fn write_atomic_with_mode(path: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no parent folder", path.display())))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::other(format!("{} has no file name", path.display())))?;
    // Unique per write: two threads writing the same file never share a temporary one.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    let mut options = OpenOptions::new();
    // A new file only: a planted file or symlink at the temporary name is refused, never
    // followed.
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    let written = (|| {
        let mut file = options.open(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        fs::rename(&temp, path)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temp);
        return Err(error);
    }
    // The new file is in place: a failed sync of the folder makes it less durable, but it
    // is the file now, so report success (and the failure in the log).
    if let Err(error) = File::open(dir).and_then(|d| d.sync_all()) {
        tracing::warn!(folder = %dir.display(), %error, "cannot fsync the folder after a rename");
    }
    Ok(())
}

/// Creates `dir` (and its parents) if missing, for its owner only (`0700`).
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Fails if users other than the owner may write `path` (group or world write bits): what
/// the gateway trusts (its data dir, its admin token) must be the owner's alone.
pub(crate) fn check_private(path: &Path, what: &str) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o022 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "{what} {} can be written by other users (mode {mode:o}): run `chmod go-w {}`",
                    path.display(),
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// An exclusive lock on a data dir, held while the value lives: a second gateway on the
/// same data dir would overwrite the first one's registry.
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock (`DIR/lock`, holding the holder's pid), or says who holds it.
    pub(crate) fn take(dir: &Path) -> io::Result<DirLock> {
        let path = dir.join("lock");
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                write!(file, "{}", std::process::id())?;
                file.sync_all()?;
                Ok(DirLock { _file: file })
            }
            Err(fs::TryLockError::WouldBlock) => {
                let holder = fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                let holder = if holder.chars().all(|c| c.is_ascii_digit()) && !holder.is_empty() {
                    format!("pid {holder}")
                } else {
                    "another process".to_owned()
                };
                Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!(
                        "the data dir {} is in use by another wasmgate ({holder}): stop it, or give this one another --data-dir",
                        dir.display()
                    ),
                ))
            }
            Err(fs::TryLockError::Error(error)) => Err(error),
        }
    }
}
