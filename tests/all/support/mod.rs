//! Shared test support: the guests, running the gateway, manifests, requests.

mod admin;
mod document_server;
mod gateway;
mod http;
mod machine;
mod manifests;
mod otlp;
mod redis;

pub use admin::AdminClient;
pub use document_server::DocumentServer;
pub use gateway::{Gateway, assert_option_out_of_range, binary, run, write_manifest};
pub use http::{assert_error_detail, assert_message, echoed, header, read_json, read_until};
pub use machine::exclusive;
pub use manifests::{authorizer, module, route, standard_manifest, tok_authorizer};
pub use otlp::OtlpCollector;
pub use redis::RedisServer;
/// The guests, built by `tests/artifacts`: one path constant each (an `Option` for the
/// examples in other languages, `None` where their toolchain is missing).
pub use wasmgate_test_artifacts as guests;
pub use wasmgate_test_artifacts::{
    needs_chromedriver, needs_chromium, needs_examples, needs_redis,
};

/// The `.wasm` of an example in another language: a test using it is wrapped in
/// [`needs_examples!`], which ignores it where the example could not be built.
pub fn example(built: Option<&'static str>) -> &'static std::path::Path {
    std::path::Path::new(built.expect(
        "the example's toolchain is missing (needs_examples! ignores this test unless it is \
         run with --include-ignored)",
    ))
}

/// A gateway serving [`standard_manifest`].
pub fn standard_gateway() -> Gateway {
    Gateway::start(&standard_manifest())
}

/// A gateway with an empty manifest: everything comes through the admin API.
pub fn empty_gateway() -> Gateway {
    Gateway::start("")
}

/// Installs the TLS crypto provider the HTTP clients need (the gateway's own: ring).
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// An HTTP client that does not follow redirects or pool connections across tests.
pub fn client() -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// GET `url`: (status, the `x-wasmgate-version` header, body).
pub async fn get(url: &str) -> (u16, Option<String>, String) {
    let response = client().get(url).send().await.expect("send");
    let status = response.status().as_u16();
    let version = response
        .headers()
        .get("x-wasmgate-version")
        .map(|v| v.to_str().expect("ascii").to_owned());
    (status, version, response.text().await.expect("body"))
}

/// Calls `check` until it returns something (every 20 ms, up to 15 s); `what` says what was
/// awaited when it never does.
pub fn wait_until<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "never: {what}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// The gateway's `/metrics`, through the admin API with its token.
pub async fn scrape(gw: &Gateway) -> String {
    client()
        .get(gw.admin_url("/metrics"))
        .bearer_auth(gw.admin_token())
        .send()
        .await
        .expect("scrape")
        .text()
        .await
        .expect("text")
}
