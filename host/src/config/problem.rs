//! One invalid value in a configuration, named by its key.

use std::fmt;
use std::ops::RangeInclusive;

/// One invalid value in a configuration (a manifest, a stored record, an admin API body).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where it is, e.g. `routes[2].module`.
    pub key: String,
    /// What is wrong with it.
    pub message: String,
}

impl Problem {
    /// The problem `message` with the value at `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Nothing when `range` holds `value`, else the message saying so:
/// `{value} is out of range: {start} to {end}`.
pub(super) fn check_range<T: PartialOrd + fmt::Display>(
    value: T,
    range: RangeInclusive<T>,
) -> Result<(), String> {
    if range.contains(&value) {
        return Ok(());
    }
    let (start, end) = range.into_inner();
    Err(format!("{value} is out of range: {start} to {end}"))
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}
