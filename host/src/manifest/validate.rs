//! Turns the parsed file into a [`Manifest`], collecting every problem with its key.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::schema::{ManifestFile, RouteConfig};
use super::{DEFAULT_LISTEN, Manifest, ManifestError, ModuleName, ModuleSpec, Problem, RouteSpec};
use crate::limits::{self, InvocationLimits};
use crate::registry::Target;
use crate::routing::{MethodFilter, RouteTable, RouteTemplate};

pub(super) fn validate(
    file: ManifestFile,
    source: &Path,
    base: &Path,
) -> Result<Manifest, ManifestError> {
    let mut problems = Vec::new();
    let mut problem = |key: String, message: String| problems.push(Problem { key, message });

    let mut modules = Vec::with_capacity(file.modules.len());
    let mut declared = HashSet::new();
    for (i, entry) in file.modules.iter().enumerate() {
        let name = match ModuleName::new(&entry.name) {
            Ok(name) => name,
            Err(message) => {
                problem(format!("modules[{i}].name"), message);
                continue;
            }
        };
        if !declared.insert(name.clone()) {
            problem(
                format!("modules[{i}].name"),
                format!("the module `{name}` is declared twice"),
            );
            continue;
        }
        let path = base.join(&entry.path);
        if !path.is_file() {
            problem(
                format!("modules[{i}].path"),
                format!(
                    "`{}` (module `{name}`) does not exist or is not a file; paths are relative to the manifest's folder",
                    path.display()
                ),
            );
        }
        let config = crate::registry::ModuleConfig {
            env: entry.env.clone(),
            allowed_outbound_hosts: entry.allowed_outbound_hosts.clone(),
        };
        if let Err(message) = config.validate() {
            problem(format!("modules[{i}]"), message);
        }
        modules.push(ModuleSpec {
            name,
            path,
            config,
            executor: entry.executor,
        });
    }

    let mut routes = Vec::with_capacity(file.routes.len());
    let mut table = RouteTable::new();
    for (i, entry) in file.routes.iter().enumerate() {
        let route = match entry.validate() {
            Ok(route) => route,
            Err(found) => {
                for Problem { key, message } in found {
                    problem(format!("routes[{i}].{key}"), message);
                }
                continue;
            }
        };
        if let Err(conflict) = table.insert(route.method.clone(), route.template.clone(), i) {
            problem(format!("routes[{i}].path"), conflict.to_string());
            continue;
        }
        routes.push(entry.clone());
    }

    if let Some(throttle) = &file.gateway.throttle
        && let Err(message) = throttle.validate()
    {
        problem("gateway.throttle".into(), message);
    }
    let mut authorizer_names = HashSet::new();
    let mut authorizers = file.authorizers;
    for entry in &mut authorizers {
        // A JWKS file is relative to the manifest's folder, as module paths are.
        if let Some(file) = &entry.jwks_file {
            entry.jwks_file = Some(base.join(file).display().to_string());
        }
    }
    for (i, entry) in authorizers.iter().enumerate() {
        match entry.validate() {
            Ok(spec) => {
                if !authorizer_names.insert(spec.name.clone()) {
                    problem(
                        format!("authorizers[{i}].name"),
                        format!("the authorizer `{}` is declared twice", spec.name),
                    );
                }
            }
            Err(found) => {
                for Problem { key, message } in found {
                    problem(format!("authorizers[{i}].{key}"), message);
                }
            }
        }
    }

    if !problems.is_empty() {
        return Err(ManifestError::Invalid {
            path: source.to_owned(),
            problems,
        });
    }
    Ok(Manifest {
        source: source.to_owned(),
        listen: file.gateway.listen.unwrap_or(DEFAULT_LISTEN),
        throttle: file.gateway.throttle,
        modules,
        routes,
        authorizers,
    })
}

impl RouteConfig {
    /// Checks every field; each problem's key is the field's name (`method`, `path`, …).
    /// Whether the target module exists is for the registry to say.
    pub fn validate(&self) -> Result<RouteSpec, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem {
                key: key.to_owned(),
                message,
            })
        };
        let method = MethodFilter::parse(&self.method);
        if method.is_none() {
            let known: Vec<&str> = MethodFilter::ROUTABLE.iter().map(|m| m.as_str()).collect();
            problem(
                "method",
                format!(
                    "`{}` is not a method wasmgate routes; use one of {} or ANY",
                    self.method,
                    known.join(", ")
                ),
            );
        }
        let template = self
            .path
            .parse::<RouteTemplate>()
            .map_err(|e| problem("path", e.to_string()))
            .ok();
        let target = Target::parse(&self.module)
            .map_err(|message| problem("module", message))
            .ok();

        let mut limits = InvocationLimits::default();
        if let Some(ms) = self.timeout_ms {
            if (limits::MIN_TIMEOUT_MS..=limits::MAX_TIMEOUT_MS).contains(&ms) {
                limits.timeout = Duration::from_millis(ms);
            } else {
                problem(
                    "timeout_ms",
                    format!(
                        "{ms} is out of range: a timeout is {} to {} ms",
                        limits::MIN_TIMEOUT_MS,
                        limits::MAX_TIMEOUT_MS
                    ),
                );
            }
        }
        if let Some(mb) = self.memory_mb {
            if (1..=limits::MAX_MEMORY_MB).contains(&mb) {
                limits.memory_bytes = mb << 20;
            } else {
                problem(
                    "memory_mb",
                    format!(
                        "{mb} is out of range: memory is 1 to {} MiB",
                        limits::MAX_MEMORY_MB
                    ),
                );
            }
        }
        let protection = self.validate_protection(&mut problem);
        if !self.scopes.is_empty() && self.authorizer.is_none() {
            problem(
                "scopes",
                "`scopes` are checked by a jwt `authorizer`; this route has none".into(),
            );
        }
        if let Some(mb) = self.max_body_mb {
            if (1..=limits::MAX_MAX_BODY_MB).contains(&mb) {
                limits.max_body_bytes = mb << 20;
            } else {
                problem(
                    "max_body_mb",
                    format!("{mb} is out of range: 1 to {} MiB", limits::MAX_MAX_BODY_MB),
                );
            }
        }
        match self.fuel {
            Some(0) => problem("fuel", "a fuel budget is at least 1".into()),
            fuel => limits.fuel = fuel,
        }
        let authorizer = match &self.authorizer {
            None => Some(None),
            Some(name) => ModuleName::new(name)
                .map(Some)
                .map_err(|m| problem("authorizer", m.replace("module name", "authorizer name")))
                .ok(),
        };
        match (method, template, target, authorizer) {
            (Some(method), Some(template), Some(target), Some(authorizer))
                if problems.is_empty() =>
            {
                Ok(RouteSpec {
                    method,
                    template,
                    target,
                    limits,
                    authorizer,
                    scopes: self.scopes.clone(),
                    protection,
                    api_key_required: self.api_key_required.unwrap_or(false),
                })
            }
            _ => Err(problems),
        }
    }
}
