//! `wasmgate modules`: list the modules, show one, delete a version or an alias, and set a
//! module's environment or outbound hosts.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::args::name_values;
use super::client::{AdminArgs, AdminClient};
use super::output::{encode, kib, print_rows, show, text};

/// `wasmgate modules`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct ModulesArgs {
    #[command(subcommand)]
    action: Option<ModulesAction>,
    /// Show this module's versions and aliases (without one: every module).
    name: Option<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum ModulesAction {
    /// Delete a version no route or alias uses.
    DeleteVersion {
        /// The module.
        module: String,
        /// The version.
        version: u32,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Delete an alias no route uses.
    DeleteAlias {
        /// The module.
        module: String,
        /// The alias.
        alias: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Set the environment variables of the module's instances, replacing them (its
    /// outbound hosts are kept).
    Env {
        /// The module.
        module: String,
        /// A variable, `NAME=VALUE` (none with --clear).
        #[arg(value_name = "NAME=VALUE", required_unless_present = "clear")]
        variables: Vec<String>,
        /// Remove every variable.
        #[arg(long, conflicts_with = "variables")]
        clear: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Set the origins the module's outbound HTTP requests may reach, replacing them (its
    /// environment is kept).
    Outbound {
        /// The module.
        module: String,
        /// An origin, e.g. `https://api.example.com` (none with --clear).
        #[arg(value_name = "ORIGIN", required_unless_present = "clear")]
        origins: Vec<String>,
        /// Allow none.
        #[arg(long, conflicts_with = "origins")]
        clear: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub(super) fn modules(args: ModulesArgs) -> anyhow::Result<()> {
    match args.action {
        None => match &args.name {
            None => list(&args.admin),
            Some(name) => show_module(&args.admin, name),
        },
        Some(ModulesAction::DeleteVersion {
            module,
            version,
            admin,
        }) => {
            let client = AdminClient::new(&admin)?;
            let path = format!("/modules/{}/versions/{version}", encode(&module));
            let answer = client.delete(&path)?;
            show(&admin, &answer, |_| {
                println!("deleted {module}@{version}");
            })
        }
        Some(ModulesAction::DeleteAlias {
            module,
            alias,
            admin,
        }) => {
            let client = AdminClient::new(&admin)?;
            let path = format!("/modules/{}/aliases/{}", encode(&module), encode(&alias));
            let answer = client.delete(&path)?;
            show(&admin, &answer, |_| {
                println!("deleted alias {module}@{alias}")
            })
        }
        Some(ModulesAction::Env {
            module,
            variables,
            clear: _,
            admin,
        }) => {
            let env = name_values(&variables, "an environment variable")?;
            set_config(&admin, &module, json!({ "env": env }))
        }
        Some(ModulesAction::Outbound {
            module,
            origins,
            clear: _,
            admin,
        }) => set_config(
            &admin,
            &module,
            json!({ "allowed_outbound_hosts": origins }),
        ),
    }
}

/// Changes the part of a module's configuration `patch` names.
fn set_config(admin: &AdminArgs, module: &str, patch: Value) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    let answer = client.patch_json(&format!("/modules/{}/config", encode(module)), &patch)?;
    show(admin, &answer, |answer| {
        let config = &answer["config"];
        let names: Vec<&String> = config["env"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, _)| n)
            .collect();
        let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
        let hosts: Vec<String> = config["allowed_outbound_hosts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        println!("{module}: environment {}", list_or_none(&names));
        println!(
            "{module}: outbound hosts {}",
            list_or_none(&hosts.iter().map(String::as_str).collect::<Vec<_>>())
        );
    })
}

fn list_or_none(items: &[&str]) -> String {
    if items.is_empty() {
        "(none)".to_owned()
    } else {
        items.join(", ")
    }
}

fn list(admin: &AdminArgs) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    show(admin, &client.get("/modules")?, |answer| {
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
    })
}

fn show_module(admin: &AdminArgs, name: &str) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    let answer = client.get(&format!("/modules/{}", encode(name)))?;
    show(admin, &answer, |answer| {
        print_rows(
            &answer["versions"],
            &["VERSION", "EXECUTOR", "SHA256", "SIZE", "CREATED"],
            |v| {
                vec![
                    text(&v["version"]),
                    text(&v["executor"]),
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
        let config = &answer["config"];
        if let Some(env) = config["env"].as_object().filter(|env| !env.is_empty()) {
            let names: Vec<&str> = env.keys().map(String::as_str).collect();
            println!("environment: {} (values not shown)", names.join(", "));
        }
        if let Some(hosts) = config["allowed_outbound_hosts"].as_array() {
            let hosts: Vec<String> = hosts.iter().map(text).collect();
            println!("outbound hosts: {}", hosts.join(", "));
        }
    })
}
