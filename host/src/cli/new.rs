//! `wasmgate new NAME --template T`: writes a ready project — a handler, its build, a
//! manifest that builds and routes to it (`wasmgate build`, `wasmgate up`, `wasmgate dev`)
//! and a README. The templates are embedded in the binary (`host/templates/`), and so are
//! what a Python project builds with: the helper (`guest-sdk/python/wasmgate.py`) and the
//! WIT world (`wit/`).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

/// `wasmgate new`.
#[derive(Debug, Args)]
pub(super) struct NewArgs {
    /// The project's name: also its folder, its module and its route (`/NAME/{name}`).
    /// ASCII letters, digits, `-` and `_`, starting with a letter.
    name: String,
    /// What to start from.
    #[arg(long, value_enum, default_value_t = Template::Rust)]
    template: Template,
    /// The folder to create the project in (default: the current one).
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
    /// Rust templates: the `guest-sdk/` folder of a wasmgate checkout, written as a path
    /// dependency (default: that of the checkout this binary was built from, when it is
    /// still there).
    #[arg(long, value_name = "PATH")]
    sdk: Option<PathBuf>,
}

/// The templates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Template {
    /// A `wasi:http` component in Rust, with the wasmgate SDK.
    Rust,
    /// A Rust program run the WAGI way (`wasm32-wasip1`, CGI; no SDK).
    RustWagi,
    /// An authorizer in Rust, with the wasmgate SDK, and a route behind it.
    Authorizer,
    /// A C program run the WAGI way (clang and wasi-libc).
    C,
    /// A `wasi:http` component in Python (componentize-py), with wasmgate's helper.
    Python,
    /// A `wasi:http` component in JavaScript (componentize-js), with wasmgate's helper.
    Js,
}

/// One file of a template: its path in the project and its text, with `{{name}}`,
/// `{{lib}}` (the name with `_` for `-`) and `{{sdk}}` to fill in.
type File = (&'static str, &'static str);

macro_rules! template {
    ($dir:literal: $($path:literal),* $(,)?) => {
        &[$(
            (
                $path,
                include_str!(concat!("../../templates/", $dir, "/", $path, ".tmpl")),
            ),
        )*]
    };
}

const RUST: &[File] =
    template!("rust": "Cargo.toml", "src/lib.rs", "wasmgate.toml", "README.md", "gitignore");
const RUST_WAGI: &[File] =
    template!("rust-wagi": "Cargo.toml", "src/main.rs", "wasmgate.toml", "README.md", "gitignore");
const AUTHORIZER: &[File] =
    template!("authorizer": "Cargo.toml", "src/lib.rs", "wasmgate.toml", "README.md", "gitignore");
const C: &[File] = template!("c": "handler.c", "wasmgate.toml", "README.md", "gitignore");
const PYTHON: &[File] = template!("python": "app.py", "wasmgate.toml", "README.md", "gitignore");
const JS: &[File] = template!("js": "app.js", "wasmgate.toml", "README.md", "gitignore");

/// What a JavaScript project gets besides its template: the helper, and the world it is
/// built against (the example's: `wasi:http` at the version StarlingMonkey exports, which
/// [`http_for_starlingmonkey`] gives the vendored package).
const JS_SUPPORT: &[File] = &[
    (
        "wasmgate.js",
        include_str!("../../../guest-sdk/js/wasmgate.js"),
    ),
    (
        "wit/world.wit",
        include_str!("../../../examples/js-hello/wit/world.wit"),
    ),
    (
        "wit/deps/gateway.wit",
        include_str!("../../../wit/gateway.wit"),
    ),
    (
        "wit/deps/cli.wit",
        include_str!("../../../wit/deps/cli.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../../wit/deps/clocks.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../../wit/deps/filesystem.wit"),
    ),
    (
        "wit/deps/http.wit",
        include_str!("../../../wit/deps/http.wit"),
    ),
    ("wit/deps/io.wit", include_str!("../../../wit/deps/io.wit")),
    (
        "wit/deps/random.wit",
        include_str!("../../../wit/deps/random.wit"),
    ),
    (
        "wit/deps/sockets.wit",
        include_str!("../../../wit/deps/sockets.wit"),
    ),
];

/// The `wasi:http` version StarlingMonkey (componentize-js 0.23) exports.
const STARLINGMONKEY_HTTP: &str = "0.2.10";

/// `text` with every `wasi:http…@0.2.N` at [`STARLINGMONKEY_HTTP`] (the packages differ
/// only in their version).
fn http_for_starlingmonkey(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("wasi:http") {
        let (before, from) = rest.split_at(at);
        out.push_str(before);
        let name_end = from
            .find(['@', ' ', '\n', ';', ',', '}', '.'])
            .unwrap_or(from.len());
        let (name, after) = from.split_at(name_end);
        out.push_str(name);
        rest = after;
        if let Some(version) = rest.strip_prefix("@0.2.") {
            let digits = version.len()
                - version
                    .trim_start_matches(|c: char| c.is_ascii_digit())
                    .len();
            if digits > 0 {
                out.push('@');
                out.push_str(STARLINGMONKEY_HTTP);
                rest = &version[digits..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// What a Python project gets besides its template: the helper, and the WIT world it is
/// built against (wasmgate's `handler` world and the WASI packages it uses).
const PYTHON_SUPPORT: &[File] = &[
    (
        "wasmgate.py",
        include_str!("../../../guest-sdk/python/wasmgate.py"),
    ),
    ("wit/gateway.wit", include_str!("../../../wit/gateway.wit")),
    ("wit/handler.wit", include_str!("../../../wit/handler.wit")),
    (
        "wit/deps/cli.wit",
        include_str!("../../../wit/deps/cli.wit"),
    ),
    (
        "wit/deps/clocks.wit",
        include_str!("../../../wit/deps/clocks.wit"),
    ),
    (
        "wit/deps/config.wit",
        include_str!("../../../wit/deps/config.wit"),
    ),
    (
        "wit/deps/filesystem.wit",
        include_str!("../../../wit/deps/filesystem.wit"),
    ),
    (
        "wit/deps/http.wit",
        include_str!("../../../wit/deps/http.wit"),
    ),
    ("wit/deps/io.wit", include_str!("../../../wit/deps/io.wit")),
    (
        "wit/deps/keyvalue.wit",
        include_str!("../../../wit/deps/keyvalue.wit"),
    ),
    (
        "wit/deps/random.wit",
        include_str!("../../../wit/deps/random.wit"),
    ),
    (
        "wit/deps/sockets.wit",
        include_str!("../../../wit/deps/sockets.wit"),
    ),
];

impl Template {
    fn files(self) -> Vec<File> {
        match self {
            Template::Rust => RUST.to_vec(),
            Template::RustWagi => RUST_WAGI.to_vec(),
            Template::Authorizer => AUTHORIZER.to_vec(),
            Template::C => C.to_vec(),
            Template::Python => [PYTHON, PYTHON_SUPPORT].concat(),
            Template::Js => [JS, JS_SUPPORT].concat(),
        }
    }

    fn needs_sdk(self) -> bool {
        matches!(self, Template::Rust | Template::Authorizer)
    }

    /// What to type next, after `cd NAME`.
    fn next_steps(self, name: &str) -> String {
        let call = match self {
            Template::Authorizer => {
                format!("curl -H 'Authorization: Bearer change-me' localhost:8080/{name}/private")
            }
            _ => format!("curl localhost:8080/{name}/ada"),
        };
        let setup = match self {
            Template::Rust | Template::Authorizer => "rustup target add wasm32-wasip2   # once\n  ",
            Template::RustWagi => "rustup target add wasm32-wasip1   # once\n  ",
            Template::C | Template::Python | Template::Js => "",
        };
        format!(
            "  {setup}wasmgate build   # builds what wasmgate.toml declares\n  \
             wasmgate up      # serves it on 127.0.0.1:8080\n  \
             {call}\nor `wasmgate dev`: build, serve, and rebuild and redeploy on every save."
        )
    }
}

/// The `guest-sdk/` of the checkout this binary was built from, if it is still there.
fn built_from_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
    sdk.join("Cargo.toml")
        .is_file()
        .then(|| sdk.canonicalize().ok())
        .flatten()
}

/// The componentize-py the checkout's examples install (`$WASMGATE_TOOLCHAINS`, else the
/// checkout's `target/toolchains`), else the one on the PATH.
fn componentize_py() -> String {
    let toolchains = std::env::var_os("WASMGATE_TOOLCHAINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/toolchains"));
    let installed = toolchains.join("python/bin/componentize-py");
    match installed.canonicalize() {
        Ok(path) if !path.to_string_lossy().contains(['"', '\\', ' ']) => {
            path.to_string_lossy().into_owned()
        }
        _ => "componentize-py".to_owned(),
    }
}

/// The PATH a JavaScript build runs with: the checkout's JavaScript example's tools
/// (jco, rolldown) and the Node.js its toolchains hold, when there, before the PATH.
fn js_path() -> String {
    let checkout = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let toolchains = std::env::var_os("WASMGATE_TOOLCHAINS")
        .map(PathBuf::from)
        .unwrap_or_else(|| checkout.join("target/toolchains"));
    let folders = [
        checkout.join("examples/js-hello/node_modules/.bin"),
        toolchains.join("node/bin"),
    ];
    let mut path = String::new();
    for folder in folders {
        let Ok(folder) = folder.canonicalize() else {
            continue;
        };
        let text = folder.to_string_lossy();
        // Written into a shell command: only paths that need no quoting.
        if text.contains(|c: char| !(c.is_ascii_alphanumeric() || "/._-+".contains(c))) {
            continue;
        }
        path.push_str(&text);
        path.push(':');
    }
    path.push_str("$PATH");
    path
}

/// Checks `name`: a module name that is a valid Cargo package and C file name too.
fn check_name(name: &str) -> anyhow::Result<()> {
    crate::config::ModuleName::new(name).map_err(anyhow::Error::msg)?;
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        bail!("`{name}`: a project's name starts with a letter");
    }
    Ok(())
}

pub(super) fn new(args: NewArgs) -> anyhow::Result<()> {
    check_name(&args.name)?;
    let folder = args.dir.join(&args.name);
    if folder.exists() {
        bail!(
            "{} already exists: `wasmgate new` never writes into an existing folder",
            folder.display()
        );
    }
    let sdk = if args.template.needs_sdk() {
        let sdk = match args.sdk.or_else(built_from_sdk) {
            Some(sdk) => sdk,
            None => bail!(
                "the `{}` template needs wasmgate-sdk: pass --sdk PATH (the guest-sdk/ folder of a wasmgate checkout)",
                args.template
                    .to_possible_value()
                    .map_or("rust".into(), |v| v.get_name().to_owned())
            ),
        };
        if !sdk.join("Cargo.toml").is_file() {
            bail!(
                "--sdk {}: no Cargo.toml there (give the guest-sdk/ folder)",
                sdk.display()
            );
        }
        let sdk = std::path::absolute(&sdk)?;
        let text = sdk
            .to_str()
            .context("the SDK's path is not UTF-8")?
            .to_owned();
        if text.contains(['"', '\\']) {
            bail!("--sdk {text}: a path with `\"` or `\\` cannot be written into Cargo.toml");
        }
        text
    } else {
        String::new()
    };
    let lib = args.name.replace('-', "_");
    let componentize_py = componentize_py();
    let js_path = js_path();
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{lib}}", &lib)
            .replace("{{sdk}}", &sdk)
            .replace("{{componentize_py}}", &componentize_py)
            .replace("{{js_path}}", &js_path)
    };
    // Written into a temporary folder beside it, then renamed: a failure leaves no
    // half-written project, and a folder made meanwhile is not written into.
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{}-", args.name))
        .tempdir_in(&args.dir)
        .with_context(|| format!("cannot write into {}", args.dir.display()))?;
    for (path, text) in args.template.files() {
        let path = if path == "gitignore" {
            ".gitignore"
        } else {
            path
        };
        let target = staging.path().join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let text = if args.template == Template::Js && path == "wit/deps/http.wit" {
            http_for_starlingmonkey(text)
        } else {
            text.to_owned()
        };
        std::fs::write(&target, fill(&text))
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    if args.template.needs_sdk()
        && let Some(lock) = Path::new(&sdk)
            .parent()
            .map(|checkout| checkout.join("Cargo.lock"))
        && lock.is_file()
    {
        // The versions the checkout's SDK was built and tested with.
        std::fs::copy(&lock, staging.path().join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
    }
    let staged = staging.keep();
    if let Err(error) = rename_new(&staged, &folder) {
        let _ = std::fs::remove_dir_all(&staged);
        return Err(error);
    }
    println!(
        "created {} from the {} template; next:\n  cd {}\n{}",
        folder.display(),
        args.template
            .to_possible_value()
            .map_or(String::new(), |v| v.get_name().to_owned()),
        folder.display(),
        args.template.next_steps(&args.name)
    );
    Ok(())
}

/// Renames `from` to `to`, refusing if `to` appeared in the meantime.
fn rename_new(from: &Path, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        bail!(
            "{} already exists: `wasmgate new` never writes into an existing folder",
            to.display()
        );
    }
    std::fs::rename(from, to).with_context(|| format!("cannot create {}", to.display()))
}
