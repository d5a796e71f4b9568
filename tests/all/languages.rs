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

/// `wasm` as module `name` with a `default` key-value store, at `routes` (method, path).
fn store_gateway(name: &str, wasm: &Path, routes: &[(&str, &str)]) -> Gateway {
    let mut manifest = module(
        name,
        wasm.to_str().expect("utf-8"),
        "key_value_stores = [\"default\"]",
    );
    for (method, path) in routes {
        manifest.push_str(&route(method, path, name, ""));
    }
    Gateway::start(&manifest)
}

/// The JSON `GET path` answers.
async fn get_json(gw: &Gateway, path: &str) -> Value {
    let response = client().get(gw.url(path)).send().await.expect("get");
    response.json().await.expect("JSON")
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
        let gw = store_gateway(
            "shortener",
            example(guests::PYTHON_SHORTENER),
            &[("POST", "/s"), ("GET", "/s/{code}"), ("GET", "/s/{code}/visits")],
        );
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
        let visits = get_json(&gw, &format!("/s/{code}/visits")).await;
        assert_eq!(visits["visits"], 2, "{visits}");
    }
}

needs_examples! {
    [js_guestbook]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_javascript_guestbook_keeps_its_entries_in_the_store() {
        let gw = store_gateway(
            "guestbook",
            example(guests::JS_GUESTBOOK),
            &[("ANY", "/guestbook"), ("GET", "/guestbook/{number}")],
        );
        let http = client();
        for (name, message, number) in [("ada", "first <b>", 1), ("bob", "second", 2)] {
            let signed = http
                .post(gw.url("/guestbook"))
                .json(&serde_json::json!({ "name": name, "message": message }))
                .send()
                .await
                .expect("post");
            assert_eq!(signed.status(), 201);
            let signed: Value = signed.json().await.expect("JSON");
            assert_eq!(signed["number"], number, "{signed}");
        }
        for (body, why) in [
            ("not json", "the body is a JSON object"),
            ("{\"name\": \"x\"}", "`message` is 1 to 500 characters"),
        ] {
            let refused = http.post(gw.url("/guestbook")).body(body).send().await.expect("post");
            assert_eq!(refused.status(), 400);
            let refused: Value = refused.json().await.expect("JSON");
            assert_eq!(refused["message"], why);
        }
        let unknown = http.get(gw.url("/guestbook/9")).send().await.expect("get");
        assert_eq!(unknown.status(), 404);

        // The entries survive a restart, newest first.
        let dir = gw.stop_keeping_data();
        let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
        let book = get_json(&gw, "/guestbook").await;
        assert_eq!(book["total"], 2, "{book}");
        assert_eq!(book["entries"][0]["name"], "bob", "{book}");
        assert_eq!(book["entries"][1]["message"], "first <b>", "{book}");
        let one = get_json(&gw, "/guestbook/1").await;
        assert_eq!(one["name"], "ada", "{one}");
    }
}
