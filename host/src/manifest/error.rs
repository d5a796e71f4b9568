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
        /// The manifest of the valid entries, for the registry to check too (so that one
        /// run names every problem), when the file could be read.
        partial: Option<Box<super::Manifest>>,
    },
}

struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for problem in self.0 {
            // A message of several lines stays indented under its key.
            write!(f, "\n  {}", problem.to_string().replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// Orders `problems` as their places come in a manifest: `[gateway]`, then the
/// `[[modules]]`, `[[routes]]` and `[[authorizers]]` entries by index, then `[store]`;
/// problems of one place keep the order they were found in.
pub fn sort_problems(problems: &mut [Problem]) {
    const SECTIONS: [&str; 5] = ["gateway", "modules", "routes", "authorizers", "store"];
    problems.sort_by_key(|problem| {
        let key = problem.key.as_str();
        let section = key.split(['[', '.']).next().unwrap_or(key);
        let rank = SECTIONS
            .iter()
            .position(|known| *known == section)
            .unwrap_or(SECTIONS.len());
        let index = key
            .strip_prefix(section)
            .and_then(|rest| rest.strip_prefix('['))
            .and_then(|rest| rest.split(']').next())
            .and_then(|digits| digits.parse::<usize>().ok());
        (rank, index)
    });
}
