//! Builds the guests the tests serve (the examples and `tests/guests/*`) from source, once
//! per test run, in a target folder of their own: components for `wasm32-wasip2`, WAGI
//! commands for `wasm32-wasip1`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the built components.
pub struct Guests {
    pub hello: PathBuf,
    pub echo: PathBuf,
    pub probe: PathBuf,
    pub plain_stream: PathBuf,
    pub foreign_import: PathBuf,
    pub authz: PathBuf,
    pub token_authorizer: PathBuf,
    pub wagi_probe: PathBuf,
    pub rust_wagi: PathBuf,
}

const PACKAGES: [&str; 7] = [
    "token-authorizer",
    "hello",
    "echo",
    "probe",
    "plain-stream",
    "foreign-import",
    "authz",
];
const TARGET: &str = "wasm32-wasip2";
/// WAGI commands, built for the preview 1 target.
const WAGI_PACKAGES: [&str; 2] = ["wagi-probe", "rust-wagi"];
const WAGI_TARGET: &str = "wasm32-wasip1";

/// Builds the guests on first use (cargo makes later runs no-ops) and returns their paths.
pub fn guests() -> &'static Guests {
    static GUESTS: OnceLock<Guests> = OnceLock::new();
    GUESTS.get_or_init(build)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("host/ has a parent")
        .to_owned()
}

/// `<target>/wasm-guests`, next to the test binary's own `<target>/<profile>/deps/`.
pub fn guest_target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .expect("<target>/<profile>/deps/<exe>");
    target.join("wasm-guests")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn ensure_target_installed(target: &str) {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("run rustc");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .exists()
    {
        return;
    }
    eprintln!("installing the {target} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .status()
        .unwrap_or_else(|e| panic!("run rustup (the tests need the {target} target): {e}"));
    assert!(status.success(), "rustup target add {target} failed");
}

/// Builds `packages` for `target` into `target_dir`.
fn cargo_build(target: &str, packages: &[&str], target_dir: &Path) {
    ensure_target_installed(target);
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(target_dir);
    for package in packages {
        command.args(["-p", package]);
    }
    // Flags meant for the host build must not leak into the guests'.
    command
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let status = command.status().expect("run cargo to build the guests");
    assert!(status.success(), "building the {target} guests failed");
}

fn build() -> Guests {
    let target_dir = guest_target_dir();
    cargo_build(TARGET, &PACKAGES, &target_dir);
    cargo_build(WAGI_TARGET, &WAGI_PACKAGES, &target_dir);

    let built = |target: &str, name: &str| {
        let path = target_dir
            .join(target)
            .join("release")
            .join(format!("{name}.wasm"));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    };
    let path = |name: &str| built(TARGET, name);
    Guests {
        hello: path("hello"),
        echo: path("echo"),
        probe: path("probe"),
        plain_stream: path("plain_stream"),
        foreign_import: path("foreign_import"),
        authz: path("authz"),
        token_authorizer: path("token_authorizer"),
        wagi_probe: built(WAGI_TARGET, "wagi-probe"),
        rust_wagi: built(WAGI_TARGET, "rust-wagi"),
    }
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

/// `examples/c-hello` (C, clang + wasi-libc, a WAGI command).
pub fn c_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            example_built_by_script(
                "c-hello",
                guest_target_dir().join(WAGI_TARGET).join("c-hello.wasm"),
                "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32",
            )
        })
        .as_deref()
}

/// `examples/js-hello` (JavaScript, componentize-js through jco).
pub fn js_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            example_built_by_script(
                "js-hello",
                guest_target_dir().join(TARGET).join("js-hello.wasm"),
                "Node.js 20+ with npm, or python3 with venv to fetch one from PyPI",
            )
        })
        .as_deref()
}

/// `examples/python-hello` (Python, componentize-py).
pub fn python_hello() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            example_built_by_script(
                "python-hello",
                guest_target_dir().join(TARGET).join("python-hello.wasm"),
                "python3 with venv, and PyPI reachable",
            )
        })
        .as_deref()
}
