//! `wasmgate build [MANIFEST]`: runs the build each `[[modules]]` entry declares
//! (`build = { command = "…" }`), in the manifest's folder, its output on the terminal.
//! A manifest whose modules are not built yet (or that has other problems, which
//! `wasmgate up` names) still builds.

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use clap::Args;

use crate::manifest::{Manifest, ManifestError, ModuleSpec};

/// `wasmgate build`.
#[derive(Debug, Args)]
pub(super) struct BuildArgs {
    /// The manifest whose modules to build.
    #[arg(default_value = "wasmgate.toml")]
    manifest: std::path::PathBuf,
    /// Build only this module (repeatable; default: every one with a build).
    #[arg(long = "module", value_name = "NAME")]
    modules: Vec<String>,
}

/// The manifest as far as it can be read: with problems of its own (a module file not
/// built yet, say), its valid entries.
pub(super) fn load_for_build(path: &Path) -> anyhow::Result<Manifest> {
    // Absolute: a build runs in the manifest's folder, which must not be "".
    let path = std::path::absolute(path)?;
    match Manifest::load(&path) {
        Ok(manifest) => Ok(manifest),
        Err(ManifestError::Invalid {
            partial: Some(partial),
            ..
        }) => Ok(*partial),
        Err(error) => Err(error.into()),
    }
}

pub(super) fn build(args: BuildArgs) -> anyhow::Result<()> {
    let manifest = load_for_build(&args.manifest)?;
    for wanted in &args.modules {
        if !manifest.modules.iter().any(|m| m.name.as_str() == wanted) {
            bail!(
                "{}: no module `{wanted}` in [[modules]]",
                args.manifest.display()
            );
        }
    }
    let chosen: Vec<&ModuleSpec> = manifest
        .modules
        .iter()
        .filter(|m| args.modules.is_empty() || args.modules.iter().any(|w| w == m.name.as_str()))
        .collect();
    if chosen.iter().all(|m| m.build.is_none()) {
        bail!(
            "{}: no module declares a build (add `build = {{ command = \"…\" }}` to a [[modules]] entry)",
            args.manifest.display()
        );
    }
    let mut failed = Vec::new();
    for module in chosen {
        if let Err(error) = run_build(module) {
            eprintln!("error: {error:#}");
            failed.push(module.name.to_string());
        }
    }
    if !failed.is_empty() {
        bail!("the build of {} failed", failed.join(", "));
    }
    Ok(())
}

/// Runs `module`'s build (if it has one), its output on this process's; an error says why
/// it failed, or that it did not write the module's file.
pub(super) fn run_build(module: &ModuleSpec) -> anyhow::Result<()> {
    let Some(build) = &module.build else {
        return Ok(());
    };
    eprintln!("building `{}`: {}", module.name, build.command);
    let started = std::time::Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(&build.command)
        .current_dir(&build.dir)
        .status()
        .with_context(|| format!("cannot run the build of `{}` (sh)", module.name))?;
    if !status.success() {
        bail!(
            "the build of `{}` failed ({status}): {}",
            module.name,
            build.command
        );
    }
    if !module.path.is_file() {
        bail!(
            "the build of `{}` succeeded but did not write {} (its `path` in the manifest)",
            module.name,
            module.path.display()
        );
    }
    eprintln!(
        "built `{}` in {:.1} s: {}",
        module.name,
        started.elapsed().as_secs_f64(),
        module.path.display()
    );
    Ok(())
}
