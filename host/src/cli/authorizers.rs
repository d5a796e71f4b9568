//! `wasmgate authorizers`: list, show, create or update (`set`), and delete authorizers.

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::args::settings;
use super::client::{AdminArgs, AdminClient, ByName};
use super::output::{encode, print_rows, show, show_get, text};

/// `wasmgate authorizers`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(super) struct AuthorizersArgs {
    #[command(subcommand)]
    action: Option<AuthorizersAction>,
    #[command(flatten)]
    admin: AdminArgs,
}

#[derive(Debug, Subcommand)]
enum AuthorizersAction {
    /// Create an authorizer, or replace the one of the same name (secrets are never shown
    /// back).
    Set(SetAuthorizer),
    /// Show an authorizer.
    Show(ByName),
    /// Delete an authorizer no route uses.
    Delete(ByName),
    /// Make an authorizer's shadow its module (the shadow's decisions become the live ones).
    Promote(ByName),
}

/// `wasmgate authorizers set`.
#[derive(Debug, Args)]
struct SetAuthorizer {
    /// Its name, used by routes' `authorizer`.
    name: String,
    /// `token` (a module given the token), `request` (a module given identity sources) or
    /// `jwt` (built in).
    #[arg(long = "type", value_name = "TYPE", value_parser = ["token", "request", "jwt"])]
    kind: Option<String>,
    /// The authorizer module: `name`, `name@3` or `name@alias`.
    #[arg(long)]
    module: Option<String>,
    /// JWT: the required issuer (`iss`).
    #[arg(long)]
    issuer: Option<String>,
    /// JWT: an accepted audience (repeatable).
    #[arg(long)]
    audience: Vec<String>,
    /// JWT: the URL of the signing keys (a JWKS).
    #[arg(long)]
    jwks_url: Option<String>,
    /// Seconds a decision is reused for the same identity.
    #[arg(long)]
    ttl_seconds: Option<u64>,
    /// Any other setting, as in a manifest's `[[authorizers]]`, its value JSON:
    /// `--set 'identity_sources=["header:X-Key"]'` (repeatable).
    #[arg(long = "set", value_name = "KEY=JSON")]
    settings: Vec<String>,
    #[command(flatten)]
    admin: AdminArgs,
}

pub(super) fn authorizers(args: AuthorizersArgs) -> anyhow::Result<()> {
    let Some(action) = args.action else {
        return show_get(&args.admin, "/authorizers", |answer| {
            print_rows(
                &answer["authorizers"],
                &["NAME", "TYPE", "MODULE OR ISSUER", "TTL"],
                |a| {
                    let source = match &a["module"] {
                        Value::Null => text(&a["issuer"]),
                        module => text(module),
                    };
                    let kind = match &a["type"] {
                        Value::Null => "token".to_owned(),
                        kind => text(kind),
                    };
                    vec![text(&a["name"]), kind, source, text(&a["ttl_seconds"])]
                },
            );
        });
    };
    match action {
        AuthorizersAction::Set(set) => set_authorizer(set),
        AuthorizersAction::Show(ByName { name, admin }) => show_get(
            &admin,
            &format!("/authorizers/{}", encode(&name)),
            |answer| {
                for (key, value) in answer.as_object().into_iter().flatten() {
                    println!("{key}: {}", text(value));
                }
            },
        ),
        AuthorizersAction::Promote(ByName { name, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.post(&format!("/authorizers/{}/promote", encode(&name)), "")?;
            show(&admin, &answer, |answer| {
                println!("authorizer {name} now runs {}", text(&answer["module"]));
            })
        }
        AuthorizersAction::Delete(ByName { name, admin }) => {
            let client = AdminClient::new(&admin)?;
            let answer = client.delete(&format!("/authorizers/{}", encode(&name)))?;
            show(&admin, &answer, |_| println!("deleted authorizer {name}"))
        }
    }
}

fn set_authorizer(set: SetAuthorizer) -> anyhow::Result<()> {
    let audience = (!set.audience.is_empty()).then(|| json!(set.audience));
    let options = [
        ("name", Some(json!(set.name))),
        ("type", set.kind.map(Value::from)),
        ("module", set.module.map(Value::from)),
        ("issuer", set.issuer.map(Value::from)),
        ("jwks_url", set.jwks_url.map(Value::from)),
        ("ttl_seconds", set.ttl_seconds.map(Value::from)),
        ("audience", audience),
    ];
    let config = settings(&set.settings, options)?;
    let client = AdminClient::new(&set.admin)?;
    let answer = client.put_json("/authorizers", &Value::Object(config))?;
    show(&set.admin, &answer, |answer| {
        println!("authorizer {} set", text(&answer["name"]));
    })
}
