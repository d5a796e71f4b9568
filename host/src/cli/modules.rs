//! `wasmgate modules`: list the modules, show one, delete a version or an alias, and set a
//! module's environment, outbound hosts, variables, secrets or key-value stores.

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
    Env(Variables),
    /// Set the variables its instances read through `wasi:config/store`, replacing them.
    Vars(Variables),
    /// Set a secret from stdin (stored sealed, never shown back), or delete it.
    Secret {
        /// The module.
        module: String,
        /// The secret's name (what `wasi:config/store` gives it as).
        name: String,
        /// Delete the secret instead.
        #[arg(long)]
        delete: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Set the key-value stores its instances may open, replacing them.
    Stores {
        /// The module.
        module: String,
        /// A store's name, e.g. `default` (none with --clear).
        #[arg(value_name = "STORE", required_unless_present = "clear")]
        stores: Vec<String>,
        /// Allow none.
        #[arg(long, conflicts_with = "stores")]
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

/// `NAME=VALUE` pairs that replace one of a module's sets (`env`, `vars`).
#[derive(Debug, Args)]
struct Variables {
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
}

impl Variables {
    /// Replaces the module's `field` (`env` or `variables`) with these pairs; `what` names
    /// one in messages.
    fn replace(self, field: &str, what: &str) -> anyhow::Result<()> {
        let pairs = name_values(&self.variables, what)?;
        set_config(&self.admin, &self.module, json!({ field: pairs }))
    }
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
        Some(ModulesAction::Env(env)) => env.replace("env", "an environment variable"),
        Some(ModulesAction::Vars(vars)) => vars.replace("variables", "a variable"),
        Some(ModulesAction::Stores {
            module,
            stores,
            clear: _,
            admin,
        }) => set_config(&admin, &module, json!({ "key_value_stores": stores })),
        Some(ModulesAction::Secret {
            module,
            name,
            delete,
            admin,
        }) => secret(&admin, &module, &name, delete),
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

/// Sets the secret `name` from stdin (one trailing newline dropped), or deletes it.
fn secret(admin: &AdminArgs, module: &str, name: &str, delete: bool) -> anyhow::Result<()> {
    let client = AdminClient::new(admin)?;
    let path = format!("/modules/{}/secrets/{}", encode(module), encode(name));
    if delete {
        let answer = client.delete(&path)?;
        return show(admin, &answer, |_| {
            println!("deleted secret {name} of {module}")
        });
    }
    let mut value = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut value)
        .map_err(|e| anyhow::anyhow!("cannot read the secret from stdin: {e}"))?;
    let value = value.strip_suffix('\n').unwrap_or(&value);
    let value = value.strip_suffix('\r').unwrap_or(value).to_owned();
    let answer = client.send(reqwest::Method::PUT, &path, Some(value.into()))?;
    show(admin, &answer, |_| {
        println!("secret {name} of {module} stored (sealed; never shown back)");
    })
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
        if let Some(stores) = config["key_value_stores"].as_array() {
            let stores: Vec<String> = stores.iter().map(text).collect();
            println!("key-value stores: {}", stores.join(", "));
        }
        if let Some(variables) = config["variables"].as_object() {
            let pairs: Vec<String> = variables
                .iter()
                .map(|(n, v)| format!("{n}={}", text(v)))
                .collect();
            println!("variables: {}", pairs.join(", "));
        }
        if let Some(secrets) = answer["secrets"].as_array().filter(|s| !s.is_empty()) {
            let names: Vec<String> = secrets.iter().map(text).collect();
            println!("secrets: {} (values never shown)", names.join(", "));
        }
    })
}
