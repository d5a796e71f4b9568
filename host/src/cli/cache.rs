//! `wasmgate cache clear ROUTE [--path PATH]`: forgets the responses a route's cache keeps
//! (the admin API's `DELETE /routes/{id}/cache`).

use clap::{Args, Subcommand};

use super::client::{AdminArgs, AdminClient};
use super::output::encode;

/// `wasmgate cache`.
#[derive(Debug, Args)]
pub(super) struct CacheArgs {
    #[command(subcommand)]
    action: CacheAction,
}

#[derive(Debug, Subcommand)]
enum CacheAction {
    /// Forget the responses a route keeps: all of them, or those of one path.
    Clear {
        /// The route's id (`wasmgate routes` lists them).
        route: String,
        /// Only the responses to this path (as requested, e.g. `/items/7`).
        #[arg(long)]
        path: Option<String>,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

pub(super) fn cache(args: CacheArgs) -> anyhow::Result<()> {
    let CacheAction::Clear { route, path, admin } = args.action;
    let client = AdminClient::new(&admin)?;
    let mut endpoint = format!("/routes/{}/cache", encode(&route));
    if let Some(path) = &path {
        endpoint.push_str(&format!("?path={}", encode(path)));
    }
    let answer = client.delete(&endpoint)?;
    if admin.json {
        println!("{answer}");
    } else {
        match &path {
            Some(path) => println!("route {route}: kept responses to {path} forgotten"),
            None => println!("route {route}: kept responses forgotten"),
        }
    }
    Ok(())
}
