//! `wasmgate gateway`: the gateway-wide settings: show them, set or clear the throttle
//! shared by every route (the CORS policy is kept).

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::client::{AdminArgs, AdminClient};
use super::keys::throttle;
use super::output::{show, show_get};

/// `wasmgate gateway`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct GatewayArgs {
    #[command(subcommand)]
    action: Option<GatewayAction>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum GatewayAction {
    /// Set the throttle every route shares: a rate (requests per second) and a burst.
    Throttle {
        /// Requests per second.
        #[arg(long, required_unless_present = "clear", requires = "burst")]
        rate: Option<f64>,
        /// Requests at once above the rate.
        #[arg(long, requires = "rate")]
        burst: Option<u32>,
        /// Remove the gateway-wide throttle.
        #[arg(long, conflicts_with_all = ["rate", "burst"])]
        clear: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub(super) fn gateway(args: GatewayArgs) -> anyhow::Result<()> {
    let Some(GatewayAction::Throttle {
        rate,
        burst,
        clear: _,
        admin,
    }) = args.action
    else {
        return show_get(&args.admin, "/gateway", print_settings);
    };
    let client = AdminClient::new(&admin)?;
    // PUT /gateway replaces every setting: the others go back as they are.
    let mut settings = client.get("/gateway")?;
    settings["throttle"] = match (rate, burst) {
        (Some(rate), Some(burst)) => json!({ "rate": rate, "burst": burst }),
        _ => Value::Null,
    };
    let answer = client.put_json("/gateway", &settings)?;
    show(&admin, &answer, print_settings)
}

fn print_settings(settings: &Value) {
    println!("throttle: {}", throttle(settings));
    match &settings["cors"] {
        Value::Null => println!("cors: -"),
        cors => println!("cors: {cors}"),
    }
}
