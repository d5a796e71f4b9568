//! One invalid value in a configuration, named by its key.

use std::fmt;

/// One invalid value in a configuration (a manifest, a stored record, an admin API body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it is, e.g. `routes[2].module`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}
