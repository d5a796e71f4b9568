//! The admin API's bearer tokens: supplied in a file, or one generated on first start and
//! kept in the data dir with 0600 permissions.
//!
//! A token file holds one token per line: `TOKEN`, or `NAME TOKEN` to give it a name, which
//! the deployment history records as who made a change (an unnamed token is recorded as
//! `admin API`).

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

/// One accepted token.
#[derive(Clone)]
pub struct AdminToken {
    /// Its name, if the file gave one.
    pub name: Option<String>,
    /// The secret itself.
    pub secret: String,
}

impl std::fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminToken")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Most tokens one file holds.
const MAX_TOKENS: usize = 100;

/// Reads the tokens from `file`, or the one in `data_dir/admin-token`, generating that one
/// if missing.
pub fn load_or_generate(
    file: Option<&Path>,
    data_dir: &Path,
) -> std::io::Result<(Vec<AdminToken>, TokenSource)> {
    if let Some(file) = file {
        return Ok((read_tokens(file)?, TokenSource::File));
    }
    let stored = data_dir.join("admin-token");
    if stored.exists() {
        return Ok((read_tokens(&stored)?, TokenSource::Stored));
    }
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let token = hex::encode(random);
    crate::registry::write_atomic_with_mode(&stored, token.as_bytes(), 0o600)?;
    let generated = AdminToken {
        name: None,
        secret: token,
    };
    Ok((vec![generated], TokenSource::Generated))
}

/// The tokens of a token file: a line is `TOKEN` or `NAME TOKEN`.
fn read_tokens(path: &Path) -> std::io::Result<Vec<AdminToken>> {
    let text = read_file(path)?;
    let invalid = |message: String| std::io::Error::other(format!("{}: {message}", path.display()));
    let mut tokens = Vec::new();
    for (n, line) in text.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let (name, secret) = match fields.as_slice() {
            [secret] => (None, *secret),
            [name, secret] => (Some(*name), *secret),
            _ => {
                return Err(invalid(format!(
                    "line {}: write `TOKEN` or `NAME TOKEN`",
                    n + 1
                )));
            }
        };
        if let Some(name) = name
            && !(name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)))
        {
            return Err(invalid(format!(
                "line {}: a token's name is 1 to 64 letters, digits, `.`, `_` and `-`",
                n + 1
            )));
        }
        if secret.len() < 16 {
            return Err(invalid(format!(
                "line {}: an admin token needs at least 16 characters",
                n + 1
            )));
        }
        tokens.push(AdminToken {
            name: name.map(str::to_owned),
            secret: secret.to_owned(),
        });
    }
    if tokens.is_empty() || tokens.len() > MAX_TOKENS {
        return Err(invalid(format!(
            "holds no token, or more than {MAX_TOKENS}"
        )));
    }
    Ok(tokens)
}

/// The text of a token file that only its owner can read and write.
fn read_file(path: &Path) -> std::io::Result<String> {
    crate::registry::check_private(path, "the admin token file")?;
    let token = std::fs::read_to_string(path)
        .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
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
