//! HTTP proxy integrations: a route forwards to an upstream service (a hyper server in the
//! test, and Python's `http.server` for interop) with its path parameters substituted, the
//! query, body and headers passed on, forwarding headers set, header rewrites applied,
//! and 504 / 502 when the upstream is slow or away.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, client, read_json};

/// An upstream that answers every request with what it received as JSON: method, URI,
/// headers, body length. `/slow…` answers after 3 s; its responses carry hop-by-hop headers
/// that must not reach the client.
async fn start_upstream() -> SocketAddr {
    serve_echo(None).await
}

/// The echo upstream on a loopback port: over TLS with `tls` (HTTP/1.1 and h2 by ALPN),
/// else plain HTTP/1.1 and h2 (prior knowledge).
async fn serve_echo(tls: Option<tokio_rustls::TlsAcceptor>) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let tls = tls.clone();
            tokio::spawn(async move {
                let builder = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                );
                let service = hyper::service::service_fn(echo);
                let _ = match tls {
                    Some(acceptor) => match acceptor.accept(stream).await {
                        Ok(tls) => {
                            let io = hyper_util::rt::TokioIo::new(tls);
                            builder.serve_connection(io, service).await
                        }
                        Err(_) => return,
                    },
                    None => {
                        let io = hyper_util::rt::TokioIo::new(stream);
                        builder.serve_connection(io, service).await
                    }
                };
            });
        }
    });
    addr
}

async fn echo(
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
    if request.uri().path().starts_with("/slow") {
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let version = format!("{:?}", request.version());
    let method = request.method().to_string();
    let uri = request.uri().to_string();
    let headers: BTreeMap<String, String> = request
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("?").to_owned()))
        .collect();
    let body = request.into_body().collect().await.map(|b| b.to_bytes());
    let answer = json!({
        "version": version,
        "method": method,
        "uri": uri,
        "headers": headers,
        "body_len": body.as_ref().map_or(0, Bytes::len),
        "body_start": body.as_ref().map_or(String::new(), |b| String::from_utf8_lossy(&b[..b.len().min(16)]).into_owned()),
    });
    let response = hyper::Response::builder()
        .status(201)
        .header("content-type", "application/json")
        .header("x-upstream", "yes")
        .header("x-internal", "secret")
        .header("connection", "x-per-hop")
        .header("x-per-hop", "1")
        .body(Full::new(Bytes::from(answer.to_string())))
        .expect("response");
    Ok(response)
}

fn proxy_route(method: &str, path: &str, proxy: &str, extra: &str) -> String {
    format!("[[routes]]\nmethod = \"{method}\"\npath = \"{path}\"\nproxy = {proxy}\n{extra}\n")
}

#[tokio::test]
async fn requests_reach_the_upstream_with_path_query_body_and_forwarding_headers() {
    let upstream = start_upstream().await;
    let gateway = Gateway::start(&proxy_route(
        "ANY",
        "/orders/{proxy+}",
        &format!("\"http://{upstream}/v1/{{proxy}}?fixed=1\""),
        "",
    ));
    let body = vec![b'x'; 5 << 20];
    let response = client()
        .post(gateway.url("/orders/a%20b/c%3F?x=1&y=%2F"))
        .header("x-custom", "1")
        .header("x-forwarded-for", "6.6.6.6")
        .header("forwarded", "for=6.6.6.6")
        .body(body)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["x-upstream"], "yes");
    assert!(
        !response.headers().contains_key("x-per-hop"),
        "hop-by-hop dropped"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let (_, seen) = read_json(response).await;
    assert_eq!(seen["method"], "POST");
    // Decoded by routing, encoded again segment by segment; the client's query after the
    // template's.
    assert_eq!(seen["uri"], "/v1/a%20b/c%3F?fixed=1&x=1&y=%2F");
    assert_eq!(seen["body_len"], 5 << 20, "the whole body streamed through");
    let headers = &seen["headers"];
    assert_eq!(headers["x-custom"], "1");
    assert_eq!(
        headers["x-forwarded-for"], "127.0.0.1",
        "the client as the gateway saw it"
    );
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(
        headers["x-forwarded-host"],
        gateway
            .url("")
            .trim_start_matches("http://")
            .trim_end_matches('/')
    );
    assert!(headers.get("forwarded").is_none());
    assert_eq!(headers["host"], upstream.to_string());
}

#[tokio::test]
async fn one_parameter_keeps_its_slashes_encoded_and_rewrites_apply() {
    let upstream = start_upstream().await;
    let gateway = Gateway::start(&proxy_route(
        "GET",
        "/users/{id}",
        &format!(
            r#"{{ url = "http://{upstream}/u/{{id}}/profile", request_headers = {{ set = {{ "x-env" = "prod" }}, remove = ["cookie"] }}, response_headers = {{ set = {{ "cache-control" = "no-store" }}, remove = ["x-internal"] }} }}"#
        ),
        "",
    ));
    let response = client()
        .get(gateway.url("/users/a%2Fb"))
        .header("cookie", "session=1")
        .header("x-env", "from-client")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert!(!response.headers().contains_key("x-internal"));
    let (_, seen) = read_json(response).await;
    assert_eq!(seen["uri"], "/u/a%2Fb/profile");
    assert_eq!(seen["method"], "GET");
    assert_eq!(seen["body_len"], 0);
    assert_eq!(seen["headers"]["x-env"], "prod");
    assert!(seen["headers"].get("cookie").is_none());
    assert!(
        seen["headers"].get("transfer-encoding").is_none(),
        "no body, no chunks"
    );
}

#[tokio::test]
async fn a_slow_upstream_is_504_and_an_absent_one_502() {
    let upstream = start_upstream().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    drop(closed);
    let gateway = Gateway::start(
        &[
            proxy_route(
                "GET",
                "/slow",
                &format!("\"http://{upstream}/slow\""),
                "timeout_ms = 300",
            ),
            proxy_route(
                "GET",
                "/away",
                &format!("\"http://127.0.0.1:{closed_port}/\""),
                "",
            ),
        ]
        .concat(),
    );
    let started = Instant::now();
    let (status, body) = gateway.get_json("/slow").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"], "upstream_timeout");
    // It names the time the request was given, not what was left of it when sent.
    assert_eq!(
        body["detail"], "the upstream did not answer within 300 ms",
        "{body}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    let (status, body) = gateway.get_json("/away").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"], "upstream_unreachable");
    assert!(
        !body.to_string().contains(&closed_port.to_string()),
        "no address leaks: {body}"
    );
}

#[tokio::test]
async fn keys_and_limits_guard_a_proxy_route_as_any_other() {
    let upstream = start_upstream().await;
    let gateway = Gateway::start(&proxy_route(
        "GET",
        "/guarded",
        &format!("\"http://{upstream}/\""),
        "api_key_required = true",
    ));
    assert_eq!(gateway.get("/guarded").await.status(), 403);
}

#[tokio::test]
async fn python_http_server_is_served_through_a_proxy_route() {
    let Some(python) = ["python3", "python"].into_iter().find(|p| {
        std::process::Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }) else {
        panic!("python3 is needed for the interop test");
    };
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("hello.txt"), "hello from python\n").expect("write");
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        probe.local_addr().expect("addr").port()
    };
    let mut server = std::process::Command::new(python)
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(root.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("python http.server");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "http.server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let gateway = Gateway::start(&proxy_route(
        "GET",
        "/static/{proxy+}",
        &format!("\"http://127.0.0.1:{port}/{{proxy}}\""),
        "",
    ));
    let response = gateway.get("/static/hello.txt").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "hello from python\n");
    assert_eq!(gateway.get("/static/missing.txt").await.status(), 404);
    let _ = server.kill();
    let _ = server.wait();
}

#[tokio::test]
async fn invalid_proxy_routes_are_refused() {
    let gateway = Gateway::start("");
    let admin = AdminClient::new(&gateway);
    for (proxy, expected) in [
        (
            json!("http://up:8080/{nope}"),
            "proxy: `{nope}` is not a path parameter of the route (it has: id)",
        ),
        (
            json!("ftp://up/x"),
            "proxy: the scheme `ftp` is not http or https",
        ),
        (
            json!("http://user:pw@up/x"),
            "credentials in the URL are not supported",
        ),
        (json!("up/x"), "is not a URL"),
        (
            json!({"url": "http://up/", "request_headers": {"set": {"connection": "close"}}}),
            "proxy.request_headers: `connection` is the connection's",
        ),
    ] {
        admin
            .put_refused(
                "/routes",
                json!({"method": "GET", "path": "/r/{id}", "proxy": proxy}),
                expected,
            )
            .await;
    }
    let (status, body): (u16, Value) = admin
        .put(
            "/routes",
            json!({"method": "GET", "path": "/r/{id}", "proxy": "https://example.invalid/r/{id}"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn an_https_upstream_must_present_a_certificate_the_gateway_trusts() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Another gateway serving TLS with a self-signed certificate for `localhost`.
    let (upstream, _) = crate::tls::https_gateway(dir.path());
    let url = format!(
        "\"https://localhost:{}/hello/{{name}}\"",
        upstream.addr.port()
    );
    let manifest = proxy_route("GET", "/secure/{name}", &url, "");
    let untrusting = Gateway::start(&manifest);
    let (status, body) = untrusting.get_json("/secure/ada").await;
    assert_eq!(status, 502, "{body}");
    // Trusting that certificate (the system's store, here through `SSL_CERT_FILE`), the
    // same route is served.
    let cert = dir.path().join("cert.pem");
    let trusting = Gateway::start_with_env(
        &manifest,
        &[("SSL_CERT_FILE", cert.to_str().expect("utf-8"))],
    );
    let response = trusting.get("/secure/ada").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "Hello, ada!");
}

/// The echo upstream over TLS (HTTP/1.1 and h2 by ALPN) with a self-signed certificate for
/// `localhost`: its address, and the certificate's file in `dir`.
async fn start_tls_upstream(dir: &std::path::Path) -> (SocketAddr, std::path::PathBuf) {
    crate::support::install_tls();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("certificate");
    let cert_path = dir.join("upstream.pem");
    std::fs::write(&cert_path, cert.pem()).expect("write certificate");
    let key = rustls::pki_types::PrivateKeyDer::try_from(signing_key.serialize_der()).expect("key");
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("TLS config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let addr = serve_echo(Some(acceptor)).await;
    (addr, cert_path)
}

#[tokio::test]
async fn a_trusted_https_upstream_is_spoken_to_over_h2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (upstream, cert) = start_tls_upstream(dir.path()).await;
    let url = format!("\"https://localhost:{}/v1/{{proxy}}\"", upstream.port());
    let gateway = Gateway::start_with_env(
        &proxy_route("POST", "/h2/{proxy+}", &url, ""),
        &[("SSL_CERT_FILE", cert.to_str().expect("utf-8"))],
    );
    let response = gateway.post("/h2/a/b", "over h2").await;
    assert_eq!(response.status(), 201);
    let (_, seen) = read_json(response).await;
    assert_eq!(seen["version"], "HTTP/2.0", "{seen}");
    // Over h2 the request's URI is in absolute form.
    assert!(
        seen["uri"].as_str().expect("uri").ends_with("/v1/a/b"),
        "{seen}"
    );
    assert_eq!(seen["body_len"], 7);
}
