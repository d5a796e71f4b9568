//! The examples written in other languages (C, JavaScript, Python), built by their own
//! `build.sh` once per test run, where their toolchains can be installed; the Rust guests
//! come built from `tests/artifacts` (see [`super::guests`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::guests::TARGET_DIR;

/// Components go under this target's folder…
const TARGET: &str = "wasm32-wasip2";
/// …WAGI commands under this one's.
const WAGI_TARGET: &str = "wasm32-wasip1";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

/// Set (by `.ci/run`) when every example toolchain must be present: a missing one fails
/// the tests instead of skipping them.
const REQUIRE_TOOLCHAINS: &str = "WASMGATE_REQUIRE_TOOLCHAINS";

/// Reports a toolchain that is not installed: skips (`None`) on a developer's machine,
/// fails where `WASMGATE_REQUIRE_TOOLCHAINS` is set.
pub fn missing_toolchain(what: &str, install: &str) -> Option<PathBuf> {
    assert!(
        std::env::var_os(REQUIRE_TOOLCHAINS).is_none(),
        "{what} is not installed, and {REQUIRE_TOOLCHAINS} is set: {install}"
    );
    eprintln!("SKIPPED: {what} is not installed ({install})");
    None
}

/// An example built by its own `build.sh` (another language's toolchain), once per test
/// run: `Some(path)`, or `None` after saying why where the script reports (exit status 3)
/// that its toolchain cannot be installed here. Any other failure is a broken build.
fn example_built_by_script(example: &str, output: PathBuf, install: &str) -> Option<PathBuf> {
    let script = workspace_root()
        .join("examples")
        .join(example)
        .join("build.sh");
    eprintln!("building examples/{example} with its build.sh");
    // Builds load both cores: not while a test measures latency.
    let _shared = super::gateway::share_machine();
    let built = Command::new("sh")
        .arg(&script)
        .arg(&output)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let said = String::from_utf8_lossy(&built.stderr);
    match built.status.code() {
        Some(0) => {
            assert!(
                output.is_file(),
                "{example}: build.sh wrote no {}",
                output.display()
            );
            Some(output)
        }
        Some(3) => missing_toolchain(
            &format!("the toolchain for examples/{example}"),
            &format!("{install}; build.sh said: {}", said.trim()),
        ),
        _ => panic!(
            "examples/{example}/build.sh failed ({}):\n{said}",
            built.status
        ),
    }
}

/// `examples/<example>/build.sh`'s output for `target`, built on first use.
fn built_once(
    cell: &'static OnceLock<Option<PathBuf>>,
    example: &str,
    target: &str,
    install: &str,
) -> Option<&'static Path> {
    cell.get_or_init(|| {
        let output = Path::new(TARGET_DIR)
            .join(target)
            .join(format!("{example}.wasm"));
        example_built_by_script(example, output, install)
    })
    .as_deref()
}

/// `examples/c-hello` (C, clang + wasi-libc, a WAGI command).
pub fn c_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    built_once(
        &BUILT,
        "c-hello",
        WAGI_TARGET,
        "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32",
    )
}

/// `examples/js-hello` (JavaScript, componentize-js through jco).
pub fn js_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    built_once(
        &BUILT,
        "js-hello",
        TARGET,
        "Node.js 20+ with npm, or python3 with venv to fetch one from PyPI",
    )
}

/// `examples/python-hello` (Python, componentize-py).
pub fn python_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    built_once(
        &BUILT,
        "python-hello",
        TARGET,
        "python3 with venv, and PyPI reachable",
    )
}
