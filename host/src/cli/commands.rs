//! The client commands: `deploy`, `modules`, `routes`, `alias`, `invoke`. Tables for people
//! by default, the admin API's JSON with `--json`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use super::client::{AdminArgs, AdminClient};

/// `wasmgate deploy`.
#[derive(Debug, Args)]
pub(super) struct DeployArgs {
    /// The `.wasm` component (or, with `--executor wagi`, `wasm32-wasip1` command) to upload.
    file: PathBuf,
    /// The module's name (a new version of it is created).
    #[arg(long)]
    name: String,
    /// How it runs: `component` (a `wasi:http` component) or `wagi` (a `wasm32-wasip1`
    /// command speaking CGI).
    #[arg(long, default_value = "component", value_parser = ["component", "wagi"])]
    executor: String,
    /// Also point this alias at the new version (e.g. `prod`).
    #[arg(long)]
    alias: Option<String>,
    /// Also route `METHOD /path` to it (to `NAME@ALIAS` with --alias, else `NAME@VERSION`).
    #[arg(long, value_name = "'METHOD /path'")]
    route: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate modules`.
#[derive(Debug, Args)]
pub(super) struct ModulesArgs {
    /// Show this module's versions and aliases.
    name: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate routes`.
#[derive(Debug, Args)]
pub(super) struct RoutesArgs {
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate alias`.
#[derive(Debug, Args)]
pub(super) struct AliasArgs {
    /// The module.
    module: String,
    /// The alias (e.g. `prod`).
    alias: String,
    /// The version it points at.
    version: u32,
    /// A second version taking a share of the requests, as `VERSION:PERCENT` (e.g. `4:10`).
    #[arg(long, value_name = "VERSION:PERCENT")]
    canary: Option<String>,
    /// A stage variable, `NAME=VALUE` (repeatable; replaces the alias's variables, which
    /// are kept when none is given).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    variables: Vec<String>,
    /// Remove the alias's stage variables.
    #[arg(long, conflicts_with = "variables")]
    no_vars: bool,
    #[command(flatten)]
    admin: AdminArgs,
}

/// `wasmgate invoke`.
#[derive(Debug, Args)]
pub(super) struct InvokeArgs {
    /// The request: `METHOD /path?query` (or just `/path` for GET).
    request: String,
    /// A request header, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    headers: Vec<String>,
    /// The request body.
    #[arg(short = 'd', long)]
    data: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

fn print_json(value: &Value) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Prints the admin API's `answer` as it is with `--json`, else for people with `human`.
fn show(admin: &AdminArgs, answer: &Value, human: impl FnOnce(&Value)) -> anyhow::Result<()> {
    if admin.json {
        return print_json(answer);
    }
    human(answer);
    Ok(())
}

/// Prints `items` (a JSON array) as a table, one row per item.
fn print_rows(items: &Value, header: &[&str], row: impl Fn(&Value) -> Vec<String>) {
    let rows: Vec<Vec<String>> = items.as_array().into_iter().flatten().map(row).collect();
    println!("{}", table(header, &rows));
}

/// Columns padded to their widest cell.
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// `METHOD /path` → (method, path).
fn split_route(route: &str) -> anyhow::Result<(String, String)> {
    match route.trim().split_once(' ') {
        Some((method, path)) => Ok((method.to_owned(), path.trim().to_owned())),
        None if route.starts_with('/') => Ok(("GET".into(), route.to_owned())),
        None => bail!("`{route}` is not `METHOD /path`"),
    }
}

pub(super) fn deploy(args: DeployArgs) -> anyhow::Result<()> {
    // Every argument is checked before anything is sent; the gateway checks the rest
    // (route conflicts, the authorizer) before it compiles, and uploads, points the alias
    // and adds the route in one change: a refused deploy changes nothing.
    let route = args.route.as_deref().map(split_route).transpose()?;
    let mut query = format!("executor={}", args.executor);
    if let Some(alias) = &args.alias {
        crate::config::check_alias_name(alias).map_err(anyhow::Error::msg)?;
        query.push_str(&format!("&alias={}", encode(alias)));
    }
    if let Some((method, path)) = &route {
        query.push_str(&format!("&route={}", encode(&format!("{method} {path}"))));
    }
    crate::config::ModuleName::new(&args.name).map_err(anyhow::Error::msg)?;
    let client = AdminClient::new(&args.admin)?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    if !args.admin.json {
        eprintln!(
            "uploading {} ({}) as `{}`…",
            args.file.display(),
            kib(bytes.len() as u64),
            args.name
        );
    }
    let started = Instant::now();
    let upload = client.post(&format!("/modules/{}?{query}", encode(&args.name)), bytes)?;
    if args.admin.json {
        return print_json(&upload);
    }
    let version = text(&upload["version"]);
    let sha = text(&upload["sha256"]);
    println!(
        "{}@{version}: {} (sha256 {}…) in {} ms",
        args.name,
        if upload["created"] == true {
            "new version"
        } else {
            "already deployed, same bytes"
        },
        &sha[..sha.len().min(12)],
        started.elapsed().as_millis()
    );
    if let Some(alias) = &args.alias {
        println!("alias {}@{alias} → version {version}", args.name);
    }
    if let Some(route) = upload.get("route") {
        println!(
            "route {} {} → {} (id {})",
            text(&route["method"]),
            text(&route["path"]),
            text(&route["module"]),
            text(&route["id"])
        );
    }
    Ok(())
}

/// `value` percent-encoded for a path segment or a query value.
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub(super) fn modules(args: ModulesArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let Some(name) = &args.name else {
        return show(&args.admin, &client.get("/modules")?, |answer| {
            print_rows(
                &answer["modules"],
                &["NAME", "LATEST", "VERSIONS", "ALIASES"],
                |m| {
                    let aliases: Vec<String> = m["aliases"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(alias, a)| format!("{alias}→{}", text(&a["version"])))
                        .collect();
                    vec![
                        text(&m["name"]),
                        text(&m["latest"]),
                        m["versions"].as_array().map_or(0, Vec::len).to_string(),
                        aliases.join(" "),
                    ]
                },
            );
        });
    };
    let answer = client.get(&format!("/modules/{name}"))?;
    show(&args.admin, &answer, |answer| {
        print_rows(
            &answer["versions"],
            &["VERSION", "SHA256", "SIZE", "CREATED"],
            |v| {
                vec![
                    text(&v["version"]),
                    text(&v["sha256"]),
                    kib(v["size"].as_u64().unwrap_or(0)),
                    text(&v["created"]),
                ]
            },
        );
        for (alias, a) in answer["aliases"].as_object().into_iter().flatten() {
            let canary = match a.get("canary") {
                Some(c) if !c.is_null() => {
                    format!(" (canary: version {} at {}%)", c["version"], c["percent"])
                }
                _ => String::new(),
            };
            println!("alias {name}@{alias} → version {}{canary}", a["version"]);
        }
    })
}

pub(super) fn routes(args: RoutesArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    show(&args.admin, &client.get("/routes")?, |answer| {
        print_rows(
            &answer["routes"],
            &["ID", "METHOD", "PATH", "RUNS", "SOURCE"],
            |r| {
                let runs = match r["mock"]["status"].as_u64() {
                    Some(status) => format!("mock {status}"),
                    None => text(&r["module"]),
                };
                let [id, method, path, source] =
                    ["id", "method", "path", "source"].map(|field| text(&r[field]));
                vec![id, method, path, runs, source]
            },
        );
    })
}

pub(super) fn alias(args: AliasArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let mut body = json!({ "version": args.version });
    if let Some(canary) = &args.canary {
        let (version, percent) = canary
            .split_once(':')
            .and_then(|(v, p)| {
                Some((
                    v.parse::<u32>().ok()?,
                    p.trim_end_matches('%').parse::<u8>().ok()?,
                ))
            })
            .with_context(|| format!("--canary takes VERSION:PERCENT, not `{canary}`"))?;
        body["canary"] = json!({ "version": version, "percent": percent });
    }
    if args.no_vars || !args.variables.is_empty() {
        let mut variables = serde_json::Map::new();
        for variable in &args.variables {
            let (name, value) = variable
                .split_once('=')
                .with_context(|| format!("--var takes NAME=VALUE, not `{variable}`"))?;
            variables.insert(name.to_owned(), value.into());
        }
        body["variables"] = Value::Object(variables);
    }
    let answer = client.put_json(
        &format!("/modules/{}/aliases/{}", args.module, args.alias),
        &body,
    )?;
    show(&args.admin, &answer, |answer| {
        let canary = match &answer["canary"] {
            Value::Null => String::new(),
            c => format!(" (canary: version {} at {}%)", c["version"], c["percent"]),
        };
        println!(
            "alias {}@{} → version {}{canary}",
            args.module, args.alias, answer["version"]
        );
    })
}

pub(super) fn invoke(args: InvokeArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let (method, path) = split_route(&args.request)?;
    let mut headers = serde_json::Map::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("a header is `Name: value`, not `{header}`"))?;
        headers.insert(name.trim().to_owned(), json!(value.trim()));
    }
    let mut body = json!({ "method": method, "path": path, "headers": headers });
    if let Some(data) = &args.data {
        body["body"] = json!(data);
    }
    let answer = client.post("/invoke", body.to_string())?;
    show(&args.admin, &answer, |answer| {
        let response = &answer["response"];
        let timing = &answer["timing_ms"];
        let ms = |v: &Value| {
            v.as_f64()
                .map_or("-".to_owned(), |ms| format!("{ms:.2} ms"))
        };
        println!(
            "HTTP {} from {} in {} (instantiate {}, run {})",
            response["status"],
            text(&answer["version"]),
            ms(&timing["total"]),
            ms(&timing["instantiate"]),
            ms(&timing["run"]),
        );
        for (name, value) in response["headers"].as_object().into_iter().flatten() {
            println!("{name}: {}", text(value));
        }
        println!();
        match (&response["body"], &response["body_base64"]) {
            (Value::String(body), _) => println!("{body}"),
            (_, Value::String(encoded)) => println!("(binary body, base64) {encoded}"),
            _ => {}
        }
        for stream in ["stdout", "stderr"] {
            if let Some(output) = answer[stream].as_str().filter(|s| !s.is_empty()) {
                println!("--- handler {stream} ---\n{}", output.trim_end());
            }
        }
    })
}
