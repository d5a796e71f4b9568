//! Errors of loading a manifest: each names the file, the key and the problem.

use std::fmt;
use std::path::PathBuf;

use crate::config::Problem;

/// A manifest that could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The file could not be read.
    #[error("cannot read manifest {}: {source}", path.display())]
    Read {
        /// The manifest's path.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not have the manifest's shape (unknown keys,
    /// wrong types, missing required keys).
    #[error("invalid manifest {}: {message}", path.display())]
    Syntax {
        /// The manifest's path.
        path: PathBuf,
        /// The parser's message, with the line and the key it points at.
        message: String,
    },
    /// The file parsed, but some values are invalid or inconsistent.
    #[error("invalid manifest {}:{}", path.display(), ProblemList(problems))]
    Invalid {
        /// The manifest's path.
        path: PathBuf,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.0 {
            write!(f, "\n  {problem}")?;
        }
        Ok(())
    }
}
