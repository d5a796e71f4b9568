//! `wasmgate new NAME --template T`: writes a ready project — a handler, its build, a
//! manifest that builds and routes to it (`wasmgate build`, `wasmgate up`, `wasmgate dev`)
//! and a README. The templates are embedded in the binary (`host/templates/`).

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

impl Template {
    fn files(self) -> &'static [File] {
        match self {
            Template::Rust => RUST,
            Template::RustWagi => RUST_WAGI,
            Template::Authorizer => AUTHORIZER,
            Template::C => C,
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
            Template::C => "",
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
    let fill = |text: &str| {
        text.replace("{{name}}", &args.name)
            .replace("{{lib}}", &lib)
            .replace("{{sdk}}", &sdk)
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
        let path = if *path == "gitignore" {
            ".gitignore"
        } else {
            path
        };
        let target = staging.path().join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&target, fill(text))
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
