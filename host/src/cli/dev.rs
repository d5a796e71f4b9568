//! `wasmgate dev [MANIFEST]`: builds the manifest's modules, serves them as `wasmgate up`
//! does, and watches (`notify`) the sources each build names, the built files and the
//! manifest. A change rebuilds what it touches and applies the manifest again: new bytes
//! become a new version that the routes serve from then on, swapped in atomically while
//! requests in flight finish on the old one. A build that fails prints its errors, and the
//! last good build keeps serving.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context;
use notify::{RecursiveMode, Watcher};

use super::build::{load_for_build, run_build};
use super::up;
use super::up_args::UpArgs;
use crate::gateway::Gateway;
use crate::manifest::Manifest;

/// How long after a change more changes are waited for (an editor saves in steps, a
/// build writes many files) before anything is rebuilt.
const QUIET: Duration = Duration::from_millis(250);

/// Folders whose changes are never a source's (build output, the data dir, dependencies).
const IGNORED: [&str; 4] = ["target", ".wasmgate", "node_modules", ".git"];

pub(super) fn dev(args: UpArgs) -> anyhow::Result<()> {
    let manifest_path = std::path::absolute(&args.manifest)?;
    let manifest = load_for_build(&manifest_path)?;
    for module in &manifest.modules {
        if let Err(error) = run_build(module) {
            if !module.path.is_file() {
                return Err(error.context(
                    "nothing to serve for it yet: fix the build and run `wasmgate dev` again",
                ));
            }
            eprintln!("warning: {error:#}; serving its last build");
        }
    }
    up::run(
        args,
        Some(Box::new(move |gateway: Arc<Gateway>| {
            let spawned = std::thread::Builder::new()
                .name("wasmgate-dev".into())
                .spawn(move || {
                    if let Err(error) = watch(&gateway, &manifest_path) {
                        tracing::error!(target: "wasmgate::dev", "stopped watching: {error:#}");
                    }
                });
            if let Err(error) = spawned {
                tracing::error!(target: "wasmgate::dev", %error, "cannot start watching");
            }
        })),
    )
}

/// Rebuilds and redeploys on every change, until the process ends.
fn watch(gateway: &Gateway, manifest_path: &Path) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<Vec<PathBuf>>();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !event.kind.is_access()
        {
            let _ = tx.send(event.paths);
        }
    })?;
    let mut manifest = load_for_build(manifest_path)?;
    let mut watching = HashSet::new();
    watch_sources(&mut watcher, &mut watching, manifest_path, &manifest);
    tracing::info!(target: "wasmgate::dev", "watching for changes");
    loop {
        let mut changed: HashSet<PathBuf> = rx.recv()?.into_iter().collect();
        while let Ok(paths) = rx.recv_timeout(QUIET) {
            changed.extend(paths);
        }
        let manifest_changed = changed.contains(manifest_path);
        if manifest_changed {
            match load_for_build(manifest_path) {
                Ok(reloaded) => manifest = reloaded,
                Err(error) => {
                    tracing::warn!(target: "wasmgate::dev", "{error:#}");
                    continue;
                }
            }
            watch_sources(&mut watcher, &mut watching, manifest_path, &manifest);
        }
        let mut rebuilt = false;
        for module in &manifest.modules {
            let Some(build) = &module.build else { continue };
            let touched = changed.iter().any(|path| {
                *path != module.path
                    && !ignored(path)
                    && build.watch.iter().any(|watched| path.starts_with(watched))
            });
            if !touched {
                continue;
            }
            match run_build(module) {
                Ok(()) => rebuilt = true,
                Err(error) => tracing::warn!(
                    target: "wasmgate::dev",
                    "{error:#}; still serving the last good build"
                ),
            }
        }
        let built_elsewhere = manifest
            .modules
            .iter()
            .any(|module| changed.contains(&module.path));
        if manifest_changed || rebuilt || built_elsewhere {
            redeploy(gateway, manifest_path);
            // What the build and the redeploy wrote is not a change of its own.
            while rx.recv_timeout(Duration::ZERO).is_ok() {}
        }
    }
}

/// Watches the manifest, every module's sources and its built file. A file is watched
/// through its folder (editors replace files, which ends a watch on the file itself).
fn watch_sources(
    watcher: &mut impl Watcher,
    watching: &mut HashSet<(PathBuf, bool)>,
    manifest_path: &Path,
    manifest: &Manifest,
) {
    let mut wanted = vec![manifest_path.to_owned()];
    for module in &manifest.modules {
        wanted.push(module.path.clone());
        if let Some(build) = &module.build {
            wanted.extend(build.watch.iter().cloned());
        }
    }
    for path in wanted {
        let (folder, recursive) = if path.is_dir() {
            (path, true)
        } else {
            match path.parent() {
                Some(parent) => (parent.to_owned(), false),
                None => continue,
            }
        };
        if watching.contains(&(folder.clone(), recursive)) {
            continue;
        }
        let mode = if recursive {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        match watcher.watch(&folder, mode) {
            Ok(()) => {
                watching.insert((folder, recursive));
            }
            Err(error) => tracing::warn!(
                target: "wasmgate::dev",
                folder = %folder.display(),
                %error,
                "cannot watch"
            ),
        }
    }
}

/// Whether `path` is in a folder whose changes are never a source's.
fn ignored(path: &Path) -> bool {
    path.components()
        .any(|part| IGNORED.iter().any(|name| part.as_os_str() == *name))
}

/// Applies the manifest again: changed files become new versions, served at once.
fn redeploy(gateway: &Gateway, manifest_path: &Path) {
    let applied = Manifest::load(manifest_path)
        .context("the manifest")
        .and_then(|manifest| {
            gateway.registry().apply_manifest(&manifest)?;
            Ok(manifest)
        });
    match applied {
        Ok(manifest) => {
            let state = gateway.registry().state();
            let versions: Vec<String> = manifest
                .modules
                .iter()
                .filter_map(|m| {
                    let latest = state.modules.get(m.name.as_str())?.latest()?;
                    Some(format!("{}@{latest}", m.name))
                })
                .collect();
            tracing::info!(target: "wasmgate::dev", "redeployed: {}", versions.join(", "));
        }
        Err(error) => tracing::warn!(
            target: "wasmgate::dev",
            "not redeployed, still serving what was: {error:#}"
        ),
    }
}
