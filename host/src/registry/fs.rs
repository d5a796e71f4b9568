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
    options.write(true).create(true).truncate(true);
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

/// Creates `dir` (and its parents) if missing.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    fs::create_dir_all(dir)
}
