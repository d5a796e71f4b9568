//! Authorizers in the registry: a name, a kind, identity sources and an authorizer module.

use super::{Registry, RegistryError, RegistryState};
use crate::config::{AuthorizerConfig, AuthorizerKindSpec, AuthorizerSpec, AuthorizerType, Target};

impl Registry {
    /// Creates or replaces an authorizer.
    pub fn put_authorizer(
        &self,
        config: AuthorizerConfig,
    ) -> Result<AuthorizerConfig, RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        self.check_authorizer(&next, &config)?;
        if config.kind != AuthorizerType::Jwt
            && let Some(route) = next.routes.iter().find(|r| {
                r.config.authorizer.as_deref() == Some(&config.name) && !r.config.scopes.is_empty()
            })
        {
            return Err(RegistryError::Conflict(format!(
                "route `{} {}` requires scopes, which only a jwt authorizer checks",
                route.config.method, route.config.path
            )));
        }
        next.authorizers.insert(config.name.clone(), config.clone());
        self.commit(&mut state, next)?;
        Ok(config)
    }

    /// Validates `config` against `state`: its module must exist and be an authorizer.
    pub(super) fn check_authorizer(
        &self,
        state: &RegistryState,
        config: &AuthorizerConfig,
    ) -> Result<AuthorizerSpec, RegistryError> {
        let spec = config.validate().map_err(|problems| {
            let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
            RegistryError::Invalid(text.join("; "))
        })?;
        if let AuthorizerKindSpec::Module { target, .. } = &spec.kind {
            self.authorizer_module(state, target)?;
        }
        Ok(spec)
    }

    /// Resolves an authorizer's target and checks every version it may run is an
    /// authorizer.
    pub(super) fn authorizer_module(
        &self,
        state: &RegistryState,
        target: &Target,
    ) -> Result<(), RegistryError> {
        self.check_kind(state, target, "authorizer")
    }

    /// Resolves a route's target and checks every version it may run is a handler.
    pub(super) fn handler_module(
        &self,
        state: &RegistryState,
        target: &Target,
    ) -> Result<(), RegistryError> {
        self.check_kind(state, target, "handler")
    }

    fn check_kind(
        &self,
        state: &RegistryState,
        target: &Target,
        wanted: &str,
    ) -> Result<(), RegistryError> {
        let resolved = Registry::resolve(state, target).map_err(RegistryError::Invalid)?;
        let mut versions = vec![(resolved.version, resolved.sha256)];
        if let Some((version, sha256, _)) = resolved.canary {
            versions.push((version, sha256));
        }
        for (version, sha256) in versions {
            let kind = self.module(&sha256)?.kind();
            if kind != wanted {
                return Err(RegistryError::Invalid(format!(
                    "version {version} of `{}` is not {} (it is {})",
                    target.module,
                    with_article(wanted),
                    with_article(kind)
                )));
            }
        }
        Ok(())
    }

    /// Checks that in `state` every route still runs a handler and every authorizer an
    /// authorizer module: an upload that becomes a module's latest version, or an alias
    /// that moves, must not turn one into the other.
    pub(super) fn check_users(&self, state: &RegistryState) -> Result<(), RegistryError> {
        for route in &state.routes {
            if let Ok(target) = Target::parse(&route.config.module) {
                self.handler_module(state, &target).map_err(|e| {
                    RegistryError::Conflict(format!(
                        "route `{} {}` would no longer run a handler: {e}",
                        route.config.method, route.config.path
                    ))
                })?;
            }
        }
        for config in state.authorizers.values() {
            if let Some(target) = config.module.as_deref().and_then(|m| Target::parse(m).ok()) {
                self.authorizer_module(state, &target).map_err(|e| {
                    RegistryError::Conflict(format!(
                        "authorizer `{}` would no longer run an authorizer: {e}",
                        config.name
                    ))
                })?;
            }
        }
        Ok(())
    }

    /// Deletes an authorizer no route uses.
    pub fn delete_authorizer(&self, name: &str) -> Result<AuthorizerConfig, RegistryError> {
        let mut state = self.lock();
        let mut next = state.clone();
        if let Some(route) = next
            .routes
            .iter()
            .find(|r| r.config.authorizer.as_deref() == Some(name))
        {
            return Err(RegistryError::Conflict(format!(
                "authorizer `{name}` is used by route `{} {}`",
                route.config.method, route.config.path
            )));
        }
        let removed = next
            .authorizers
            .remove(name)
            .ok_or_else(|| RegistryError::NotFound(format!("no authorizer `{name}`")))?;
        self.commit(&mut state, next)?;
        Ok(removed)
    }
}

fn with_article(kind: &str) -> String {
    match kind.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {kind}"),
        _ => format!("a {kind}"),
    }
}
