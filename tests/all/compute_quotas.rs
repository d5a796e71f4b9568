//! Compute quotas per API key: a plan's `compute = { cpu_ms, period }` counts the time the
//! key's handlers ran, so an expensive route uses its budget up in a few calls and a cheap
//! one in many; the use shows in the admin API, the CLI and the metrics.

use serde_json::{Value, json};

use crate::cli_client::wasmgate;
use crate::support::{
    AdminClient, Gateway, assert_error_detail, client, exclusive, guests, module, route, scrape,
};

/// Each heavy call keeps the guest busy this long.
const BURN_MS: u64 = 50;

fn keyed_gateway() -> Gateway {
    let keyed = "api_key_required = true";
    Gateway::start(
        &[
            module("probe", guests::PROBE, ""),
            module("hello", guests::HELLO, ""),
            route("GET", "/heavy/{action}", "probe", keyed),
            route("GET", "/cheap/{name}", "hello", keyed),
        ]
        .concat(),
    )
}

async fn new_key(admin: &AdminClient, plan: &str) -> (String, String) {
    let (status, body) = admin
        .post_json("/keys", json!({ "name": "compute", "plan": plan }))
        .await;
    assert_eq!(status, 201, "{body}");
    let field = |name: &str| body[name].as_str().expect(name).to_owned();
    (field("id"), field("key"))
}

async fn call(gw: &Gateway, path: &str, key: &str) -> (u16, Option<String>, Value) {
    let response = client()
        .get(gw.url(path))
        .header("x-api-key", key)
        .send()
        .await
        .expect("send");
    let status = response.status().as_u16();
    let retry_after = (response.headers().get("retry-after"))
        .map(|value| value.to_str().expect("ascii").to_owned());
    let text = response.text().await.expect("body");
    (
        status,
        retry_after,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// The key's compute use, from the admin API.
async fn compute_used(admin: &AdminClient, id: &str) -> Value {
    let (status, key) = admin.get(&format!("/keys/{id}")).await;
    assert_eq!(status, 200, "{key}");
    key["compute"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cpu_time_is_counted_per_key_and_refused_past_the_budget() {
    // The heavy route's cost is CPU time: no other test's gateway competes for the cores.
    let _machine = exclusive();
    let gw = keyed_gateway();
    let admin = AdminClient::new(&gw);
    for (plan, problem) in [
        (json!({ "compute": { "period": "day" } }), "cpu_ms"),
        (
            json!({ "compute": { "cpu_ms": 0, "period": "day" } }),
            "cpu_ms 0",
        ),
        (
            json!({ "compute": { "memory_gb_s": -1.0, "period": "day" } }),
            "memory_gb_s",
        ),
    ] {
        let (status, body) = admin.put("/plans/bad", plan).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(problem), "{body}");
    }
    // A request quota beside: the listing reads both kinds of counters in one go.
    let plan = json!({
        "quota": { "limit": 100_000, "period": "day" },
        "compute": { "cpu_ms": 1000, "memory_gb_s": 1000.0, "period": "day" },
    });
    let (status, body) = admin.put("/plans/metered", plan).await;
    assert_eq!(status, 200, "{body}");
    let (id, key) = new_key(&admin, "metered").await;
    let (_, other_key) = new_key(&admin, "metered").await;

    // Cheap calls barely use the budget.
    for _ in 0..50 {
        assert_eq!(call(&gw, "/cheap/ada", &key).await.0, 200);
    }
    let (_, listed) = admin.get(&format!("/keys/{id}")).await;
    assert_eq!(listed["quota"]["used"], 50, "{listed}");
    assert_eq!(listed["quota"]["limit"], 100_000, "{listed}");
    let used = compute_used(&admin, &id).await;
    assert_eq!(used["cpu_ms_limit"], 1000, "{used}");
    assert_eq!(used["period"], "day", "{used}");
    let cheap_ms = used["cpu_ms"].as_f64().expect("cpu_ms");
    assert!(cheap_ms > 0.0 && cheap_ms < 250.0, "{used}");
    assert!(
        used["memory_gb_s"].as_f64().expect("memory_gb_s") > 0.0,
        "{used}"
    );

    // Heavy calls use up what is left after the expected number of calls, ±10%.
    let heavy = format!("/heavy/burn?ms={BURN_MS}");
    let expected = ((1000.0 - cheap_ms) / BURN_MS as f64).ceil();
    let mut served = 0u32;
    let refusal = loop {
        let (status, retry_after, body) = call(&gw, &heavy, &key).await;
        match status {
            200 => served += 1,
            429 => break (retry_after, body),
            other => panic!("{other}: {body}"),
        }
        assert!(f64::from(served) < expected * 2.0, "never refused");
    };
    let slack = (expected * 0.1).max(1.0);
    assert!(
        (f64::from(served) - expected).abs() <= slack,
        "{served} heavy calls served, {expected} expected"
    );
    let (retry_after, body) = refusal;
    assert_error_detail(
        &body,
        "quota_exceeded",
        "compute quota of 1000 ms of CPU time",
    );
    assert!(body["reset"].is_string(), "{body}");
    let retry_after: u64 = retry_after.expect("Retry-After").parse().expect("seconds");
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");

    // The budget is the key's, whatever the route: the cheap route is refused now too…
    let (status, _, body) = call(&gw, "/cheap/ada", &key).await;
    assert_eq!(status, 429, "{body}");
    // …and another key of the plan has its own.
    assert_eq!(call(&gw, &heavy, &other_key).await.0, 200);

    let used = compute_used(&admin, &id).await;
    assert!(used["cpu_ms"].as_f64().expect("cpu_ms") >= 1000.0, "{used}");
    let metrics = scrape(&gw).await;
    let cpu_seconds: f64 = (metrics.lines())
        .find_map(|line| line.strip_prefix("wasmgate_api_key_cpu_seconds_total{plan=\"metered\"} "))
        .expect("the plan's CPU seconds")
        .parse()
        .expect("a number");
    assert!(cpu_seconds >= 1.0, "{cpu_seconds}");

    let (ok, keys, stderr) = tokio::task::block_in_place(|| wasmgate(&gw, &["keys"]));
    assert!(ok, "{stderr}");
    assert!(keys.contains("COMPUTE USED"), "{keys}");
    assert!(keys.contains("/1000 ms CPU, "), "{keys}");
    let (ok, plans, stderr) = tokio::task::block_in_place(|| wasmgate(&gw, &["plans"]));
    assert!(ok, "{stderr}");
    assert!(plans.contains("1000 ms CPU, 1000 GB-s/day"), "{plans}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_sets_a_compute_quota() {
    let gw = keyed_gateway();
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[
                "plans",
                "set",
                "cli",
                "--cpu-ms",
                "5",
                "--compute-period",
                "week",
            ],
        )
    });
    assert!(ok, "{stderr}");
    let admin = AdminClient::new(&gw);
    let (_, plans) = admin.get("/plans").await;
    assert_eq!(
        plans["plans"]["cli"]["compute"],
        json!({ "cpu_ms": 5, "period": "week" })
    );
    let (_, key) = new_key(&admin, "cli").await;
    // Five milliseconds go in one heavy call; the next is refused.
    assert_eq!(call(&gw, "/heavy/burn?ms=20", &key).await.0, 200);
    let (status, _, body) = call(&gw, "/heavy/burn?ms=20", &key).await;
    assert_eq!(status, 429, "{body}");
}

crate::support::needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_compute_quota_holds_across_nodes_sharing_a_store() {
        let _machine = exclusive();
        let redis = crate::support::RedisServer::start();
        let manifest = [
            module("probe", guests::PROBE, ""),
            route("GET", "/heavy/{action}", "probe", "api_key_required = true"),
        ]
        .concat();
        let store = ["--listen", "127.0.0.1:0", "--store", &redis.url()];
        let nodes = [
            Gateway::start_with_args(&manifest, &store),
            Gateway::start_with_args(&manifest, &store),
        ];
        let admin = AdminClient::new(&nodes[0]);
        let plan = json!({ "compute": { "cpu_ms": 300, "period": "day" } });
        assert_eq!(admin.put("/plans/metered", plan).await.0, 200);
        let (id, key) = new_key(&admin, "metered").await;
        // The other node learns the key from the shared registry.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while AdminClient::new(&nodes[1]).get(&format!("/keys/{id}")).await.0 != 200 {
            assert!(std::time::Instant::now() < deadline, "the key did not reach the second node");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // Calls alternate between the nodes: the budget is the cluster's.
        let heavy = format!("/heavy/burn?ms={BURN_MS}");
        let mut served = 0usize;
        loop {
            let (status, _, body) = call(&nodes[served % 2], &heavy, &key).await;
            match status {
                200 => served += 1,
                429 => break,
                other => panic!("{other}: {body}"),
            }
            assert!(served < 20, "never refused");
        }
        assert!((5..=7).contains(&served), "{served} calls of {BURN_MS} ms in 300 ms");
        for node in &nodes {
            assert_eq!(call(node, &heavy, &key).await.0, 429);
            let used = compute_used(&AdminClient::new(node), &id).await;
            assert!(used["cpu_ms"].as_f64().expect("cpu_ms") >= 300.0, "{used}");
        }
    }
}
