//! Client-side limits: body size (413, before the guest runs, with and without a length),
//! a stalled body (408), too many or too large headers (431), invalid header bytes (400),
//! HTTP/2, and the connection limit. Request smuggling has its own file, `smuggling.rs`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;

use crate::support::{Gateway, read_until, standard_manifest};

/// Sends raw bytes and returns the status line of the answer (waiting up to 10 s).
fn raw(gw: &Gateway, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let answer = read_until(&mut stream, |bytes| bytes.windows(2).any(|w| w == b"\r\n"));
    let text = String::from_utf8_lossy(&answer);
    text.lines().next().unwrap_or_default().to_owned()
}

fn gateway() -> Gateway {
    Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", "127.0.0.1:0", "--body-idle-timeout", "1"],
    )
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_before_the_guest_runs() {
    let gw = gateway();
    let eleven_mb = vec![b'x'; 11 << 20];
    // With a Content-Length.
    let response = gw.post("/echo/big", eleven_mb.clone()).await;
    assert_eq!(response.status(), 413);
    assert!(!response.headers().contains_key("x-wasmgate-version"));
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["error"], "payload_too_large");
    // Chunked, without a length.
    let chunks = futures_util::stream::iter(
        eleven_mb
            .chunks(64 << 10)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let response = gw
        .post("/echo/big", reqwest::Body::wrap_stream(chunks))
        .await;
    assert_eq!(response.status(), 413);
    assert!(!response.headers().contains_key("x-wasmgate-version"));
    // Within the limit, chunked: the guest gets it whole.
    let chunks = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(b"hello ".to_vec()),
        Ok(b"world".to_vec()),
    ]);
    let response = gw
        .post("/echo/small", reqwest::Body::wrap_stream(chunks))
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["body"], "hello world");
}

#[test]
fn a_stalled_body_is_408() {
    let gw = gateway();
    let status = raw(
        &gw,
        b"POST /echo/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
    );
    assert_eq!(status, "HTTP/1.1 408 Request Timeout");
}

#[test]
fn malformed_requests_are_refused() {
    let gw = gateway();
    let many: Vec<u8> = (0..101)
        .flat_map(|i| format!("X-H{i}: 1\r\n").into_bytes())
        .collect();
    let mut too_many = b"GET /hello/x HTTP/1.1\r\nHost: x\r\n".to_vec();
    too_many.extend_from_slice(&many);
    too_many.extend_from_slice(b"\r\n");
    assert_eq!(
        raw(&gw, &too_many),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    let mut too_large = b"GET /hello/x HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    too_large.extend_from_slice(&[b'a'; 20 * 1024]);
    too_large.extend_from_slice(b"\r\n\r\n");
    assert_eq!(
        raw(&gw, &too_large),
        "HTTP/1.1 431 Request Header Fields Too Large"
    );

    assert_eq!(
        raw(
            &gw,
            b"GET /hello/x HTTP/1.1\r\nHost: x\r\nX-A: a\x01b\r\n\r\n"
        ),
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        raw(&gw, b"NOT HTTP AT ALL\r\n\r\n"),
        "HTTP/1.1 400 Bad Request"
    );
    // The gateway still serves.
    assert_eq!(
        raw(&gw, b"GET /hello/fine HTTP/1.1\r\nHost: x\r\n\r\n"),
        "HTTP/1.1 200 OK"
    );
}

#[tokio::test]
async fn http2_is_served() {
    let gw = gateway();
    crate::support::install_tls();
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .expect("client");
    let response = h2.get(gw.url("/hello/h2")).send().await.expect("send");
    assert_eq!(response.version(), reqwest::Version::HTTP_2);
    assert_eq!(response.text().await.expect("body"), "Hello, h2!");
}

#[test]
fn connections_beyond_the_limit_are_closed() {
    let gw = Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", "127.0.0.1:0", "--max-connections", "3"],
    );
    let open: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(gw.addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    // The fourth is accepted and closed at once: reading sees the end.
    let mut extra = TcpStream::connect(gw.addr).expect("connect");
    extra
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = extra.write_all(b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    let read = extra.read(&mut buf);
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    drop(open);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        raw(&gw, b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n"),
        "HTTP/1.1 200 OK"
    );
}

/// Whether the server closed `stream` without answering (within 5 s).
fn closed_unanswered(mut stream: TcpStream) -> bool {
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = stream.write_all(b"GET /hello/x HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut buf = [0u8; 64];
    matches!(stream.read(&mut buf), Ok(0) | Err(_))
}

/// This machine's address on its default route (loopback peers are exempt from the
/// per-client limit, as a reverse proxy on this host would be).
fn own_address() -> std::net::IpAddr {
    // Connecting a UDP socket sends nothing; it only picks the route and its source address.
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
    socket
        .connect("192.0.2.1:9")
        .expect("this test needs a default IPv4 route (any network interface)");
    socket.local_addr().expect("addr").ip()
}

#[test]
fn one_client_cannot_take_every_connection() {
    let listen = format!("{}:0", own_address());
    let gw = Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", &listen, "--max-connections-per-client", "2"],
    );
    let held: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(gw.addr).expect("connect"))
        .collect();
    // Give the server time to count both.
    std::thread::sleep(Duration::from_millis(300));
    let third = TcpStream::connect(gw.addr).expect("connect");
    assert!(
        closed_unanswered(third),
        "a third connection from one client was served"
    );
    drop(held);
    std::thread::sleep(Duration::from_millis(300));
    let again = TcpStream::connect(gw.addr).expect("connect");
    assert!(
        !closed_unanswered(again),
        "the client's slots were not given back"
    );
}

/// An HTTP/2 connection (prior knowledge) to `gw`: its request sender, and a task that ends
/// when the server closes the connection.
async fn h2_connection(
    gw: &Gateway,
) -> (
    hyper::client::conn::http2::SendRequest<String>,
    tokio::task::JoinHandle<()>,
) {
    let stream = tokio::net::TcpStream::connect(gw.addr)
        .await
        .expect("connect");
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("handshake");
    (
        sender,
        tokio::spawn(async move {
            let _ = connection.await;
        }),
    )
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed_but_not_one_with_a_request_in_flight() {
    let gw = Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", "127.0.0.1:0", "--idle-timeout", "1"],
    );
    let (mut sender, closed) = h2_connection(&gw).await;
    // A response that takes longer than the idle timeout is in flight: not idle.
    let request = http::Request::get(gw.url("/slow/sleep?ms=2500"))
        .body(String::new())
        .expect("request");
    let response = sender.send_request(request).await.expect("response");
    assert_eq!(response.status(), 200);
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("the whole body")
        .to_bytes();
    assert!(!body.is_empty());
    // Then nothing: the client answers the server's pings, yet the connection is closed.
    tokio::time::timeout(Duration::from_secs(6), closed)
        .await
        .expect("the idle connection was not closed")
        .expect("connection task");
}
