//! Turns the parsed file into a [`Manifest`], collecting every problem with its key. With
//! problems, the manifest of the entries that are valid comes back with them
//! (`ManifestError::Invalid::partial`), for the registry to name what it would refuse too.

use std::collections::HashSet;
use std::path::Path;

use super::schema::ManifestFile;
use super::{
    BuildSpec, DEFAULT_LISTEN, EntryPositions, MAX_BUILD_COMMAND, Manifest, ManifestError,
    ModuleSpec,
};
use crate::config::{Executor, ModuleConfig, ModuleName, PREAMBLE_BYTES, Problem, TrustedProxies};
use crate::routing::RouteTable;

pub(super) fn validate(
    file: ManifestFile,
    mut problems: Vec<Problem>,
    source: &Path,
    base: &Path,
) -> Result<Manifest, ManifestError> {
    let mut problem = |key: String, message: String| problems.push(Problem { key, message });

    let mut modules = Vec::with_capacity(file.modules.len());
    let mut declared = HashSet::new();
    let mut positions = EntryPositions::default();
    for name in &file.unreadable_modules {
        // Declared, if unreadable: routes to it name no unknown module.
        if let Ok(name) = ModuleName::new(name) {
            declared.insert(name.clone());
            positions.unreadable_modules.push(name);
        }
    }
    for (i, entry) in file.modules.iter().enumerate() {
        let Some(entry) = entry else { continue };
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
                    "`{}` (module `{name}`) does not exist or is not a file; paths are relative to the manifest's folder{}",
                    path.display(),
                    if entry.build.is_some() {
                        " (build it with `wasmgate build`, or serve with `wasmgate dev`, which builds first)"
                    } else {
                        ""
                    }
                ),
            );
        } else if let Err(wrong) = Executor::check_bytes(Some(entry.executor), &preamble(&path)) {
            problem(
                format!("modules[{i}].path"),
                format!("`{}` (module `{name}`) {wrong}", path.display()),
            );
        }
        let config = ModuleConfig {
            env: entry.env.clone(),
            allowed_outbound_hosts: entry.allowed_outbound_hosts.clone(),
            key_value_stores: entry.key_value_stores.clone(),
            variables: entry.variables.clone(),
        };
        if let Err(message) = config.validate() {
            problem(format!("modules[{i}]"), message);
        }
        let mut aliases = std::collections::BTreeMap::new();
        for (alias, declared) in &entry.aliases {
            if let Err(message) = crate::config::check_alias_name(alias) {
                problem(format!("modules[{i}].aliases.{alias}"), message);
                continue;
            }
            if let Err(found) = crate::config::check_stage_variables(&declared.variables) {
                for Problem { key, message } in found {
                    problem(format!("modules[{i}].aliases.{alias}.{key}"), message);
                }
                continue;
            }
            aliases.insert(alias.clone(), declared.variables.clone());
        }
        let build = entry.build.as_ref().map(|build| {
            if build.command.trim().is_empty() || build.command.len() > MAX_BUILD_COMMAND {
                problem(
                    format!("modules[{i}].build.command"),
                    format!("a build command is 1 to {MAX_BUILD_COMMAND} bytes"),
                );
            }
            let watch = if build.watch.is_empty() {
                vec![base.to_owned()]
            } else {
                build.watch.iter().map(|path| base.join(path)).collect()
            };
            BuildSpec {
                command: build.command.clone(),
                dir: base.to_owned(),
                watch,
            }
        });
        modules.push(ModuleSpec {
            name,
            path,
            config,
            executor: entry.executor,
            aliases,
            build,
        });
    }

    let mut routes = Vec::with_capacity(file.routes.len());
    let mut table = RouteTable::new();
    for (i, entry) in file.routes.iter().enumerate() {
        let Some(entry) = entry else { continue };
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
        positions.routes.push(i);
    }

    let trusted_proxies =
        TrustedProxies::parse(&file.gateway.trusted_proxies).unwrap_or_else(|message| {
            problem("gateway.trusted_proxies".into(), message);
            TrustedProxies::default()
        });
    if let Some(throttle) = &file.gateway.throttle
        && let Err(message) = throttle.validate()
    {
        problem("gateway.throttle".into(), message);
    }
    if let Some(cors) = &file.gateway.cors
        && let Err(found) = cors.validate("gateway.cors")
    {
        for Problem { key, message } in found {
            problem(key, message);
        }
    }
    if let Err(message) = file.store.validate() {
        problem("store.url".into(), message);
    }
    let mut authorizer_names = HashSet::new();
    let mut authorizers = Vec::with_capacity(file.authorizers.len());
    for (i, entry) in file.authorizers.into_iter().enumerate() {
        let Some(mut entry) = entry else { continue };
        // A JWKS file is relative to the manifest's folder, as module paths are.
        if let Some(file) = &entry.jwks_file {
            entry.jwks_file = Some(base.join(file).display().to_string());
        }
        match entry.validate() {
            Ok(spec) => {
                if !authorizer_names.insert(spec.name.clone()) {
                    problem(
                        format!("authorizers[{i}].name"),
                        format!("the authorizer `{}` is declared twice", spec.name),
                    );
                    continue;
                }
                authorizers.push(entry);
                positions.authorizers.push(i);
            }
            Err(found) => {
                for Problem { key, message } in found {
                    problem(format!("authorizers[{i}].{key}"), message);
                }
            }
        }
    }

    let manifest = Manifest {
        source: source.to_owned(),
        listen: file.gateway.listen.unwrap_or(DEFAULT_LISTEN),
        throttle: file.gateway.throttle,
        cors: file.gateway.cors,
        trusted_proxies,
        modules,
        routes,
        authorizers,
        store: file.store,
        positions,
    };
    if !problems.is_empty() {
        super::sort_problems(&mut problems);
        return Err(ManifestError::Invalid {
            path: source.to_owned(),
            problems,
            partial: Some(Box::new(manifest)),
        });
    }
    Ok(manifest)
}

/// The first bytes of the file at `path` (fewer if it is shorter or cannot be read: a
/// problem then, as it is no WebAssembly).
fn preamble(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut bytes = Vec::with_capacity(PREAMBLE_BYTES);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(PREAMBLE_BYTES as u64).read_to_end(&mut bytes);
    }
    bytes
}
