//! Deployment history and rollback: alias moves and route changes recorded with who and
//! when, through the admin API and the CLI, kept across a restart; an alias rolled back in
//! one step.

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, get, guests, module, route, run};

/// Module `svc` with versions 1 (hello) and 2 (echo), alias `live` → 1, and a route to it.
async fn deployed(gateway: &Gateway) -> AdminClient {
    crate::deploy::two_versions_behind_an_alias(gateway).await
}

async fn history(admin: &AdminClient, query: &str) -> Vec<Value> {
    let (status, body) = admin.get(&format!("/history{query}")).await;
    assert_eq!(status, 200, "{body}");
    body["history"].as_array().expect("history").clone()
}

fn cli(gateway: &Gateway, args: &[&str]) -> (bool, String, String) {
    let token = gateway.admin_token();
    let admin_url = gateway.admin_url("");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--admin-url", &admin_url, "--admin-token", &token]);
    let (status, stdout, stderr) = run(&all, std::path::Path::new("."));
    (status.success(), stdout, stderr)
}

#[tokio::test]
async fn alias_moves_and_route_changes_are_recorded_and_an_alias_rolls_back() {
    let gateway = Gateway::start("");
    let admin = deployed(&gateway).await;
    admin
        .put("/modules/svc/aliases/live", json!({ "version": 2 }))
        .await;
    assert_eq!(
        get(&gateway.url("/svc/ada")).await.1.as_deref(),
        Some("svc@2")
    );

    let entries = history(&admin, "").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    // Newest first: the move, the route, the alias's creation.
    assert_eq!(entries[0]["by"], "admin API");
    assert!(entries[0]["at"].as_u64().expect("at") > 1_700_000_000);
    assert_eq!(
        entries[0]["change"],
        json!({"kind": "alias", "module": "svc", "alias": "live", "from": {"version": 1}, "to": {"version": 2}})
    );
    assert_eq!(
        entries[1]["change"],
        json!({"kind": "route", "id": entries[1]["change"]["id"], "method": "GET", "path": "/svc/{name}", "to": "svc@live"})
    );
    assert_eq!(entries[2]["change"]["to"], json!({"version": 1}));
    assert!(entries[2]["change"].get("from").is_none());

    // One step back, through the CLI; then the history shows it, and a second one undoes it.
    let (ok, stdout, stderr) = cli(&gateway, &["rollback", "svc@live"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("alias svc@live: version 2 → 1"), "{stdout}");
    assert_eq!(
        get(&gateway.url("/svc/ada")).await.1.as_deref(),
        Some("svc@1")
    );
    let (ok, stdout, _) = cli(&gateway, &["history", "--limit", "2"]);
    assert!(ok);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "a header and two entries: {stdout}");
    assert!(
        lines[1].contains("alias svc@live") && lines[1].contains("admin API"),
        "{stdout}"
    );
    let (status, body) = admin
        .post_json("/modules/svc/aliases/live/rollback", json!({}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["version"], 2);
    assert_eq!(history(&admin, "?limit=1").await.len(), 1);
    assert_eq!(history(&admin, "?module=nothing").await.len(), 0);
    assert_eq!(history(&admin, "?module=svc").await.len(), 5);
}

#[tokio::test]
async fn a_rollback_without_an_earlier_version_is_refused() {
    let gateway = Gateway::start("");
    let admin = deployed(&gateway).await;
    // `live` was created at 1 and never moved: there is nothing earlier.
    let (status, body) = admin
        .post_json("/modules/svc/aliases/live/rollback", json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("no earlier version of `svc@live`"),
        "{body}"
    );
    let (status, _) = admin
        .post_json("/modules/svc/aliases/nope/rollback", json!({}))
        .await;
    assert_eq!(status, 404);
    let (status, body) = admin.get("/history?limit=x").await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn the_manifest_is_recorded_once_and_the_history_survives_a_restart() {
    let gateway = Gateway::start(
        &[
            module("hello", guests::HELLO, ""),
            route("GET", "/hello/{name}", "hello", ""),
        ]
        .concat(),
    );
    let admin = AdminClient::new(&gateway);
    let entries = history(&admin, "").await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["by"], "manifest");
    assert_eq!(entries[0]["change"]["to"], "hello");
    admin.put_route("GET", "/more/{name}", "hello").await;

    // The same manifest again changes nothing, so it records nothing.
    let gateway = Gateway::start_in(gateway.stop_keeping_data(), &["--listen", "127.0.0.1:0"]);
    let entries = history(&AdminClient::new(&gateway), "").await;
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(entries[0]["change"]["path"], "/more/{name}");
}

#[tokio::test]
async fn changes_through_a_named_token_are_recorded_under_its_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("admin-tokens");
    let (named, unnamed) = ("a-token-of-the-deploy-job", "another-token-of-an-operator");
    std::fs::write(&file, format!("ci-deployer {named}\n{unnamed}\n")).expect("write");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let gateway = Gateway::start_with_args(
        &module("hello", guests::HELLO, ""),
        &[
            "--listen",
            "127.0.0.1:0",
            "--admin-token-file",
            file.to_str().expect("utf-8"),
        ],
    );
    let put = |token: &'static str, path: &'static str| {
        let url = gateway.admin_url("/routes");
        async move {
            crate::support::client()
                .put(url)
                .bearer_auth(token)
                .json(&json!({ "method": "GET", "path": path, "module": "hello" }))
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    assert_eq!(put(named, "/by-job").await, 200);
    assert_eq!(put(unnamed, "/by-hand").await, 200);
    assert_eq!(put("not-one-of-the-tokens-at-all", "/nope").await, 401);
    let history: Value = crate::support::client()
        .get(gateway.admin_url("/history"))
        .bearer_auth(unnamed)
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("JSON");
    assert_eq!(history["history"][0]["by"], "admin API");
    assert_eq!(history["history"][0]["change"]["path"], "/by-hand");
    assert_eq!(history["history"][1]["by"], "ci-deployer");
    assert_eq!(history["history"][1]["change"]["path"], "/by-job");
}
