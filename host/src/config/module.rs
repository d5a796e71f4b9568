//! A module's configuration: how its instances run ([`Executor`]) and what they get
//! ([`ModuleConfig`]: environment and outbound access).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::allowlist::AllowList;

/// A module's configuration, shared by its versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfig {
    /// Environment variables (guests get none otherwise).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// Origins outgoing HTTP requests may reach, e.g. `https://api.example.com`
    /// (guests reach none otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_outbound_hosts: Vec<String>,
    /// The `wasi:keyvalue` stores its instances may open (none otherwise); each holds this
    /// module's data only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_value_stores: Vec<String>,
    /// Settings its instances read through `wasi:config/store` (shown in listings; use a
    /// secret for a credential).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, String>,
}

/// The most variables (or secrets) one module may have.
pub const MAX_VARIABLES: usize = 128;
/// The largest value of a variable or a secret, in bytes.
pub const MAX_VARIABLE_BYTES: usize = 64 << 10;

/// Checks the name of a variable or a secret: a letter or `_`, then letters, digits, `_`,
/// `-` and `.`, at most 128.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let valid = name.len() <= 128
        && bytes
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic() || first == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a variable name: a letter or `_`, then letters, digits, `_`, `-` and `.` (at most 128)"
        ))
    }
}

/// A change to some parts of a module's configuration (`PATCH /modules/{name}/config`):
/// the parts given replace theirs, the others are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModuleConfigPatch {
    /// Replaces the environment.
    pub env: Option<BTreeMap<String, String>>,
    /// Replaces the outbound hosts.
    pub allowed_outbound_hosts: Option<Vec<String>>,
    /// Replaces the key-value stores.
    pub key_value_stores: Option<Vec<String>>,
    /// Replaces the variables.
    pub variables: Option<BTreeMap<String, String>>,
}

impl ModuleConfigPatch {
    /// `config` with the patch's parts in place.
    pub fn apply(self, config: &ModuleConfig) -> ModuleConfig {
        ModuleConfig {
            env: self.env.unwrap_or_else(|| config.env.clone()),
            allowed_outbound_hosts: self
                .allowed_outbound_hosts
                .unwrap_or_else(|| config.allowed_outbound_hosts.clone()),
            key_value_stores: self
                .key_value_stores
                .unwrap_or_else(|| config.key_value_stores.clone()),
            variables: self.variables.unwrap_or_else(|| config.variables.clone()),
        }
    }
}

/// The most key-value stores one module may name.
pub const MAX_KEY_VALUE_STORES: usize = 16;

impl ModuleConfig {
    /// The same configuration with the environment's values replaced, for listings: they
    /// may hold credentials.
    pub fn redacted(&self) -> Self {
        ModuleConfig {
            env: self
                .env
                .keys()
                .map(|name| (name.clone(), "(redacted)".to_owned()))
                .collect(),
            ..self.clone()
        }
    }

    /// Checks the values and returns the parsed allow-list; the error says what is wrong.
    pub fn validate(&self) -> Result<AllowList, String> {
        for name in self.env.keys() {
            if name.is_empty() || name.contains('=') || name.contains('\0') {
                return Err(format!("`{name}` is not an environment variable name"));
            }
        }
        if self.variables.len() > MAX_VARIABLES {
            return Err(format!(
                "variables: {MAX_VARIABLES} at most, not {}",
                self.variables.len()
            ));
        }
        for (name, value) in &self.variables {
            check_variable_name(name).map_err(|e| format!("variables: {e}"))?;
            if value.len() > MAX_VARIABLE_BYTES {
                return Err(format!(
                    "variables: `{name}` is longer than {MAX_VARIABLE_BYTES} bytes"
                ));
            }
        }
        if self.key_value_stores.len() > MAX_KEY_VALUE_STORES {
            return Err(format!(
                "key_value_stores: {MAX_KEY_VALUE_STORES} stores at most, not {}",
                self.key_value_stores.len()
            ));
        }
        for store in &self.key_value_stores {
            let valid = !store.is_empty()
                && store.len() <= 64
                && store.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'
                });
            if !valid {
                return Err(format!(
                    "key_value_stores: `{store}` is not a store name: 1 to 64 of `a-z`, `0-9`, `-` and `_`"
                ));
            }
        }
        AllowList::parse(&self.allowed_outbound_hosts)
            .map_err(|e| format!("allowed_outbound_hosts: {e}"))
    }
}

/// How a module's instances are run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// A component exporting `wasi:http/incoming-handler` (or the authorizer world).
    #[default]
    Component,
    /// A `wasm32-wasip1` command run the WAGI way: the request in CGI environment variables
    /// and stdin, the response from its stdout.
    Wagi,
}

/// Why a module's bytes cannot run as the executor declared for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WrongBytes {
    /// Not WebAssembly at all.
    #[error("is not a WebAssembly file: it does not start with the `\\0asm` header")]
    NotWasm,
    /// A core module, declared a component.
    #[error(
        "is a core WebAssembly module (such as `wasm32-wasip1` output), not a component: run it the WAGI way with `executor = \"wagi\"` on its module (admin API: `?executor=wagi`, CLI: `--executor wagi`), or build a `wasi:http` component (Rust: `wasm32-wasip2`)"
    )]
    CoreModule,
    /// A component, declared a WAGI command.
    #[error(
        "is a component, but the `wagi` executor runs core `wasm32-wasip1` modules: leave `executor` at its default (`component`) for it"
    )]
    ComponentForWagi,
}

/// How many bytes of a module [`Executor::check_bytes`] needs: the preamble.
pub const PREAMBLE_BYTES: usize = 8;

impl Executor {
    /// The executor that runs `bytes` when `declared` is what its owner said (`None`:
    /// whatever they are), judged by the preamble (`\0asm`, a 2-byte version, then a
    /// 2-byte layer: 0 for a core module, 1 for a component).
    pub fn check_bytes(declared: Option<Executor>, bytes: &[u8]) -> Result<Executor, WrongBytes> {
        let detected = match bytes {
            [0x00, b'a', b's', b'm', _, _, 0x01, 0x00, ..] => Executor::Component,
            [0x00, b'a', b's', b'm', _, _, 0x00, 0x00, ..] => Executor::Wagi,
            _ => return Err(WrongBytes::NotWasm),
        };
        match (declared.unwrap_or(detected), detected) {
            (Executor::Component, Executor::Wagi) => Err(WrongBytes::CoreModule),
            (Executor::Wagi, Executor::Component) => Err(WrongBytes::ComponentForWagi),
            _ => Ok(detected),
        }
    }

    /// Whether this is the default, [`Executor::Component`].
    pub fn is_component(&self) -> bool {
        *self == Executor::Component
    }

    /// `component` or `wagi`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Executor::Component => "component",
            Executor::Wagi => "wagi",
        }
    }
}

impl std::fmt::Display for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Executor {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "component" => Ok(Executor::Component),
            "wagi" => Ok(Executor::Wagi),
            other => Err(format!(
                "`{other}` is not an executor: use `component` (the default) or `wagi`"
            )),
        }
    }
}
