//! Names users give things, validated: module (and authorizer) names, alias names, and
//! the targets routes run ([`Target`]: `name`, `name@3`, `name@prod`).

use std::fmt;

/// A module name: 1 to 64 ASCII letters, digits, `-` and `_` (as Lambda function names).
///
/// ```
/// use wasmgate::config::ModuleName;
/// assert!(ModuleName::new("hello-world_2").is_ok());
/// assert!(ModuleName::new("hello@prod").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleName(String);

impl ModuleName {
    /// Validates a name; the error says what is wrong with it.
    pub fn new(name: &str) -> Result<Self, String> {
        if name.is_empty() || name.len() > 64 {
            return Err(format!(
                "`{name}` is not a valid module name: it must have 1 to 64 characters"
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!(
                "`{name}` is not a valid module name: use ASCII letters, digits, `-` and `_`"
            ));
        }
        Ok(ModuleName(name.to_owned()))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ModuleName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a route runs: a module, and which of its versions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    /// The module.
    pub module: ModuleName,
    /// Which version.
    pub qualifier: Qualifier,
}

/// Which version of a module a route runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Qualifier {
    /// The highest version (`name`).
    Latest,
    /// A fixed version (`name@3`).
    Version(u32),
    /// Whatever an alias points at (`name@prod`).
    Alias(String),
}

impl Target {
    /// Parses `name`, `name@3` or `name@alias`; the error says what is wrong.
    ///
    /// ```
    /// use wasmgate::config::{Qualifier, Target};
    /// assert_eq!(Target::parse("hello@prod").unwrap().qualifier, Qualifier::Alias("prod".into()));
    /// assert_eq!(Target::parse("hello@3").unwrap().qualifier, Qualifier::Version(3));
    /// assert!(Target::parse("hello@").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Target, String> {
        let (name, qualifier) = match text.split_once('@') {
            None => (text, Qualifier::Latest),
            Some((name, rest)) => {
                let qualifier = if let Ok(version) = rest.parse::<u32>() {
                    Qualifier::Version(version)
                } else {
                    check_alias_name(rest)?;
                    Qualifier::Alias(rest.to_owned())
                };
                (name, qualifier)
            }
        };
        Ok(Target {
            module: ModuleName::new(name)?,
            qualifier,
        })
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.qualifier {
            Qualifier::Latest => write!(f, "{}", self.module),
            Qualifier::Version(v) => write!(f, "{}@{v}", self.module),
            Qualifier::Alias(a) => write!(f, "{}@{a}", self.module),
        }
    }
}

/// Most stage variables one alias has.
pub const MAX_STAGE_VARIABLES: usize = 50;
/// The longest stage variable value, in bytes.
pub const MAX_STAGE_VALUE: usize = 512;

/// Stage variables (as API Gateway's): names of 1 to 64 letters, digits and `_` (so they
/// are also WAGI's `X_STAGE_NAME`), values of at most 512 bytes, at most 50 of them. Each
/// problem's key is `variables` or `variables.NAME`.
pub fn check_stage_variables(
    variables: &std::collections::BTreeMap<String, String>,
) -> Result<(), Vec<super::Problem>> {
    let mut problems = Vec::new();
    if variables.len() > MAX_STAGE_VARIABLES {
        problems.push(super::Problem::new(
            "variables",
            format!("at most {MAX_STAGE_VARIABLES} stage variables"),
        ));
    }
    for (name, value) in variables {
        let key = || format!("variables.{}", name.chars().take(64).collect::<String>());
        let valid = (1..=64).contains(&name.len())
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !valid {
            problems.push(super::Problem::new(
                key(),
                "a stage variable's name is 1 to 64 letters, digits and `_`",
            ));
        } else if value.len() > MAX_STAGE_VALUE {
            problems.push(super::Problem::new(
                key(),
                format!("a stage variable's value is at most {MAX_STAGE_VALUE} bytes"),
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Alias names: a letter, then letters, digits, `-` and `_`, at most 64 (so they never look
/// like version numbers).
pub fn check_alias_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let valid = name.len() <= 64
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a valid alias: a letter, then letters, digits, `-` and `_` (at most 64)"
        ))
    }
}
