//! Deploying without restarts: aliases and canaries, atomic switches under load, deleting
//! versions, and what survives a restart or a crash.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::support::{AdminClient, Gateway, assert_message, empty_gateway, get, guests};

/// Uploads hello (version 1) and echo (version 2) as module `svc`, with route
/// `GET /svc/{name}` → `svc@live`, `live` pointing at version 1.
pub(crate) async fn two_versions_behind_an_alias(gw: &Gateway) -> AdminClient {
    let admin = AdminClient::new(gw);
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    let echo = std::fs::read(guests::ECHO).expect("echo.wasm");
    assert_eq!(admin.upload("svc", hello).await.1["version"], 1);
    assert_eq!(admin.upload("svc", echo).await.1["version"], 2);
    let (status, body) = admin
        .put("/modules/svc/aliases/live", json!({ "version": 1 }))
        .await;
    assert_eq!(status, 200, "{body}");
    admin.put_route("GET", "/svc/{name}", "svc@live").await;
    admin
}

#[tokio::test]
async fn moving_an_alias_switches_the_version_served() {
    let gw = empty_gateway();
    let admin = two_versions_behind_an_alias(&gw).await;
    let (status, version, body) = get(&gw.url("/svc/ada")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("svc@1"), "Hello, ada!")
    );

    admin
        .put("/modules/svc/aliases/live", json!({ "version": 2 }))
        .await;
    let (status, version, body) = get(&gw.url("/svc/ada")).await;
    assert_eq!((status, version.as_deref()), (200, Some("svc@2")));
    assert!(body.contains(r#""route":"/svc/{name}""#), "{body}");

    let (_, module) = admin.get("/modules/svc").await;
    assert_eq!(module["aliases"]["live"]["version"], 2);
    for (bad, expected) in [
        (json!({ "version": 7 }), "has no version 7"),
        (
            json!({ "version": 1, "canary": { "version": 1, "percent": 10 } }),
            "must differ",
        ),
        (
            json!({ "version": 1, "canary": { "version": 2, "percent": 100 } }),
            "1 to 99 percent",
        ),
    ] {
        admin
            .put_refused("/modules/svc/aliases/live", bad, expected)
            .await;
    }
    let (status, _) = admin
        .put("/modules/svc/aliases/9lives", json!({ "version": 1 }))
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_canary_alias_splits_traffic() {
    let gw = empty_gateway();
    let admin = two_versions_behind_an_alias(&gw).await;
    let (status, body) = admin
        .put(
            "/modules/svc/aliases/live",
            json!({ "version": 1, "canary": { "version": 2, "percent": 50 } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut seen = BTreeMap::new();
    for _ in 0..200 {
        let (status, version, _) = get(&gw.url("/svc/x")).await;
        assert_eq!(status, 200);
        *seen.entry(version.expect("version header")).or_insert(0) += 1;
    }
    // 50/50 over 200 requests: each side far from 0 (a failure here is a 1e-20 event).
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen.values().all(|&n| n > 50), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_moves_under_load_lose_no_request() {
    let gw = empty_gateway();
    let admin = two_versions_behind_an_alias(&gw).await;
    let url = gw.url("/svc/load");
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    for _ in 0..4 {
        let (url, stop) = (url.clone(), stop.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = BTreeMap::<String, u32>::new();
            while !stop.load(Ordering::Relaxed) {
                let (status, version, _) = get(&url).await;
                assert_eq!(status, 200, "a request failed during a deploy");
                *seen.entry(version.expect("version header")).or_default() += 1;
            }
            seen
        }));
    }
    for flip in 0..20 {
        let version = if flip % 2 == 0 { 2 } else { 1 };
        let (status, body) = admin
            .put("/modules/svc/aliases/live", json!({ "version": version }))
            .await;
        assert_eq!(status, 200, "{body}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut total = BTreeMap::<String, u32>::new();
    for client in clients {
        for (version, n) in client.await.expect("client task") {
            *total.entry(version).or_default() += n;
        }
    }
    let versions: Vec<&String> = total.keys().collect();
    assert_eq!(versions, ["svc@1", "svc@2"], "{total:?}");
}

#[tokio::test]
async fn versions_and_aliases_in_use_cannot_be_deleted() {
    let gw = empty_gateway();
    let admin = two_versions_behind_an_alias(&gw).await;
    let (status, body) = admin.delete("/modules/svc/versions/1").await;
    assert_eq!(status, 409, "{body}");
    assert_message(&body, "alias `svc@live`");
    let (status, body) = admin.delete("/modules/svc/aliases/live").await;
    assert_eq!(status, 409, "{body}");
    assert_message(&body, "GET /svc/{name}");

    // Version 2 is the latest: a route to plain `svc` uses it.
    admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/latest", "module": "svc" }),
        )
        .await;
    let (status, _) = admin.delete("/modules/svc/versions/2").await;
    assert_eq!(status, 409);

    let (_, routes) = admin.get("/routes").await;
    for route in routes["routes"].as_array().expect("routes") {
        admin
            .delete(&format!("/routes/{}", route["id"].as_str().expect("id")))
            .await;
    }
    let (status, _) = admin.delete("/modules/svc/aliases/live").await;
    assert_eq!(status, 200);
    let (status, _) = admin.delete("/modules/svc/versions/2").await;
    assert_eq!(status, 200);
    let (status, _) = admin.delete("/modules/svc/versions/2").await;
    assert_eq!(status, 404);
    let (_, module) = admin.get("/modules/svc").await;
    assert_eq!(module["latest"], 1);
    // Numbers are never reused.
    let probe = std::fs::read(guests::PROBE).expect("probe.wasm");
    assert_eq!(admin.upload("svc", probe).await.1["version"], 3);
}

#[tokio::test]
async fn a_restart_serves_the_same_routes() {
    let gw = empty_gateway();
    let admin = two_versions_behind_an_alias(&gw).await;
    admin
        .put("/modules/svc/aliases/live", json!({ "version": 2 }))
        .await;
    let before = get(&gw.url("/svc/kept")).await;
    let dir = gw.stop_keeping_data();

    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let after = get(&gw.url("/svc/kept")).await;
    assert_eq!((before.0, &before.1), (after.0, &after.1));
    assert_eq!(after.1.as_deref(), Some("svc@2"));
    // Compiled code came from the cache: nothing was compiled at start-up.
    assert!(!gw.stderr().contains("recompiling"), "{}", gw.stderr());
    let (_, module) = AdminClient::new(&gw).get("/modules/svc").await;
    assert_eq!(module["versions"].as_array().expect("versions").len(), 2);
}

#[tokio::test]
async fn kill_during_uploads_leaves_a_consistent_registry() {
    let echo = std::fs::read(guests::ECHO).expect("echo.wasm");
    let mut gw = empty_gateway();
    for (round, delay_ms) in [0u64, 5, 20, 60, 150].into_iter().enumerate() {
        let admin = AdminClient::new(&gw);
        let name = format!("m{round}");
        let upload = {
            let (name, echo) = (name.clone(), echo.clone());
            tokio::spawn(async move { admin.upload(&name, echo).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        let dir = gw.kill_keeping_data();
        let _ = upload.await;

        gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
        let admin = AdminClient::new(&gw);
        let (status, module) = admin.get(&format!("/modules/{name}")).await;
        match status {
            // The upload never happened…
            404 => {}
            // …or it is whole: the version serves.
            200 => {
                assert_eq!(module["latest"], 1, "{module}");
                let (status, body) = admin
                    .put("/routes", json!({ "method": "ANY", "path": format!("/{name}/{{p+}}"), "module": name }))
                    .await;
                assert_eq!(status, 200, "{body}");
                let (status, _, body) = get(&gw.url(&format!("/{name}/x"))).await;
                assert_eq!(status, 200, "{body}");
            }
            other => panic!("round {round}: unexpected status {other}: {module}"),
        }
    }
}

#[tokio::test]
async fn manifest_and_admin_api_coexist_across_restarts() {
    let hello = guests::HELLO.to_owned();
    let manifest = |path: &str| {
        format!(
            "[[modules]]\nname = \"hello\"\npath = \"{hello}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"{path}\"\nmodule = \"hello\"\n"
        )
    };
    let gw = Gateway::start(&manifest("/from-manifest/{name}"));
    let admin = AdminClient::new(&gw);
    admin.put_route("GET", "/from-api/{name}", "hello@1").await;
    let dir = gw.stop_keeping_data();

    // The manifest now declares another route: its old route goes, the API's stays, and
    // the unchanged module file is not a new version.
    std::fs::write(
        dir.path().join("wasmgate.toml"),
        manifest("/renamed/{name}"),
    )
    .expect("write");
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    assert_eq!(get(&gw.url("/renamed/a")).await.0, 200);
    assert_eq!(get(&gw.url("/from-api/a")).await.0, 200);
    assert_eq!(get(&gw.url("/from-manifest/a")).await.0, 404);
    let (_, module) = AdminClient::new(&gw).get("/modules/hello").await;
    assert_eq!(module["versions"].as_array().expect("versions").len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_in_flight_finish_on_the_version_they_started_with() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    admin
        .upload("m", std::fs::read(guests::PROBE).expect("probe"))
        .await;
    admin
        .upload("m", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    admin
        .put("/modules/m/aliases/live", json!({ "version": 1 }))
        .await;
    admin
        .put("/routes", json!({ "method": "GET", "path": "/m/{action}", "module": "m@live", "timeout_ms": 10000 }))
        .await;

    let in_flight = tokio::spawn(
        crate::support::client()
            .get(gw.url("/m/sleep?ms=1000"))
            .send(),
    );
    tokio::task::block_in_place(|| gw.wait_for_log("probe: sleeping 1000 ms"));
    let (status, _) = admin
        .put("/modules/m/aliases/live", json!({ "version": 2 }))
        .await;
    assert_eq!(status, 200);
    // New requests get version 2 at once (hello reads a `name` this route lacks)…
    let (_, version, body) = get(&gw.url("/m/now")).await;
    assert_eq!(
        (version.as_deref(), body.as_str()),
        (Some("m@2"), "Hello, world!")
    );
    // …while the one in flight completes on version 1.
    let response = in_flight.await.expect("join").expect("in-flight response");
    assert_eq!(response.headers()["x-wasmgate-version"], "m@1");
    assert_eq!(response.text().await.expect("body"), "slept 1000 ms");
}

/// `wasmgate_compile_duration_seconds_count`: how many compiles the gateway ran.
async fn compiles(gw: &Gateway) -> f64 {
    let metrics = crate::support::scrape(gw).await;
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("wasmgate_compile_duration_seconds_count "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no compile count in:\n{metrics}"))
}

#[tokio::test]
async fn the_same_bytes_under_another_name_reuse_their_compiled_code() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    let before = compiles(&gw).await;
    let (status, first) = admin.upload("first", hello.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(compiles(&gw).await, before + 1.0);
    let (status, second) = admin.upload("second", hello).await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(second["version"], 1);
    assert_eq!(second["sha256"], first["sha256"]);
    // Not compiled again…
    assert_eq!(compiles(&gw).await, before + 1.0);
    // …and the copy serves, also once the first module is gone.
    admin.put_route("GET", "/second/{name}", "second").await;
    let (status, _) = admin.delete("/modules/first/versions/1").await;
    assert_eq!(status, 200);
    let (status, version, body) = get(&gw.url("/second/ada")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("second@1"), "Hello, ada!")
    );
}
