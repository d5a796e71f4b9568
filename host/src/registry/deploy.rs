//! A deploy: an upload that also points an alias and a route at the new version, all in
//! one change. Everything that can be checked before compiling is checked first, and the
//! rest in the same change as the version: a deploy that fails changes nothing (before,
//! a refused route left the new version live for every route that follows the latest).

use super::routes::{check_route_authorizer, route_index, upsert_route};
use super::{
    AliasRecord, Conflict, Invalid, Registry, RegistryError, RegistryState, RouteRecord,
    RouteSource, Upload,
};
use crate::config::{ModuleName, RouteConfig, check_alias_name};
use crate::runtime::ModuleKind;

/// What a deploy points at the version it uploads, besides the upload itself.
#[derive(Debug, Clone, Default)]
pub struct Attachments {
    /// An alias of the module to point at the version (its stage variables are kept).
    pub alias: Option<String>,
    /// A route to create or replace, leading to `module@alias` with an alias, else to
    /// `module@version`; its `module` is set by the deploy.
    pub route: Option<RouteConfig>,
    /// Whether the alias may gain capabilities (interfaces its versions do not import).
    pub approve_capabilities: bool,
}

/// The outcome of a deploy.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// The version uploaded (or found, for identical bytes).
    pub upload: Upload,
    /// The alias as it now is.
    pub alias: Option<AliasRecord>,
    /// The route as stored.
    pub route: Option<RouteRecord>,
}

impl Attachments {
    /// The route's configuration, leading to `target`.
    fn route_to(&self, target: String) -> Option<RouteConfig> {
        let mut config = self.route.clone()?;
        config.module = Some(target);
        config.proxy = None;
        config.mock = None;
        Some(config)
    }

    /// The route's target: the alias, or else a version (unknown before the upload: the
    /// checks before it use version 1, which parses the same).
    fn target(&self, name: &ModuleName, version: u32) -> String {
        match &self.alias {
            Some(alias) => format!("{name}@{alias}"),
            None => format!("{name}@{version}"),
        }
    }
}

impl Registry {
    /// Validates, compiles and stores `bytes` as a version of `name` and points what
    /// `attach` names at it, in one change.
    pub fn deploy(
        &self,
        name: &ModuleName,
        bytes: Vec<u8>,
        executor: crate::config::Executor,
        attach: &Attachments,
    ) -> Result<Deployed, RegistryError> {
        self.check_before_upload(name, attach)?;
        self.upload_attached(
            name,
            format!("the upload of `{name}`"),
            bytes,
            executor,
            attach,
            Some(self.compile_timeout),
        )
    }

    /// What can be known wrong before compiling: the alias's name, and the route's
    /// fields, authorizer, fuel and conflicts with the stored routes.
    fn check_before_upload(
        &self,
        name: &ModuleName,
        attach: &Attachments,
    ) -> Result<(), RegistryError> {
        if let Some(alias) = &attach.alias {
            check_alias_name(alias).map_err(Invalid::Name)?;
        }
        let Some(config) = attach.route_to(attach.target(name, 1)) else {
            return Ok(());
        };
        let record = RouteRecord::new(config, RouteSource::Api).map_err(super::routes::invalid)?;
        let state = self.state();
        check_route_authorizer(&state, record.spec())?;
        self.check_fuel(record.spec())?;
        let mut routes = state.routes.clone();
        if upsert_route(&mut routes, record.clone()) {
            let spec = record.spec();
            route_index(&state.routes)
                .insert(spec.method.clone(), spec.template.clone(), ())
                .map_err(|conflict| RegistryError::from(Conflict::from(conflict)))?;
        }
        self.check_reservations(&routes)
    }

    /// Points the alias and the route of `attach` at `version` of `name` in `next` (which
    /// holds that version), with every check the alias and route endpoints make.
    pub(super) fn attach(
        &self,
        next: &mut RegistryState,
        name: &ModuleName,
        version: u32,
        attach: &Attachments,
    ) -> Result<(Option<AliasRecord>, Option<RouteRecord>), RegistryError> {
        let alias = match &attach.alias {
            Some(alias) => {
                let module = next.module_mut(name)?;
                let record = AliasRecord {
                    version,
                    canary: None,
                    variables: module.aliases.get(alias).and_then(|a| a.variables.clone()),
                };
                if let Some(current) = module.aliases.get(alias) {
                    super::aliases::check_capabilities(
                        name,
                        alias,
                        module,
                        current,
                        &record,
                        attach.approve_capabilities,
                    )?;
                }
                module.aliases.insert(alias.clone(), record.clone());
                Some(record)
            }
            None => None,
        };
        let route = match attach.route_to(attach.target(name, version)) {
            Some(config) => {
                let record =
                    RouteRecord::new(config, RouteSource::Api).map_err(super::routes::invalid)?;
                let spec = record.spec();
                if let Some(target) = spec.integration.module() {
                    self.check_kind(next, target, ModuleKind::Handler)?;
                }
                check_route_authorizer(next, spec)?;
                self.check_reuse(next, spec)?;
                let before = route_index(&next.routes);
                if upsert_route(&mut next.routes, record.clone()) {
                    let mut index = before;
                    index
                        .insert(spec.method.clone(), spec.template.clone(), ())
                        .map_err(|conflict| RegistryError::from(Conflict::from(conflict)))?;
                }
                self.check_reservations(&next.routes)?;
                Some(record)
            }
            None => None,
        };
        Ok((alias, route))
    }
}
