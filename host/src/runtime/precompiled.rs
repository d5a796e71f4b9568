//! Loading native code from the cache in the data dir: mapped from its file where the
//! file system allows, read into memory where it does not.
//!
//! A mapped file costs memory only for the pages that run: a 35 MB interpreter's code,
//! most of which a hello never touches, stays in the page cache (shared, reclaimable)
//! instead of being copied into the gateway's heap; and its memory image is mapped into
//! instance slots from the same file rather than from a copy wasmtime makes in a memfd.
//! The file must then never change while the gateway runs: the registry replaces files
//! only by renaming a new one over them (`registry/fs.rs`), which leaves a mapped file as
//! it was.

use std::path::Path;

use wasmtime::Engine;
use wasmtime::component::Component;

/// Native code loaded from the cache.
pub(super) enum Precompiled {
    Component(Component),
    Module(wasmtime::Module),
}

#[expect(
    unsafe_code,
    reason = "deserialising native code trusts it; callers pass only hash-checked files this engine wrote"
)]
/// Maps `path`, which holds code made by `serialize` with this engine's settings.
fn map_file(engine: &Engine, path: &Path) -> wasmtime::Result<Precompiled> {
    // SAFETY: `Runtime::load_precompiled`'s contract: the file is exactly the output of
    // `Component::serialize` or `Module::serialize` by an engine with this configuration,
    // its sha256 checked against the registry document, and it is never written in place
    // while mapped (module docs). The data dir is the gateway's own (mode 0700): the hash
    // guards against damage and foreign engines, not against its owner.
    unsafe {
        match Engine::detect_precompiled_file(path)? {
            Some(wasmtime::Precompiled::Module) => {
                wasmtime::Module::deserialize_file(engine, path).map(Precompiled::Module)
            }
            _ => Component::deserialize_file(engine, path).map(Precompiled::Component),
        }
    }
}

#[expect(
    unsafe_code,
    reason = "deserialising native code trusts it; callers pass only hash-checked bytes this engine serialised"
)]
/// Copies `native`, made by `serialize` with this engine's settings, into executable memory.
fn copy_bytes(engine: &Engine, native: &[u8]) -> wasmtime::Result<Precompiled> {
    // SAFETY: as for `map_file`: exactly what `serialize` produced, verified by sha256.
    unsafe {
        match Engine::detect_precompiled(native) {
            Some(wasmtime::Precompiled::Module) => {
                wasmtime::Module::deserialize(engine, native).map(Precompiled::Module)
            }
            _ => Component::deserialize(engine, native).map(Precompiled::Component),
        }
    }
}

/// Maps `path`, or reads and copies it where it cannot be mapped executable (a data dir on
/// a `noexec` mount refuses `PROT_EXEC`).
pub(super) fn load(engine: &Engine, path: &Path) -> wasmtime::Result<Precompiled> {
    match map_file(engine, path) {
        Ok(loaded) => Ok(loaded),
        Err(mapped) => {
            let native = std::fs::read(path)?;
            let loaded = copy_bytes(engine, &native)?;
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                tracing::warn!(
                    path = %path.display(),
                    error = %format!("{mapped:#}"),
                    "compiled code cannot be mapped from the data dir (mounted noexec?); \
                     loading copies, which costs memory for all of each module's code"
                );
            });
            Ok(loaded)
        }
    }
}
