//! `wasmgate history` (alias moves and route changes, newest first) and
//! `wasmgate rollback NAME@ALIAS` (the alias back where it was before its latest move).

use anyhow::Context;
use clap::Args;
use serde_json::Value;

use super::client::{AdminArgs, AdminClient};

/// `wasmgate history`.
#[derive(Debug, Args)]
pub(super) struct HistoryArgs {
    /// The most entries to show.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Only this module's aliases and the routes that run it.
    #[arg(long)]
    module: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate rollback`.
#[derive(Debug, Args)]
pub(super) struct RollbackArgs {
    /// The alias, as `module@alias`.
    alias: String,
    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn history(args: HistoryArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let mut path = format!("/history?limit={}", args.limit);
    if let Some(module) = &args.module {
        path.push_str(&format!("&module={}", encode(module)));
    }
    let answer = client.get(&path)?;
    if args.admin.json {
        println!("{answer}");
        return Ok(());
    }
    let entries = answer["history"].as_array().cloned().unwrap_or_default();
    let rows: Vec<Vec<String>> = entries.iter().map(row).collect();
    println!(
        "{}",
        super::output::table(&["WHEN", "BY", "WHAT", "FROM", "TO"], &rows, None)
    );
    Ok(())
}

/// One entry as a row: when, who, what, from, to.
fn row(entry: &Value) -> Vec<String> {
    let at = entry["at"].as_u64().unwrap_or(0);
    let when = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(at),
    )
    .to_string();
    let change = &entry["change"];
    let alias = |value: &Value| match (value["version"].as_u64(), value["canary"].as_object()) {
        (Some(version), Some(canary)) => format!(
            "{version} (+{} at {}%)",
            canary["version"], canary["percent"]
        ),
        (Some(version), None) => version.to_string(),
        _ => "-".to_owned(),
    };
    let text = |value: &Value| value.as_str().unwrap_or("-").to_owned();
    let field = |name: &str| text(&change[name]);
    let (what, from, to) = match change["kind"].as_str() {
        Some("alias") => {
            let what = format!("alias {}@{}", field("module"), field("alias"));
            (what, alias(&change["from"]), alias(&change["to"]))
        }
        _ => {
            let what = format!("route {} {}", field("method"), field("path"));
            (what, field("from"), field("to"))
        }
    };
    vec![when, text(&entry["by"]), what, from, to]
}

pub(super) fn rollback(args: RollbackArgs) -> anyhow::Result<()> {
    let (module, alias) = args
        .alias
        .split_once('@')
        .with_context(|| format!("name the alias as module@alias, not `{}`", args.alias))?;
    let client = AdminClient::new(&args.admin)?;
    let path = format!(
        "/modules/{}/aliases/{}/rollback",
        encode(module),
        encode(alias)
    );
    let answer = client.send(reqwest::Method::POST, &path, None)?;
    if args.admin.json {
        println!("{answer}");
    } else {
        println!(
            "alias {module}@{alias}: version {} → {}",
            answer["from"]["version"], answer["version"]
        );
    }
    Ok(())
}

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}
