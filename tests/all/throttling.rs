//! Rate limits (route, per client, gateway-wide) and reserved concurrency with a bounded
//! queue, seen from clients and from the route's counters.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, client, guests};

fn gateway(routes: &str) -> Gateway {
    Gateway::start(&format!(
        "[[modules]]\nname = \"hello\"\npath = \"{}\"\n\n[[modules]]\nname = \"probe\"\npath = \"{}\"\n{routes}",
        guests::HELLO,
        guests::PROBE,
    ))
}

async fn status_of(url: &str, client_id: Option<&str>) -> (u16, reqwest::header::HeaderMap) {
    let mut request = client().get(url);
    if let Some(id) = client_id {
        request = request.header("x-client", id);
    }
    let response = request.send().await.expect("send");
    (response.status().as_u16(), response.headers().clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_and_burst_are_precise() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/limited/{name}\"\nmodule = \"hello\"\nthrottle = { rate = 50, burst = 10 }\n",
    );
    let url = Arc::new(gw.url("/limited/x"));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let http = client();
            let (mut accepted, mut refused) = (0u32, 0u32);
            while started.elapsed() < Duration::from_secs(2) {
                match http
                    .get(url.as_str())
                    .send()
                    .await
                    .expect("send")
                    .status()
                    .as_u16()
                {
                    200 => accepted += 1,
                    429 => refused += 1,
                    other => panic!("unexpected status {other}"),
                }
            }
            (accepted, refused)
        }));
    }
    let (mut accepted, mut refused) = (0, 0);
    for task in tasks {
        let (a, r) = task.await.expect("task");
        accepted += a;
        refused += r;
    }
    // 10 at once, then 50 a second for 2 s: 110, within 5%.
    assert!(
        (105..=116).contains(&accepted),
        "accepted {accepted}, refused {refused}"
    );
    assert!(refused > 0);
}

#[tokio::test]
async fn throttled_requests_get_429_with_retry_after_and_ratelimit_headers() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/slow-refill/{name}\"\nmodule = \"hello\"\nthrottle = { rate = 0.5, burst = 2 }\n",
    );
    let url = gw.url("/slow-refill/x");
    let (status, headers) = status_of(&url, None).await;
    assert_eq!(status, 200);
    assert_eq!(headers["ratelimit-limit"], "2");
    assert_eq!(headers["ratelimit-remaining"], "1");
    assert_eq!(headers["ratelimit-reset"], "2");
    let (status, headers) = status_of(&url, None).await;
    assert_eq!(
        (status, &headers["ratelimit-remaining"]),
        (200, &"0".parse().expect("value"))
    );
    let response = client().get(&url).send().await.expect("send");
    assert_eq!(response.status(), 429);
    let headers = response.headers().clone();
    assert_eq!(headers["retry-after"], "2");
    assert_eq!(headers["ratelimit-remaining"], "0");
    assert!(
        !headers.contains_key("x-wasmgate-version"),
        "the handler must not run"
    );
    let body: Value = response.json().await.expect("json");
    assert_eq!(body, json!({ "message": "Too Many Requests" }));
}

#[tokio::test]
async fn per_client_limits_isolate_clients() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/per-client/{name}\"\nmodule = \"hello\"\nclient_throttle = { rate = 0.1, burst = 2, key = \"header:x-client\" }\n",
    );
    let url = gw.url("/per-client/x");
    let mut a = Vec::new();
    for _ in 0..4 {
        a.push(status_of(&url, Some("a")).await.0);
    }
    assert_eq!(a, [200, 200, 429, 429]);
    // Client b has its own bucket.
    assert_eq!(status_of(&url, Some("b")).await.0, 200);
    assert_eq!(status_of(&url, Some("b")).await.0, 200);
    assert_eq!(status_of(&url, Some("b")).await.0, 429);
}

#[tokio::test]
async fn limits_change_at_run_time_without_touching_other_routes() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/a/{name}\"\nmodule = \"hello\"\nthrottle = { rate = 0.1, burst = 1 }\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/b/{name}\"\nmodule = \"hello\"\nthrottle = { rate = 0.1, burst = 1 }\n",
    );
    let admin = AdminClient::new(&gw);
    assert_eq!(status_of(&gw.url("/a/x"), None).await.0, 200);
    assert_eq!(status_of(&gw.url("/a/x"), None).await.0, 429);
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 200);
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 429);
    // Raise b's burst: b gets a fresh bucket; a's stays empty.
    let (status, body) = admin
        .put("/routes", json!({ "method": "GET", "path": "/b/{name}", "module": "hello", "throttle": { "rate": 0.1, "burst": 5 } }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 200);
    assert_eq!(status_of(&gw.url("/a/x"), None).await.0, 429);

    // A gateway-wide limit applies to every route, on top of theirs.
    let (status, body) = admin
        .put(
            "/gateway",
            json!({ "throttle": { "rate": 0.1, "burst": 2 } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 200);
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 200);
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 429);
    let (status, _) = admin.put("/gateway", json!({ "throttle": null })).await;
    assert_eq!(status, 200);
    assert_eq!(status_of(&gw.url("/b/x"), None).await.0, 200);

    let (status, body) = admin
        .put("/routes", json!({ "method": "GET", "path": "/c", "module": "hello", "throttle": { "rate": 0, "burst": 1 } }))
        .await;
    assert_eq!(status, 400, "{body}");
}

/// The most intervals overlapping at any instant.
fn peak_overlap(intervals: &[(u128, u128)]) -> usize {
    let mut events: Vec<(u128, i32)> = intervals
        .iter()
        .flat_map(|&(start, end)| [(start, 1), (end, -1)])
        .collect();
    // At equal times, an end comes before a start: touching intervals do not overlap.
    events.sort();
    let (mut running, mut peak) = (0i32, 0i32);
    for (_, change) in events {
        running += change;
        peak = peak.max(running);
    }
    peak as usize
}

/// GET `url`: (status, the probe's run interval if it ran).
async fn timed(url: &str) -> (u16, Option<(u128, u128)>) {
    let response = client().get(url).send().await.expect("send");
    let header =
        |name: &str| -> Option<u128> { response.headers().get(name)?.to_str().ok()?.parse().ok() };
    let interval = header("x-started-ns").zip(header("x-ended-ns"));
    (response.status().as_u16(), interval)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_is_capped_and_the_queue_drains() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/work/{action}\"\nmodule = \"probe\"\nconcurrency = 4\nqueue = 100\nqueue_timeout_ms = 20000\ntimeout_ms = 20000\n",
    );
    let url = Arc::new(gw.url("/work/sleep?ms=200"));
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { timed(&url).await })
        })
        .collect();
    let mut intervals = Vec::new();
    for task in tasks {
        let (status, interval) = task.await.expect("task");
        assert_eq!(status, 200, "queued requests complete");
        intervals.push(interval.expect("the probe's timing headers"));
    }
    assert_eq!(peak_overlap(&intervals), 4, "{intervals:?}");
    let admin = AdminClient::new(&gw);
    let (_, routes) = admin.get("/routes").await;
    let id = routes["routes"][0]["id"].as_str().expect("id").to_owned();
    let (status, stats) = admin.get(&format!("/routes/{id}/stats")).await;
    assert_eq!(status, 200);
    assert_eq!(
        stats["stats"],
        json!({ "in_flight": 0, "queued": 0, "throttled": 0, "rejected": 0 })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overflow_gets_the_configured_status() {
    let gw = gateway(
        "[[routes]]\nmethod = \"GET\"\npath = \"/busy/{action}\"\nmodule = \"probe\"\nconcurrency = 2\nqueue = 2\nqueue_timeout_ms = 300\ntimeout_ms = 5000\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/busy503/{action}\"\nmodule = \"probe\"\nconcurrency = 1\nqueue = 0\noverflow_status = 503\ntimeout_ms = 5000\n",
    );
    let url = Arc::new(gw.url("/busy/sleep?ms=1500"));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                let response = client().get(url.as_str()).send().await.expect("send");
                let status = response.status().as_u16();
                let retry = response.headers().get("retry-after").cloned();
                (status, retry)
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        let (status, retry) = task.await.expect("task");
        if status == 429 {
            assert_eq!(retry.expect("Retry-After"), "1");
        }
        statuses.push(status);
    }
    statuses.sort();
    // Two run; two wait 300 ms and give up; four find the queue full.
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429, 429, 429]);

    let admin = AdminClient::new(&gw);
    let (_, routes) = admin.get("/routes").await;
    let id = routes["routes"][0]["id"].as_str().expect("id").to_owned();
    let (_, stats) = admin.get(&format!("/routes/{id}/stats")).await;
    assert_eq!(stats["stats"]["rejected"], 6);

    let url = gw.url("/busy503/sleep?ms=1000");
    let first = tokio::spawn(client().get(url.clone()).send());
    tokio::task::block_in_place(|| gw.wait_for_log("probe: sleeping 1000 ms"));
    let response = client().get(&url).send().await.expect("send");
    assert_eq!(response.status(), 503);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "concurrency_limit");
    assert_eq!(first.await.expect("join").expect("send").status(), 200);
}
