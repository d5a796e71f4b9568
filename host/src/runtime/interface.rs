//! What a compiled module imports and exports, by name: the admin API lists it per version,
//! so an operator sees what a version can reach (`wasi:http/outgoing-handler`, a key-value
//! store) before pointing an alias at it.

use serde::{Deserialize, Serialize};
use wasmtime::component::Component;

use super::handler::{CompiledModule, Handler};

/// The most names kept of each list: a module may declare many, the registry keeps few.
pub const MAX_NAMES: usize = 100;

/// A module's imports and exports: interface names for a component
/// (`wasi:http/types@0.2.6`), `module::name` for a core module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interface {
    /// What it imports (at most 100).
    pub imports: Vec<String>,
    /// What it exports (at most 100).
    pub exports: Vec<String>,
}

impl CompiledModule {
    /// Its imports and exports.
    pub fn interface(&self) -> Interface {
        match self {
            CompiledModule::Handler(Handler::Component(handler)) => {
                of_component(&handler.component)
            }
            CompiledModule::Authorizer(authorizer) => {
                of_component(authorizer.pre.instance_pre().component())
            }
            CompiledModule::Handler(Handler::Wagi(wagi)) => {
                let module = wagi.module();
                Interface {
                    imports: bounded(
                        module
                            .imports()
                            .map(|import| format!("{}::{}", import.module(), import.name())),
                    ),
                    exports: bounded(module.exports().map(|export| export.name().to_owned())),
                }
            }
        }
    }
}

fn of_component(component: &Component) -> Interface {
    let engine = component.engine();
    let ty = component.component_type();
    Interface {
        imports: bounded(ty.imports(engine).map(|(name, _)| name.to_owned())),
        exports: bounded(ty.exports(engine).map(|(name, _)| name.to_owned())),
    }
}

fn bounded(names: impl Iterator<Item = String>) -> Vec<String> {
    names.take(MAX_NAMES).collect()
}
