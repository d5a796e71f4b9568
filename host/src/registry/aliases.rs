//! Aliases (stages: `hello@prod`) and deleting versions, refused while in use.

use super::{AliasRecord, Registry, RegistryError, RegistryState};
use crate::config::{ModuleName, Qualifier, Target, check_alias_name};

impl Registry {
    /// Points `alias` of `name` at a version (and optionally a canary version).
    pub fn set_alias(
        &self,
        name: &ModuleName,
        alias: &str,
        record: AliasRecord,
    ) -> Result<AliasRecord, RegistryError> {
        check_alias_name(alias).map_err(RegistryError::Invalid)?;
        let mut state = self.lock();
        let mut next = state.clone();
        let module = next
            .modules
            .get_mut(name.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("no module `{name}`")))?;
        let check_version = |version: u32| {
            if module.versions.contains_key(&version) {
                Ok(())
            } else {
                Err(RegistryError::Invalid(format!(
                    "module `{name}` has no version {version}"
                )))
            }
        };
        check_version(record.version)?;
        if let Some(canary) = record.canary {
            check_version(canary.version)?;
            if canary.version == record.version {
                return Err(RegistryError::Invalid(
                    "the canary version must differ from the alias's version".into(),
                ));
            }
            if !(1..=99).contains(&canary.percent) {
                return Err(RegistryError::Invalid(format!(
                    "a canary takes 1 to 99 percent of requests, not {}",
                    canary.percent
                )));
            }
        }
        module.aliases.insert(alias.to_owned(), record.clone());
        self.check_users(&next)?;
        self.commit(&mut state, next)?;
        Ok(record)
    }

    /// Deletes an alias no route uses.
    pub fn delete_alias(&self, name: &ModuleName, alias: &str) -> Result<(), RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let alias_target = Target {
            module: name.clone(),
            qualifier: Qualifier::Alias(alias.to_owned()),
        };
        if let Some(route) = routes_using(&next, |target| *target == alias_target).next() {
            return Err(RegistryError::Conflict(format!(
                "alias `{alias_target}` is used by {route}"
            )));
        }
        let module = next
            .modules
            .get_mut(name.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("no module `{name}`")))?;
        if module.aliases.remove(alias).is_none() {
            return Err(RegistryError::NotFound(format!(
                "module `{name}` has no alias `{alias}`"
            )));
        }
        self.commit(&mut state, next)?;
        Ok(())
    }

    /// Deletes a version that no route or alias uses. Its stored bytes stay (another module
    /// may have the same ones); the number is never reused.
    pub fn delete_version(&self, name: &ModuleName, version: u32) -> Result<(), RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        let module = next
            .modules
            .get(name.as_str())
            .ok_or_else(|| RegistryError::NotFound(format!("no module `{name}`")))?;
        if !module.versions.contains_key(&version) {
            return Err(RegistryError::NotFound(format!(
                "module `{name}` has no version {version}"
            )));
        }
        let latest = module.latest();
        if let Some((alias, _)) = module
            .aliases
            .iter()
            .find(|(_, a)| a.version == version || a.canary.is_some_and(|c| c.version == version))
        {
            return Err(RegistryError::Conflict(format!(
                "version {version} of `{name}` is used by alias `{name}@{alias}`"
            )));
        }
        let uses = |target: &Target| {
            target.module == *name
                && match target.qualifier {
                    Qualifier::Version(v) => v == version,
                    Qualifier::Latest => latest == Some(version),
                    Qualifier::Alias(_) => false,
                }
        };
        if let Some(route) = routes_using(&next, uses).next() {
            return Err(RegistryError::Conflict(format!(
                "version {version} of `{name}` is used by {route}"
            )));
        }
        if let Some(module) = next.modules.get_mut(name.as_str()) {
            module.versions.remove(&version);
        }
        self.check_users(&next)?;
        self.commit(&mut state, next)?;
        Ok(())
    }
}

/// The routes (`route `METHOD path``) and authorizers (`authorizer `name``) whose target
/// satisfies `uses`.
fn routes_using<'a>(
    state: &'a RegistryState,
    uses: impl Fn(&Target) -> bool + 'a,
) -> impl Iterator<Item = String> + 'a {
    let uses = std::rc::Rc::new(uses);
    let by_routes = uses.clone();
    let routes = state.routes.iter().filter_map(move |r| {
        let target = Target::parse(&r.config.module).ok()?;
        by_routes(&target).then(|| format!("route `{} {}`", r.config.method, r.config.path))
    });
    let authorizers = state.authorizers.values().filter_map(move |a| {
        let target = Target::parse(a.module.as_deref()?).ok()?;
        uses(&target).then(|| format!("authorizer `{}`", a.name))
    });
    routes.chain(authorizers)
}
