//! The admin API's bearer token: supplied in a file, or generated on first start and kept
//! in the data dir with 0600 permissions.

use std::path::Path;

/// Where the token came from.
pub enum TokenSource {
    /// Read from the given file.
    File,
    /// Read from the data dir, generated at an earlier start.
    Stored,
    /// Generated now and saved in the data dir (the caller prints it, once).
    Generated,
}

/// Reads the token from `file`, or from `data_dir/admin-token`, generating that one if
/// missing.
pub fn load_or_generate(
    file: Option<&Path>,
    data_dir: &Path,
) -> std::io::Result<(String, TokenSource)> {
    if let Some(file) = file {
        let token = read_token(file)?;
        return Ok((token, TokenSource::File));
    }
    let stored = data_dir.join("admin-token");
    if stored.exists() {
        return Ok((read_token(&stored)?, TokenSource::Stored));
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let token = hex::encode(random);
    crate::registry::write_atomic_with_mode(&stored, token.as_bytes(), 0o600)?;
    Ok((token, TokenSource::Generated))
}

fn read_token(path: &Path) -> std::io::Result<String> {
    crate::registry::check_private(path, "the admin token file")?;
    let token = std::fs::read_to_string(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    let token = token.trim().to_owned();
    if token.len() < 16 {
        return Err(std::io::Error::other(format!(
            "{}: an admin token needs at least 16 characters",
            path.display()
        )));
    }
    Ok(token)
}

/// Compares without stopping at the first difference, so timing does not reveal how much
/// of a guess was right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
