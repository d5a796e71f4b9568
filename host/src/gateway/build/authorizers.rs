//! Building the route table's authorizers: each resolved to the component(s) it runs or
//! its JWT verifier, with a decision cache kept across rebuilds while it stays the same.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::live::lock;
use super::versions::load_versions;
use crate::config::AuthorizerKindSpec;
use crate::gateway::authorization::{AuthorizerCache, Decider, RouteAuthorizer, Shadow};
use crate::registry::{AuthorizerRecord, Registry, RegistryState};
use crate::runtime::{AuthorizerComponent, CompiledModule};

/// What a decision cache is valid for: the authorizer's configuration and the module
/// versions it runs. Decisions are thrown away when either changes.
pub(super) type CacheIdentity = (AuthorizerRecord, Vec<String>);

/// Every stored authorizer, by name, ready to decide.
pub(super) fn build_authorizers(
    registry: &Registry,
    state: &RegistryState,
    caches: &Mutex<HashMap<String, (CacheIdentity, Arc<AuthorizerCache>)>>,
) -> HashMap<String, Arc<RouteAuthorizer>> {
    let mut caches = lock(caches);
    let identity = |authorizer: &AuthorizerRecord| -> CacheIdentity {
        let versions = authorizer
            .target()
            .and_then(|target| Registry::resolve(state, target).ok())
            .map(|resolved| {
                let mut shas = vec![resolved.sha256];
                shas.extend(resolved.canary.map(|(_, sha, _)| sha));
                shas
            })
            .unwrap_or_default();
        (authorizer.clone(), versions)
    };
    caches.retain(|name, (live, _)| {
        state
            .authorizers
            .get(name)
            .is_some_and(|authorizer| identity(authorizer) == *live)
    });
    let mut built = HashMap::new();
    for (name, authorizer) in &state.authorizers {
        let spec = authorizer.spec();
        let cache = caches
            .entry(name.clone())
            .or_insert_with(|| {
                let cache = AuthorizerCache::new(name, authorizer.max_concurrency());
                (identity(authorizer), Arc::new(cache))
            })
            .1
            .clone();
        let decider = match &spec.kind {
            AuthorizerKindSpec::Module {
                target,
                token,
                ttl,
                timeout,
                shadow,
                ..
            } => {
                let load = |target| {
                    load_versions(registry, state, target, |module| match module {
                        CompiledModule::Authorizer(authorizer) => {
                            Ok::<AuthorizerComponent, _>(authorizer)
                        }
                        other => Err(other.kind()),
                    })
                    .map(Arc::new)
                };
                let shadow = shadow.as_ref().and_then(|shadow| match load(&shadow.target) {
                    Ok(versions) => Some(Shadow {
                        versions,
                        percent: shadow.percent,
                    }),
                    Err(reason) => {
                        tracing::error!(authorizer = %name, %reason, "shadow authorizer cannot run");
                        None
                    }
                });
                Decider::Module {
                    versions: load(target),
                    cache,
                    token: *token,
                    ttl: *ttl,
                    timeout: *timeout,
                    shadow,
                }
            }
            // The cache holds the fetched JWKS too: live while the configuration is.
            AuthorizerKindSpec::Jwt(jwt) => Decider::Jwt(cache.jwt(jwt)),
        };
        if let Err(reason) = decider.ready() {
            tracing::error!(authorizer = %name, %reason, "authorizer cannot run");
        }
        built.insert(
            name.clone(),
            Arc::new(RouteAuthorizer::new(spec.clone(), decider)),
        );
    }
    built
}
