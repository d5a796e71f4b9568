//! Shared test support: building the guests, running the gateway, manifests.

mod admin;
mod gateway;
mod guests;
mod jwks;

pub use admin::AdminClient;
pub use gateway::{Gateway, binary, exclusive, run, write_manifest};
pub use guests::{c_hello, guest_target_dir, guests, js_hello, python_hello};
pub use jwks::JwksServer;

/// The manifest most tests serve: every test guest behind a route.
pub fn standard_manifest() -> String {
    let g = guests();
    format!(
        r#"
[gateway]
# Tests pass --listen 127.0.0.1:0; this address is never used.
listen = "127.0.0.1:1"

[[modules]]
name = "hello"
path = "{hello}"

[[modules]]
name = "echo"
path = "{echo}"

[[modules]]
name = "probe"
path = "{probe}"

[[modules]]
name = "plain"
path = "{plain}"

[[routes]]
method = "GET"
path = "/hello/{{name}}"
module = "hello"

[[routes]]
method = "ANY"
path = "/echo/{{proxy+}}"
module = "echo"

[[routes]]
method = "GET"
path = "/items/{{id}}"
module = "echo"

[[routes]]
method = "DELETE"
path = "/items/{{id}}"
module = "echo"

[[routes]]
method = "ANY"
path = "/probe/{{action}}"
module = "probe"
timeout_ms = 1000
memory_mb = 32

[[routes]]
method = "ANY"
path = "/slow/{{action}}"
module = "probe"
timeout_ms = 10000

[[routes]]
method = "POST"
path = "/stream"
module = "plain"
max_body_mb = 25

[[routes]]
method = "GET"
path = "/plain/{{action}}"
module = "plain"
timeout_ms = 1000
"#,
        hello = g.hello.display(),
        echo = g.echo.display(),
        probe = g.probe.display(),
        plain = g.plain_stream.display(),
    )
}

/// A gateway serving [`standard_manifest`].
pub fn standard_gateway() -> Gateway {
    Gateway::start(&standard_manifest())
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

/// A gateway with an empty manifest: everything comes through the admin API.
pub fn empty_gateway() -> Gateway {
    Gateway::start("")
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
