//! What handlers receive and send: methods, query strings, headers, bodies, the request id,
//! and a fresh instance per request.

use crate::support::{assert_message, client, echoed, header, read_json, standard_gateway};
use serde_json::Value;

#[tokio::test]
async fn get_with_query_string_reaches_the_handler() {
    let gw = standard_gateway();
    let body = echoed(client().get(gw.url("/echo/search?q=wasm+gate&page=2&empty="))).await;
    assert_eq!(body["method"], "GET");
    assert_eq!(body["query"]["q"], "wasm gate");
    assert_eq!(body["query"]["page"], "2");
    assert_eq!(body["query"]["empty"], "");
    assert_eq!(body["body"], "");
}

#[tokio::test]
async fn post_body_reaches_the_handler() {
    let gw = standard_gateway();
    let body = echoed(
        client()
            .post(gw.url("/echo/orders"))
            .header("content-type", "application/json")
            .body(r#"{"item":"tea","qty":2}"#),
    )
    .await;
    assert_eq!(body["method"], "POST");
    assert_eq!(body["body"], r#"{"item":"tea","qty":2}"#);
    assert_eq!(body["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn headers_round_trip() {
    let gw = standard_gateway();
    let c = client();
    // Request headers reach the handler…
    let body = echoed(c.get(gw.url("/echo/h")).header("x-custom", "abc 123")).await;
    assert_eq!(body["headers"]["x-custom"], "abc 123");
    // …and headers the handler sets reach the client.
    let response = c
        .get(gw.url("/probe/headers"))
        .header("x-one", "1")
        .header("x-two", "zwei")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-one"], "1");
    assert_eq!(response.headers()["x-two"], "zwei");
}

#[tokio::test]
async fn request_id_is_sent_to_the_client_and_the_handler() {
    let gw = standard_gateway();
    let response = gw.get("/echo/id").await;
    let request_id = header(&response, "x-request-id");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["request_id"], request_id.as_str());
    assert_eq!(request_id.len(), 36, "a UUID: {request_id}");
}

#[tokio::test]
async fn every_request_gets_a_fresh_instance() {
    let gw = standard_gateway();
    let c = client();
    for _ in 0..10 {
        let response = c.get(gw.url("/probe/count")).send().await.expect("send");
        assert_eq!(response.status(), 200);
        // The guest's global counter starts at 0 in every instance.
        assert_eq!(response.text().await.expect("body"), "1");
    }
}

#[tokio::test]
async fn sdk_error_with_a_status_is_a_json_response() {
    let gw = standard_gateway();
    let (status, body) = read_json(gw.get("/probe/fail").await).await;
    assert_eq!(status, 418);
    assert_eq!(body["message"], "the probe was asked to fail");
}

#[tokio::test]
async fn a_status_and_headers_the_handler_sets_reach_the_client_and_invalid_ones_are_a_named_500() {
    let gw = standard_gateway();
    let response = gw.get("/probe/reply?status=201&header=x-made").await;
    assert_eq!(response.status(), 201);
    assert_eq!(header(&response, "x-made"), "set");
    assert_eq!(response.text().await.expect("body"), "replied");
    let (status, body) = gw.get_json("/probe/reply?header=bad%20name").await;
    assert_eq!(status, 500);
    assert_message(&body, "invalid header `bad name`");
    let (status, body) = gw.get_json("/probe/reply?status=99").await;
    assert_eq!(status, 500);
    assert_message(&body, "invalid status 99");
}

#[tokio::test]
async fn sdk_error_from_question_mark_is_a_clean_500() {
    let gw = standard_gateway();
    // `ms` does not parse as a number: the handler's `?` turns the ParseIntError into a 500.
    let (status, body) = gw.get_json("/probe/sleep?ms=soon").await;
    assert_eq!(status, 500);
    assert_eq!(body["message"], "invalid digit found in string");
}
