//! `wasmgate logs [--route TEMPLATE] [--status 5xx] [--follow]`: the gateway's latest access
//! records, then, with `--follow`, every access record and guest output line as it happens
//! (the admin API's `GET /logs` and `GET /logs/stream`).

use clap::Args;
use serde_json::Value;

use super::client::{AdminArgs, AdminClient};

/// `wasmgate logs`.
#[derive(Debug, Args)]
pub(super) struct LogsArgs {
    /// Only this route (its template, as in `wasmgate routes`).
    #[arg(long, value_name = "TEMPLATE")]
    route: Option<String>,

    /// Only these statuses: a class (`5xx`) or one status (`404`); leaves guest output out.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,

    /// Keep printing records and guest output as they happen, until interrupted or the
    /// gateway stops.
    #[arg(long, short = 'f')]
    follow: bool,

    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn logs(args: LogsArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(route) = &args.route {
        query.append_pair("route", route);
    }
    if let Some(status) = &args.status {
        query.append_pair("status", status);
    }
    let query = query.finish();
    let query = if query.is_empty() {
        query
    } else {
        format!("?{query}")
    };
    let json = args.admin.json;
    let print = |event: Value| -> anyhow::Result<()> {
        if json {
            println!("{event}");
        } else {
            println!("{}", line(&event));
        }
        Ok(())
    };
    let recent = client.get(&format!("/logs{query}"))?;
    for event in recent["events"].as_array().into_iter().flatten() {
        print(event.clone())?;
    }
    if args.follow {
        client.follow(&format!("/logs/stream{query}"), print)?;
    }
    Ok(())
}

/// One event as a line for people: `time status METHOD path (route) ms version principal
/// [request id]`, or `[request id] stream: line` for guest output.
fn line(event: &Value) -> String {
    let text = |key: &str| event[key].as_str().unwrap_or("-").to_owned();
    if event["type"] == "guest" {
        return format!(
            "[{}] {}: {}",
            text("request_id"),
            text("stream"),
            text("line")
        );
    }
    let mut line = format!(
        "{} {} {} {} ({}) {} ms",
        text("time"),
        event["status"],
        text("method"),
        text("path"),
        text("route"),
        event["ms"]
    );
    for key in ["version", "principal", "rejection"] {
        if let Some(value) = event[key].as_str() {
            line.push(' ');
            line.push_str(value);
        }
    }
    line.push_str(&format!(" [{}]", text("request_id")));
    line
}
