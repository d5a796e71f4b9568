//! Deadline-aware admission: a request that could not start before its deadline is refused
//! at once (503, `Retry-After` from the queue's depth and service rate), and the queue of
//! a route at its concurrency limit takes turns between clients.

use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::support::{
    Gateway, assert_error_detail, client, exclusive, guests, module, route, wait_until,
};

/// How long each call of the slow route takes.
const SERVICE_MS: u64 = 200;

/// A slow route with two slots and a long queue; clients are told apart by `x-client`.
fn slow_gateway() -> Gateway {
    let manifest = module("probe", guests::PROBE, "")
        + &route(
            "GET",
            "/slow/{action}",
            "probe",
            "concurrency = 2\nqueue = 100\nqueue_timeout_ms = 20000\ntimeout_ms = 20000\n\
             client_throttle = { rate = 10000, burst = 10000, key = \"header:x-client\" }",
        );
    Gateway::start_with_args(
        &manifest,
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
    )
}

/// One call of the slow route as `client` (with a deadline, when given).
struct Call {
    id: String,
    status: u16,
    retry_after: Option<u64>,
    body: Value,
    /// When the guest started it (ns since the epoch), for calls that ran.
    started_ns: Option<u128>,
    /// When its answer arrived.
    answered: Instant,
}

async fn call(gw_url: &str, client_id: &str, deadline_ms: Option<u64>, request_id: &str) -> Call {
    let mut request = client()
        .get(gw_url)
        .header("x-client", client_id)
        .header("x-request-id", request_id);
    if let Some(ms) = deadline_ms {
        request = request.header("x-request-timeout-ms", ms.to_string());
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let header = |name: &str| {
        (response.headers().get(name))
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u128>().ok())
    };
    let retry_after = header("retry-after").map(|seconds| seconds as u64);
    let started_ns = header("x-started-ns");
    let text = response.text().await.expect("body");
    Call {
        id: request_id.to_owned(),
        status,
        retry_after,
        body: serde_json::from_str(&text).unwrap_or(Value::Null),
        started_ns,
        answered: Instant::now(),
    }
}

/// The route's `queued` count, from the admin API.
async fn queued(gw: &Gateway) -> u64 {
    let admin = crate::support::AdminClient::new(gw);
    let (_, routes) = admin.get("/routes").await;
    let id = routes["routes"][0]["id"].as_str().expect("id").to_owned();
    let (_, stats) = admin.get(&format!("/routes/{id}/stats")).await;
    stats["stats"]["queued"].as_u64().expect("queued")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_is_refused_by_deadline_while_a_quiet_client_takes_its_turns() {
    // The refusals' timing is checked: no other test's gateway loads the machine meanwhile.
    let _machine = exclusive();
    let gw = slow_gateway();
    let url: Arc<str> = gw.url(&format!("/slow/sleep?ms={SERVICE_MS}")).into();
    // The route learns its service time.
    for n in 0..4 {
        assert_eq!(
            call(&url, "warm", None, &format!("warm-{n}")).await.status,
            200
        );
    }

    // The flood: 40 requests at once, each to be answered within 2.5 s. Two slots at
    // 200 ms each serve ten a second, so about 23 can wait; the rest cannot make it.
    let flood_sent = Instant::now();
    let flood: Vec<_> = (0..40)
        .map(|n| {
            let url = url.clone();
            tokio::spawn(
                async move { call(&url, "flood", Some(2_500), &format!("flood-{n}")).await },
            )
        })
        .collect();
    // The quiet client calls one at a time while the flood waits.
    let quiet_url = url.clone();
    let quiet = tokio::spawn(async move {
        let mut calls = Vec::new();
        for n in 0..4 {
            calls.push(call(&quiet_url, "quiet", None, &format!("quiet-{n}")).await);
        }
        calls
    });
    let mut flood_calls = Vec::new();
    for task in flood {
        flood_calls.push(task.await.expect("join"));
    }
    let quiet_calls = quiet.await.expect("join");

    let served: Vec<&Call> = flood_calls.iter().filter(|c| c.status == 200).collect();
    let detail = |call: &Call| call.body["detail"].as_str().unwrap_or_default().to_owned();
    let refused: Vec<&Call> = (flood_calls.iter())
        .filter(|c| c.status == 503 && detail(c).contains("would wait about"))
        .collect();
    // The quiet client's calls take turns the estimate could not foresee: as many flood
    // requests, give or take one, find their deadline too close when a slot is free for
    // them (503 too, refused then), or, rarely, take longer than the median to be served
    // (504).
    let late: Vec<&Call> = (flood_calls.iter())
        .filter(|c| c.status != 200 && !refused.iter().any(|r| r.id == c.id))
        .collect();
    let statuses: Vec<u16> = flood_calls.iter().map(|c| c.status).collect();
    assert!(
        (15..=30).contains(&served.len()),
        "about 23 of the flood wait and are served: {statuses:?}"
    );
    assert!(!refused.is_empty(), "{statuses:?}");
    for call in &refused {
        assert_error_detail(&call.body, "deadline", "past its deadline");
    }
    assert!(late.len() <= quiet_calls.len() + 1, "{statuses:?}");
    for call in &late {
        match call.status {
            503 => assert_error_detail(&call.body, "deadline", "came too close"),
            504 => assert_error_detail(&call.body, "handler_timeout", "2500 ms"),
            _ => panic!("{}: {}", call.status, call.body),
        }
    }

    // The quiet client was served in turn: each of its calls started while flood requests
    // sent before it still waited (first come, first served would have put all of them
    // first).
    for quiet_call in &quiet_calls {
        assert_eq!(quiet_call.status, 200, "{}", quiet_call.body);
        let started = quiet_call.started_ns.expect("x-started-ns");
        let flood_after = (served.iter())
            .filter(|flood| flood.started_ns.expect("x-started-ns") > started)
            .count();
        assert!(
            flood_after >= 5,
            "a quiet call started before only {flood_after} of the flood's"
        );
    }

    // `Retry-After` is within 50% of the real wait: when the route could next have taken
    // a request, which is when the second-to-last of the served requests ended (one slot
    // free and nobody waiting).
    let mut ends: Vec<Instant> = served.iter().map(|call| call.answered).collect();
    ends.extend(quiet_calls.iter().map(|call| call.answered));
    ends.sort();
    let free_again = ends[ends.len() - 2];
    for call in &refused {
        let real = free_again.duration_since(flood_sent).as_secs_f64();
        let told = call.retry_after.expect("Retry-After") as f64;
        assert!(
            (told - real).abs() <= real * 0.5,
            "Retry-After {told} s against a real wait of {real:.2} s"
        );
    }

    // Refusals were answered at once: the gateway's own timing in its access log.
    let lines = tokio::task::block_in_place(|| {
        wait_until("the flood's access-log lines", || {
            let lines: Vec<Value> = (gw.stderr().lines())
                .filter_map(|line| serde_json::from_str::<Value>(line).ok())
                .filter(|line| {
                    refused
                        .iter()
                        .any(|call| line["request_id"] == call.id.as_str())
                })
                .collect();
            (lines.len() == refused.len()).then_some(lines)
        })
    });
    for line in lines {
        let ms = line["ms"].as_f64().expect("ms");
        assert!(ms < 5.0, "a refusal took {ms} ms: {line}");
    }
    assert_eq!(queued(&gw).await, 0);
}

#[tokio::test]
async fn a_client_can_shorten_its_deadline_not_break_it() {
    let gw = slow_gateway();
    let url = gw.url("/slow/sleep?ms=600");
    // Shorter than the call: the handler is stopped at the client's deadline.
    let short = call(&url, "a", Some(300), "short").await;
    assert_eq!(short.status, 504, "{}", short.body);
    assert_error_detail(&short.body, "handler_timeout", "300 ms");
    // Longer than the route's timeout: the route's stands.
    let long = call(&url, "a", Some(999_999), "long").await;
    assert_eq!(long.status, 200, "{}", long.body);
    for bad in ["0", "-1", "1.5", "soon", "12345678901"] {
        let response = client()
            .get(&url)
            .header("x-request-timeout-ms", bad)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 400, "{bad}");
        let body: Value = response.json().await.expect("json");
        assert_error_detail(&body, "bad_request", "x-request-timeout-ms");
    }
}
