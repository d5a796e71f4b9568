//! The WAGI executor: `wasm32-wasip1` commands get the request as CGI variables, arguments
//! and stdin, and answer on stdout; their failures have documented statuses; the same
//! limits, authorizers and throttles apply as to components.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::{
    AdminClient, Gateway, assert_error_detail, assert_message, empty_gateway, example, guests,
    header, module, needs_examples, read_json, route, run, tok_authorizer, write_manifest,
};

/// `wagi-probe` at `/wagi/{action}` (and behind the `authz` authorizer, and throttled), and
/// the `rust-wagi` example at `/wagi/hello/{name}`.
fn wagi_gateway() -> Gateway {
    Gateway::start(
        &[
            module(
                "probe",
                guests::WAGI_PROBE,
                "executor = \"wagi\"\nenv = { GREETING = \"hi there\", REQUEST_METHOD = \"forged\" }",
            ),
            module("rust-wagi", guests::RUST_WAGI, "executor = \"wagi\""),
            tok_authorizer(""),
            route(
                "ANY",
                "/wagi/{action}",
                "probe",
                "timeout_ms = 1000\nmemory_mb = 32\nmax_body_mb = 1",
            ),
            route("GET", "/secure/{action}", "probe", "authorizer = \"tok\""),
            route(
                "GET",
                "/limited/{action}",
                "probe",
                "throttle = { rate = 0.01, burst = 1 }",
            ),
            route("ANY", "/wagi/hello/{name}", "rust-wagi", ""),
        ]
        .concat(),
    )
}

/// The `env` action's output: variables by name, and `argN` entries.
fn parse_env(body: &str) -> BTreeMap<String, String> {
    body.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[tokio::test]
async fn the_request_arrives_as_cgi_variables_and_arguments() {
    let gw = wagi_gateway();
    let response = gw
        .get_with("/wagi/env?x=1&y=two+words", "x-trace", "abc")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    let request_id = header(&response, "x-request-id");
    let env = parse_env(&response.text().await.expect("body"));
    let addr = gw.url("").trim_start_matches("http://").to_owned();
    let (host, port) = addr.trim_end_matches('/').rsplit_once(':').expect("port");
    for (name, expected) in [
        ("GATEWAY_INTERFACE", "CGI/1.1"),
        ("REQUEST_METHOD", "GET"),
        ("PATH_INFO", "/wagi/env"),
        ("QUERY_STRING", "x=1&y=two+words"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("SERVER_NAME", host),
        ("SERVER_PORT", port),
        ("REMOTE_ADDR", "127.0.0.1"),
        ("CONTENT_LENGTH", "0"),
        ("HTTP_X_TRACE", "abc"),
        ("X_MATCHED_ROUTE", "/wagi/{action}"),
        ("X_PARAM_ACTION", "env"),
        ("X_REQUEST_ID", request_id.as_str()),
        ("GREETING", "hi there"),
        ("arg0", "/wagi/env"),
        ("arg1", "x=1"),
        ("arg2", "y=two words"),
    ] {
        assert_eq!(
            env.get(name).map(String::as_str),
            Some(expected),
            "{name}: {env:?}"
        );
    }
    // Nothing of the gateway's own environment leaks in; no principal without an authorizer.
    for absent in ["PATH", "HOME", "X_PRINCIPAL", "REMOTE_USER"] {
        assert!(!env.contains_key(absent), "{absent}: {env:?}");
    }
}

#[tokio::test]
async fn lookalike_headers_and_nul_bytes_never_reach_the_program() {
    let gw = wagi_gateway();
    let response = crate::support::client()
        .get(gw.url("/wagi/env"))
        .header("x.user", "mallory")
        .header("x-user", "alice")
        .send()
        .await
        .expect("send");
    let body = response.text().await.expect("body");
    let users: Vec<&str> = body
        .lines()
        .filter(|l| l.starts_with("HTTP_X_USER="))
        .collect();
    assert_eq!(users, ["HTTP_X_USER=alice"], "{body}");
    for path in ["/wagi/a%00b", "/wagi/env?x=%00"] {
        let response = gw.get(path).await;
        assert_eq!(response.status(), 400, "{path}");
        let body = response.text().await.expect("body");
        assert!(body.contains("NUL byte"), "{path}: {body}");
    }
}

#[tokio::test]
async fn the_body_arrives_on_stdin_and_the_response_is_cgi_output() {
    let gw = wagi_gateway();
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let response = gw.post("/wagi/echo", payload.clone()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-body-length"], "200000");
    assert_eq!(response.headers()["content-length"], "200000");
    assert_eq!(
        response.bytes().await.expect("body").as_ref(),
        payload.as_slice()
    );

    // Over the route's max_body_mb: refused before the module runs.
    let response = gw.post("/wagi/echo", vec![0u8; 1_100_000]).await;
    assert_eq!(response.status(), 413);

    let response = gw.get("/wagi/status").await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.headers()["x-custom"], "yes");
    assert_eq!(response.headers().get_all("set-cookie").iter().count(), 2);
    assert_eq!(response.text().await.expect("body"), "short and stout");

    let response = gw.get("/wagi/redirect").await;
    assert_eq!(response.status(), 302);
    assert_eq!(response.headers()["location"], "/elsewhere");

    let response = gw.get("/wagi/hello/ada").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-handler"], "rust-wagi");
    assert_eq!(
        response.text().await.expect("body"),
        "Hello from Rust on WAGI, ada! (GET)\n"
    );
}

async fn failure(gw: &Gateway, path: &str) -> (u16, Value, Duration) {
    let started = Instant::now();
    let (status, body) = read_json(gw.get(path).await).await;
    (status, body, started.elapsed())
}

#[tokio::test]
async fn failing_commands_end_with_documented_statuses() {
    let gw = wagi_gateway();
    for (path, status, kind, detail) in [
        (
            "/wagi/malformed",
            502,
            "handler_malformed_output",
            "no blank line",
        ),
        (
            "/wagi/nothing",
            502,
            "handler_malformed_output",
            "wrote nothing",
        ),
        ("/wagi/exit", 502, "handler_exited", "exited with status 3"),
        ("/wagi/panic", 502, "handler_trapped", "unreachable"),
        (
            "/wagi/grow",
            502,
            "handler_memory_limit",
            "over its limit of 32 MiB",
        ),
        (
            "/wagi/huge",
            502,
            "handler_output_too_large",
            "more than 16 MiB",
        ),
        ("/wagi/spin", 504, "handler_timeout", "1000 ms"),
    ] {
        let (got, body, took) = failure(&gw, path).await;
        assert_eq!(got, status, "{path}: {body}");
        assert_error_detail(&body, kind, detail);
        if path == "/wagi/spin" {
            assert!(took < Duration::from_millis(1000 + 500), "{took:?}");
        }
    }
    assert!(gw.stderr().contains("the wagi probe panicked on purpose"));
    // The gateway is unharmed.
    let response = gw.get("/wagi/env").await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn authorizers_and_throttles_apply_to_wagi_routes() {
    let gw = wagi_gateway();
    let response = gw.get("/secure/env").await;
    assert_eq!(response.status(), 401);
    let response = gw
        .get_with("/secure/env", "authorization", "Bearer allow-ada")
        .await;
    assert_eq!(response.status(), 200);
    let env = parse_env(&response.text().await.expect("body"));
    assert_eq!(env.get("X_PRINCIPAL").map(String::as_str), Some("ada"));
    assert_eq!(env.get("REMOTE_USER").map(String::as_str), Some("ada"));
    assert_eq!(
        env.get("X_AUTHORIZER_ROUTE").map(String::as_str),
        Some("/secure/{action}")
    );
    let response = gw
        .get_with("/secure/env", "authorization", "Bearer deny-bob")
        .await;
    assert_eq!(response.status(), 403);

    let first = gw.get("/limited/env").await;
    assert_eq!(first.status(), 200);
    let second = gw.get("/limited/env").await;
    assert_eq!(second.status(), 429);
}

#[test]
fn a_core_module_needs_the_wagi_executor_and_a_component_the_default() {
    for (path, executor, expected) in [
        (guests::WAGI_PROBE, "", "executor = \"wagi\""),
        (
            guests::HELLO,
            "executor = \"wagi\"",
            "is a component, but the `wagi` executor",
        ),
        (guests::HELLO, "executor = \"cgi\"", "unknown variant `cgi`"),
    ] {
        let manifest = module("m", path, executor) + &route("GET", "/", "m", "");
        let (dir, manifest_path) = write_manifest(&manifest);
        let (status, _, stderr) = run(
            &[
                "up",
                manifest_path.to_str().expect("utf-8"),
                "--listen",
                "127.0.0.1:0",
            ],
            dir.path(),
        );
        assert!(!status.success(), "{executor}: started");
        assert!(stderr.contains(expected), "{executor}: {stderr}");
    }
}

#[tokio::test]
async fn wagi_modules_upload_through_the_admin_api_and_survive_a_restart() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let bytes = std::fs::read(guests::WAGI_PROBE).expect("wagi-probe");

    let (status, answer) = admin.upload("probe", bytes.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert_message(&answer, "?executor=wagi");
    let (status, answer) = admin.upload_as("probe", "cgi", bytes.clone()).await;
    assert_eq!(status, 400, "{answer}");
    assert_message(&answer, "`cgi` is not an executor");

    let (status, answer) = admin.upload_as("probe", "wagi", bytes.clone()).await;
    assert_eq!(status, 201, "{answer}");
    assert_eq!(answer["executor"], "wagi");
    admin.put_route("GET", "/p/{action}", "probe").await;
    let (status, module) = admin.get("/modules/probe").await;
    assert_eq!(status, 200);
    assert_eq!(module["versions"][0]["executor"], "wagi");
    let imports = module["versions"][0]["imports"].to_string();
    assert!(
        imports.contains("wasi_snapshot_preview1::fd_write"),
        "{imports}"
    );
    assert!(
        module["versions"][0]["exports"]
            .to_string()
            .contains("\"_start\""),
        "{module}"
    );

    let response = gw.get("/p/status").await;
    assert_eq!(response.status(), 418);

    // The stored module, and its cached native code, serve after a restart.
    let data = gw.stop_keeping_data();
    let gw = Gateway::start_in(data, &["--listen", "127.0.0.1:0"]);
    let response = gw.get("/p/status").await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.text().await.expect("body"), "short and stout");

    // The test invoke captures what the command wrote to stderr.
    let admin = AdminClient::new(&gw);
    let (status, answer) = admin
        .post_json("/invoke", json!({ "path": "/p/stderr" }))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["response"]["status"], 200);
    assert!(
        answer["stderr"]
            .as_str()
            .expect("stderr")
            .contains("wagi probe: a line on stderr"),
        "{answer}"
    );

    // Through the gateway, the line is logged as a component guest's: no WASI call's span
    // (`fd_write{fd=Fd(2) …}:`) before it.
    let response = gw.get("/p/stderr").await;
    assert_eq!(response.status(), 200);
    let line = gw.log_line("wagi probe: a line on stderr");
    assert!(!line.contains("fd_write"), "{line}");
    assert!(line.contains(" wasmgate::guest: wagi probe"), "{line}");
    assert!(line.contains("request_id="), "{line}");
}

needs_examples! {
    [c_hello]
    #[tokio::test]
    async fn the_c_example_answers_through_wagi() {
        let c_hello = example(guests::C_HELLO);
        let gw = Gateway::start(&format!(
            "[[modules]]\nname = \"c-hello\"\npath = \"{}\"\nexecutor = \"wagi\"\n\n\
             [[routes]]\nmethod = \"ANY\"\npath = \"/c/hello/{{name}}\"\nmodule = \"c-hello\"\n",
            c_hello.display()
        ));
        let response = gw.get("/c/hello/ada").await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["x-handler"], "c-hello");
        assert_eq!(
            response.text().await.expect("body"),
            "Hello from C, ada! (GET)\n"
        );
        let response = gw.post("/c/hello/bo?lang=c", "some bytes").await;
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.text().await.expect("body"),
            "Hello from C, bo! (POST)\nquery: lang=c\nbody: some bytes\n(10 bytes)\n"
        );
    }
}
