//! The manifest file as written (`wasmgate.toml`), parsed strictly: unknown keys are errors.
//! Each section and each entry is read on its own, so one run names every entry that does
//! not have the manifest's shape (with its line), not only the first; the entries that do
//! are validated beside them ([`super::validate`]), into the normalised
//! [`super::Manifest`]. A route's and an authorizer's entries are [`crate::config`]'s
//! types, as stored.

use std::net::SocketAddr;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::de::{DeValue, ValueDeserializer};

use crate::config::{
    AuthorizerConfig, CorsConfig, Executor, Problem, RouteConfig, StoreConfig, ThrottleConfig,
};

/// The whole file: the entries that could be read; `None` for one that could not (a
/// problem says why), so every entry keeps its index.
#[derive(Debug, Default)]
pub(super) struct ManifestFile {
    pub gateway: GatewaySection,
    pub modules: Vec<Option<ModuleEntry>>,
    /// The names of the `[[modules]]` entries that could not be read, when they have one:
    /// routes naming them are not reported as naming an unknown module too.
    pub unreadable_modules: Vec<String>,
    pub routes: Vec<Option<RouteConfig>>,
    pub authorizers: Vec<Option<AuthorizerConfig>>,
    pub store: StoreConfig,
}

/// `[gateway]`
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct GatewaySection {
    pub listen: Option<SocketAddr>,
    pub throttle: Option<ThrottleConfig>,
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    pub cors: Option<CorsConfig>,
}

/// One `[[modules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ModuleEntry {
    pub name: String,
    pub path: String,
    #[serde(default)]
    pub env: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub allowed_outbound_hosts: Vec<String>,
    #[serde(default)]
    pub key_value_stores: Vec<String>,
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub executor: Executor,
    /// Aliases pointed at this file's version at start-up, with their stage variables.
    #[serde(default)]
    pub aliases: std::collections::BTreeMap<String, AliasEntry>,
    /// How `wasmgate build` and `wasmgate dev` make the file.
    pub build: Option<BuildEntry>,
}

/// `build = { command = "…", watch = ["src"] }` of a `[[modules]]` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BuildEntry {
    pub command: String,
    #[serde(default)]
    pub watch: Vec<String>,
}

/// One alias of a `[[modules]]` entry: `aliases = { prod = { variables = { … } } }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AliasEntry {
    #[serde(default)]
    pub variables: std::collections::BTreeMap<String, String>,
}

/// The manifest's top-level keys.
const SECTIONS: &str = "`gateway`, `modules`, `routes`, `authorizers`, `store`";

/// Reads `text`: an error only if it is not TOML at all; every entry without the
/// manifest's shape is a problem in `problems`.
pub(super) fn read(
    text: &str,
    problems: &mut Vec<Problem>,
) -> Result<ManifestFile, toml::de::Error> {
    let root = toml::de::DeTable::parse(text)?.into_inner();
    let mut reader = Reader { text, problems };
    let mut file = ManifestFile::default();
    for (key, value) in root {
        match key.get_ref().as_ref() {
            "gateway" => file.gateway = reader.entry("gateway", value).unwrap_or_default(),
            "store" => file.store = reader.entry("store", value).unwrap_or_default(),
            "modules" => {
                for (i, item) in reader.items("modules", value).into_iter().enumerate() {
                    let name = name_of(&item);
                    let entry = reader.entry(&format!("modules[{i}]"), item);
                    if entry.is_none() {
                        file.unreadable_modules.extend(name);
                    }
                    file.modules.push(entry);
                }
            }
            "routes" => {
                let items = reader.items("routes", value);
                file.routes = reader.entries("routes", items);
            }
            "authorizers" => {
                let items = reader.items("authorizers", value);
                file.authorizers = reader.entries("authorizers", items);
            }
            other => {
                let at = reader.at(key.span().start);
                reader.problems.push(Problem {
                    key: other.to_owned(),
                    message: format!("unknown field `{other}`, expected one of {SECTIONS}{at}"),
                });
            }
        }
    }
    Ok(file)
}

/// Turns parts of the document into entries, each problem named with its key and line.
struct Reader<'t, 'p> {
    text: &'t str,
    problems: &'p mut Vec<Problem>,
}

impl<'t> Reader<'t, '_> {
    /// ` (line L, column C)` of the byte offset `at`.
    fn at(&self, at: usize) -> String {
        let before = &self.text[..at.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!(" (line {line}, column {column})")
    }

    /// `value` as a `T`, or `None` with a problem under `key`.
    fn entry<T: DeserializeOwned>(&mut self, key: &str, value: Spanned<DeValue<'t>>) -> Option<T> {
        let start = value.span().start;
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(entry) => Some(entry),
            Err(error) => {
                let at = self.at(error.span().map_or(start, |span| span.start));
                self.problems.push(Problem {
                    key: key.to_owned(),
                    message: format!("{}{at}", error.message().trim_end()),
                });
                None
            }
        }
    }

    /// The items of the array `key` (`[[key]]` tables), or none with a problem.
    fn items(&mut self, key: &str, value: Spanned<DeValue<'t>>) -> Vec<Spanned<DeValue<'t>>> {
        let start = value.span().start;
        match value.into_inner() {
            DeValue::Array(items) => items.iter().cloned().collect(),
            other => {
                let at = self.at(start);
                self.problems.push(Problem {
                    key: key.to_owned(),
                    message: format!(
                        "expected an array of tables (`[[{key}]]`), found {}{at}",
                        other.type_str()
                    ),
                });
                Vec::new()
            }
        }
    }

    /// Each of `items` as a `T` (`None` for one with a problem).
    fn entries<T: DeserializeOwned>(
        &mut self,
        key: &str,
        items: Vec<Spanned<DeValue<'t>>>,
    ) -> Vec<Option<T>> {
        let entries = items.into_iter().enumerate();
        entries
            .map(|(i, item)| self.entry(&format!("{key}[{i}]"), item))
            .collect()
    }
}

/// The `name` of a `[[modules]]` table, if it has a string one.
fn name_of(item: &Spanned<DeValue<'_>>) -> Option<String> {
    let table = item.get_ref().as_table()?;
    let (_, name) = table
        .iter()
        .find(|(key, _)| key.get_ref().as_ref() == "name")?;
    name.get_ref().as_str().map(str::to_owned)
}
