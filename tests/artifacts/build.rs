//! Builds the test guests from source with a nested `cargo build`, then writes
//! `OUT_DIR/guests.rs`: one `pub const NAME: &str = "/abs/path.wasm";` per guest.
//!
//! The guests are the workspace members under `examples/` and `tests/guests/`, found with
//! `cargo metadata`: a `cdylib` crate is a component, built for `wasm32-wasip2`; a binary
//! is a WAGI command, built for `wasm32-wasip1`. Adding a guest crate to the workspace is
//! all it takes to get its constant. The examples in other languages are built by their
//! own `build.sh` (`other_languages.rs`), each an `Option` constant.
//!
//! The nested build uses a target folder of its own, `<target>/wasm-guests` (the outer
//! build's target folder, found from `OUT_DIR`): sharing the outer one would wait forever
//! on the lock the outer build holds. It inherits the outer build's jobserver, so the two
//! together use no more cores than `-j` allows.

use std::collections::BTreeSet;
use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod other_languages;
mod servers;

/// The folders whose workspace members are test guests.
const GUEST_FOLDERS: [&str; 2] = ["examples", "tests/guests"];
/// Components (`cdylib` crates) are built for this target…
const COMPONENT_TARGET: &str = "wasm32-wasip2";
/// …and WAGI commands (binaries) for this one.
const COMMAND_TARGET: &str = "wasm32-wasip1";

/// One guest crate.
struct Guest {
    package: String,
    description: Option<String>,
    manifest_dir: PathBuf,
    /// The Cargo target whose artifact is the guest: `<name>.wasm`.
    artifact: String,
    target: &'static str,
}

fn main() {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let root = workspace_root();
    let guests = find_guests(&root);
    let target_dir = guest_target_dir(&out_dir);

    for target in [COMPONENT_TARGET, COMMAND_TARGET] {
        let packages: Vec<&str> = guests
            .iter()
            .filter(|guest| guest.target == target)
            .map(|guest| guest.package.as_str())
            .collect();
        if !packages.is_empty() {
            cargo_build(&root, target, &packages, &target_dir);
        }
    }

    let mut code = String::new();
    let mut names = BTreeSet::new();
    for guest in &guests {
        let file = format!("{}.wasm", guest.artifact);
        let built = target_dir.join(guest.target).join("release").join(&file);
        // A copy of its own: another checkout sharing the target folder rebuilds `built`.
        let copy = out_dir.join(guest.target).join(&file);
        fs::create_dir_all(copy.parent().expect("a folder"))
            .unwrap_or_else(|e| panic!("create {}: {e}", copy.display()));
        fs::copy(&built, &copy).unwrap_or_else(|e| panic!("copy {}: {e}", built.display()));

        let name = guest.package.replace('-', "_").to_uppercase();
        assert!(names.insert(name.clone()), "two guests are named {name}");
        let folder = guest
            .manifest_dir
            .strip_prefix(&root)
            .unwrap_or(&guest.manifest_dir);
        let mut doc = format!(" `{}` ({})", path_str(folder), guest.target);
        if let Some(description) = &guest.description {
            doc = format!("{doc}: {description}");
        }
        writeln!(
            code,
            "#[doc = {doc:?}]\npub const {name}: &str = {:?};",
            path_str(&copy)
        )
        .expect("write to a String");
    }
    other_languages::build_all(&root, &out_dir, &mut code);
    servers::write_macros(&mut code);
    let generated = out_dir.join("guests.rs");
    fs::write(&generated, code).unwrap_or_else(|e| panic!("write {}: {e}", generated.display()));

    // Rebuild when a guest, the SDK, the WIT or the workspace's list of crates changes.
    // Not all of `examples/`: the other languages' `build.sh` write into their folders.
    let mut watched: Vec<PathBuf> = [
        "Cargo.toml",
        "Cargo.lock",
        "guest-sdk",
        "wit",
        "tests/guests",
    ]
    .iter()
    .map(|path| root.join(path))
    .collect();
    watched.extend(guests.iter().map(|guest| guest.manifest_dir.clone()));
    for path in watched {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The workspace root: this crate is `tests/artifacts`.
fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    manifest_dir
        .ancestors()
        .nth(2)
        .expect("tests/artifacts has a grandparent")
        .to_owned()
}

/// `<target>/wasm-guests`, where `OUT_DIR` is `<target>/<profile>/build/<crate>-<hash>/out`.
fn guest_target_dir(out_dir: &Path) -> PathBuf {
    let build = out_dir
        .ancestors()
        .find(|dir| dir.file_name().is_some_and(|name| name == "build"))
        .unwrap_or_else(|| panic!("no `build` folder above OUT_DIR {}", out_dir.display()));
    let target = build
        .parent()
        .and_then(Path::parent)
        .expect("<target>/<profile>/build");
    target.join("wasm-guests")
}

fn cargo() -> Command {
    Command::new(env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo")))
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

/// The workspace members under [`GUEST_FOLDERS`], sorted by package name.
fn find_guests(root: &Path) -> Vec<Guest> {
    let output = cargo()
        .args([
            "metadata",
            "--no-deps",
            "--offline",
            "--format-version",
            "1",
        ])
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run cargo metadata");
    assert!(output.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    let folders: Vec<PathBuf> = GUEST_FOLDERS.iter().map(|f| root.join(f)).collect();
    let mut guests: Vec<Guest> = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter_map(|package| {
            let manifest = Path::new(package["manifest_path"].as_str()?);
            let manifest_dir = manifest.parent()?.to_owned();
            folders
                .iter()
                .any(|folder| manifest_dir.starts_with(folder))
                .then(|| guest(package, manifest_dir))
        })
        .collect();
    guests.sort_by(|a, b| a.package.cmp(&b.package));
    guests
}

/// A guest package: its `cdylib` (a component) or its binary (a WAGI command).
fn guest(package: &Value, manifest_dir: PathBuf) -> Guest {
    let name = package["name"].as_str().expect("package name").to_owned();
    let has_kind = |target: &&Value, kind: &str| {
        target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == kind))
    };
    let targets = package["targets"].as_array().expect("targets");
    let (target, wasm_target) = if let Some(lib) = targets.iter().find(|t| has_kind(t, "cdylib")) {
        (lib, COMPONENT_TARGET)
    } else if let Some(bin) = targets.iter().find(|t| has_kind(t, "bin")) {
        (bin, COMMAND_TARGET)
    } else {
        panic!("guest `{name}` is neither a cdylib (a component) nor a binary (a WAGI command)")
    };
    Guest {
        description: package["description"].as_str().map(str::to_owned),
        artifact: target["name"].as_str().expect("target name").to_owned(),
        target: wasm_target,
        package: name,
        manifest_dir,
    }
}

/// Installs `target` with rustup unless the toolchain has it.
fn ensure_target_installed(target: &str) {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| OsString::from("rustc"));
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("run rustc --print sysroot");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_owned();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(target)
        .exists()
    {
        return;
    }
    println!("cargo:warning=installing the {target} target with rustup, for the test guests");
    let status = Command::new("rustup")
        .args(["target", "add", target])
        .stdout(Stdio::from(std::io::stderr()))
        .status()
        .unwrap_or_else(|e| panic!("run rustup (the test guests need the {target} target): {e}"));
    assert!(status.success(), "rustup target add {target} failed");
}

/// `cargo build --release --target TARGET -p …` into `target_dir`.
fn cargo_build(root: &Path, target: &str, packages: &[&str], target_dir: &Path) {
    ensure_target_installed(target);
    let mut command = cargo();
    command
        .current_dir(root)
        .args(["build", "--release", "--target", target, "--target-dir"])
        .arg(target_dir)
        // A build dir configured for the outer build must not be shared either.
        .env("CARGO_BUILD_BUILD_DIR", target_dir)
        // Flags and wrappers meant for the outer build (clippy's among them) stay out.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("CLIPPY_ARGS")
        // Build scripts talk to cargo on stdout: the nested build's output goes to stderr.
        .stdout(Stdio::from(std::io::stderr()));
    for package in packages {
        command.args(["-p", package]);
    }
    let status = command
        .status()
        .expect("run cargo build for the test guests");
    assert!(status.success(), "building the {target} test guests failed");
}
