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

needs_examples! {
    [python_shortener]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_python_shortener_keeps_its_links_in_the_store() {
        let wasm = example(guests::PYTHON_SHORTENER);
        let manifest = [
            module(
                "shortener",
                wasm.to_str().expect("utf-8"),
                "key_value_stores = [\"default\"]",
            ),
            route("POST", "/s", "shortener", ""),
            route("GET", "/s/{code}", "shortener", ""),
            route("GET", "/s/{code}/visits", "shortener", ""),
        ]
        .concat();
        let gw = Gateway::start(&manifest);
        let http = client();
        let created = http
            .post(gw.url("/s"))
            .body("https://example.com/a/long/path")
            .send()
            .await
            .expect("post");
        assert_eq!(created.status(), 201);
        let created: serde_json::Value = created.json().await.expect("JSON");
        let code = created["code"].as_str().expect("code").to_owned();
        let no_redirects = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        for _ in 0..2 {
            let followed = no_redirects
                .get(gw.url(&format!("/s/{code}")))
                .send()
                .await
                .expect("get");
            assert_eq!(followed.status(), 302);
            assert_eq!(followed.headers()["location"], "https://example.com/a/long/path");
        }
        let bad = http.post(gw.url("/s")).body("ftp://x").send().await.expect("post");
        assert_eq!(bad.status(), 400);
        let unknown = http.get(gw.url("/s/nope")).send().await.expect("get");
        assert_eq!(unknown.status(), 404);

        // The links and their counts survive a restart.
        let dir = gw.stop_keeping_data();
        let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
        let visits: serde_json::Value = client()
            .get(gw.url(&format!("/s/{code}/visits")))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("JSON");
        assert_eq!(visits["visits"], 2, "{visits}");
    }
}
