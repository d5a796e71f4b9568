//! The client commands `deploy`, `alias` and `invoke`. Tables for people by default, the
//! admin API's JSON with `--json` (`output.rs`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use serde_json::{Value, json};

use super::args::{body, name_values, split_route};
use super::client::{AdminArgs, AdminClient};
use super::output::{encode, kib, print_json, show, text};
use super::progress::UploadProgress;

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
    /// Let --alias gain capabilities: interfaces the new version imports and the alias's
    /// versions do not (`wasi:http/outgoing-handler`, say).
    #[arg(long, requires = "alias")]
    approve_capabilities: bool,
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
    /// Let the alias gain capabilities: interfaces the versions it will run import and the
    /// ones it runs now do not (`wasi:http/outgoing-handler`, say).
    #[arg(long)]
    approve_capabilities: bool,
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
    /// The request body: text, `@FILE` (any bytes) or `@-` (stdin).
    #[arg(short = 'd', long, value_name = "BODY|@FILE")]
    data: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
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
    if args.approve_capabilities {
        query.push_str("&approve_capabilities=true");
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
    let progress = UploadProgress::new(bytes.len() as u64, !args.admin.json);
    let path = format!("/modules/{}?{query}", encode(&args.name));
    let upload = client.post(&path, progress.body(bytes));
    progress.finish();
    let upload = upload?;
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
    for (alias, gained) in upload["capabilities"].as_object().into_iter().flatten() {
        let gained: Vec<String> = gained.as_array().into_iter().flatten().map(text).collect();
        println!(
            "{}@{version} can reach what {}@{alias} cannot: {} (moving the alias there needs \
             --approve-capabilities)",
            args.name,
            args.name,
            gained.join(", ")
        );
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
        body["variables"] = Value::Object(name_values(&args.variables, "--var")?);
    }
    if args.approve_capabilities {
        body["approve_capabilities"] = json!(true);
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
    let (method, path) = split_route(&args.request)?;
    let client = AdminClient::new(&args.admin)?;
    let mut headers = serde_json::Map::new();
    for header in &args.headers {
        let (name, value) = header
            .split_once(':')
            .with_context(|| format!("a header is `Name: value`, not `{header}`"))?;
        headers.insert(name.trim().to_owned(), json!(value.trim()));
    }
    let mut request = json!({ "method": method, "path": path, "headers": headers });
    if let Some(data) = &args.data {
        // Text as it is; other bytes (an image, a protobuf) in base64.
        match String::from_utf8(body(data)?) {
            Ok(text) => request["body"] = json!(text),
            Err(bytes) => {
                use base64::Engine as _;
                let encoded = base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes());
                request["body_base64"] = json!(encoded);
            }
        }
    }
    let answer = client.post("/invoke", request.to_string())?;
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
