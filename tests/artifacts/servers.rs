//! The servers some integration tests run for real (`redis-server` from Debian): where one
//! is missing, the `needs_redis!` macro compiles its tests as `#[ignore]`d, with the reason,
//! so `cargo test` counts them as ignored rather than passed. With
//! `WASMGATE_REQUIRE_TOOLCHAINS` set (as `.ci/run` does), a missing server fails the build.

use std::fmt::Write as _;
use std::process::{Command, Stdio};

/// Adds `needs_redis!` to the generated code.
pub fn write_macros(code: &mut String) {
    println!("cargo:rerun-if-env-changed=PATH");
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    let attribute = if found {
        String::new()
    } else {
        assert!(
            std::env::var_os(super::other_languages::REQUIRE_TOOLCHAINS).is_none(),
            "redis-server is not installed, and WASMGATE_REQUIRE_TOOLCHAINS is set: \
             apt-get install redis-server"
        );
        println!("cargo:warning=redis-server not found: the tests that need it are ignored");
        let reason = "redis-server is not installed (apt-get install redis-server; then \
                      touch tests/artifacts/build.rs to run these tests)";
        format!("#[ignore = {reason:?}]")
    };
    write!(
        code,
        "/// Marks a test `#[ignore]`d, with the reason, where `redis-server` is not \
         installed:\n\
         /// `needs_redis!(#[test] fn it() {{}});`\n\
         #[macro_export]\n\
         macro_rules! needs_redis {{\n    ($($item:tt)*) => {{ {attribute} $($item)* }};\n}}\n"
    )
    .expect("write to a String");
}
