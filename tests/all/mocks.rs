//! Mock integrations: a route that answers a configured status, headers and body without
//! running a module, behind the same keys, throttles and CORS as any route.

use serde_json::json;

use crate::support::{AdminClient, Gateway, client, guests, module, run, write_manifest};

/// `[[routes]]` with a mock instead of a module, then `extra` lines.
fn mock_route(method: &str, path: &str, mock: &str, extra: &str) -> String {
    format!("[[routes]]\nmethod = \"{method}\"\npath = \"{path}\"\nmock = {mock}\n{extra}\n")
}

#[tokio::test]
async fn a_mock_route_answers_its_response_and_nothing_runs() {
    let gateway = Gateway::start(
        &[
            mock_route(
                "GET",
                "/status",
                r#"{ status = 200, body = "ok", headers = { "content-type" = "text/plain", "x-stub" = "yes" } }"#,
                "throttle = { rate = 0.01, burst = 2 }",
            ),
            mock_route("POST", "/gone", "{ status = 410 }", ""),
        ]
        .concat(),
    );
    let response = gateway.get("/status").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers()["x-stub"], "yes");
    assert!(response.headers().contains_key("x-request-id"));
    assert!(!response.headers().contains_key("x-wasmgate-version"));
    assert_eq!(response.text().await.expect("body"), "ok");

    let head = client()
        .head(gateway.url("/status"))
        .send()
        .await
        .expect("send");
    assert_eq!(head.status(), 200);
    assert_eq!(head.bytes().await.expect("body").len(), 0);
    // The route's throttle applies as to any route: a burst of 2, the HEAD included.
    assert_eq!(gateway.get("/status").await.status(), 429);

    let gone = gateway.post("/gone", "ignored").await;
    assert_eq!(gone.status(), 410);
    assert_eq!(gone.text().await.expect("body"), "");
}

#[tokio::test]
async fn mocks_through_the_admin_api_apply_at_once_and_survive_a_restart() {
    let gateway = Gateway::start(&module("hello", guests::HELLO, ""));
    let admin = AdminClient::new(&gateway);
    let (status, body) = admin
        .put(
            "/routes",
            json!({"method": "GET", "path": "/health", "api_key_required": true,
                   "mock": {"status": 203, "body": "{\"up\":true}",
                            "headers": {"content-type": "application/json"}}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    // Behind an API key like any route.
    assert_eq!(gateway.get("/health").await.status(), 403);
    let (_, listed) = admin.get("/routes").await;
    assert_eq!(listed["routes"][0]["mock"]["status"], 203);

    let gateway = Gateway::start_in(gateway.stop_keeping_data(), &["--listen", "127.0.0.1:0"]);
    let admin = AdminClient::new(&gateway);
    let (status, key) = admin.post_json("/keys", json!({"name": "ops"})).await;
    assert_eq!(status, 201, "{key}");
    let secret = key["key"].as_str().expect("the key's secret");
    let response = gateway.get_with("/health", "x-api-key", secret).await;
    assert_eq!(response.status(), 203);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.text().await.expect("body"), r#"{"up":true}"#);
}

#[tokio::test]
async fn invalid_mocks_are_refused_with_every_problem_named() {
    let gateway = Gateway::start(&module("hello", guests::HELLO, ""));
    let admin = AdminClient::new(&gateway);
    for (route, expected) in [
        (
            json!({"method": "GET", "path": "/a", "module": "hello", "mock": {"status": 200}}),
            "module: a route runs exactly one of `module` (a module), `proxy` (an upstream URL) or `mock`",
        ),
        (
            json!({"method": "GET", "path": "/a"}),
            "module: a route runs exactly one of",
        ),
        (
            json!({"method": "GET", "path": "/a", "mock": {"status": 99}}),
            "mock.status: 99 is not a final HTTP status (200 to 599)",
        ),
        (
            json!({"method": "GET", "path": "/a", "mock": {"headers": {"content-length": "3"}}}),
            "mock.headers: `content-length` is written by the server",
        ),
        (
            json!({"method": "GET", "path": "/a", "mock": {"headers": {"bad name": "x"}}}),
            "mock.headers: `bad name` is not a header name",
        ),
        (
            json!({"method": "GET", "path": "/a", "memory_mb": 64, "mock": {}}),
            "memory_mb: `memory_mb` applies to routes that run a module",
        ),
        (
            json!({"method": "GET", "path": "/a", "mock": {"body": "x".repeat(65 * 1024)}}),
            "mock.body: a mock body is at most 64 KiB",
        ),
    ] {
        admin.put_refused("/routes", route, expected).await;
    }
    let (_, listed) = admin.get("/routes").await;
    assert_eq!(listed["routes"], json!([]), "nothing was stored");
}

#[test]
fn a_manifest_route_with_both_a_module_and_a_mock_does_not_start() {
    let (dir, path) = write_manifest(
        &[
            module("hello", guests::HELLO, ""),
            "[[routes]]\nmethod = \"GET\"\npath = \"/a\"\nmodule = \"hello\"\nmock = { status = 200 }\n"
                .to_owned(),
        ]
        .concat(),
    );
    let (status, _, stderr) = run(&["up", path.to_str().expect("utf-8")], dir.path());
    assert!(!status.success());
    assert!(
        stderr.contains("routes[0].module: a route runs exactly one of"),
        "{stderr}"
    );
}
