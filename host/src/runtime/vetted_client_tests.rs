//! The vetted-address client against small loopback servers.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

const TIMEOUTS: Timeouts = Timeouts {
    connect: Duration::from_secs(5),
    first_byte: Duration::from_secs(5),
    between_bytes: Duration::from_secs(5),
};

/// A server answering every request with its `Host` header and its request target.
async fn echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let service = hyper::service::service_fn(|request: http::Request<_>| async move {
                let host = request
                    .headers()
                    .get(http::header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("-")
                    .to_owned();
                let answer = format!("{host} {}", request.uri());
                Ok::<_, hyper::Error>(http::Response::new(Full::new(Bytes::from(answer))))
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service),
            );
        }
    });
    addr
}

/// A port with nothing listening on it.
async fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    listener.local_addr().expect("addr")
}

fn request(uri: &str, host: &str) -> http::Request<WasiBody> {
    http::Request::builder()
        .uri(uri)
        .header(http::header::HOST, host)
        .body(Empty::new().map_err(|never| match never {}).boxed_unsync())
        .expect("request")
}

/// `GET http://x.invalid/`.
fn plain_request() -> http::Request<WasiBody> {
    request("http://x.invalid/", "x.invalid")
}

/// The echoed body of [`plain_request`] sent to `addrs`.
async fn plain_get(addrs: &[SocketAddr], timeouts: Timeouts) -> String {
    let sent = send(plain_request(), addrs, timeouts).await.expect("sent");
    body_text(sent).await
}

async fn body_text(sent: Sent) -> String {
    let (response, io) = sent;
    let io = tokio::spawn(Box::into_pin(io));
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    drop(io);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test]
async fn requests_go_to_the_vetted_address_and_never_resolve_the_name() {
    let server = echo_server().await;
    // `.invalid` never resolves (RFC 6761): an answer proves no lookup happened.
    let host = format!("rebinding.invalid:{}", server.port());
    let sent = send(
        request(&format!("http://{host}/path?q=1"), &host),
        &[server],
        TIMEOUTS,
    )
    .await
    .expect("sent");
    assert_eq!(sent.0.status(), 200);
    assert_eq!(body_text(sent).await, format!("{host} /path?q=1"));
}

#[tokio::test]
async fn the_next_address_is_tried_when_one_refuses() {
    let server = echo_server().await;
    let closed = closed_port().await;
    assert_eq!(plain_get(&[closed, server], TIMEOUTS).await, "x.invalid /");

    let refused = send(plain_request(), &[closed], TIMEOUTS).await;
    assert!(
        matches!(refused, Err(Error::ConnectionRefused)),
        "{:?}",
        refused.map(|_| ())
    );
}

/// An address whose connection attempts hang: a listener that never accepts, its queue
/// filled (Linux then drops further SYNs). The second value keeps it so.
fn blackhole() -> (SocketAddr, (socket2::Socket, Vec<std::net::TcpStream>)) {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    listener.listen(0).expect("listen");
    let addr = listener
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("ip");
    let mut queued = Vec::new();
    loop {
        match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => queued.push(stream),
            Err(_) => break,
        }
        assert!(queued.len() < 16, "the accept queue never filled");
    }
    (addr, (listener, queued))
}

#[tokio::test]
async fn an_address_that_never_answers_leaves_time_for_the_next() {
    let server = echo_server().await;
    let (blackhole, _held) = blackhole();
    let timeouts = Timeouts {
        connect: Duration::from_secs(2),
        ..TIMEOUTS
    };
    let answer = plain_get(&[blackhole, server], timeouts).await;
    assert_eq!(answer, "x.invalid /", "sent through the second address");
}

/// A server that accepts one connection and hands it to `misbehave` (which answers too
/// little, too late or never).
async fn misbehaving_server<Misbehaviour>(
    misbehave: impl FnOnce(TcpStream) -> Misbehaviour + Send + 'static,
) -> SocketAddr
where
    Misbehaviour: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (stream, _) = listener.accept().await.expect("accept");
        misbehave(stream).await;
    });
    addr
}

#[tokio::test]
async fn a_server_that_never_answers_times_out() {
    // Reads the request, never answers.
    let addr = misbehaving_server(|mut stream| async move {
        let mut buf = [0u8; 1024];
        while stream.read(&mut buf).await.is_ok_and(|n| n > 0) {}
    })
    .await;
    let timeouts = Timeouts {
        first_byte: Duration::from_millis(200),
        ..TIMEOUTS
    };
    let sent = send(plain_request(), &[addr], timeouts).await;
    assert!(
        matches!(sent, Err(Error::ConnectionReadTimeout)),
        "{:?}",
        sent.map(|_| ())
    );
}

#[tokio::test]
async fn a_body_that_stalls_times_out() {
    // Sends a head promising ten bytes, then two, then nothing.
    let addr = misbehaving_server(|mut stream| async move {
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).await;
        let _ = stream
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nab")
            .await;
        tokio::time::sleep(Duration::from_secs(30)).await;
    })
    .await;
    let timeouts = Timeouts {
        between_bytes: Duration::from_millis(200),
        ..TIMEOUTS
    };
    let (response, io) = send(plain_request(), &[addr], timeouts)
        .await
        .expect("sent");
    let _io = tokio::spawn(Box::into_pin(io));
    let mut body = response.into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert_eq!(first.into_data().expect("data"), Bytes::from_static(b"ab"));
    let stalled = body.frame().await.expect("an error");
    assert!(
        matches!(stalled, Err(Error::ConnectionReadTimeout)),
        "{stalled:?}"
    );
}

#[tokio::test]
async fn https_uris_speak_tls_to_the_vetted_address() {
    // A plain-HTTP server cannot complete a TLS handshake: the request fails as TLS, which
    // shows the client spoke TLS to the vetted address for an https URI.
    let server = echo_server().await;
    let sent = send(
        request("https://x.invalid/", "x.invalid"),
        &[server],
        TIMEOUTS,
    )
    .await;
    assert!(matches!(sent, Err(Error::Tls(_))), "{:?}", sent.map(|_| ()));
}

/// A TLS server for `name` (a fresh self-signed certificate) answering like
/// [`echo_server`], and client settings that trust that certificate alone.
async fn tls_server(name: &str) -> (SocketAddr, Arc<rustls::ClientConfig>) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec![name.to_owned()]).expect("certificate");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .expect("server settings");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else {
                    return;
                };
                let service = hyper::service::service_fn(|request: http::Request<_>| async move {
                    let answer = format!("tls {}", request.uri());
                    Ok::<_, hyper::Error>(http::Response::new(Full::new(Bytes::from(answer))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (addr, Arc::new(client))
}

#[tokio::test]
async fn https_checks_the_certificate_for_the_name_at_the_vetted_address() {
    let (server, client) = tls_server("vetted.invalid").await;
    let trusted = client.clone();
    let sent = send_with(
        request("https://vetted.invalid/secure", "vetted.invalid"),
        &[server],
        TIMEOUTS,
        move || Ok(trusted),
    )
    .await
    .expect("sent");
    assert_eq!(body_text(sent).await, "tls /secure");

    // The same address under another name: its certificate does not match.
    let refused = send_with(
        request("https://other.invalid/", "other.invalid"),
        &[server],
        TIMEOUTS,
        move || Ok(client),
    )
    .await;
    assert!(
        matches!(refused, Err(Error::Tls(_))),
        "{:?}",
        refused.map(|_| ())
    );
}
