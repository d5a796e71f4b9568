//! The repository's own `wasmgate.toml`, the one `./quickstart` serves: every route it
//! declares answers as the README says, with the examples the tests build.

use crate::support::{Gateway, client, example, guests, needs_examples};

/// The default manifest, each of its `target/…` module paths replaced by the file the tests
/// built.
fn default_manifest() -> String {
    let js = example(guests::JS_HELLO).to_str().expect("utf-8");
    let python = example(guests::PYTHON_HELLO).to_str().expect("utf-8");
    let mut manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../wasmgate.toml"),
    )
    .expect("read wasmgate.toml");
    for (built_by_quickstart, built_for_tests) in [
        ("wasm32-wasip2/release/hello.wasm", guests::HELLO),
        ("wasm32-wasip2/release/echo.wasm", guests::ECHO),
        (
            "wasm32-wasip2/release/token_authorizer.wasm",
            guests::TOKEN_AUTHORIZER,
        ),
        ("wasm32-wasip1/release/rust-wagi.wasm", guests::RUST_WAGI),
        ("wasm32-wasip2/js-hello.wasm", js),
        ("wasm32-wasip2/python-hello.wasm", python),
        ("wasm32-wasip2/release/counter.wasm", guests::COUNTER),
    ] {
        let path = format!("path = \"target/{built_by_quickstart}\"");
        assert!(manifest.contains(&path), "wasmgate.toml has no `{path}`");
        manifest = manifest.replace(&path, &format!("path = \"{built_for_tests}\""));
    }
    assert!(
        !manifest.contains("path = \"target/"),
        "a module of wasmgate.toml the tests do not build:\n{manifest}"
    );
    manifest
}

needs_examples! {
    [js_hello, python_hello]
    #[tokio::test]
    async fn every_route_of_the_default_manifest_answers() {
        let manifest = default_manifest();
        let gw = Gateway::start(&manifest);
        let http = client();

        let hello = http.get(gw.url("/hello/ada")).send().await.expect("send");
        assert_eq!(hello.status(), 200);
        assert_eq!(hello.text().await.expect("body"), "Hello, ada!");

        let echo = http
            .post(gw.url("/echo/any/path?x=1"))
            .body("hi")
            .send()
            .await
            .expect("send");
        assert_eq!(echo.status(), 200);
        let echoed: serde_json::Value = echo.json().await.expect("json");
        assert_eq!(echoed["method"], "POST", "{echoed}");

        let private = http.get(gw.url("/private/ada")).send().await.expect("send");
        assert_eq!(private.status(), 401);

        let wagi = http
            .get(gw.url("/wagi/hello/ada"))
            .send()
            .await
            .expect("send");
        assert_eq!(wagi.status(), 200);
        assert_eq!(
            wagi.text().await.expect("body"),
            "Hello from Rust on WAGI, ada! (GET)\n"
        );

        for (language, path) in [
            ("JavaScript", "/js/hello/ada"),
            ("Python", "/python/hello/ada"),
        ] {
            let response = http.get(gw.url(path)).send().await.expect("send");
            assert_eq!(response.status(), 200, "{path}");
            let seen: serde_json::Value = response.json().await.expect("json");
            assert_eq!(seen["greeting"], format!("Hello from {language}, ada!"));
        }

        // The key-value example.
        let counted = http.post(gw.url("/counter/ada")).send().await.expect("send");
        assert_eq!(counted.text().await.expect("body"), "ada: 1");
    }
}
