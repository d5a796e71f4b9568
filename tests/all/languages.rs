//! Handlers in other languages, built by their examples' own toolchains and served as they
//! are: JavaScript (componentize-js) and Python (componentize-py) components read path
//! parameters and the authorizer's output through the `wasmgate:gateway/context` import.
//! Where a toolchain cannot be installed, its test is compiled as ignored, with the reason
//! (`.ci/run` makes that a build failure instead).

use std::path::Path;

use serde_json::Value;

use crate::support::{
    Gateway, client, example, guests, header, module, needs_examples, route, tok_authorizer,
};

/// `lang` at `/lang/hello/{name}`, and behind the `authz` test authorizer at
/// `/lang/private/{name}`.
fn gateway_for(lang: &Path) -> Gateway {
    Gateway::start(
        &[
            module("lang", lang.to_str().expect("utf-8"), ""),
            tok_authorizer(""),
            route("ANY", "/lang/hello/{name}", "lang", ""),
            route(
                "GET",
                "/lang/private/{name}",
                "lang",
                "authorizer = \"tok\"",
            ),
        ]
        .concat(),
    )
}

/// What both examples answer: status, headers, and the request as they saw it.
async fn check_example(module: &Path, greeting: &str, handler: &str) {
    let gw = gateway_for(module);
    let http = client();

    let response = http
        .post(gw.url("/lang/hello/ada%20l?x=1&y=two"))
        .body("hello")
        .send()
        .await
        .expect("send");
    if response.status() != 200 {
        // What the gateway said, to tell a trap from a timeout in a CI log.
        let status = response.status();
        panic!("{status}: {}", response.text().await.unwrap_or_default());
    }
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(response.headers()["x-handler"], handler);
    assert_eq!(response.headers()["x-wasmgate-version"], "lang@1");
    let request_id = header(&response, "x-request-id");
    let seen: Value = response.json().await.expect("json");
    assert_eq!(seen["greeting"], greeting, "{seen}");
    assert_eq!(seen["method"], "POST", "{seen}");
    assert_eq!(seen["path"], "/lang/hello/ada%20l", "{seen}");
    assert_eq!(seen["query"]["x"], "1", "{seen}");
    assert_eq!(seen["query"]["y"], "two", "{seen}");
    assert_eq!(seen["body_length"], 5, "{seen}");
    assert_eq!(seen["route"], "/lang/hello/{name}", "{seen}");
    assert_eq!(seen["path_params"]["name"], "ada l", "{seen}");
    assert_eq!(seen["request_id"], request_id.as_str(), "{seen}");
    assert_eq!(seen["principal"], Value::Null, "{seen}");

    let response = http
        .get(gw.url("/lang/private/ada"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    let response = http
        .get(gw.url("/lang/private/ada"))
        .header("authorization", "Bearer allow-ada")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let seen: Value = response.json().await.expect("json");
    assert_eq!(seen["principal"], "ada", "{seen}");
    assert_eq!(
        seen["authorizer_context"]["route"], "/lang/private/{name}",
        "{seen}"
    );
    assert_eq!(seen["method"], "GET", "{seen}");
}

needs_examples! {
    [js_hello]
    #[tokio::test]
    async fn the_javascript_example_answers_with_params_and_authorizer_context() {
        let module = example(guests::JS_HELLO);
        check_example(module, "Hello from JavaScript, ada l!", "js").await;
    }
}

needs_examples! {
    [python_hello]
    #[tokio::test]
    async fn the_python_example_answers_with_params_and_authorizer_context() {
        let module = example(guests::PYTHON_HELLO);
        check_example(module, "Hello from Python, ada l!", "python").await;
    }
}
