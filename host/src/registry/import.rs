//! Applying a whole API at once (an OpenAPI document's authorizers and routes): every
//! entry is checked as its own `PUT` would be, every problem is reported under the key the
//! caller gave the entry (a JSON pointer), and nothing is stored unless all are valid.

use super::routes::{check_route_authorizer, route_index, upsert_route};
use super::{Invalid, Registry, RegistryError, RouteRecord, RouteSource};
use crate::config::{AuthorizerConfig, Problem, REDACTED, RouteConfig};
use crate::runtime::ModuleKind;

/// What an import changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Authorizers created or replaced.
    pub authorizers: usize,
    /// Routes created or replaced.
    pub routes: usize,
}

impl Registry {
    /// Creates or replaces `authorizers`, then `routes` (each with the key its problems are
    /// reported under; `locate(key, field)` names a route's field), all or nothing:
    /// nothing is stored if any has a problem, or if the caller found some already
    /// (`found`: in the rest of the document), and every problem is reported.
    pub fn import_api(
        &self,
        authorizers: Vec<(String, AuthorizerConfig)>,
        routes: Vec<(String, RouteConfig)>,
        locate: &dyn Fn(&str, &str) -> String,
        found: Vec<Problem>,
    ) -> Result<Imported, RegistryError> {
        let mut state = self.lock_for_change()?;
        let mut next = state.clone();
        let mut problems = found;
        let mut report = |key: &str, error: &dyn std::fmt::Display| {
            problems.push(Problem::new(key, error.to_string()));
        };
        let imported = Imported {
            authorizers: authorizers.len(),
            routes: routes.len(),
        };
        for (key, mut config) in authorizers {
            // An exported document has the secret redacted: the stored authorizer keeps its.
            if config.secret.as_deref() == Some(REDACTED) {
                let kept = next.authorizers.get(&config.name);
                match kept.and_then(|kept| kept.config.secret.clone()) {
                    Some(secret) => config.secret = Some(secret),
                    None => {
                        let message = "the secret was redacted on export: give it, or import \
                                       where this authorizer exists";
                        report(&format!("{key}/secret"), &message);
                        continue;
                    }
                }
            }
            match self.check_authorizer(&next, config) {
                Ok(record) => {
                    next.authorizers.insert(record.config.name.clone(), record);
                }
                Err(error) => report(&key, &error),
            }
        }
        let mut added = Vec::new();
        for (key, config) in routes {
            let record = match RouteRecord::new(config, RouteSource::Api) {
                Ok(record) => record,
                Err(found) => {
                    for problem in found {
                        report(&locate(&key, &problem.key), &problem.message);
                    }
                    continue;
                }
            };
            let spec = record.spec();
            let checked = (spec.integration.module())
                .map_or(Ok(()), |target| {
                    self.check_kind(&next, target, ModuleKind::Handler)
                })
                .and_then(|()| check_route_authorizer(&next, spec))
                .and_then(|()| self.check_fuel(spec))
                .and_then(|()| self.check_reuse(&next, spec));
            match checked {
                Ok(()) => added.push((key, record)),
                Err(error) => report(&key, &error),
            }
        }
        for (_, record) in &added {
            upsert_route(&mut next.routes, record.clone());
        }
        if let Err(error) = self.check_reservations(&next.routes) {
            report("/paths", &error);
        }
        // The whole table once: ambiguities among the imported routes and with the others.
        let mut table = crate::routing::RouteTable::new();
        for route in &next.routes {
            let spec = route.spec();
            if let Err(conflict) = table.insert(spec.method.clone(), spec.template.clone(), ()) {
                let key = added
                    .iter()
                    .find(|(_, record)| record.id() == route.id())
                    .map_or("/paths", |(key, _)| key.as_str());
                report(key, &conflict);
            }
        }
        if !problems.is_empty() {
            return Err(Invalid::Fields(problems).into());
        }
        let mut index = self.route_index_lock();
        *index = Some(route_index(&next.routes));
        if let Err(error) = self.commit(&mut state, next, super::ADMIN_API) {
            *index = None;
            return Err(error);
        }
        Ok(imported)
    }
}
