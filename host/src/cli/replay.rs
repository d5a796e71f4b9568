//! `wasmgate replay ROUTE --against MODULE@VERSION`: re-runs a route's recordings
//! (`record = {…}`) on another version, with the recorded inputs played back, and prints
//! what of each response differs; `--save-fixtures DIR` also writes the recordings as
//! regression cases, which `--fixtures DIR` replays later. Exits non-zero when any
//! response differs, so a build can run it as a test.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};

use super::args::split_route;
use super::client::{AdminArgs, AdminClient};
use super::output::{encode, show, text};

/// `wasmgate replay`.
#[derive(Debug, Args)]
pub(super) struct ReplayArgs {
    /// The route whose recordings to replay: its id, or `'METHOD /path'`.
    #[arg(required_unless_present = "fixtures", conflicts_with = "fixtures")]
    route: Option<String>,
    /// The version to run them on: `module@3`, `module@alias` or `module` (its latest).
    #[arg(long, value_name = "MODULE@VERSION")]
    against: String,
    /// Also write each recording into DIR as a regression case (one JSON file each).
    #[arg(long, value_name = "DIR")]
    save_fixtures: Option<PathBuf>,
    /// Replay the regression cases in DIR (written by --save-fixtures) instead.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn replay(args: ReplayArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let against = json!(args.against);
    let report = match (&args.route, &args.fixtures) {
        (Some(route), _) => {
            let id = route_id(&client, route)?;
            if let Some(dir) = &args.save_fixtures {
                let saved = save_fixtures(&client, &id, dir)?;
                eprintln!("wrote {saved} fixture(s) into {}", dir.display());
            }
            let body = json!({ "against": against });
            client.post(&format!("/routes/{}/replay", encode(&id)), body.to_string())?
        }
        (None, Some(dir)) => {
            let recordings = read_fixtures(dir)?;
            let body = json!({ "against": against, "recordings": recordings });
            client.post("/replay", body.to_string())?
        }
        (None, None) => bail!("name a route, or --fixtures DIR"),
    };
    show(&args.admin, &report, print_report)?;
    let differing = report["differing"].as_u64().unwrap_or(0);
    if differing > 0 {
        bail!(
            "{differing} of {} replayed recording(s) answered differently",
            text(&report["replayed"])
        );
    }
    Ok(())
}

/// The id of `route`: an id as given, or the id of the route `METHOD /path` names.
fn route_id(client: &AdminClient, route: &str) -> anyhow::Result<String> {
    if !route.contains(' ') && !route.starts_with('/') {
        return Ok(route.to_owned());
    }
    let (method, path) = split_route(route)?;
    let routes = client.get("/routes")?;
    let found = (routes["routes"].as_array().into_iter().flatten()).find(|r| {
        r["method"]
            .as_str()
            .is_some_and(|m| m.eq_ignore_ascii_case(&method))
            && r["path"].as_str() == Some(path.as_str())
    });
    match found.and_then(|r| r["id"].as_str()) {
        Some(id) => Ok(id.to_owned()),
        None => bail!("there is no route `{method} {path}`"),
    }
}

/// Writes every recording of route `id` into `dir`; how many.
fn save_fixtures(client: &AdminClient, id: &str, dir: &Path) -> anyhow::Result<usize> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let listed = client.get(&format!("/routes/{}/recordings?limit=0", encode(id)))?;
    let mut saved = 0;
    for name in listed["ids"].as_array().into_iter().flatten() {
        let name = text(name);
        // The name becomes a file name: letters, digits and `-` only, as the store's.
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            bail!("the admin API named a recording `{name}`, which is not a recording id");
        }
        let path = format!("/routes/{}/recordings/{}", encode(id), encode(&name));
        // One pushed out by a newer recording since the listing is left out.
        let Some(recording) = client.get_if_found(&path)? else {
            continue;
        };
        let path = dir.join(format!("{name}.json"));
        let pretty = serde_json::to_string_pretty(&recording)?;
        std::fs::write(&path, pretty + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        saved += 1;
    }
    Ok(saved)
}

/// The fixtures in `dir` (every `*.json`), by name.
fn read_fixtures(dir: &Path) -> anyhow::Result<Vec<Value>> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no fixtures (*.json)", dir.display());
    }
    paths
        .iter()
        .map(|path| {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a recording", path.display()))
        })
        .collect()
}

fn print_report(report: &Value) {
    println!(
        "replayed {} recording(s) on {}: {} differ",
        text(&report["replayed"]),
        text(&report["against"]),
        text(&report["differing"])
    );
    for result in report["results"].as_array().into_iter().flatten() {
        let differences = result["differences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let verdict = if differences.is_empty() {
            "same"
        } else {
            "DIFFERS"
        };
        println!(
            "{verdict:7} {}  {}  (recorded on {})",
            text(&result["recording"]),
            text(&result["request"]),
            text(&result["recorded_version"])
        );
        for difference in &differences {
            let field = text(&difference["field"]);
            match difference["diff"].as_str() {
                Some(diff) => {
                    println!("    {field}:");
                    for line in diff.lines() {
                        println!("      {line}");
                    }
                }
                None => println!(
                    "    {field}: {} → {}",
                    shown(&difference["recorded"]),
                    shown(&difference["replayed"])
                ),
            }
        }
        for note in result["notes"].as_array().into_iter().flatten() {
            println!("    note: {}", text(note));
        }
    }
}

/// A value as JSON, or `(none)` when absent.
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        other => other.to_string(),
    }
}
