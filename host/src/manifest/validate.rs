//! Turns the parsed file into a [`Manifest`], collecting every problem with its key.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use super::schema::{ManifestFile, RouteEntry};
use super::{DEFAULT_LISTEN, Manifest, ManifestError, ModuleName, ModuleSpec, Problem, RouteSpec};
use crate::limits::{self, InvocationLimits};
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
        modules.push(ModuleSpec { name, path });
    }

    let mut routes = Vec::with_capacity(file.routes.len());
    let mut table = RouteTable::new();
    for (i, entry) in file.routes.iter().enumerate() {
        let Some(route) = validate_route(i, entry, &declared, &mut problem) else {
            continue;
        };
        if let Err(conflict) = table.insert(route.method.clone(), route.template.clone(), i) {
            problem(format!("routes[{i}].path"), conflict.to_string());
            continue;
        }
        routes.push(route);
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
        modules,
        routes,
    })
}

fn validate_route(
    i: usize,
    entry: &RouteEntry,
    declared: &HashSet<ModuleName>,
    problem: &mut impl FnMut(String, String),
) -> Option<RouteSpec> {
    let method = MethodFilter::parse(&entry.method);
    if method.is_none() {
        let known: Vec<&str> = MethodFilter::ROUTABLE.iter().map(|m| m.as_str()).collect();
        problem(
            format!("routes[{i}].method"),
            format!(
                "`{}` is not a method wasmgate routes; use one of {} or ANY",
                entry.method,
                known.join(", ")
            ),
        );
    }
    let template = entry
        .path
        .parse::<RouteTemplate>()
        .map_err(|e| problem(format!("routes[{i}].path"), e.to_string()))
        .ok();
    let module = match ModuleName::new(&entry.module) {
        Ok(name) if declared.contains(&name) => Some(name),
        Ok(name) => {
            problem(
                format!("routes[{i}].module"),
                format!("the module `{name}` is not declared in [[modules]]"),
            );
            None
        }
        Err(message) => {
            problem(format!("routes[{i}].module"), message);
            None
        }
    };

    let mut limits = InvocationLimits::default();
    let mut limits_ok = true;
    if let Some(ms) = entry.timeout_ms {
        if (limits::MIN_TIMEOUT_MS..=limits::MAX_TIMEOUT_MS).contains(&ms) {
            limits.timeout = Duration::from_millis(ms);
        } else {
            limits_ok = false;
            problem(
                format!("routes[{i}].timeout_ms"),
                format!(
                    "{ms} is out of range: a timeout is {} to {} ms",
                    limits::MIN_TIMEOUT_MS,
                    limits::MAX_TIMEOUT_MS
                ),
            );
        }
    }
    if let Some(mb) = entry.memory_mb {
        if (1..=limits::MAX_MEMORY_MB).contains(&mb) {
            limits.memory_bytes = mb << 20;
        } else {
            limits_ok = false;
            problem(
                format!("routes[{i}].memory_mb"),
                format!(
                    "{mb} is out of range: memory is 1 to {} MiB",
                    limits::MAX_MEMORY_MB
                ),
            );
        }
    }

    Some(RouteSpec {
        method: method?,
        template: template?,
        module: module?,
        limits: limits_ok.then_some(limits)?,
    })
}
