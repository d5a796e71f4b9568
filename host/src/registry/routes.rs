//! Routes in the registry: each validated once into a [`RouteRecord`], checked against the
//! modules and authorizers it names, and against the other routes for ambiguity — an added
//! route by one insertion into a table of the current routes kept between changes.

use std::sync::MutexGuard;

use super::{
    Conflict, Invalid, Missing, Registry, RegistryError, RegistryState, RouteRecord, RouteSource,
};
use crate::config::{AuthorizerType, Problem, RouteConfig, RouteSpec};
use crate::routing::RouteTable;
use crate::runtime::{CompiledModule, Handler, ModuleKind};

impl Registry {
    pub(super) fn route_index_lock(&self) -> MutexGuard<'_, Option<RouteTable<()>>> {
        self.route_index
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Creates or replaces the route with the same method and path.
    pub fn put_route(&self, config: RouteConfig) -> Result<RouteRecord, RegistryError> {
        let record = RouteRecord::new(config, RouteSource::Api).map_err(invalid)?;
        let spec = record.spec();
        let mut state = self.lock_for_change()?;
        let mut next = state.clone();
        if let Some(target) = spec.integration.module() {
            self.check_kind(&next, target, ModuleKind::Handler)?;
        }
        check_route_authorizer(&next, spec)?;
        self.check_fuel(spec)?;
        self.check_reuse(&next, spec)?;
        let added = upsert_route(&mut next.routes, record.clone());
        self.check_reservations(&next.routes)?;
        let mut index = self.route_index_lock();
        if added {
            // A route in place of one with the same method and template matches the same
            // paths: only an added route can be ambiguous with the others.
            index
                .get_or_insert_with(|| route_index(&state.routes))
                .insert(spec.method.clone(), spec.template.clone(), ())
                .map_err(|conflict| RegistryError::from(Conflict::from(conflict)))?;
        }
        if let Err(error) = self.commit(&mut state, next, super::ADMIN_API) {
            *index = None;
            return Err(error);
        }
        Ok(record)
    }

    /// The routes' reserved concurrency must fit in the instance pool (as Lambda's must fit
    /// in the account's concurrency): what they reserve is kept for them alone.
    pub(super) fn check_reservations(&self, routes: &[RouteRecord]) -> Result<(), RegistryError> {
        let mut reserving: Vec<(u32, &RouteRecord)> = routes
            .iter()
            .filter_map(|r| Some((r.spec().protection.concurrency.as_ref()?.limit, r)))
            .collect();
        let reserved: u64 = reserving.iter().map(|(n, _)| u64::from(*n)).sum();
        let pool = self.runtime.max_instances();
        if reserved <= u64::from(pool) {
            return Ok(());
        }
        reserving.sort_by_key(|(n, _)| std::cmp::Reverse(*n));
        let named: Vec<String> = reserving
            .iter()
            .take(5)
            .map(|(n, r)| format!("{} {} ({n})", r.config.method, r.config.path))
            .collect();
        let more = reserving.len().saturating_sub(named.len());
        let routes = if more > 0 {
            format!("{} and {more} more", named.join(", "))
        } else {
            named.join(", ")
        };
        Err(Invalid::OverReserved {
            reserved,
            pool,
            routes,
        }
        .into())
    }

    /// A route's `fuel` needs fuel metering in the engine.
    pub(super) fn check_fuel(&self, spec: &RouteSpec) -> Result<(), RegistryError> {
        if spec.limits.fuel.is_some() && !self.runtime.fuel_metering() {
            return Err(Invalid::FuelNeedsMetering.into());
        }
        Ok(())
    }

    /// `isolation = "reuse"` needs components: a WAGI command runs once per instance.
    pub(super) fn check_reuse(
        &self,
        state: &super::RegistryState,
        spec: &RouteSpec,
    ) -> Result<(), RegistryError> {
        let (Some(_), Some(target)) = (spec.reuse, spec.integration.module()) else {
            return Ok(());
        };
        let resolved = Registry::resolve(state, target).map_err(Invalid::Unresolved)?;
        let canary = resolved
            .canary
            .map(|(version, sha256, _)| (version, sha256));
        for (version, sha256) in std::iter::once((resolved.version, resolved.sha256)).chain(canary)
        {
            if let CompiledModule::Handler(Handler::Wagi(_)) = self.module(&sha256)? {
                return Err(Invalid::ReuseNeedsComponent {
                    module: target.module.clone(),
                    version,
                }
                .into());
            }
        }
        Ok(())
    }

    /// Deletes the route whose id is `id`.
    pub fn delete_route(&self, id: &str) -> Result<RouteRecord, RegistryError> {
        self.change(|next| {
            // Under the state lock, as every use of the index.
            *self.route_index_lock() = None;
            let position = next
                .routes
                .iter()
                .position(|r| r.id() == id)
                .ok_or_else(|| Missing::Route(id.to_owned()))?;
            Ok(next.routes.remove(position))
        })
    }
}

/// The problems of an invalid configuration, as one error.
pub(super) fn invalid(problems: Vec<Problem>) -> RegistryError {
    Invalid::Fields(problems).into()
}

/// Fails if the route names an authorizer that does not exist.
pub(super) fn check_route_authorizer(
    state: &RegistryState,
    spec: &RouteSpec,
) -> Result<(), RegistryError> {
    let Some(name) = &spec.authorizer else {
        return Ok(());
    };
    let authorizer = state
        .authorizers
        .get(name.as_str())
        .ok_or_else(|| RegistryError::from(Invalid::UnknownAuthorizer(name.clone())))?;
    if !spec.scopes.is_empty() && authorizer.config.kind != AuthorizerType::Jwt {
        return Err(Invalid::ScopesNeedJwt {
            authorizer: name.clone(),
            kind: authorizer.config.kind,
        }
        .into());
    }
    Ok(())
}

/// Replaces the route with the same method and template (as matched), or appends it;
/// true when it was appended.
pub(super) fn upsert_route(routes: &mut Vec<RouteRecord>, record: RouteRecord) -> bool {
    let spec = record.spec();
    let same = routes
        .iter()
        .position(|r| r.spec().method == spec.method && r.spec().template == spec.template);
    match same {
        Some(index) => {
            routes[index] = record;
            false
        }
        None => {
            routes.push(record);
            true
        }
    }
}

/// The table of `routes`, which agree with each other (each was checked when added).
pub(super) fn route_index(routes: &[RouteRecord]) -> RouteTable<()> {
    let mut table = RouteTable::new();
    for record in routes {
        let spec = record.spec();
        if let Err(conflict) = table.insert(spec.method.clone(), spec.template.clone(), ()) {
            tracing::error!(%conflict, "stored routes are ambiguous together");
        }
    }
    table
}
