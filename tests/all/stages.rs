//! Stage variables: per-alias settings a handler reads through `wasmgate:gateway/context`
//! (and a WAGI command through `X_STAGE_*`), changed without a new version, kept when the
//! alias moves, recorded in the history.

use serde_json::json;

use crate::support::{AdminClient, Gateway, guests, module, route, run};

/// The probe as module `p` (version 1), alias `live`, and `GET /s/{action}` → `p@live`.
async fn staged(gateway: &Gateway, variables: serde_json::Value) -> AdminClient {
    let admin = AdminClient::new(gateway);
    let probe = std::fs::read(guests::PROBE).expect("probe.wasm");
    assert_eq!(admin.upload("p", probe).await.1["version"], 1);
    let (status, body) = admin
        .put(
            "/modules/p/aliases/live",
            json!({ "version": 1, "variables": variables }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    admin.put_route("GET", "/s/{action}", "p@live").await;
    admin.put_route("GET", "/direct/{action}", "p@1").await;
    admin
}

/// `wasmgate alias p live 1 EXTRA…` against `gateway`, which must succeed.
fn alias_from_cli(gateway: &Gateway, extra: &[&str]) {
    let (token, admin_url) = (gateway.admin_token(), gateway.admin_url(""));
    let mut args = vec!["alias", "p", "live", "1"];
    args.extend(extra);
    args.extend(["--admin-url", &admin_url, "--admin-token", &token]);
    let (status, _, stderr) = run(&args, std::path::Path::new("."));
    assert!(status.success(), "{stderr}");
}

async fn variable(gateway: &Gateway, route: &str, name: &str) -> String {
    let response = gateway.get(&format!("/{route}/stage?name={name}")).await;
    assert_eq!(response.status(), 200);
    response.text().await.expect("body")
}

#[tokio::test]
async fn handlers_read_their_aliass_variables_which_change_without_a_new_version() {
    let gateway = Gateway::start("");
    let admin = staged(&gateway, json!({ "database": "prod-db", "mode": "fast" })).await;
    assert_eq!(variable(&gateway, "s", "database").await, "prod-db");
    // A route to a version, not an alias, has none.
    assert_eq!(variable(&gateway, "direct", "database").await, "(none)");

    // New values, same version: served at once.
    let (status, body) = admin
        .put(
            "/modules/p/aliases/live",
            json!({ "version": 1, "variables": { "database": "replica" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["variables"], json!({ "database": "replica" }));
    assert_eq!(variable(&gateway, "s", "database").await, "replica");
    assert_eq!(variable(&gateway, "s", "mode").await, "(none)");

    // Set without variables (as a move would be), the alias keeps them; the CLI sets them.
    admin
        .put("/modules/p/aliases/live", json!({ "version": 1 }))
        .await;
    assert_eq!(variable(&gateway, "s", "database").await, "replica");
    alias_from_cli(&gateway, &["--var", "database=from-cli"]);
    assert_eq!(variable(&gateway, "s", "database").await, "from-cli");
    alias_from_cli(&gateway, &["--no-vars"]);
    assert_eq!(variable(&gateway, "s", "database").await, "(none)");

    // Every change is in the history, variables included.
    let (_, history) = admin.get("/history?limit=2").await;
    assert_eq!(
        history["history"][0]["change"]["from"]["variables"],
        json!({ "database": "from-cli" })
    );
    assert!(
        history["history"][0]["change"]["to"]
            .get("variables")
            .is_none()
    );
}

#[tokio::test]
async fn invalid_variables_are_refused_and_nothing_changes() {
    let gateway = Gateway::start("");
    let admin = staged(&gateway, json!({ "database": "prod-db" })).await;
    for (variables, expected) in [
        (
            json!({ "bad-name": "x" }),
            "variables.bad-name: a stage variable's name is 1 to 64 letters, digits and `_`",
        ),
        (
            json!({ "big": "x".repeat(513) }),
            "variables.big: a stage variable's value is at most 512 bytes",
        ),
    ] {
        admin
            .put_refused(
                "/modules/p/aliases/live",
                json!({ "version": 1, "variables": variables }),
                expected,
            )
            .await;
    }
    assert_eq!(variable(&gateway, "s", "database").await, "prod-db");
}

#[tokio::test]
async fn a_wagi_command_gets_them_as_x_stage_variables() {
    let gateway = Gateway::start("");
    let admin = AdminClient::new(&gateway);
    let command = std::fs::read(guests::WAGI_PROBE).expect("wagi probe");
    let (status, body) = admin.upload_as("w", "wagi", command).await;
    assert_eq!(status, 201, "{body}");
    admin
        .put(
            "/modules/w/aliases/live",
            json!({ "version": 1, "variables": { "region": "eu" } }),
        )
        .await;
    admin.put_route("GET", "/w/{action}", "w@live").await;
    let body = gateway.get("/w/env").await.text().await.expect("body");
    assert!(
        body.lines().any(|line| line == "X_STAGE_REGION=eu"),
        "{body}"
    );
}

#[tokio::test]
async fn a_manifest_points_an_alias_at_its_file_with_variables() {
    let gateway = Gateway::start(
        &[
            module(
                "p",
                guests::PROBE,
                "aliases = { live = { variables = { database = \"from-manifest\" } } }",
            ),
            route("GET", "/s/{action}", "p@live", ""),
        ]
        .concat(),
    );
    assert_eq!(variable(&gateway, "s", "database").await, "from-manifest");
    let (_, history) = AdminClient::new(&gateway).get("/history").await;
    let alias = history["history"]
        .as_array()
        .expect("history")
        .iter()
        .find(|entry| entry["change"]["kind"] == "alias")
        .expect("the alias is in the history")
        .clone();
    assert_eq!(alias["by"], "manifest");
    assert_eq!(
        alias["change"]["to"],
        json!({ "version": 1, "variables": { "database": "from-manifest" } })
    );
}
