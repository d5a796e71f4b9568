//! Capability-checked alias moves. What a version can reach is what it imports (recorded at
//! upload: `runtime::Interface`): moving an alias to a version, or giving it a canary, that
//! imports interfaces the alias's versions do not (`wasi:http/outgoing-handler`,
//! `wasi:sockets/tcp`) needs explicit approval, else the change is refused naming each one.
//! An upload's answer lists them beforehand, per alias of the module.
//!
//! Interfaces are compared without their version (`wasi:http/types@0.2.6` and `@0.2.3` are
//! one capability). A version stored before wasmgate recorded imports has none on record:
//! nothing is known of it, so a move to or from it is not checked.

use std::collections::{BTreeMap, BTreeSet};

use super::{AliasRecord, ModuleRecord};

/// The interfaces `versions` import, without their versions; `None` when one of them has
/// no record of its imports.
fn imports(
    module: &ModuleRecord,
    versions: impl IntoIterator<Item = u32>,
) -> Option<BTreeSet<String>> {
    let mut all = BTreeSet::new();
    for version in versions {
        let interface = module.versions.get(&version)?.interface.as_ref()?;
        all.extend(
            interface
                .imports
                .iter()
                .map(|name| unversioned(name).to_owned()),
        );
    }
    Some(all)
}

fn unversioned(name: &str) -> &str {
    name.split_once('@')
        .map_or(name, |(interface, _)| interface)
}

/// The versions an alias runs: its version and its canary's.
fn runs(alias: &AliasRecord) -> impl Iterator<Item = u32> {
    std::iter::once(alias.version).chain(alias.canary.map(|canary| canary.version))
}

/// What the alias would run as `next` that it does not as `current`: the interfaces only
/// the new versions import (empty when either side's imports are not on record).
pub(super) fn gained(
    module: &ModuleRecord,
    current: &AliasRecord,
    next: &AliasRecord,
) -> Vec<String> {
    match (imports(module, runs(current)), imports(module, runs(next))) {
        (Some(now), Some(then)) => then.difference(&now).cloned().collect(),
        _ => Vec::new(),
    }
}

/// For each alias of `module` not already running `version`: what `version` imports that
/// the alias's versions do not (aliases it would gain nothing are left out).
pub fn beyond_aliases(module: &ModuleRecord, version: u32) -> BTreeMap<String, Vec<String>> {
    let moved = AliasRecord {
        version,
        canary: None,
        variables: None,
    };
    module
        .aliases
        .iter()
        .filter(|(_, alias)| runs(alias).all(|v| v != version))
        .map(|(name, alias)| (name.clone(), gained(module, alias, &moved)))
        .filter(|(_, gained)| !gained.is_empty())
        .collect()
}
