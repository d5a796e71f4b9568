//! Compiling on an engine of its own, dropped after each compile.
//!
//! Cranelift keeps a pool of compilation contexts in its engine for the next compile, each
//! grown to the largest function it compiled; after the default manifest's JavaScript and
//! Python interpreters that was tens of MB, held until the process ended (nothing in
//! wasmtime 48's API drops it). An engine made for one compile takes them with it. Its
//! code, serialised, is loaded by the serving engine, which has the same settings but for
//! the instance allocator; that the two agree is checked once, by their compatibility
//! hashes, and where they do not, compiles run on the serving engine as before.

use wasmtime::component::Component;
use wasmtime::{Config, Engine};

/// Where compiles run.
pub(super) struct Compiler {
    /// The settings of a compile-only engine; `None`: compile on the serving engine.
    config: Option<Config>,
}

impl Compiler {
    /// Compiles with engines made from `config` when their code loads in `serving`.
    pub(super) fn new(config: Config, serving: &Engine) -> Self {
        let compatible = Engine::new(&config).is_ok_and(|own| {
            super::engine::compatibility(&own) == super::engine::compatibility(serving)
        });
        if !compatible {
            tracing::warn!(
                "compiling on the serving engine: a compile-only engine's code would not load in it"
            );
        }
        Compiler {
            config: compatible.then_some(config),
        }
    }

    /// Whether compiles run on engines of their own.
    #[cfg(test)]
    pub(super) fn separate(&self) -> bool {
        self.config.is_some()
    }

    /// Compiles a component for `serving`.
    pub(super) fn component(&self, serving: &Engine, bytes: &[u8]) -> wasmtime::Result<Component> {
        let Some(config) = &self.config else {
            return Component::new(serving, bytes);
        };
        let native = Component::new(&Engine::new(config)?, bytes)?.serialize()?;
        // SAFETY: `native` is what `serialize` just produced on an engine whose code this
        // one loads (`new` compared their compatibility hashes).
        #[expect(unsafe_code, reason = "loading code this process just compiled")]
        unsafe {
            Component::deserialize(serving, &native)
        }
    }

    /// Compiles a core module (a WAGI command) for `serving`.
    pub(super) fn module(
        &self,
        serving: &Engine,
        bytes: &[u8],
    ) -> wasmtime::Result<wasmtime::Module> {
        let Some(config) = &self.config else {
            return wasmtime::Module::new(serving, bytes);
        };
        let native = wasmtime::Module::new(&Engine::new(config)?, bytes)?.serialize()?;
        // SAFETY: as in `component`.
        #[expect(unsafe_code, reason = "loading code this process just compiled")]
        unsafe {
            wasmtime::Module::deserialize(serving, &native)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{EngineOptions, engine};
    use super::Compiler;

    #[test]
    fn compiles_run_on_an_engine_of_their_own_whose_code_the_serving_one_loads() {
        let options = EngineOptions {
            max_instances: 4,
            ..EngineOptions::default()
        };
        let (serving, compiling) = engine::build_engine(&options).expect("engine");
        let compiler = Compiler::new(compiling, &serving);
        assert!(compiler.separate(), "the compatibility hashes differ");
        // A core module compiled aside runs in the serving engine:
        // (module (func (export "answer") (result i32) i32.const 42))
        let wasm = [
            b"\0asm\x01\0\0\0".as_slice(),
            b"\x01\x05\x01\x60\x00\x01\x7f",     // type: () -> i32
            b"\x03\x02\x01\x00",                 // function 0 of type 0
            b"\x07\x0a\x01\x06answer\x00\x00",   // export "answer" = function 0
            b"\x0a\x06\x01\x04\x00\x41\x2a\x0b", // code: i32.const 42
        ]
        .concat();
        let module = compiler.module(&serving, &wasm).expect("compile");
        let mut store = wasmtime::Store::new(&serving, ());
        store.set_epoch_deadline(1_000);
        let instance = wasmtime::Instance::new(&mut store, &module, &[]).expect("instance");
        let answer = (instance.get_typed_func::<(), i32>(&mut store, "answer"))
            .and_then(|answer| answer.call(&mut store, ()))
            .expect("call");
        assert_eq!(answer, 42);
    }
}
