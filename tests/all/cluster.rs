//! Several gateway nodes sharing one registry through a real Redis (`--store`): a change
//! through any node is served by every node, racing writes are all kept, and the nodes keep
//! serving while Redis is away (and `cluster_tls.rs`: over TLS, as a restricted ACL user).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, RedisServer, exclusive, get, guests, needs_redis, run};

/// A node with an empty manifest on `redis`.
fn node(redis: &RedisServer) -> Gateway {
    Gateway::start_with_args("", &["--listen", "127.0.0.1:0", "--store", &redis.url()])
}

fn nodes(redis: &RedisServer, count: usize) -> Vec<Gateway> {
    (0..count).map(|_| node(redis)).collect()
}

/// Waits until `url` answers `status` on every one of `nodes`: how long that took.
pub(crate) async fn served_by_all(
    nodes: &[Gateway],
    path: &str,
    status: u16,
    within: Duration,
) -> Duration {
    let started = Instant::now();
    let mut pending: Vec<&Gateway> = nodes.iter().collect();
    while !pending.is_empty() {
        let mut still = Vec::new();
        for node in pending {
            if get(&node.url(path)).await.0 != status {
                still.push(node);
            }
        }
        pending = still;
        assert!(
            started.elapsed() < within * 5,
            "{} node(s) still not answering {status} on {path}",
            pending.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    started.elapsed()
}

/// Requests on every node in turn from `clients` loops until `stop`: the versions that
/// answered, and the failures (any status but 200).
fn load(
    urls: Vec<String>,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(BTreeMap<String, u32>, Vec<String>)> {
    tokio::spawn(async move {
        let loops: Vec<_> = (0..clients)
            .map(|client| {
                let (urls, stop) = (urls.clone(), stop.clone());
                tokio::spawn(async move {
                    let mut seen = BTreeMap::<String, u32>::new();
                    let mut failures = Vec::new();
                    let mut turn = client;
                    while !stop.load(Ordering::Relaxed) {
                        let url = &urls[turn % urls.len()];
                        turn += 1;
                        let (status, version, body) = get(url).await;
                        if status == 200 {
                            *seen.entry(version.unwrap_or_default()).or_default() += 1;
                        } else {
                            failures.push(format!("{url}: {status} {body}"));
                        }
                    }
                    (seen, failures)
                })
            })
            .collect();
        let mut seen = BTreeMap::new();
        let mut failures = Vec::new();
        for task in loops {
            let (versions, failed) = task.await.expect("load loop");
            for (version, n) in versions {
                *seen.entry(version).or_default() += n;
            }
            failures.extend(failed);
        }
        (seen, failures)
    })
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_deploy_through_one_node_is_served_by_every_node_within_a_second() {
        // Measures how long changes take to spread: without other tests' load.
        let _machine = exclusive();
        let redis = RedisServer::start();
        let nodes = nodes(&redis, 3);
        let admin = AdminClient::new(&nodes[0]);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        assert_eq!(admin.upload("hello", hello).await.0, 201);
        admin.put_route("GET", "/hello/{name}", "hello").await;
        let took = served_by_all(&nodes, "/hello/ada", 200, Duration::from_secs(1)).await;
        assert!(took < Duration::from_secs(1), "took {took:?}");
        // Every node's admin API shows the route, and a third node's change reaches the first.
        for node in &nodes {
            assert_eq!(routes_of(node).await.len(), 1);
        }
        let (status, body) = AdminClient::new(&nodes[2]).delete(&route_id(&routes_of(&nodes[2]).await[0])).await;
        assert_eq!(status, 200, "{body}");
        let took = served_by_all(&nodes, "/hello/ada", 404, Duration::from_secs(1)).await;
        assert!(took < Duration::from_secs(1), "took {took:?}");
    }
}

async fn routes_of(node: &Gateway) -> Vec<Value> {
    let (status, body) = AdminClient::new(node).get("/routes").await;
    assert_eq!(status, 200, "{body}");
    body["routes"].as_array().cloned().expect("routes")
}

fn route_id(route: &Value) -> String {
    format!("/routes/{}", route["id"].as_str().expect("route id"))
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn changes_racing_through_every_node_are_all_kept() {
        let redis = RedisServer::start();
        let nodes = nodes(&redis, 3);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        assert_eq!(AdminClient::new(&nodes[0]).upload("hello", hello).await.0, 201);
        // Every node adds routes at the same moment.
        let mut writers = Vec::new();
        for (n, node) in nodes.iter().enumerate() {
            let admin = AdminClient::new(node);
            writers.push(tokio::spawn(async move {
                for i in 0..6 {
                    let path = format!("/n{n}/r{i}");
                    let route = json!({ "method": "GET", "path": path, "module": "hello" });
                    let (status, body) = admin.put("/routes", route).await;
                    assert_eq!(status, 200, "{body}");
                }
            }));
        }
        for writer in writers {
            writer.await.expect("writer");
        }
        // None was lost: all 18 routes on every node.
        for node in &nodes {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let count = routes_of(node).await.len();
                if count == 18 {
                    break;
                }
                assert!(Instant::now() < deadline, "{count} routes of 18");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert_eq!(get(&node.url("/n2/r5")).await.0, 200);
        }

        // Three different uploads of one module at once, one through each node: three
        // versions, numbered 2, 3 and 4 in some order, none lost.
        let guests_bytes = [guests::ECHO, guests::PROBE, guests::PLAIN_STREAM]
            .map(|path| std::fs::read(path).expect("guest"));
        let uploads: Vec<_> = nodes
            .iter()
            .zip(guests_bytes)
            .map(|(node, bytes)| {
                let admin = AdminClient::new(node);
                tokio::spawn(async move { admin.upload("hello", bytes).await })
            })
            .collect();
        let mut versions = Vec::new();
        for upload in uploads {
            let (status, body) = upload.await.expect("upload");
            assert_eq!(status, 201, "{body}");
            versions.push(body["version"].as_u64().expect("version"));
        }
        versions.sort_unstable();
        assert_eq!(versions, [2, 3, 4]);
        for node in &nodes {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                let (_, module) = AdminClient::new(node).get("/modules/hello").await;
                let count = module["versions"].as_array().map_or(0, Vec::len);
                if count == 4 {
                    break;
                }
                assert!(Instant::now() < deadline, "{count} versions of 4: {module}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn alias_moves_through_every_node_under_load_on_every_node_lose_no_request() {
        let redis = RedisServer::start();
        let nodes = nodes(&redis, 3);
        let admin = AdminClient::new(&nodes[0]);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        let echo = std::fs::read(guests::ECHO).expect("echo.wasm");
        assert_eq!(admin.upload("svc", hello).await.1["version"], 1);
        assert_eq!(admin.upload("svc", echo).await.1["version"], 2);
        let (status, body) = admin.put("/modules/svc/aliases/live", json!({ "version": 1 })).await;
        assert_eq!(status, 200, "{body}");
        admin.put_route("GET", "/svc/{name}", "svc@live").await;
        served_by_all(&nodes, "/svc/x", 200, Duration::from_secs(1)).await;

        let stop = Arc::new(AtomicBool::new(false));
        let urls = nodes.iter().map(|n| n.url("/svc/load")).collect();
        let traffic = load(urls, 3, stop.clone());
        for flip in 0..12 {
            let version = if flip % 2 == 0 { 2 } else { 1 };
            let admin = AdminClient::new(&nodes[flip % 3]);
            let (status, body) = admin
                .put("/modules/svc/aliases/live", json!({ "version": version }))
                .await;
            assert_eq!(status, 200, "{body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop.store(true, Ordering::Relaxed);
        let (seen, failures) = traffic.await.expect("load");
        assert!(failures.is_empty(), "{} failed: {:?}", failures.len(), &failures[..failures.len().min(5)]);
        let versions: Vec<&String> = seen.keys().collect();
        assert_eq!(versions, ["svc@1", "svc@2"], "{seen:?}");
    }
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nodes_serve_while_redis_is_away_and_catch_up_when_it_is_back() {
        let mut redis = RedisServer::start();
        let nodes = nodes(&redis, 2);
        let admin = AdminClient::new(&nodes[0]);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        assert_eq!(admin.upload("hello", hello).await.0, 201);
        admin.put_route("GET", "/hello/{name}", "hello").await;
        served_by_all(&nodes, "/hello/ada", 200, Duration::from_secs(1)).await;

        let stop = Arc::new(AtomicBool::new(false));
        let urls = nodes.iter().map(|n| n.url("/hello/load")).collect();
        let traffic = load(urls, 2, stop.clone());
        redis.kill();
        tokio::time::sleep(Duration::from_millis(700)).await;
        // Changes are refused, clearly, and nothing changes.
        let (status, body) = AdminClient::new(&nodes[1])
            .put("/routes", json!({ "method": "GET", "path": "/other", "module": "hello" }))
            .await;
        assert_eq!(status, 503, "{body}");
        let message = body.to_string();
        assert!(message.contains("Redis") && message.contains("unavailable"), "{message}");
        assert_eq!(routes_of(&nodes[1]).await.len(), 1);

        // Back, with its data (appendonly): changes work again and reach every node.
        redis.restart();
        tokio::time::sleep(Duration::from_millis(300)).await;
        stop.store(true, Ordering::Relaxed);
        let (seen, failures) = traffic.await.expect("load");
        assert!(failures.is_empty(), "{} failed: {:?}", failures.len(), &failures[..failures.len().min(5)]);
        assert!(seen.values().sum::<u32>() > 20, "{seen:?}");
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (status, body) = AdminClient::new(&nodes[1])
                .put("/routes", json!({ "method": "GET", "path": "/other", "module": "hello" }))
                .await;
            if status == 200 {
                break;
            }
            assert!(Instant::now() < deadline, "{status} {body}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        served_by_all(&nodes, "/other", 200, Duration::from_secs(1)).await;

        // Redis emptied (restarted without its data): the nodes give it their registry back.
        assert!(redis.command(&["FLUSHALL"]).is_some());
        let deadline = Instant::now() + Duration::from_secs(5);
        while !redis.command(&["EXISTS", "wasmgate:registry"]).is_some_and(|r| r.starts_with(":1")) {
            assert!(Instant::now() < deadline, "the registry was not restored");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let third = node(&redis);
        served_by_all(std::slice::from_ref(&third), "/hello/ada", 200, Duration::from_secs(1)).await;
        assert_eq!(get(&third.url("/other")).await.0, 200);
    }
}

needs_redis! {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_node_killed_leaves_the_others_serving_and_changing() {
        let redis = RedisServer::start();
        let mut nodes = nodes(&redis, 3);
        let admin = AdminClient::new(&nodes[0]);
        let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
        assert_eq!(admin.upload("hello", hello).await.0, 201);
        admin.put_route("GET", "/hello/{name}", "hello").await;
        served_by_all(&nodes, "/hello/ada", 200, Duration::from_secs(1)).await;
        let killed = nodes.remove(0);
        drop(killed.kill_keeping_data());
        let stop = Arc::new(AtomicBool::new(false));
        let urls = nodes.iter().map(|n| n.url("/hello/load")).collect();
        let traffic = load(urls, 2, stop.clone());
        AdminClient::new(&nodes[1]).put_route("GET", "/after", "hello").await;
        served_by_all(&nodes, "/after", 200, Duration::from_secs(1)).await;
        stop.store(true, Ordering::Relaxed);
        let (_, failures) = traffic.await.expect("load");
        assert!(failures.is_empty(), "{failures:?}");
    }
}

#[test]
fn a_store_that_cannot_be_reached_fails_start_up_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("wasmgate.toml"), "").expect("manifest");
    let missing = format!("redis+unix://{}/nobody.sock", dir.path().display());
    let cases = [
        (
            missing.as_str(),
            ["cannot use the shared store (--store)", "unavailable"],
        ),
        (
            "http://x",
            [
                "cannot use the shared store (--store)",
                "is not a Redis URL",
            ],
        ),
    ];
    for (store, expected) in cases {
        let args = [
            "up",
            "wasmgate.toml",
            "--listen",
            "127.0.0.1:0",
            "--store",
            store,
        ];
        let (status, _, stderr) = run(&args, dir.path());
        assert!(!status.success(), "{store}");
        for text in expected {
            assert!(stderr.contains(text), "{store}: {stderr}");
        }
    }
}
