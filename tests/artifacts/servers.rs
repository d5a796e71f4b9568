//! The programs some integration tests run for real (`redis-server`, `chromium` and `chromedriver` from
//! Debian): where one is missing, the `needs_redis!` / `needs_chromium!` macro compiles its
//! tests as `#[ignore]`d, with the reason,
//! so `cargo test` counts them as ignored rather than passed. With
//! `WASMGATE_REQUIRE_TOOLCHAINS` set (as `.ci/run` does), a missing server fails the build.

use std::fmt::Write as _;
use std::process::{Command, Stdio};

/// Adds `needs_redis!`, `needs_chromium!` and `needs_chromedriver!` to the generated code.
pub fn write_macros(code: &mut String) {
    println!("cargo:rerun-if-env-changed=PATH");
    write_macro(code, "needs_redis", "redis-server", "redis-server");
    write_macro(code, "needs_chromium", "chromium", "chromium");
    write_macro(
        code,
        "needs_chromedriver",
        "chromedriver",
        "chromium-driver",
    );
}

/// Adds macro `name`, which marks a test `#[ignore]`d where `program` (from Debian's
/// `package`) does not run.
fn write_macro(code: &mut String, name: &str, program: &str, package: &str) {
    let found = Command::new(program)
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
            "{program} is not installed, and WASMGATE_REQUIRE_TOOLCHAINS is set: \
             apt-get install {package}"
        );
        println!("cargo:warning={program} not found: the tests that need it are ignored");
        let reason = format!(
            "{program} is not installed (apt-get install {package}; then touch \
             tests/artifacts/build.rs to run these tests)"
        );
        format!("#[ignore = {reason:?}]")
    };
    write!(
        code,
        "/// Marks a test `#[ignore]`d, with the reason, where `{program}` is not \
         installed:\n\
         /// `{name}!(#[test] fn it() {{}});`\n\
         #[macro_export]\n\
         macro_rules! {name} {{\n    ($($item:tt)*) => {{ {attribute} $($item)* }};\n}}\n"
    )
    .expect("write to a String");
}
