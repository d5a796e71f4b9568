//! `GET /metrics`: a scripted sequence of requests (200s, throttled 429s, a 404, an
//! authorizer's deny, a timeout) read back as exact counts from the Prometheus text, on the
//! admin listener (with the token) and on `--metrics-listen` (without).

use std::time::{Duration, Instant};

use crate::support::{Gateway, client, guests, module, route, run, scrape, tok_authorizer};

/// The value of the series written exactly as `series` (name and labels), if present.
pub(crate) fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.trim().parse().expect("a number"))
}

/// `value`, which must be there.
fn must(text: &str, series: &str) -> f64 {
    value(text, series).unwrap_or_else(|| panic!("no `{series}` in:\n{text}"))
}

fn manifest() -> String {
    [
        module("hello", guests::HELLO, ""),
        module("probe", guests::PROBE, ""),
        tok_authorizer(""),
        route(
            "GET",
            "/hello/{name}",
            "hello",
            "throttle = { rate = 0.001, burst = 3 }",
        ),
        route("GET", "/private/{name}", "hello", "authorizer = \"tok\""),
        route("GET", "/probe/{action}", "probe", "timeout_ms = 300"),
    ]
    .concat()
}

async fn status(url: String, token: Option<&str>) -> u16 {
    let mut request = client().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("send").status().as_u16()
}

#[tokio::test]
async fn a_scripted_sequence_is_counted_exactly() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"],
    );
    let mut seen = Vec::new();
    for _ in 0..5 {
        seen.push(status(gw.url("/hello/ada"), None).await);
    }
    seen.push(status(gw.url("/nowhere"), None).await);
    seen.push(status(gw.url("/private/ada"), Some("deny")).await);
    seen.push(status(gw.url("/probe/spin"), None).await);
    assert_eq!(seen, [200, 200, 200, 429, 429, 404, 403, 504]);

    // The admin listener wants its token for the metrics; the metrics listener does not.
    assert_eq!(status(gw.admin_url("/metrics"), None).await, 401);
    let admin = client()
        .get(gw.admin_url("/metrics"))
        .bearer_auth(gw.admin_token())
        .send()
        .await
        .expect("scrape");
    assert_eq!(admin.status(), 200);
    assert!(
        admin.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain; version=0.0.4"),
    );
    let text = admin.text().await.expect("text");
    let unauthenticated = client()
        .get(gw.metrics_url().expect("--metrics-listen"))
        .send()
        .await
        .expect("scrape");
    assert_eq!(unauthenticated.status(), 200);
    let text_too = unauthenticated.text().await.expect("text");

    let hello = r#"method="GET",route="/hello/{name}""#;
    for text in [&text, &text_too] {
        let requests = |labels: &str| must(text, &format!("wasmgate_requests_total{{{labels}}}"));
        let rejections =
            |labels: &str| must(text, &format!("wasmgate_rejections_total{{{labels}}}"));
        assert_eq!(
            requests(&format!(r#"{hello},version="hello@1",status="2xx""#)),
            3.0
        );
        assert_eq!(
            requests(&format!(r#"{hello},version="",status="4xx""#)),
            2.0
        );
        assert_eq!(rejections(&format!(r#"{hello},kind="throttled""#)), 2.0);
        assert_eq!(
            rejections(r#"method="",route="(none)",kind="not_found""#),
            1.0
        );
        assert_eq!(
            rejections(r#"method="GET",route="/private/{name}",kind="forbidden""#),
            1.0
        );
        assert_eq!(
            rejections(r#"method="GET",route="/probe/{action}",kind="timeout""#),
            1.0
        );
        assert_eq!(
            requests(r#"method="GET",route="/probe/{action}",version="probe@1",status="5xx""#),
            1.0
        );
        // Every request on the route is timed; instances only for those that ran.
        let count = |series: &str| must(text, series);
        assert_eq!(
            count(&format!(
                "wasmgate_request_duration_seconds_count{{{hello}}}"
            )),
            5.0
        );
        assert_eq!(
            count(&format!(
                r#"wasmgate_phase_duration_seconds_count{{{hello},phase="instantiate"}}"#
            )),
            3.0
        );
        assert_eq!(
            count(&format!(
                r#"wasmgate_phase_duration_seconds_count{{{hello},phase="guest"}}"#
            )),
            3.0
        );
        assert_eq!(
            count(
                r#"wasmgate_phase_duration_seconds_count{method="GET",route="/private/{name}",phase="authorize"}"#
            ),
            1.0
        );
        // "Hello, ada!" three times.
        assert_eq!(
            count(&format!("wasmgate_response_bytes_total{{{hello}}}")),
            3.0 * 11.0 + 2.0 * 31.0
        );
        assert_eq!(
            count(r#"wasmgate_authorizer_cache_lookups_total{authorizer="tok",outcome="miss"}"#),
            1.0
        );
        assert_eq!(
            count(r#"wasmgate_in_flight{method="GET",route="/hello/{name}"}"#),
            0.0
        );
        assert_eq!(count("wasmgate_instances"), 0.0);
        assert_eq!(count("wasmgate_instance_pool"), 1000.0);
        assert!(count("process_resident_memory_bytes") > 1e6);
        assert!(count("process_open_fds") > 3.0);
        assert!(count(r#"wasmgate_connections_accepted_total{listener="gateway"}"#) >= 1.0);
        assert!(count("wasmgate_compile_duration_seconds_count") >= 3.0);
    }
    // Nothing a client sent became a label.
    assert!(!text.contains("/nowhere"), "{text}");
    assert!(!text.contains("ada"), "{text}");

    // The same counts as JSON, for the web console: `GET /stats`.
    let (status, stats) = crate::support::AdminClient::new(&gw).get("/stats").await;
    assert_eq!(status, 200, "{stats}");
    let routes = stats["routes"].as_array().expect("routes");
    let hello = routes
        .iter()
        .find(|r| r["route"] == "/hello/{name}")
        .expect("the hello route");
    assert_eq!(hello["method"], "GET", "{hello}");
    assert_eq!(
        hello["statuses"],
        serde_json::json!({ "2xx": 3, "4xx": 2 }),
        "{hello}"
    );
    assert_eq!(hello["rejections"]["throttled"], 2, "{hello}");
    let timed = |route: &serde_json::Value| -> u64 {
        let durations = route["durations"].as_array().expect("durations").iter();
        durations.map(|n| n.as_u64().expect("a count")).sum()
    };
    assert_eq!(timed(hello), 5, "{hello}");
    assert_eq!(hello["in_flight"], 0);
    assert!(hello["id"].is_string(), "{hello}");
    assert_eq!(stats["unmatched"]["statuses"]["4xx"], 1, "{stats}");
    assert_eq!(stats["latency_buckets"].as_array().map(Vec::len), Some(15));
    assert_eq!(stats["instance_pool"], 1000);
}

#[tokio::test]
async fn the_metrics_listener_serves_nothing_else() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"],
    );
    let metrics = gw.metrics_url().expect("--metrics-listen");
    let other = metrics.replace("/metrics", "/routes");
    assert_eq!(status(other, None).await, 404);
    let post = client().post(metrics).send().await.expect("send");
    assert_eq!(post.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_once_reports_each_routes_rates_and_latency() {
    let gw = Gateway::start(&manifest());
    let (url, token) = (gw.admin_url(""), gw.admin_token());
    let dir = tempfile::tempdir().expect("tempdir");
    let cwd = dir.path().to_owned();
    let top = std::thread::spawn(move || {
        let args = [
            "top",
            "--once",
            "--json",
            "--interval",
            "2",
            "--admin-url",
            &url,
            "--admin-token",
            &token,
        ];
        run(&args, &cwd)
    });
    // Inside the sample's window: three allowed, the rest throttled.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let started = Instant::now();
    let mut sent = 0;
    while started.elapsed() < Duration::from_millis(1000) {
        status(gw.url("/hello/ada"), None).await;
        sent += 1;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (exit, stdout, stderr) = top.join().expect("top");
    assert!(exit.success(), "{stderr}");
    let sample: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON sample");
    let seconds = sample["interval_seconds"].as_f64().expect("interval");
    assert!((1.9..3.0).contains(&seconds), "{sample}");
    let hello = sample["routes"]
        .as_array()
        .expect("routes")
        .iter()
        .find(|r| r["route"] == "/hello/{name}")
        .unwrap_or_else(|| panic!("{sample}"));
    assert_eq!(hello["method"], "GET");
    let per_second = |key: &str| hello[key].as_f64().expect("a rate") * seconds;
    assert_eq!(
        per_second("requests_per_second").round(),
        f64::from(sent),
        "{sample}"
    );
    assert_eq!(
        per_second("throttled_per_second").round(),
        f64::from(sent - 3),
        "{sample}"
    );
    assert_eq!(
        per_second("client_errors_per_second").round(),
        f64::from(sent - 3),
        "{sample}"
    );
    assert_eq!(hello["server_errors_per_second"], 0.0);
    let p50 = hello["p50_ms"].as_f64().expect("p50");
    let p99 = hello["p99_ms"].as_f64().expect("p99");
    assert!(p50 > 0.0 && p50 <= p99, "{sample}");
    assert_eq!(hello["in_flight"], 0.0);
}

#[tokio::test]
async fn per_route_counting_can_be_turned_off() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--metrics", "false"],
    );
    assert_eq!(status(gw.url("/hello/ada"), None).await, 200);
    let text = scrape(&gw).await;
    assert_eq!(
        value(
            &text,
            r#"wasmgate_requests_total{method="GET",route="/hello/{name}",version="hello@1",status="2xx"}"#
        ),
        None,
        "{text}"
    );
    assert!(
        !text.contains("wasmgate_request_duration_seconds"),
        "{text}"
    );
    // The gateway's own figures stay.
    assert!(must(&text, "process_open_fds") > 3.0);
    assert!(
        must(
            &text,
            r#"wasmgate_connections_accepted_total{listener="gateway"}"#
        ) >= 1.0
    );
}

#[tokio::test]
async fn a_deleted_routes_series_leave_the_metrics() {
    let gw = Gateway::start(&manifest());
    let admin = crate::support::AdminClient::new(&gw);
    let (status_code, route) = admin
        .put(
            "/routes",
            serde_json::json!({ "method": "GET", "path": "/brief/{name}", "module": "hello" }),
        )
        .await;
    assert_eq!(status_code, 200, "{route}");
    assert_eq!(status(gw.url("/brief/ada"), None).await, 200);

    let brief = r#"wasmgate_requests_total{method="GET",route="/brief/{name}",version="hello@1",status="2xx"}"#;
    assert_eq!(value(&scrape(&gw).await, brief), Some(1.0));

    let id = route["id"].as_str().expect("id");
    let (status_code, _) = admin.delete(&format!("/routes/{id}")).await;
    assert_eq!(status_code, 200);
    let text = scrape(&gw).await;
    assert!(!text.contains("/brief/{name}"), "{text}");
    // Other routes keep theirs.
    assert_eq!(status(gw.url("/hello/ada"), None).await, 200);
    assert!(scrape(&gw).await.contains(r#"route="/hello/{name}""#));
}
