//! Rate limits shared by gateway nodes through a real Redis (`--store`): a route's limit
//! holds across every node, and while Redis is away the `[store] on_failure` policy applies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{
    AdminClient, Gateway, RedisServer, assert_error_detail, guests, header, module, needs_redis,
    read_json, route, scrape,
};

/// A node serving `hello` on `/limited/{name}` (rate 50/s, burst 10), `/roomy/{name}`
/// (a limit never reached) and `/keyed/{name}` (an API key required), with
/// `store_section` as its manifest's `[store]`.
fn node(redis: &RedisServer, store_section: &str) -> Gateway {
    let manifest = format!(
        "{store_section}\n{}{}{}{}",
        module("hello", guests::HELLO, ""),
        route(
            "GET",
            "/limited/{name}",
            "hello",
            "throttle = { rate = 50, burst = 10 }"
        ),
        route(
            "GET",
            "/roomy/{name}",
            "hello",
            "throttle = { rate = 10000, burst = 10000 }"
        ),
        route("GET", "/keyed/{name}", "hello", "api_key_required = true"),
    );
    Gateway::start_with_args(
        &manifest,
        &["--listen", "127.0.0.1:0", "--store", &redis.url()],
    )
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_route_limit_holds_across_every_node() {
        let redis = RedisServer::start();
        let nodes: Vec<Gateway> = (0..3).map(|_| node(&redis, "")).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let loops: Vec<_> = (0..6)
            .map(|i| {
                let url = nodes[i % 3].url("/limited/ada");
                let stop = stop.clone();
                tokio::spawn(async move {
                    let http = crate::support::client();
                    let (mut allowed, mut throttled) = (0u32, 0u32);
                    while !stop.load(Ordering::Relaxed) {
                        let response = http.get(&url).send().await.expect("request");
                        match response.status().as_u16() {
                            200 => allowed += 1,
                            429 => throttled += 1,
                            other => panic!("{other}: {}", response.text().await.unwrap_or_default()),
                        }
                    }
                    (allowed, throttled)
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_secs(2)).await;
        stop.store(true, Ordering::Relaxed);
        let (mut allowed, mut throttled) = (0, 0);
        for task in loops {
            let (a, t) = task.await.expect("load loop");
            allowed += a;
            throttled += t;
        }
        let seconds = started.elapsed().as_secs_f64();
        // The burst, then 50 a second: once across the three nodes, not three times.
        let expected = 10.0 + 50.0 * seconds;
        let allowed = f64::from(allowed);
        assert!(
            (allowed - expected).abs() <= expected * 0.05,
            "{allowed} allowed in {seconds:.2} s (expected {expected:.0} ± 5%), {throttled} throttled"
        );
        assert!(throttled > 100, "{throttled} throttled");
    }
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_redis_fail_open_serves_and_fail_closed_refuses_until_it_is_back() {
        let mut redis = RedisServer::start();
        let open = node(&redis, "");
        let closed = node(&redis, "[store]\non_failure = \"fail_closed\"\n");
        for gw in [&open, &closed] {
            let response = crate::support::client().get(gw.url("/roomy/ada")).send().await.expect("request");
            assert_eq!(response.status(), 200);
            assert_eq!(header(&response, "ratelimit-limit"), "10000");
        }
        // Steady load on the fail_open node from before Redis goes until it is back.
        let stop = Arc::new(AtomicBool::new(false));
        let load = {
            let (url, stop) = (open.url("/roomy/load"), stop.clone());
            tokio::spawn(async move {
                let (mut served, mut failed) = (0u32, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    match crate::support::get(&url).await.0 {
                        200 => served += 1,
                        status => failed.push(status),
                    }
                }
                (served, failed)
            })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        redis.kill();
        for _ in 0..3 {
            let (status, _, _) = crate::support::get(&open.url("/roomy/ada")).await;
            assert_eq!(status, 200, "fail_open lets requests through");
            let response = crate::support::client().get(closed.url("/roomy/ada")).send().await.expect("request");
            assert_eq!(response.status(), 503);
            assert_eq!(header(&response, "retry-after"), "1");
            let (_, body) = read_json(response).await;
            assert_error_detail(&body, "throttle_unavailable", "cannot be reached");
        }
        let metrics = scrape(&closed).await;
        assert!(
            metrics.lines().any(|l| l.starts_with("wasmgate_throttle_store_failures_total ") && !l.ends_with(" 0")),
            "{metrics}"
        );
        redis.restart();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, _, _) = crate::support::get(&closed.url("/roomy/ada")).await;
            if status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "still {status} with Redis back");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (served, failed) = load.await.expect("load");
        assert!(failed.is_empty(), "fail_open failed {} requests: {failed:?}", failed.len());
        // That the load ran through the outage; how much of it depends on the machine.
        assert!(served >= 10, "{served} served");
    }
}

/// GET `/keyed/k` on `node` with API key `key`: the status and `RateLimit-Remaining`.
async fn keyed(node: &Gateway, key: &str) -> (u16, String) {
    let response = crate::support::client()
        .get(node.url("/keyed/k"))
        .header("x-api-key", key)
        .send()
        .await
        .expect("request");
    let remaining = response
        .headers()
        .get("ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (response.status().as_u16(), remaining)
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_api_key_quota_and_plan_rate_hold_across_every_node() {
        let redis = RedisServer::start();
        let nodes: Vec<Gateway> = (0..3).map(|_| node(&redis, "")).collect();
        let admin = AdminClient::new(&nodes[0]);
        let plans = [
            ("small", json!({ "quota": { "limit": 6, "period": "day" } })),
            ("gold", json!({ "throttle": { "rate": 0.01, "burst": 2 } })),
        ];
        let mut keys = Vec::new();
        for (plan, body) in plans {
            let (status, answer) = admin.put(&format!("/plans/{plan}"), body).await;
            assert_eq!(status, 200, "{answer}");
            let (status, key) = admin.post_json("/keys", json!({ "name": plan, "plan": plan })).await;
            assert_eq!(status, 201, "{key}");
            keys.push(key["key"].as_str().expect("secret").to_owned());
        }
        // Every node knows both keys.
        for node in &nodes {
            let deadline = Instant::now() + Duration::from_secs(5);
            while AdminClient::new(node).get("/keys").await.1["keys"].as_array().map(Vec::len) != Some(2) {
                assert!(Instant::now() < deadline, "the keys did not reach every node");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        let (small, gold) = (&keys[0], &keys[1]);
        // Six requests in all, two through each node: one count for the three of them.
        let mut remaining = Vec::new();
        for node in nodes.iter().chain(&nodes) {
            let (status, left) = keyed(node, small).await;
            assert_eq!(status, 200);
            remaining.push(left);
        }
        assert_eq!(remaining, ["5", "4", "3", "2", "1", "0"]);
        // Every node's admin API reports the cluster's count.
        for node in &nodes {
            let (_, listed) = AdminClient::new(node).get("/keys").await;
            let key = listed["keys"].as_array().expect("keys").iter().find(|k| k["plan"] == "small");
            assert_eq!(key.expect("the small key")["quota"]["used"], 6, "{listed}");
        }
        for node in &nodes {
            assert_eq!(keyed(node, small).await.0, 429, "the quota is used up on every node");
        }
        // The plan's rate (burst 2) holds across nodes too.
        assert_eq!(keyed(&nodes[0], gold).await.0, 200);
        assert_eq!(keyed(&nodes[1], gold).await.0, 200);
        assert_eq!(keyed(&nodes[2], gold).await.0, 429);
    }
}
