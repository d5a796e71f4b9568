//! The host side of `wasi:config/store` (`wit/deps/config.wit`): a module's variables and
//! opened secrets, the same for every invocation of its versions.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "wasmgate:gateway/config-imports",
    });
}

use bindings::wasi::config::store;

/// What `wasi:config/store` answers: name and value pairs.
pub struct ConfigValues<'a>(pub &'a Arc<[(String, String)]>);

struct ConfigData;

impl HasData for ConfigData {
    type Data<'a> = ConfigValues<'a>;
}

impl store::Host for ConfigValues<'_> {
    fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        let found = self.0.iter().find(|(name, _)| *name == key);
        Ok(found.map(|(_, value)| value.clone()))
    }

    fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        Ok(self.0.to_vec())
    }
}

/// Adds `wasi:config/store` to `linker`; `values` finds the invocation's configuration.
pub(super) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    values: fn(&mut T) -> ConfigValues<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, ConfigData>(linker, values)
}
