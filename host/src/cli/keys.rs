//! `wasmgate keys` and `wasmgate plans`: API keys (create, show, update, enable, disable,
//! rotate, delete; a secret is shown once) and the usage plans they follow.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::client::{AdminArgs, AdminClient, ById, ByName};
use super::output::{encode, print_rows, show, text};

/// `wasmgate keys`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct KeysArgs {
    #[command(subcommand)]
    action: Option<KeysAction>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum KeysAction {
    /// Create a key; its secret is printed once (the gateway keeps only a hash).
    Create {
        /// A name for people (who the key is for).
        name: String,
        /// The usage plan it follows.
        #[arg(long)]
        plan: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show a key (never its secret).
    Show(ById),
    /// Put a key on another plan, or on none.
    Update {
        /// The key's id.
        id: String,
        /// The plan it follows from now on.
        #[arg(long, required_unless_present = "no_plan")]
        plan: Option<String>,
        /// Follow no plan.
        #[arg(long, conflicts_with = "plan")]
        no_plan: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Let a disabled key call again.
    Enable(ById),
    /// Refuse a key's calls (403) until it is enabled.
    Disable(ById),
    /// Give a key a new secret (printed once); the old one stops working.
    Rotate(ById),
    /// Delete a key.
    Delete(ById),
}

pub(super) fn keys(args: KeysArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        let client = AdminClient::new(&args.admin)?;
        return show(&args.admin, &client.get("/keys")?, |answer| {
            print_rows(
                &answer["keys"],
                &["ID", "NAME", "PLAN", "ENABLED", "CREATED"],
                |k| {
                    ["id", "name", "plan", "enabled", "created"]
                        .map(|f| text(&k[f]))
                        .to_vec()
                },
            );
        });
    };
    match action {
        KeysAction::Create { name, plan, admin } => {
            let client = AdminClient::new(&admin)?;
            let answer = client.post("/keys", json!({ "name": name, "plan": plan }).to_string())?;
            show(&admin, &answer, print_secret)
        }
        KeysAction::Show(ById { id, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.get(&format!("/keys/{}", encode(&id)))?;
            show(&admin, &answer, print_key)
        }
        KeysAction::Update {
            id,
            plan,
            no_plan: _,
            admin,
        } => update(&admin, &id, json!({ "plan": plan })),
        KeysAction::Enable(ById { id, admin }) => update(&admin, &id, json!({ "enabled": true })),
        KeysAction::Disable(ById { id, admin }) => update(&admin, &id, json!({ "enabled": false })),
        KeysAction::Rotate(ById { id, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.post(&format!("/keys/{}/rotate", encode(&id)), "")?;
            show(&admin, &answer, print_secret)
        }
        KeysAction::Delete(ById { id, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.delete(&format!("/keys/{}", encode(&id)))?;
            show(&admin, &answer, |_| println!("deleted key {id}"))
        }
    }
}

fn update(admin: &AdminArgs, id: &str, change: Value) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    let answer = client.put_json(&format!("/keys/{}", encode(id)), &change)?;
    show(admin, &answer, print_key)
}

fn print_key(key: &Value) {
    println!(
        "key {} ({}): plan {}, {}",
        text(&key["id"]),
        text(&key["name"]),
        text(&key["plan"]),
        if key["enabled"] == true {
            "enabled"
        } else {
            "disabled"
        }
    );
}

fn print_secret(answer: &Value) {
    println!("id:  {}", text(&answer["id"]));
    println!("key: {}", text(&answer["key"]));
    println!("(shown only now: store it; the gateway keeps only its hash)");
}

/// `wasmgate plans`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct PlansArgs {
    #[command(subcommand)]
    action: Option<PlansAction>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum PlansAction {
    /// Create a usage plan, or replace the one of the same name.
    Set {
        /// Its name, used by keys.
        name: String,
        /// Requests per second each key may make.
        #[arg(long, requires = "burst")]
        rate: Option<f64>,
        /// Requests a key may make at once above the rate.
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// Requests each key may make per period.
        #[arg(long, requires = "period")]
        quota: Option<u64>,
        /// The quota's period.
        #[arg(long, value_parser = ["day", "week", "month"], requires = "quota")]
        period: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Show a plan.
    Show(ByName),
    /// Delete a plan no key follows.
    Delete(ByName),
}

pub(super) fn plans(args: PlansArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        let client = AdminClient::new(&args.admin)?;
        return show(&args.admin, &client.get("/plans")?, |answer| {
            let plans = answer["plans"].as_object().cloned().unwrap_or_default();
            let rows: Vec<Value> = plans
                .into_iter()
                .map(|(name, plan)| json!({ "name": name, "plan": plan }))
                .collect();
            print_rows(&Value::Array(rows), &["NAME", "THROTTLE", "QUOTA"], |p| {
                vec![text(&p["name"]), throttle(&p["plan"]), quota(&p["plan"])]
            });
        });
    };
    match action {
        PlansAction::Set {
            name,
            rate,
            burst,
            quota: limit,
            period,
            admin,
        } => {
            let mut plan = json!({});
            if let (Some(rate), Some(burst)) = (rate, burst) {
                plan["throttle"] = json!({ "rate": rate, "burst": burst });
            }
            if let (Some(limit), Some(period)) = (limit, period) {
                plan["quota"] = json!({ "limit": limit, "period": period });
            }
            let client = AdminClient::new(&admin)?;
            let answer = client.put_json(&format!("/plans/{}", encode(&name)), &plan)?;
            show(&admin, &answer, |answer| print_plan(&name, &answer["plan"]))
        }
        PlansAction::Show(ByName { name, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.get("/plans")?;
            let plan = answer["plans"]
                .get(&name)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("GET /plans: there is no plan `{name}`"))?;
            let answer = json!({ "name": name, "plan": plan });
            show(&admin, &answer, |answer| print_plan(&name, &answer["plan"]))
        }
        PlansAction::Delete(ByName { name, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.delete(&format!("/plans/{}", encode(&name)))?;
            show(&admin, &answer, |_| println!("deleted plan {name}"))
        }
    }
}

/// `plan NAME: throttle …, quota …`.
fn print_plan(name: &str, plan: &Value) {
    println!(
        "plan {name}: throttle {}, quota {}",
        throttle(plan),
        quota(plan)
    );
}

/// `10/s (burst 20)` or `-`.
pub(super) fn throttle(settings: &Value) -> String {
    match &settings["throttle"] {
        Value::Null => "-".to_owned(),
        t => {
            // A whole rate reads as one (`10/s`, not `10.0/s`).
            let rate = match t["rate"].as_f64() {
                Some(rate) if rate.fract() == 0.0 && rate.abs() < 1e15 => {
                    format!("{}", rate as i64)
                }
                _ => text(&t["rate"]),
            };
            format!("{rate}/s (burst {})", text(&t["burst"]))
        }
    }
}

/// `1000/day` or `-`.
fn quota(plan: &Value) -> String {
    match &plan["quota"] {
        Value::Null => "-".to_owned(),
        q => format!("{}/{}", text(&q["limit"]), text(&q["period"])),
    }
}
