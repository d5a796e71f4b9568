//! Fuzzes manifest parsing and validation (`host/src/manifest/`): any text must give a
//! manifest or an error naming the problem, never a panic.

#![no_main]
#![allow(dead_code, unused_imports, unreachable_pub)]

#[path = "../../host/src/allowlist.rs"]
mod allowlist;
// The configuration types the manifest is made of (the layer below it).
#[path = "../../host/src/config/mod.rs"]
mod config;
#[path = "../../host/src/manifest/mod.rs"]
mod manifest;
#[path = "../../host/src/routing/mod.rs"]
mod routing;

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match manifest::Manifest::parse(text, Path::new("fuzz.toml"), Path::new("/nonexistent")) {
        Ok(parsed) => {
            // What parsed is valid: every route validates again.
            for route in &parsed.routes {
                assert!(route.validate().is_ok());
            }
        }
        Err(error) => assert!(error.to_string().starts_with("invalid manifest fuzz.toml")),
    }
});
