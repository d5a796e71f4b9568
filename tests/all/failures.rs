//! Failing handlers: each failure gets its status and a JSON body naming its kind, and
//! never affects the next request.

use serde_json::Value;

use crate::support::{
    Gateway, assert_error_detail, client, header, standard_gateway, standard_manifest,
};

#[tokio::test]
async fn trapping_handler_is_502_and_the_next_request_succeeds() {
    let gw = standard_gateway();
    let (status, body) = gw.get_json("/probe/trap").await;
    assert_eq!(status, 502);
    assert_eq!(body["message"], "Bad Gateway");
    assert_error_detail(&body, "handler_trapped", "unreachable");

    let response = gw.get("/probe/count").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "1");
}

#[tokio::test]
async fn handler_past_its_timeout_is_504() {
    let gw = standard_gateway();
    // The probe route has timeout_ms = 1000; `spin` loops forever.
    let (status, body) = gw.get_json("/probe/spin").await;
    assert_eq!(status, 504);
    assert_eq!(body["error"], "handler_timeout");
    assert_eq!(
        body["detail"],
        "the handler did not respond within its timeout of 1000 ms"
    );
    // The worker thread is free again.
    let response = gw.get("/hello/again").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn handler_over_its_memory_limit_is_502_naming_the_limit() {
    let gw = standard_gateway();
    // The probe route has memory_mb = 32.
    let response = gw.get("/probe/grow?mb=8").await;
    assert_eq!(response.status(), 200);
    let (status, body) = gw.get_json("/probe/grow?mb=64").await;
    assert_eq!(status, 502);
    assert_error_detail(&body, "handler_memory_limit", "over its limit of 32 MiB");
}

#[tokio::test]
async fn failure_after_the_head_breaks_the_response_instead_of_ending_it() {
    let gw = standard_gateway();
    for path in ["/plain/partial-then-trap", "/plain/partial-then-spin"] {
        // The connection is cut: either before hyper flushed the head, or after it, while
        // the body is read. Never a complete 200 carrying "partial".
        match client().get(gw.url(path)).send().await {
            Err(error) => assert!(error.is_request(), "{path}: {error}"),
            Ok(response) => {
                assert_eq!(response.status(), 200, "{path}");
                let body = response.bytes().await;
                assert!(body.is_err(), "{path}: got a complete body {body:?}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_instance_pool_is_503_with_retry_after() {
    let gw = Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", "127.0.0.1:0", "--max-instances", "1"],
    );
    let busy = tokio::spawn(client().get(gw.url("/slow/sleep?ms=1000")).send());
    tokio::task::block_in_place(|| gw.wait_for_log("probe: sleeping 1000 ms"));

    let response = gw.get("/hello/x").await;
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "instance_pool_full");

    let busy = busy.await.expect("join").expect("send");
    assert_eq!(busy.status(), 200);
    let response = gw.get("/hello/x").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn guest_output_reaches_the_log_by_line_up_to_its_limit() {
    let gw = standard_gateway();
    let response = gw.get("/probe/chatter?lines=3").await;
    assert_eq!(response.status(), 200);
    let request_id = header(&response, "x-request-id");
    gw.wait_for_log("probe: chatter 2 on stderr");
    let log = gw.stderr();
    let line = log
        .lines()
        .find(|line| line.contains("probe: chatter 0 on stdout"))
        .expect("a stdout line");
    assert!(
        line.contains(&request_id),
        "tagged with the request: {line}"
    );
    assert!(line.contains("stdout"), "{line}");

    // 20,000 lines on each stream: only the first 1,024 lines are logged, then one warning.
    // (On the route with room to write them: a loaded machine takes over a second.)
    let response = gw.get("/slow/chatter?lines=20000").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.expect("body"),
        "chattered 20000 lines"
    );
    gw.wait_for_log("the rest was not logged");
    let logged = gw.stderr().matches("probe: chatter ").count();
    assert_eq!(logged, 3 * 2 + 1_024, "guest lines logged");
}
