//! `wasmgate routes`: list the routes, add (or replace) one, show, delete, its live
//! counts, and its recordings.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::args::{settings, split_route};
use super::client::{AdminArgs, AdminClient, ById};
use super::output::{encode, print_rows, show, show_get, text};

/// `wasmgate routes`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct RoutesArgs {
    #[command(subcommand)]
    action: Option<RoutesAction>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum RoutesAction {
    /// Create a route, or replace the one with the same method and path.
    Add(AddRoute),
    /// Show a route with all its settings.
    Show(ById),
    /// Delete a route.
    Delete(ById),
    /// A route's live counts: in flight, queued, throttled and rejected.
    Stats(ById),
    /// A recording route's newest recordings (`record = {…}`), for `wasmgate replay`.
    Recordings(ById),
}

/// `wasmgate routes add`.
#[derive(Debug, Args)]
struct AddRoute {
    /// The route: `METHOD /path` (e.g. `GET /items/{id}`).
    #[arg(value_name = "'METHOD /path'")]
    route: String,
    /// The module it runs: `name` (its latest version), `name@3` or `name@alias`.
    #[arg(long, conflicts_with = "proxy")]
    module: Option<String>,
    /// An upstream URL it forwards to instead (`{name}`: a path parameter).
    #[arg(long)]
    proxy: Option<String>,
    /// The authorizer that must allow a request first.
    #[arg(long)]
    authorizer: Option<String>,
    /// Time one invocation may take, in milliseconds.
    #[arg(long)]
    timeout_ms: Option<u64>,
    /// Memory of one instance, in MiB.
    #[arg(long)]
    memory_mb: Option<u64>,
    /// Callers must send an API key.
    #[arg(long)]
    api_key_required: bool,
    /// Any other setting, as in a manifest's `[[routes]]`, its value JSON:
    /// `--set 'throttle={"rate": 10, "burst": 20}'` (repeatable).
    #[arg(long = "set", value_name = "KEY=JSON")]
    settings: Vec<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn routes(args: RoutesArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        return list(&args.admin);
    };
    match action {
        RoutesAction::Add(add) => add_route(add),
        RoutesAction::Show(ById { id, admin }) => {
            show_get(&admin, &format!("/routes/{}", encode(&id)), print_fields)
        }
        RoutesAction::Delete(ById { id, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.delete(&format!("/routes/{}", encode(&id)))?;
            show(&admin, &answer, |answer| {
                let deleted = &answer["deleted"];
                println!(
                    "deleted route {} {} (id {id})",
                    text(&deleted["method"]),
                    text(&deleted["path"])
                );
            })
        }
        RoutesAction::Recordings(ById { id, admin }) => show_get(
            &admin,
            &format!("/routes/{}/recordings", encode(&id)),
            print_recordings,
        ),
        RoutesAction::Stats(ById { id, admin }) => show_get(
            &admin,
            &format!("/routes/{}/stats", encode(&id)),
            |answer| print_fields(&answer["stats"]),
        ),
    }
}

fn add_route(add: AddRoute) -> anyhow::Result<()> {
    let (method, path) = split_route(&add.route)?;
    let key_required = add.api_key_required.then_some(Value::Bool(true));
    let options = [
        ("method", Some(json!(method))),
        ("path", Some(json!(path))),
        ("module", add.module.map(Value::from)),
        ("proxy", add.proxy.map(Value::from)),
        ("authorizer", add.authorizer.map(Value::from)),
        ("timeout_ms", add.timeout_ms.map(Value::from)),
        ("memory_mb", add.memory_mb.map(Value::from)),
        ("api_key_required", key_required),
    ];
    let route = settings(&add.settings, options)?;
    let client = AdminClient::new(&add.admin)?;
    let answer = client.put_json("/routes", &Value::Object(route))?;
    show(&add.admin, &answer, |answer| {
        println!(
            "route {} {} → {} (id {})",
            text(&answer["method"]),
            text(&answer["path"]),
            runs(answer),
            text(&answer["id"])
        );
    })
}

/// What a route runs: its module, `proxy URL` or `mock STATUS`.
fn runs(route: &Value) -> String {
    if let Some(status) = route["mock"]["status"].as_u64() {
        return format!("mock {status}");
    }
    match &route["proxy"] {
        Value::Null => text(&route["module"]),
        Value::String(url) => format!("proxy {url}"),
        table => format!("proxy {}", text(&table["url"])),
    }
}

fn list(admin: &AdminArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    show(admin, &client.get("/routes")?, |answer| {
        print_rows(
            &answer["routes"],
            &["ID", "METHOD", "PATH", "RUNS", "AUTHORIZER", "SOURCE"],
            |r| {
                let [id, method, path, authorizer, source] =
                    ["id", "method", "path", "authorizer", "source"].map(|field| text(&r[field]));
                vec![id, method, path, runs(r), authorizer, source]
            },
        );
    })
}

/// A route's recordings, newest first, and how many it keeps.
fn print_recordings(answer: &Value) {
    print_rows(
        &answer["recordings"],
        &["ID", "RECORDED", "VERSION", "STATUS", "REQUEST"],
        |r| {
            let at = r["recorded_at_ms"].as_u64().unwrap_or(0);
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at);
            let [id, version, status, request] =
                ["id", "version", "status", "request"].map(|field| text(&r[field]));
            let when = humantime::format_rfc3339_seconds(when).to_string();
            vec![id, when, version, status, request]
        },
    );
    println!("{} recording(s) kept", text(&answer["count"]));
}

/// An object's fields, one `key: value` line each (objects as compact JSON).
fn print_fields(answer: &Value) {
    for (key, value) in answer.as_object().into_iter().flatten() {
        println!("{key}: {}", text(value));
    }
}
