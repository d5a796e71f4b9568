//! Deployment history: every alias move and route change, who made it (the admin API or
//! the manifest) and when, found by comparing the state before and after each committed
//! change and kept in the registry document (the latest [`MAX_ENTRIES`]); and rolling an
//! alias back to the version it pointed at before its latest move.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::{AliasRecord, Conflict, Registry, RegistryError, RegistryState, RouteRecord};
use crate::config::ModuleName;

/// Entries kept; older ones are dropped.
pub const MAX_ENTRIES: usize = 1_000;

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryEntry {
    /// When, in seconds since the epoch.
    pub at: u64,
    /// Who: `admin API` or `manifest`.
    pub by: String,
    /// What changed.
    pub change: Change,
}

/// What one entry records.
#[serde_with::skip_serializing_none]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Change {
    /// An alias was created, moved or deleted.
    Alias {
        /// The module.
        module: String,
        /// The alias.
        alias: String,
        /// What it pointed at before (none: it was created).
        from: Option<AliasRecord>,
        /// What it points at after (none: it was deleted).
        to: Option<AliasRecord>,
    },
    /// A route was created, changed or deleted: what it ran before and after.
    Route {
        /// The route's id.
        id: String,
        /// Its method.
        method: String,
        /// Its path template.
        path: String,
        /// What it ran before (none: it was created).
        from: Option<String>,
        /// What it runs after (none: it was deleted).
        to: Option<String>,
    },
}

/// Adds to `after`'s history what changed since `before`, by `by`.
pub(super) fn record(before: &RegistryState, after: &mut RegistryState, by: &str) {
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs());
    let mut changes = Vec::new();
    let modules: BTreeSet<&String> = before.modules.keys().chain(after.modules.keys()).collect();
    for module in modules {
        let aliases = |state: &RegistryState| state.modules.get(module).map(|m| m.aliases.clone());
        let (old, new) = (
            aliases(before).unwrap_or_default(),
            aliases(after).unwrap_or_default(),
        );
        let names: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for alias in names {
            let (from, to) = (old.get(alias), new.get(alias));
            if from != to {
                changes.push(Change::Alias {
                    module: module.clone(),
                    alias: alias.clone(),
                    from: from.cloned(),
                    to: to.cloned(),
                });
            }
        }
    }
    // By id: one pass over each side, whatever the number of routes (a change to one of
    // 10,000 stays cheap; most records are the very ones the state had).
    let by_id = |state: &'_ RegistryState| -> HashMap<String, RouteRecord> {
        (state.routes.iter())
            .map(|route| (route.id().to_owned(), route.clone()))
            .collect()
    };
    let (old_routes, new_routes) = (by_id(before), by_id(after));
    let ids: BTreeSet<&String> = old_routes.keys().chain(new_routes.keys()).collect();
    for id in ids {
        let (old, new) = (old_routes.get(id), new_routes.get(id));
        let unchanged = match (old, new) {
            (Some(old), Some(new)) => old.is(new) || old.config == new.config,
            _ => false,
        };
        let Some(route) = new.or(old).filter(|_| !unchanged) else {
            continue;
        };
        let runs = |route: &RouteRecord| route.spec().integration.to_string();
        changes.push(Change::Route {
            id: id.clone(),
            method: route.spec().method.to_string(),
            path: route.spec().template.to_string(),
            from: old.map(runs),
            to: new.map(runs),
        });
    }
    let history = &mut after.history;
    history.extend(changes.into_iter().map(|change| HistoryEntry {
        at,
        by: by.to_owned(),
        change,
    }));
    if history.len() > MAX_ENTRIES {
        history.drain(..history.len() - MAX_ENTRIES);
    }
}

impl Registry {
    /// Points `alias` of `name` back at what it pointed at before its latest move (a
    /// second rollback undoes the first). Returns the alias before and after.
    pub fn rollback_alias(
        &self,
        name: &ModuleName,
        alias: &str,
    ) -> Result<(AliasRecord, AliasRecord), RegistryError> {
        let state = self.state();
        let current = state
            .modules
            .get(name.as_str())
            .and_then(|module| module.aliases.get(alias))
            .cloned()
            .ok_or_else(|| super::Missing::Alias {
                module: name.clone(),
                alias: alias.to_owned(),
            })?;
        let previous = state
            .history
            .iter()
            .rev()
            .find_map(|entry| match &entry.change {
                Change::Alias {
                    module,
                    alias: moved,
                    from,
                    to,
                } if module == name.as_str() && moved == alias && to.as_ref() == Some(&current) => {
                    from.clone()
                }
                _ => None,
            })
            .ok_or_else(|| Conflict::NoEarlierVersion {
                module: name.clone(),
                alias: alias.to_owned(),
            })?;
        // Back to what the alias ran before: capabilities it had then need no new approval.
        let now = self.set_alias(name, alias, previous, true)?;
        Ok((current, now))
    }
}
