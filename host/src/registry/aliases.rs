//! Aliases (stages: `hello@prod`) and deleting versions, refused while in use.

use super::{
    AliasRecord, Conflict, Invalid, Missing, Registry, RegistryError, RegistryState, Stored,
};
use crate::config::{ModuleName, Qualifier, Target, check_alias_name, check_stage_variables};

impl Registry {
    /// Points `alias` of `name` at a version (and optionally a canary version). An alias
    /// that would run versions importing interfaces its versions do not is moved only with
    /// `approve_capabilities` (see `capabilities.rs`).
    pub fn set_alias(
        &self,
        name: &ModuleName,
        alias: &str,
        mut record: AliasRecord,
        approve_capabilities: bool,
    ) -> Result<AliasRecord, RegistryError> {
        check_alias_name(alias).map_err(Invalid::Name)?;
        if let Some(variables) = &record.variables {
            check_stage_variables(variables).map_err(Invalid::Fields)?;
        }
        self.change(|next| {
            let module = next.module_mut(name)?;
            // Without variables, the alias keeps its own; `{}` removes them.
            match &record.variables {
                None => {
                    record.variables = module
                        .aliases
                        .get(alias)
                        .and_then(|kept| kept.variables.clone());
                }
                Some(variables) if variables.is_empty() => record.variables = None,
                Some(_) => {}
            }
            let check_version = |version: u32| {
                if module.versions.contains_key(&version) {
                    Ok(())
                } else {
                    Err(Invalid::Unresolved(super::Unresolved::NoVersion {
                        module: name.clone(),
                        version,
                    }))
                }
            };
            check_version(record.version)?;
            if let Some(canary) = record.canary {
                check_version(canary.version)?;
                if canary.version == record.version {
                    return Err(Invalid::CanaryIsTheVersion.into());
                }
                if !(1..=99).contains(&canary.percent) {
                    return Err(Invalid::CanaryShare(canary.percent).into());
                }
            }
            if let Some(current) = module.aliases.get(alias) {
                check_capabilities(name, alias, module, current, &record, approve_capabilities)?;
            }
            module.aliases.insert(alias.to_owned(), record.clone());
            self.check_users(next)?;
            Ok(record)
        })
    }

    /// Deletes an alias no route uses.
    pub fn delete_alias(&self, name: &ModuleName, alias: &str) -> Result<(), RegistryError> {
        self.change(|next| {
            let alias_target = Target {
                module: name.clone(),
                qualifier: Qualifier::Alias(alias.to_owned()),
            };
            if let Some(user) = users(next, |target| *target == alias_target).next() {
                let thing = Stored::Alias(alias_target.clone());
                return Err(Conflict::InUse { thing, user }.into());
            }
            if next.module_mut(name)?.aliases.remove(alias).is_none() {
                let (module, alias) = (name.clone(), alias.to_owned());
                return Err(Missing::Alias { module, alias }.into());
            }
            Ok(())
        })
    }

    /// Deletes a version that no route or alias uses. Its stored bytes stay (another module
    /// may have the same ones); the number is never reused.
    pub fn delete_version(&self, name: &ModuleName, version: u32) -> Result<(), RegistryError> {
        self.change(|next| {
            let module = next.module_mut(name)?;
            let thing = Stored::Version {
                module: name.clone(),
                version,
            };
            if module.versions.remove(&version).is_none() {
                let module = name.clone();
                return Err(Missing::Version { module, version }.into());
            }
            if let Some((alias, _)) = module.aliases.iter().find(|(_, a)| {
                a.version == version || a.canary.is_some_and(|c| c.version == version)
            }) {
                let user = Stored::Alias(Target {
                    module: name.clone(),
                    qualifier: Qualifier::Alias(alias.clone()),
                });
                return Err(Conflict::InUse { thing, user }.into());
            }
            // Before the removal, `latest` was this version if no higher one is left.
            let was_latest = module.latest().is_none_or(|latest| latest < version);
            let uses = |target: &Target| {
                target.module == *name
                    && match target.qualifier {
                        Qualifier::Version(v) => v == version,
                        Qualifier::Latest => was_latest,
                        Qualifier::Alias(_) => false,
                    }
            };
            if let Some(user) = users(next, uses).next() {
                return Err(Conflict::InUse { thing, user }.into());
            }
            self.check_users(next)
        })
    }
}

/// Refuses moving `alias` from `current` to `next` when that gives it new capabilities
/// and they were not approved.
pub(super) fn check_capabilities(
    name: &ModuleName,
    alias: &str,
    module: &super::ModuleRecord,
    current: &AliasRecord,
    next: &AliasRecord,
    approved: bool,
) -> Result<(), RegistryError> {
    let capabilities = super::capabilities::gained(module, current, next);
    if approved || capabilities.is_empty() {
        return Ok(());
    }
    let alias = Stored::Alias(Target {
        module: name.clone(),
        qualifier: Qualifier::Alias(alias.to_owned()),
    });
    Err(Conflict::NewCapabilities {
        alias,
        capabilities,
    }
    .into())
}

/// The routes and authorizers whose target satisfies `uses`.
fn users<'a>(
    state: &'a RegistryState,
    uses: impl Fn(&Target) -> bool + 'a,
) -> impl Iterator<Item = Stored> + 'a {
    let uses = std::rc::Rc::new(uses);
    let by_routes = uses.clone();
    let routes = state
        .routes
        .iter()
        .filter(move |r| r.spec().integration.module().is_some_and(|t| by_routes(t)))
        .map(super::authorizers::route_named);
    let authorizers = state
        .authorizers
        .values()
        .filter(move |a| a.targets().any(|target| uses(target)))
        .map(|a| Stored::Authorizer(a.config.name.clone()));
    routes.chain(authorizers)
}
