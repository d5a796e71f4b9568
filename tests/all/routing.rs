//! Routing seen from a client: path params, greedy tails, 404 and 405.

use crate::support::{client, standard_gateway};
use serde_json::Value;

#[tokio::test]
async fn hello_answers_from_the_wasm_handler() {
    let gw = standard_gateway();
    let response = gw.get("/hello/ada").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(response.text().await.expect("body"), "Hello, ada!");
}

#[tokio::test]
async fn path_params_are_percent_decoded() {
    let gw = standard_gateway();
    let c = client();
    for (path, expected) in [
        ("/hello/ada%20lovelace", "Hello, ada lovelace!"),
        ("/hello/%C3%A9mile", "Hello, émile!"),
        ("/hello/a%2Fb", "Hello, a/b!"),
    ] {
        let response = c.get(gw.url(path)).send().await.expect("send");
        assert_eq!(response.status(), 200, "{path}");
        assert_eq!(response.text().await.expect("body"), expected, "{path}");
    }
}

#[tokio::test]
async fn greedy_tail_takes_the_rest_of_the_path() {
    let gw = standard_gateway();
    let body: Value = gw.get("/echo/a/b%20c/d").await.json().await.expect("json");
    assert_eq!(body["params"]["proxy"], "a/b c/d");
    assert_eq!(body["route"], "/echo/{proxy+}");
    assert_eq!(body["path"], "/echo/a/b%20c/d");
}

#[tokio::test]
async fn unknown_path_is_404_json() {
    let gw = standard_gateway();
    let response = gw.get("/nothing/here").await;
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(
        response.text().await.expect("body"),
        r#"{"message":"Not Found"}"#
    );
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let gw = standard_gateway();
    let c = client();
    let response = c.put(gw.url("/items/7")).send().await.expect("send");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "DELETE, GET, HEAD");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["message"], "Method Not Allowed");

    let response = c.post(gw.url("/hello/ada")).send().await.expect("send");
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");

    // The allowed methods do reach the handler.
    let response = c.delete(gw.url("/items/7")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["method"], "DELETE");
    assert_eq!(body["params"]["id"], "7");
}

#[tokio::test]
async fn param_that_is_not_utf8_is_400() {
    let gw = standard_gateway();
    let response = gw.get("/hello/%FF").await;
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "bad_request");
}

#[tokio::test]
async fn head_is_answered_by_the_get_route_without_a_body() {
    let gw = standard_gateway();
    let response = client()
        .head(gw.url("/hello/ada"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert!(
        response.headers()["x-wasmgate-version"]
            .to_str()
            .expect("ascii")
            .starts_with("hello@")
    );
    assert_eq!(response.bytes().await.expect("body").len(), 0);
    // Still served after it: the connection and the gateway are fine.
    assert_eq!(gw.get("/hello/ada").await.status(), 200);
}
