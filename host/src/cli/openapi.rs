//! `wasmgate import FILE` and `wasmgate export [-o FILE]`: the API as an OpenAPI document
//! (the admin API's `POST /apis` and `GET /apis`). Export writes YAML, or JSON to a `.json`
//! file; import reads either.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::client::{AdminArgs, AdminClient};

/// `wasmgate import`.
#[derive(Debug, Args)]
pub(super) struct ImportArgs {
    /// The OpenAPI 3.0 or 3.1 document (YAML or JSON).
    file: PathBuf,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate export`.
#[derive(Debug, Args)]
pub(super) struct ExportArgs {
    /// Where to write the document (default: standard output); JSON if it ends in `.json`.
    #[arg(short, long)]
    output: Option<PathBuf>,
    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn import(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let client = AdminClient::new(&args.admin)?;
    let answer = client.post("/apis", text)?;
    if args.admin.json {
        println!("{answer}");
    } else {
        println!(
            "{}: {} routes and {} authorizers created or replaced",
            args.file.display(),
            answer["routes"],
            answer["authorizers"]
        );
    }
    Ok(())
}

pub(super) fn export(args: ExportArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let document = client.get("/apis")?;
    let spec: oas3::Spec =
        serde_json::from_value(document).context("the admin API's document does not parse")?;
    let json = args.admin.json
        || (args.output.as_ref())
            .is_some_and(|path| path.extension().is_some_and(|ext| ext == "json"));
    let mut text = if json {
        oas3::to_json(&spec).context("writing JSON")?
    } else {
        oas3::to_yaml(&spec).context("writing YAML")?
    };
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match &args.output {
        Some(path) => std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print!("{text}"),
    }
    Ok(())
}
