//! The compiled version(s) a target runs: loaded from the registry with their module's
//! sandbox, and the pick of primary or canary for one request.

use std::sync::Arc;

use http::HeaderValue;

use crate::config::{Qualifier, Target};
use crate::registry::{Registry, RegistryState};
use crate::runtime::{CompiledModule, Handler, KeyValueAccess, ModuleKind, Sandbox};

/// The version a target runs, and possibly a canary sharing its traffic.
pub(in crate::gateway) struct Versions<T> {
    pub(super) primary: Version<T>,
    pub(super) canary: Option<(Version<T>, u8)>,
}

/// One compiled version, its `module@version` label and its module's sandbox settings.
pub(in crate::gateway) struct Version<T> {
    pub label: HeaderValue,
    pub compiled: T,
    pub sandbox: Arc<Sandbox>,
}

impl<T> Versions<T> {
    /// Picks the version for one request: the canary takes `percent` of requests, decided
    /// by the request id's random bits.
    pub fn pick(&self, request_id: &uuid::Uuid) -> &Version<T> {
        match &self.canary {
            Some((canary, percent)) if (request_id.as_u128() % 100) < u128::from(*percent) => {
                canary
            }
            _ => &self.primary,
        }
    }
}

/// The version `target` runs (an alias's primary version, never its canary), with its
/// module's sandbox: what recordings are replayed on.
pub(in crate::gateway) fn load_handler(
    registry: &Registry,
    state: &RegistryState,
    target: &Target,
) -> Result<Version<Handler>, Arc<str>> {
    load_versions(registry, state, target, |module| match module {
        CompiledModule::Handler(handler) => Ok(handler),
        other => Err(other.kind()),
    })
    .map(|versions| versions.primary)
}

/// Loads the version(s) `target` resolves to, each of the kind `accept` takes, with their
/// module's sandbox.
pub(super) fn load_versions<T>(
    registry: &Registry,
    state: &RegistryState,
    target: &Target,
    accept: impl Fn(CompiledModule) -> Result<T, ModuleKind>,
) -> Result<Versions<T>, Arc<str>> {
    let resolved = Registry::resolve(state, target).map_err(|e| e.to_string())?;
    let sandbox = match state.modules.get(target.module.as_str()) {
        Some(module) => Sandbox {
            config: registry
                .module_settings(target.module.as_str(), module)
                .map_err(|e| format!("module `{}` is misconfigured: {e}", target.module))?
                .into(),
            outbound: Arc::new(
                module
                    .config
                    .validate()
                    .map_err(|e| format!("module `{}` is misconfigured: {e}", target.module))?,
            ),
            env: module.config.env.clone().into_iter().collect(),
            stage_variables: match &target.qualifier {
                Qualifier::Alias(alias) => module
                    .aliases
                    .get(alias)
                    .and_then(|alias| alias.variables.as_ref())
                    .map(|variables| variables.clone().into_iter().collect())
                    .unwrap_or_default(),
                _ => Arc::default(),
            },
            key_value: match (
                registry.runtime().key_value(),
                &module.config.key_value_stores,
            ) {
                (Some(backend), stores) if !stores.is_empty() => Some(KeyValueAccess {
                    backend: backend.clone(),
                    module: Arc::from(target.module.as_str()),
                    stores: stores.clone().into(),
                }),
                _ => None,
            },
        },
        None => Sandbox::default(),
    };
    let sandbox = Arc::new(sandbox);
    let version = |number: u32, sha256: &str| -> Result<Version<T>, String> {
        let module = registry.module(sha256).map_err(|error| {
            // The details (a file in the data dir, say) are for the log, not for clients.
            tracing::error!(module = %target.module, version = number, %error, "version cannot be loaded");
            format!(
                "version {number} of `{}` cannot be loaded (the gateway's log says why)",
                target.module
            )
        })?;
        let compiled = accept(module).map_err(|kind| {
            format!(
                "version {number} of `{}` is the wrong kind of module ({kind})",
                target.module
            )
        })?;
        let label = HeaderValue::from_str(&format!("{}@{number}", target.module))
            .map_err(|e| e.to_string())?;
        Ok(Version {
            label,
            compiled,
            sandbox: sandbox.clone(),
        })
    };
    Ok(Versions {
        primary: version(resolved.version, &resolved.sha256)?,
        canary: match &resolved.canary {
            Some((number, sha256, percent)) => Some((version(*number, sha256)?, *percent)),
            None => None,
        },
    })
}
