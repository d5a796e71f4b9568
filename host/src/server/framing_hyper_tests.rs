//! The watcher against hyper itself: random pipelines of requests, written in random
//! pieces, served by the server's own connection builder through a [`WatchedStream`]. The
//! service must be handed exactly the requests up to the first with both framing headers,
//! and only that one flagged.

use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// One request as a client writes it, and whether its head has both framing headers.
struct Unit {
    bytes: &'static [u8],
    ambiguous: bool,
}

const fn plain(bytes: &'static [u8]) -> Unit {
    Unit {
        bytes,
        ambiguous: false,
    }
}

const fn smuggling(bytes: &'static [u8]) -> Unit {
    Unit {
        bytes,
        ambiguous: true,
    }
}

const UNITS: &[Unit] = &[
    plain(b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"),
    plain(b"GET /a#fragment HTTP/1.1\r\nHost: x\r\n\r\n"),
    plain(b"GET HTTP://x/absolute HTTP/1.1\r\nHost: x\r\n\r\n"),
    plain(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"),
    plain(b"CONNECT x:443 HTTP/1.1\r\nHost: x:443\r\n\r\n"),
    plain(b"\r\n\r\nGET /after-blank-lines HTTP/1.1\r\nHost: x\r\n\r\n"),
    plain(b"POST /length HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
    plain(b"POST /expect HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"),
    plain(b"POST /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;a=b\r\nabc\r\nA\t;x\r\n0123456789\r\n0\r\nTrailer-Field: t\r\n\r\n"),
    plain(b"POST /fake-in-chunks HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n43\r\nPOST /x HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n\r\n0\r\n\r\n"),
    plain(b"POST /fake-in-length HTTP/1.1\r\nContent-Length: 28\r\n\r\nGET /x HTTP/1.1\r\nHost: x\r\n\r\n"),
    smuggling(b"POST /s HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
    smuggling(b"POST /s#fragment HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n"),
    smuggling(b"POST http://x/s HTTP/1.1\r\ncontent-length: 0\r\ntransfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n"),
];

/// Closes the connection if nothing before it did.
const LAST: &[u8] = b"GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

/// Serves `stream`, written in pieces of `piece` bytes, through the server's connection
/// builder; returns, for each request handed to the service, whether it was flagged.
async fn serve(stream: Vec<u8>, piece: usize) -> Vec<bool> {
    let (mut client, server) = tokio::io::duplex(16);
    let (watched, verdicts) = WatchedStream::new(server, super::super::MAX_HEAD_BYTES);
    let flags = Arc::new(Mutex::new(Vec::new()));
    let seen = flags.clone();
    let service =
        hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let ambiguous = verdicts.take_ambiguous(&request);
            seen.lock().expect("not poisoned").push(ambiguous);
            async move {
                let status = if ambiguous || request.method() == http::Method::CONNECT {
                    // Answered without reading the body, as the server does; not a 2xx to
                    // CONNECT, which would end the connection.
                    400
                } else {
                    request.into_body().collect().await?;
                    200
                };
                let mut response = http::Response::new(Full::new(Bytes::new()));
                *response.status_mut() = http::StatusCode::from_u16(status).expect("status");
                Ok::<_, hyper::Error>(response)
            }
        });
    let builder = super::super::connection_builder(&super::super::ServerOptions::default());
    let connection = tokio::spawn(async move {
        let _ = builder
            .serve_connection(TokioIo::new(watched), service)
            .await;
    });
    let (mut reader, mut writer) = tokio::io::split(&mut client);
    let write = async move {
        for bytes in stream.chunks(piece) {
            if writer.write_all(bytes).await.is_err() {
                break;
            }
        }
    };
    let read = async move {
        let mut answers = Vec::new();
        let _ = reader.read_to_end(&mut answers).await;
    };
    tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(write, read) })
        .await
        .expect("the connection closes");
    connection.await.expect("the connection task");
    Arc::try_unwrap(flags)
        .expect("the service is gone")
        .into_inner()
        .expect("not poisoned")
}

#[tokio::test]
async fn hyper_is_handed_the_requests_the_watcher_counted() {
    let mut next = super::tests::xorshift(0x9e37_79b9_7f4a_7c15);
    for round in 0..400 {
        let units: Vec<&Unit> = (0..1 + next() % 6)
            .map(|_| &UNITS[(next() % UNITS.len() as u64) as usize])
            .collect();
        let piece = 1 + (next() % 48) as usize;
        let stream: Vec<u8> = units
            .iter()
            .flat_map(|unit| unit.bytes.iter().copied())
            .chain(LAST.iter().copied())
            .collect();
        // Everything up to the first smuggling request, which is flagged and ends the
        // connection; else every request and the last one.
        let mut expected: Vec<bool> = Vec::new();
        for unit in &units {
            expected.push(unit.ambiguous);
            if unit.ambiguous {
                break;
            }
        }
        if !expected.last().copied().unwrap_or(false) {
            expected.push(false);
        }
        let flags = serve(stream.clone(), piece).await;
        assert_eq!(
            flags,
            expected,
            "round {round}, pieces of {piece}: {}",
            String::from_utf8_lossy(&stream)
        );
    }
}
