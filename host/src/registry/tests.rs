//! The registry with a real engine and a data dir in a temporary folder.

use std::sync::Arc;
use std::time::Duration;

use super::{FileStore, Registry};
use crate::config::{Executor, ModuleName};
use crate::runtime::{EngineOptions, Runtime};

/// The smallest WASI command: a core module exporting an empty `_start`, with a custom
/// section holding `tag` so that each tag makes different bytes.
fn command(tag: u8) -> Vec<u8> {
    let mut bytes = b"\0asm\x01\0\0\0".to_vec();
    bytes.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type 0: () -> ()
    bytes.extend([0x03, 0x02, 0x01, 0x00]); // function 0 has type 0
    bytes.extend([0x07, 0x0a, 0x01, 0x06]); // one export, a 6-byte name…
    bytes.extend(b"_start");
    bytes.extend([0x00, 0x00]); // …of function 0
    bytes.extend([0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b]); // its body: `end`
    bytes.extend([0x00, 0x03, 0x01, b't', tag]); // custom section `t`
    bytes
}

#[test]
fn deleting_a_version_drops_its_compiled_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runtime = Arc::new(
        Runtime::new(&EngineOptions {
            max_instances: 4,
            fuel_metering: false,
            ..EngineOptions::default()
        })
        .expect("engine"),
    );
    let store = FileStore::open(dir.path()).expect("data dir");
    let registry =
        Registry::open(runtime, Box::new(store), Duration::from_secs(60)).expect("registry");
    let name = ModuleName::new("cmd").expect("name");

    let first = registry
        .upload(&name, command(1), Executor::Wagi)
        .expect("upload 1");
    let second = registry
        .upload(&name, command(2), Executor::Wagi)
        .expect("upload 2");
    assert_eq!((first.version, second.version), (1, 2));
    assert_eq!(registry.compiled_modules(), 2);

    registry.delete_version(&name, 1).expect("delete version 1");
    assert_eq!(registry.compiled_modules(), 1);
    // The remaining version still loads (from memory).
    registry.module(&second.sha256).expect("version 2");
    assert_eq!(registry.compiled_modules(), 1);
}
