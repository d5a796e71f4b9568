//! Failing handlers: each failure gets its status and a JSON body naming its kind, and
//! never affects the next request.

use serde_json::Value;

use crate::support::{client, standard_gateway};

async fn failure(gw: &crate::support::Gateway, path: &str) -> (u16, Value) {
    let response = client().get(gw.url(path)).send().await.expect("send");
    let status = response.status().as_u16();
    assert_eq!(response.headers()["content-type"], "application/json");
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn trapping_handler_is_502_and_the_next_request_succeeds() {
    let gw = standard_gateway();
    let (status, body) = failure(&gw, "/probe/trap").await;
    assert_eq!(status, 502);
    assert_eq!(body["message"], "Bad Gateway");
    assert_eq!(body["error"], "handler_trapped");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("unreachable"),
        "{body}"
    );

    let response = client()
        .get(gw.url("/probe/count"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "1");
}

#[tokio::test]
async fn handler_past_its_timeout_is_504() {
    let gw = standard_gateway();
    // The probe route has timeout_ms = 1000; `spin` loops forever.
    let (status, body) = failure(&gw, "/probe/spin").await;
    assert_eq!(status, 504);
    assert_eq!(body["error"], "handler_timeout");
    assert_eq!(
        body["detail"],
        "the handler did not respond within its timeout of 1000 ms"
    );
    // The worker thread is free again.
    let response = client()
        .get(gw.url("/hello/again"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn handler_over_its_memory_limit_is_502_naming_the_limit() {
    let gw = standard_gateway();
    // The probe route has memory_mb = 32.
    let response = client()
        .get(gw.url("/probe/grow?mb=8"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let (status, body) = failure(&gw, "/probe/grow?mb=64").await;
    assert_eq!(status, 502);
    assert_eq!(body["error"], "handler_memory_limit");
    assert!(
        body["detail"]
            .as_str()
            .expect("detail")
            .contains("over its limit of 32 MiB"),
        "{body}"
    );
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
    let gw = crate::support::Gateway::start_with_args(
        &crate::support::standard_manifest(),
        &["--listen", "127.0.0.1:0", "--max-instances", "1"],
    );
    let busy = tokio::spawn(client().get(gw.url("/slow/sleep?ms=1000")).send());
    tokio::task::block_in_place(|| gw.wait_for_log("probe: sleeping 1000 ms"));

    let response = client().get(gw.url("/hello/x")).send().await.expect("send");
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "instance_pool_full");

    let busy = busy.await.expect("join").expect("send");
    assert_eq!(busy.status(), 200);
    let response = client().get(gw.url("/hello/x")).send().await.expect("send");
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn guest_output_reaches_the_log_by_line_up_to_its_limit() {
    let gw = standard_gateway();
    let response = client()
        .get(gw.url("/probe/chatter?lines=3"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .expect("ascii")
        .to_owned();
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
    let response = client()
        .get(gw.url("/probe/chatter?lines=20000"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.text().await.expect("body"),
        "chattered 20000 lines"
    );
    gw.wait_for_log("the rest was not logged");
    let logged = gw.stderr().matches("probe: chatter ").count();
    assert_eq!(logged, 3 * 2 + 1_024, "guest lines logged");
}
