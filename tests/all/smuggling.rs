//! Request smuggling: an HTTP/1.1 request framed by both `Content-Length` and
//! `Transfer-Encoding` is refused with 400 before any handler runs, on the gateway and the
//! admin API, and nothing after it on the connection is served; requests whose bodies
//! merely contain such a head are served normally.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use crate::support::{Gateway, standard_manifest};

/// Writes `bytes` on a new connection and returns everything the server sends until it
/// closes the connection (waiting up to 10 s).
fn exchange(addr: SocketAddr, bytes: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(bytes).expect("write");
    let mut answer = Vec::new();
    // A reset after the answer also ends the exchange.
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status lines in `answer`; a body without a final newline runs into the next one.
fn status_lines(answer: &str) -> Vec<&str> {
    answer
        .match_indices("HTTP/1.1 ")
        .map(|(at, _)| &answer[at..])
        .filter(|rest| {
            rest.as_bytes()
                .get(9..12)
                .is_some_and(|code| code.iter().all(u8::is_ascii_digit))
        })
        .map(|rest| rest.split("\r\n").next().unwrap_or_default())
        .collect()
}

const NEXT: &[u8] = b"GET /hello/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

#[test]
fn content_length_with_transfer_encoding_is_400_in_either_order() {
    let gw = Gateway::start(&standard_manifest());
    for head in [
        &b"POST /echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        &b"POST /echo/x HTTP/1.1\r\nHost: x\r\ntransfer-encoding: chunked\r\ncontent-length: 40\r\n\r\n"[..],
        // Targets that hyper normalises: a fragment, the absolute form.
        &b"POST /echo/x#a HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
        &b"POST HTTP://x/echo/x HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
    ] {
        let answer = exchange(gw.addr, &[head, b"3\r\nabc\r\n0\r\n\r\n", NEXT].concat());
        assert_eq!(status_lines(&answer), ["HTTP/1.1 400 Bad Request"], "{answer}");
        assert!(answer.contains("connection: close"), "{answer}");
        assert!(answer.contains("x-request-id: "), "{answer}");
        assert!(
            answer.contains("both Content-Length and Transfer-Encoding"),
            "{answer}"
        );
        // Neither the echo handler nor the request after it ran.
        assert!(!answer.contains(r#""body":"abc""#), "{answer}");
        assert!(!answer.contains("Hello, next!"), "{answer}");
    }
}

#[test]
fn only_the_smuggling_request_on_a_connection_is_refused() {
    let gw = Gateway::start(&standard_manifest());
    // A body that holds a smuggling-shaped head is just bytes, by length or by chunks.
    let fake =
        b"GET /hello/fake HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    let by_length = [
        format!(
            "POST /echo/one HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            fake.len()
        )
        .as_bytes(),
        fake,
    ]
    .concat();
    let by_chunks = [
        format!(
            "POST /echo/two HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n",
            fake.len()
        )
        .as_bytes(),
        fake,
        b"\r\n0\r\n\r\n",
    ]
    .concat();
    let smuggling = b"POST /echo/three HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = exchange(
        gw.addr,
        &[&by_length[..], &by_chunks, smuggling, NEXT].concat(),
    );
    assert_eq!(
        status_lines(&answer),
        [
            "HTTP/1.1 200 OK",
            "HTTP/1.1 200 OK",
            "HTTP/1.1 400 Bad Request"
        ],
        "{answer}"
    );
    assert_eq!(answer.matches("GET /hello/fake").count(), 2, "{answer}");
    assert!(!answer.contains("Hello, fake!"), "{answer}");
    assert!(!answer.contains("Hello, next!"), "{answer}");
}

#[test]
fn smuggling_after_an_upgrade_or_connect_request_is_refused() {
    let gw = Gateway::start(&standard_manifest());
    for first in [
        &b"GET /hello/a HTTP/1.1\r\nHost: x\r\nUpgrade: foo\r\nConnection: upgrade\r\n\r\n"[..],
        &b"CONNECT /hello/a HTTP/1.1\r\nHost: x\r\n\r\n"[..],
    ] {
        let smuggling = b"POST /echo/b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
        let answer = exchange(gw.addr, &[first, smuggling, NEXT].concat());
        let statuses = status_lines(&answer);
        assert_eq!(
            statuses.last(),
            Some(&"HTTP/1.1 400 Bad Request"),
            "{answer}"
        );
        assert_eq!(statuses.len(), 2, "{answer}");
        assert!(!answer.contains("Hello, next!"), "{answer}");
    }
}

#[test]
fn the_admin_api_refuses_smuggling_too() {
    let gw = Gateway::start(&standard_manifest());
    let answer = exchange(
        gw.admin_addr,
        b"POST /v1/modules/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    );
    assert_eq!(
        status_lines(&answer),
        ["HTTP/1.1 400 Bad Request"],
        "{answer}"
    );
    assert!(
        answer.contains("both Content-Length and Transfer-Encoding"),
        "{answer}"
    );
}

#[test]
fn chunked_and_pipelined_requests_without_smuggling_are_all_served() {
    let gw = Gateway::start(&standard_manifest());
    let chunked = b"POST /echo/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
    let with_length = b"POST /echo/l HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nfg";
    let answer = exchange(gw.addr, &[&chunked[..], with_length, NEXT].concat());
    assert_eq!(status_lines(&answer), ["HTTP/1.1 200 OK"; 3], "{answer}");
    assert!(answer.contains(r#""body":"abcde""#), "{answer}");
    assert!(answer.contains(r#""body":"fg""#), "{answer}");
    assert!(answer.contains("Hello, next!"), "{answer}");
}
