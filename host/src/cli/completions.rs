//! `wasmgate completions SHELL` and `wasmgate man [DIR]`: shell completion scripts
//! (`clap_complete`) and man pages (`clap_mangen`), made from the same definition the
//! command line is parsed with, so they never fall behind it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, CommandFactory};

/// `wasmgate completions`.
#[derive(Debug, Args)]
pub(super) struct CompletionsArgs {
    /// The shell: bash, zsh, fish, elvish or powershell. For bash:
    /// `wasmgate completions bash > ~/.local/share/bash-completion/completions/wasmgate`.
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// `wasmgate man`.
#[derive(Debug, Args)]
pub(super) struct ManArgs {
    /// The folder to write the pages into (created): `wasmgate.1` and one page per
    /// command (`wasmgate-up.1`, …).
    #[arg(default_value = "man")]
    out: PathBuf,
}

pub(super) fn completions(args: CompletionsArgs) -> anyhow::Result<()> {
    let mut command = super::Cli::command();
    clap_complete::generate(args.shell, &mut command, "wasmgate", &mut std::io::stdout());
    Ok(())
}

pub(super) fn man(args: ManArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create {}", args.out.display()))?;
    clap_mangen::generate_to(super::Cli::command(), &args.out)
        .with_context(|| format!("cannot write the man pages into {}", args.out.display()))?;
    println!(
        "man pages written to {} (read one with `man -l {}/wasmgate.1`)",
        args.out.display(),
        args.out.display()
    );
    Ok(())
}
