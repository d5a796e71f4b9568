//! `wasmgate keys` and `wasmgate plans`: API keys (create, show, update, enable, disable,
//! rotate, delete; a secret is shown once) and the usage plans they follow.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::client::{AdminArgs, AdminClient, ById, ByName};
use super::output::{encode, print_rows, show, show_get, text};

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
        return show_get(&args.admin, "/keys", |answer| {
            print_rows(
                &answer["keys"],
                &["ID", "NAME", "PLAN", "ENABLED", "CREATED", "COMPUTE USED"],
                |k| {
                    let mut row = ["id", "name", "plan", "enabled", "created"]
                        .map(|f| text(&k[f]))
                        .to_vec();
                    row.push(compute_used(&k["compute"]));
                    row
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
            show_get(&admin, &format!("/keys/{}", encode(&id)), print_key)
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
    if key["compute"].is_object() {
        println!("compute used: {}", compute_used(&key["compute"]));
    }
}

/// A key's compute use against its plan's budgets (`12.5/1000 ms CPU this day`), or `-`.
fn compute_used(used: &Value) -> String {
    let Value::Object(_) = used else {
        return "-".to_owned();
    };
    let mut parts = Vec::new();
    if !used["cpu_ms_limit"].is_null() {
        let cpu = used["cpu_ms"].as_f64().unwrap_or_default();
        parts.push(format!("{cpu:.1}/{} ms CPU", text(&used["cpu_ms_limit"])));
    }
    if !used["memory_gb_s_limit"].is_null() {
        let memory = used["memory_gb_s"].as_f64().unwrap_or_default();
        parts.push(format!(
            "{memory:.3}/{} GB-s",
            number(&used["memory_gb_s_limit"])
        ));
    }
    format!("{} this {}", parts.join(", "), text(&used["period"]))
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
        /// Milliseconds of guest CPU time each key may use per compute period.
        #[arg(long, requires = "compute_period")]
        cpu_ms: Option<u64>,
        /// GB-seconds of guest memory (peak memory times run time) each key may use per
        /// compute period.
        #[arg(long, requires = "compute_period")]
        memory_gb_s: Option<f64>,
        /// The compute quota's period.
        #[arg(long, value_parser = ["day", "week", "month"])]
        compute_period: Option<String>,
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
        return show_get(&args.admin, "/plans", |answer| {
            let plans = answer["plans"].as_object().cloned().unwrap_or_default();
            let rows: Vec<Value> = plans
                .into_iter()
                .map(|(name, plan)| json!({ "name": name, "plan": plan }))
                .collect();
            let columns = ["NAME", "THROTTLE", "QUOTA", "COMPUTE"];
            print_rows(&Value::Array(rows), &columns, |p| {
                let plan = &p["plan"];
                vec![text(&p["name"]), throttle(plan), quota(plan), compute(plan)]
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
            cpu_ms,
            memory_gb_s,
            compute_period,
            admin,
        } => {
            let mut plan = json!({});
            if let (Some(rate), Some(burst)) = (rate, burst) {
                plan["throttle"] = json!({ "rate": rate, "burst": burst });
            }
            if let (Some(limit), Some(period)) = (limit, period) {
                plan["quota"] = json!({ "limit": limit, "period": period });
            }
            if let Some(period) = compute_period {
                // Whichever budgets are given; the gateway refuses a compute quota with none.
                let mut compute = json!({ "period": period });
                if let Some(cpu_ms) = cpu_ms {
                    compute["cpu_ms"] = json!(cpu_ms);
                }
                if let Some(memory_gb_s) = memory_gb_s {
                    compute["memory_gb_s"] = json!(memory_gb_s);
                }
                plan["compute"] = compute;
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
    let compute = match compute(plan).as_str() {
        "-" => String::new(),
        budgets => format!(", compute {budgets}"),
    };
    println!(
        "plan {name}: throttle {}, quota {}{compute}",
        throttle(plan),
        quota(plan)
    );
}

/// `10/s (burst 20)` or `-`.
pub(super) fn throttle(settings: &Value) -> String {
    match &settings["throttle"] {
        Value::Null => "-".to_owned(),
        t => {
            format!("{}/s (burst {})", number(&t["rate"]), text(&t["burst"]))
        }
    }
}

/// `60000 ms CPU, 10 GB-s /day` or `-`.
fn compute(plan: &Value) -> String {
    let compute = &plan["compute"];
    if compute.is_null() {
        return "-".to_owned();
    }
    let mut budgets = Vec::new();
    if !compute["cpu_ms"].is_null() {
        budgets.push(format!("{} ms CPU", text(&compute["cpu_ms"])));
    }
    if !compute["memory_gb_s"].is_null() {
        budgets.push(format!("{} GB-s", number(&compute["memory_gb_s"])));
    }
    format!("{}/{}", budgets.join(", "), text(&compute["period"]))
}

/// A number as text, a whole one as one (`10`, not `10.0`).
fn number(value: &Value) -> String {
    match value.as_f64() {
        Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
        _ => text(value),
    }
}

/// `1000/day` or `-`.
fn quota(plan: &Value) -> String {
    match &plan["quota"] {
        Value::Null => "-".to_owned(),
        q => format!("{}/{}", text(&q["limit"]), text(&q["period"])),
    }
}
