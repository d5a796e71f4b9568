//! A numeric setting's default and allowed range, declared together in one constant, and
//! the one message a value outside the range gets.

use std::fmt;

/// A numeric setting: the value taken when none is given, and the range a given one must
/// be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting<T> {
    /// The value when the configuration gives none.
    pub default: T,
    /// The smallest value allowed.
    pub min: T,
    /// The largest value allowed.
    pub max: T,
    /// The unit named after the range in messages (`ms`, `MiB`; empty for a count).
    pub unit: &'static str,
}

impl<T> Setting<T> {
    /// A setting of `default`, allowing `min` to `max` (in `unit`).
    pub const fn new(default: T, min: T, max: T, unit: &'static str) -> Self {
        Setting {
            default,
            min,
            max,
            unit,
        }
    }
}

impl<T: Copy + PartialOrd + fmt::Display> Setting<T> {
    /// `given`, or the default when it is `None`; out of range, the message saying the range:
    /// `{value} is out of range: {min} to {max} {unit}`.
    pub fn resolve(&self, given: Option<T>) -> Result<T, String> {
        let value = given.unwrap_or(self.default);
        if self.min <= value && value <= self.max {
            return Ok(value);
        }
        let space = if self.unit.is_empty() { "" } else { " " };
        Err(format!(
            "{value} is out of range: {} to {}{space}{}",
            self.min, self.max, self.unit
        ))
    }

    /// [`Setting::resolve`] for the value at `key`, an error going to `problem(key, message)`
    /// (then the default is returned, so validation can go on to the other fields).
    pub fn resolve_at(
        &self,
        key: &str,
        given: Option<T>,
        problem: &mut impl FnMut(&str, String),
    ) -> T {
        self.resolve(given).unwrap_or_else(|message| {
            problem(key, message);
            self.default
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Setting;

    const TIMEOUT_MS: Setting<u64> = Setting::new(1_000, 50, 2_000, "ms");
    const COUNT: Setting<u32> = Setting::new(3, 1, 9, "");

    #[test]
    fn a_missing_value_takes_the_default_and_a_given_one_is_checked() {
        assert_eq!(TIMEOUT_MS.resolve(None), Ok(1_000));
        assert_eq!(TIMEOUT_MS.resolve(Some(50)), Ok(50));
        assert_eq!(TIMEOUT_MS.resolve(Some(2_000)), Ok(2_000));
        assert_eq!(
            TIMEOUT_MS.resolve(Some(49)),
            Err("49 is out of range: 50 to 2000 ms".to_string())
        );
        assert_eq!(
            COUNT.resolve(Some(10)),
            Err("10 is out of range: 1 to 9".to_string())
        );
    }
}
