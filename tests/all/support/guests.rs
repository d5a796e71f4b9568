//! Builds the guest components the tests serve (the examples and `tests/guests/*`) from
//! source, once per test run, for `wasm32-wasip2`, in a target folder of their own.

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
fn guest_target_dir() -> PathBuf {
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

fn ensure_target_installed() {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .output()
        .expect("run rustc");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        return;
    }
    eprintln!("installing the {TARGET} target with rustup");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status()
        .expect("run rustup (the tests need the wasm32-wasip2 target)");
    assert!(status.success(), "rustup target add {TARGET} failed");
}

fn build() -> Guests {
    ensure_target_installed();
    let target_dir = guest_target_dir();
    let mut command = Command::new(cargo());
    command
        .current_dir(workspace_root())
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for package in PACKAGES {
        command.args(["-p", package]);
    }
    // Flags meant for the host build must not leak into the guests'.
    command
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS");
    let status = command.status().expect("run cargo to build the guests");
    assert!(status.success(), "building the guest components failed");

    let out = target_dir.join(TARGET).join("release");
    let path = |name: &str| {
        let path = out.join(format!("{name}.wasm"));
        assert!(path.is_file(), "{} was not built", path.display());
        path
    };
    Guests {
        hello: path("hello"),
        echo: path("echo"),
        probe: path("probe"),
        plain_stream: path("plain_stream"),
        foreign_import: path("foreign_import"),
        authz: path("authz"),
        token_authorizer: path("token_authorizer"),
    }
}
