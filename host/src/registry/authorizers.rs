//! Authorizers in the registry: a name, a kind, identity sources and an authorizer module.

use super::{
    AuthorizerRecord, Conflict, Invalid, Missing, Registry, RegistryError, RegistryState,
    RouteRecord, Stored,
};
use crate::config::{AuthorizerConfig, AuthorizerType, Target};
use crate::runtime::ModuleKind;

impl Registry {
    /// Creates or replaces an authorizer.
    pub fn put_authorizer(
        &self,
        config: AuthorizerConfig,
    ) -> Result<AuthorizerRecord, RegistryError> {
        self.change(|next| {
            let record = self.check_authorizer(next, config)?;
            let config = &record.config;
            if config.kind != AuthorizerType::Jwt
                && let Some(route) =
                    routes_guarded_by(next, &config.name).find(|r| !r.config.scopes.is_empty())
            {
                let route = route_named(route);
                return Err(Conflict::ScopesNeedJwt { route }.into());
            }
            next.authorizers.insert(config.name.clone(), record.clone());
            Ok(record)
        })
    }

    /// Validates `config` against `state`: its module must exist and be an authorizer.
    pub(super) fn check_authorizer(
        &self,
        state: &RegistryState,
        config: AuthorizerConfig,
    ) -> Result<AuthorizerRecord, RegistryError> {
        let record = AuthorizerRecord::new(config).map_err(Invalid::Fields)?;
        for target in record.targets() {
            self.check_kind(state, target, ModuleKind::Authorizer)?;
        }
        Ok(record)
    }

    /// Resolves `target` and checks every version it may run (the alias's canary too) is
    /// `wanted`: a handler for a route, an authorizer for an authorizer.
    pub(super) fn check_kind(
        &self,
        state: &RegistryState,
        target: &Target,
        wanted: ModuleKind,
    ) -> Result<(), RegistryError> {
        let resolved = Registry::resolve(state, target).map_err(Invalid::Unresolved)?;
        let mut versions = vec![(resolved.version, resolved.sha256)];
        if let Some((version, sha256, _)) = resolved.canary {
            versions.push((version, sha256));
        }
        for (version, sha256) in versions {
            let found = self.module(&sha256)?.kind();
            if found != wanted {
                let module = target.module.clone();
                return Err(Invalid::WrongKind {
                    module,
                    version,
                    wanted,
                    found,
                }
                .into());
            }
        }
        Ok(())
    }

    /// Checks that in `state` every route still runs a handler and every authorizer an
    /// authorizer module: an upload that becomes a module's latest version, or an alias
    /// that moves, must not turn one into the other.
    pub(super) fn check_users(&self, state: &RegistryState) -> Result<(), RegistryError> {
        let would_break = |user: Stored, wanted: ModuleKind| {
            move |error: RegistryError| {
                let error = Box::new(error);
                RegistryError::from(Conflict::WouldBreak {
                    user,
                    wanted,
                    error,
                })
            }
        };
        for route in &state.routes {
            if let Some(target) = route.spec().integration.module() {
                self.check_kind(state, target, ModuleKind::Handler)
                    .map_err(would_break(route_named(route), ModuleKind::Handler))?;
            }
        }
        for authorizer in state.authorizers.values() {
            for target in authorizer.targets() {
                let user = Stored::Authorizer(authorizer.config.name.clone());
                self.check_kind(state, target, ModuleKind::Authorizer)
                    .map_err(would_break(user, ModuleKind::Authorizer))?;
            }
        }
        Ok(())
    }

    /// Makes authorizer `name`'s shadow its module, and leaves it without a shadow.
    pub fn promote_shadow(&self, name: &str) -> Result<AuthorizerRecord, RegistryError> {
        self.change(|next| {
            let Some(current) = next.authorizers.get(name) else {
                return Err(Missing::Authorizer(name.to_owned()).into());
            };
            let mut config = current.config.clone();
            let Some(shadow) = config.shadow.take() else {
                return Err(Invalid::Fields(vec![crate::config::Problem::new(
                    "shadow",
                    format!("authorizer `{name}` has no shadow to promote"),
                )])
                .into());
            };
            config.module = Some(shadow);
            config.shadow_percent = None;
            let record = self.check_authorizer(next, config)?;
            next.authorizers.insert(name.to_owned(), record.clone());
            Ok(record)
        })
    }

    /// Deletes an authorizer no route uses.
    pub fn delete_authorizer(&self, name: &str) -> Result<AuthorizerRecord, RegistryError> {
        self.change(|next| {
            if let Some(route) = routes_guarded_by(next, name).next() {
                let thing = Stored::Authorizer(name.to_owned());
                let user = route_named(route);
                return Err(Conflict::InUse { thing, user }.into());
            }
            next.authorizers
                .remove(name)
                .ok_or_else(|| Missing::Authorizer(name.to_owned()).into())
        })
    }
}

/// The routes in `state` that the authorizer `name` guards.
fn routes_guarded_by<'a>(
    state: &'a RegistryState,
    name: &'a str,
) -> impl Iterator<Item = &'a RouteRecord> {
    let guarded = move |route: &&RouteRecord| route.config.authorizer.as_deref() == Some(name);
    state.routes.iter().filter(guarded)
}

/// How conflict messages name `route`.
pub(super) fn route_named(route: &RouteRecord) -> Stored {
    Stored::Route {
        method: route.config.method.clone(),
        path: route.config.path.clone(),
    }
}
