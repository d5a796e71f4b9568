//! The examples in other languages (C, JavaScript, Python), built by their own `build.sh`
//! at build time, so that a test needing one is compiled as `#[ignore]`d (with the reason)
//! where its toolchain is missing: `cargo test` then counts it as ignored, never as passed.
//!
//! Generates, per example, `pub const <NAME>: Option<&str>` (the `.wasm` path, `None` when
//! it could not be built here) and the `needs_examples!` macro, which marks a test ignored
//! unless every example it names was built.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// Set (by `.ci/run`) when every example toolchain must be present: a missing one fails
/// the build instead of ignoring the tests that need it.
pub(crate) const REQUIRE_TOOLCHAINS: &str = "WASMGATE_REQUIRE_TOOLCHAINS";

/// One example built by another language's toolchain.
struct Example {
    /// Its folder under `examples/`, and the `needs_examples!` name (`-` → `_`).
    folder: &'static str,
    /// The target folder its `.wasm` goes under.
    target: &'static str,
    /// The files it is built from (besides its `build.sh`).
    sources: &'static [&'static str],
    /// What to install where its toolchain is missing.
    install: &'static str,
}

const EXAMPLES: [Example; 5] = [
    Example {
        folder: "c-hello",
        target: "wasm32-wasip1",
        sources: &["hello.c"],
        install: "apt-get install clang lld wasi-libc libclang-rt-dev-wasm32",
    },
    Example {
        folder: "js-hello",
        target: "wasm32-wasip2",
        sources: &[
            "app.js",
            "package.json",
            "package-lock.json",
            "wit",
            "../../scripts/js-component.sh",
        ],
        install: "Node.js 20+ with npm, or python3 with venv to fetch one from PyPI",
    },
    Example {
        folder: "js-guestbook",
        target: "wasm32-wasip2",
        sources: &[
            "app.js",
            "wit",
            "../../guest-sdk/js/wasmgate.js",
            "../../scripts/js-component.sh",
        ],
        install: "Node.js 20+ with npm, or python3 with venv to fetch one from PyPI",
    },
    Example {
        folder: "python-hello",
        target: "wasm32-wasip2",
        sources: &["app.py"],
        install: "python3 with venv, and PyPI reachable",
    },
    Example {
        folder: "python-shortener",
        target: "wasm32-wasip2",
        sources: &["app.py", "../../guest-sdk/python/wasmgate.py"],
        install: "python3 with venv, and PyPI reachable",
    },
];

/// Builds every example into `out_dir`, and appends the constants and the macro to `code`.
pub fn build_all(root: &Path, out_dir: &Path, code: &mut String) {
    println!("cargo:rerun-if-env-changed={REQUIRE_TOOLCHAINS}");
    println!("cargo:rerun-if-env-changed=WASI_CC");
    println!("cargo:rerun-if-env-changed=WASMGATE_TOOLCHAINS");
    for script in ["scripts/tool-venv.sh", "scripts/node-env.sh"] {
        println!("cargo:rerun-if-changed={}", root.join(script).display());
    }
    let mut arms = String::new();
    for example in &EXAMPLES {
        let folder = root.join("examples").join(example.folder);
        for file in std::iter::once("build.sh").chain(example.sources.iter().copied()) {
            println!("cargo:rerun-if-changed={}", folder.join(file).display());
        }
        let output = out_dir
            .join(example.target)
            .join(format!("{}.wasm", example.folder));
        let name = example.folder.replace('-', "_");
        let constant = name.to_uppercase();
        let doc = format!(
            " `examples/{}` ({}), built by its `build.sh`; `None` where its toolchain is \
             missing.",
            example.folder, example.target
        );
        match build(example, &folder, &output) {
            Ok(()) => {
                let path = output.to_str().expect("a UTF-8 OUT_DIR");
                writeln!(
                    code,
                    "#[doc = {doc:?}]\npub const {constant}: Option<&str> = Some({path:?});"
                )
                .expect("write to a String");
                // Built: on to the next example the test names.
                writeln!(
                    arms,
                    "    ([{name} $(, $rest:ident)*] $($item:tt)*) => {{\n        \
                     $crate::needs_examples!([$($rest),*] $($item)*);\n    }};"
                )
                .expect("write to a String");
            }
            Err(why) => {
                assert!(
                    std::env::var_os(REQUIRE_TOOLCHAINS).is_none(),
                    "examples/{}: {why}, and {REQUIRE_TOOLCHAINS} is set: {}",
                    example.folder,
                    example.install
                );
                println!(
                    "cargo:warning=examples/{} not built, its tests are ignored: {why} \
                     (install: {})",
                    example.folder, example.install
                );
                writeln!(
                    code,
                    "#[doc = {doc:?}]\npub const {constant}: Option<&str> = None;"
                )
                .expect("write to a String");
                let reason = format!(
                    "examples/{} was not built: {why} (install: {}; then touch \
                     examples/{}/build.sh to build it again)",
                    example.folder, example.install, example.folder
                );
                writeln!(
                    arms,
                    "    ([{name} $(, $rest:ident)*] $($item:tt)*) => {{\n        \
                     #[ignore = {reason:?}]\n        $($item)*\n    }};"
                )
                .expect("write to a String");
            }
        }
    }
    let names: Vec<String> = EXAMPLES
        .iter()
        .map(|e| e.folder.replace('-', "_"))
        .collect();
    write!(
        code,
        "/// Marks a test `#[ignore]`d, with the reason, unless every example it names \
         ({}) was built:\n\
         /// `needs_examples!([c_hello] #[test] fn it() {{}});`\n\
         #[macro_export]\n\
         macro_rules! needs_examples {{\n    ([] $($item:tt)*) => {{ $($item)* }};\n{arms}}}\n",
        names.join(", ")
    )
    .expect("write to a String");
}

/// Runs `examples/<folder>/build.sh output`: `Err(why)` where it reports (exit status 3)
/// that its toolchain cannot be installed here; any other failure is a broken build.
fn build(example: &Example, folder: &Path, output: &Path) -> Result<(), String> {
    let script = folder.join("build.sh");
    let built = Command::new("sh")
        .arg(&script)
        .arg(output)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", script.display()));
    let said = String::from_utf8_lossy(&built.stderr);
    match built.status.code() {
        Some(0) => {
            assert!(
                output.is_file(),
                "examples/{}: build.sh wrote no {}",
                example.folder,
                output.display()
            );
            Ok(())
        }
        Some(3) => Err(said
            .lines()
            .last()
            .unwrap_or("its toolchain is not installed")
            .to_owned()),
        _ => panic!(
            "examples/{}/build.sh failed ({}):\n{said}",
            example.folder, built.status
        ),
    }
}
