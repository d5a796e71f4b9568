//! The access log (one line per request, JSON with `--log-format json`), `x-request-id`
//! (kept when well-formed, else generated), and the admin listener's probes.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{
    Gateway, client, guests, module, route, standard_gateway, tok_authorizer, wait_until,
};

fn manifest() -> String {
    [
        module("hello", guests::HELLO, ""),
        module("echo", guests::ECHO, ""),
        tok_authorizer(""),
        route("GET", "/hello/{name}", "hello", ""),
        route("GET", "/private/{name}", "hello", "authorizer = \"tok\""),
        route("ANY", "/echo/{proxy+}", "echo", ""),
    ]
    .concat()
}

/// Every line of the log, each of which must be a JSON object.
fn json_lines(gw: &Gateway) -> Vec<Value> {
    gw.stderr()
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

/// The access-log lines, once there are `count` of them.
fn access_lines(gw: &Gateway, count: usize) -> Vec<Value> {
    wait_until(&format!("{count} access-log lines"), || {
        let lines: Vec<Value> = json_lines(gw)
            .into_iter()
            .filter(|line| line["target"] == "wasmgate::access")
            .collect();
        (lines.len() >= count).then_some(lines)
    })
}

#[tokio::test]
async fn every_request_writes_one_json_access_line_without_secrets() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--log-format", "json"],
    );
    let http = client();
    // A hostile but well-formed id: quotes and backslashes must not break the JSON.
    let hostile = r#"id-"quoted"\back"#;
    let hello = http
        .get(gw.url("/hello/ada"))
        .header("x-request-id", hostile)
        .send()
        .await
        .expect("send");
    assert_eq!(hello.status(), 200);
    assert_eq!(hello.headers()["x-request-id"], hostile);
    let private = http
        .get(gw.url("/private/ada"))
        .bearer_auth("allow-bob")
        .header("x-api-key", "not-logged-either")
        .send()
        .await
        .expect("send");
    assert_eq!(private.status(), 200);
    let missing = http.get(gw.url("/nowhere/x")).send().await.expect("send");
    assert_eq!(missing.status(), 404);

    let lines = access_lines(&gw, 3);
    assert_eq!(lines.len(), 3, "{lines:?}");
    let hello = &lines[0];
    assert_eq!(hello["request_id"], hostile);
    assert_eq!(hello["method"], "GET");
    assert_eq!(hello["route"], "/hello/{name}");
    assert_eq!(hello["path"], "/hello/ada");
    assert_eq!(hello["status"], 200);
    assert_eq!(hello["bytes_out"], 11);
    assert_eq!(hello["version"], "hello@1");
    assert_eq!(hello["client"], "127.0.0.1");
    for phase in ["ms", "instantiate_ms", "guest_ms"] {
        assert!(hello[phase].as_f64().is_some(), "{phase}: {hello}");
    }
    assert!(hello["timestamp"].is_string(), "{hello}");
    let private = &lines[1];
    assert_eq!(private["principal"], "bob");
    assert!(private["authorize_ms"].as_f64().is_some(), "{private}");
    let missing = &lines[2];
    assert_eq!(missing["status"], 404);
    assert_eq!(missing["rejection"], "not_found");
    assert_eq!(missing["route"], "(none)");
    // Tokens, keys and Authorization values never reach the access log.
    for line in &lines {
        let text = line.to_string();
        assert!(!text.contains("allow-bob"), "{text}");
        assert!(!text.contains("not-logged-either"), "{text}");
    }
}

#[tokio::test]
async fn the_access_log_can_be_turned_off() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--access-log", "false"],
    );
    let response = client()
        .get(gw.url("/hello/ada"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let missing = client().get(gw.url("/nowhere")).send().await.expect("send");
    assert_eq!(missing.status(), 404);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!gw.stderr().contains("wasmgate::access"), "{}", gw.stderr());
}

#[tokio::test]
async fn request_ids_are_kept_when_well_formed_and_replaced_otherwise() {
    let gw = Gateway::start_with_args(&manifest(), &["--listen", "127.0.0.1:0"]);
    let http = client();
    let echoed = |id: &str| {
        let request = http
            .get(gw.url("/echo/x"))
            .header("x-request-id", id.to_owned());
        async move {
            let response = request.send().await.expect("send");
            let returned = response.headers()["x-request-id"]
                .to_str()
                .expect("ascii")
                .to_owned();
            let body: Value = response.json().await.expect("json");
            (
                returned,
                body["request_id"].as_str().expect("id").to_owned(),
            )
        }
    };
    // Kept, returned, and given to the handler.
    let kept = "a".repeat(128);
    assert_eq!(echoed(&kept).await, (kept.clone(), kept));
    // Too long, or with a space or a control character: a fresh UUID instead.
    for bad in [
        "b".repeat(129),
        "has space".to_owned(),
        "tab\there".to_owned(),
    ] {
        let (returned, seen) = echoed(&bad).await;
        assert_ne!(returned, bad);
        assert_eq!(returned.len(), 36, "{returned}");
        assert_eq!(returned, seen);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_need_no_token_and_readiness_ends_when_draining() {
    let gw = standard_gateway();
    let http = client();
    let probe = |path: &str| {
        let request = http.get(gw.admin_url(path));
        async move {
            let response = request.send().await.expect("probe");
            let status = response.status().as_u16();
            let body: Value = response.json().await.expect("json");
            (
                status,
                body["status"].as_str().unwrap_or_default().to_owned(),
            )
        }
    };
    assert_eq!(probe("/healthz").await, (200, "ok".to_owned()));
    assert_eq!(probe("/readyz").await, (200, "ready".to_owned()));

    // A request in flight keeps the gateway draining after SIGTERM: not ready meanwhile.
    let slow = tokio::spawn(http.get(gw.url("/slow/sleep?ms=1500")).send());
    gw.wait_for_log("probe: sleeping 1500 ms");
    gw.terminate();
    let deadline = Instant::now() + Duration::from_secs(1);
    loop {
        let (status, state) = probe("/readyz").await;
        if status == 503 {
            assert_eq!(state, "draining");
            break;
        }
        assert!(Instant::now() < deadline, "still ready after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(probe("/healthz").await, (200, "ok".to_owned()));
    let finished = slow.await.expect("join").expect("the request in flight");
    assert_eq!(finished.status(), 200);
}
