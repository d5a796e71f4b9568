//! Requests are refused before their bodies are read (issue 13): an unauthenticated chunked
//! body gets its 401 while the client is still sending it, and a body that trickles in
//! meets a deadline for the whole body, not only the idle timer between chunks.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{Gateway, authorizer, guests, module, read_until, route};

fn gateway(args: &[&str]) -> Gateway {
    let manifest = [
        module("echo", guests::ECHO, ""),
        module("authz", guests::AUTHZ, ""),
        authorizer("tok", "authz", ""),
        route("ANY", "/secure/{p+}", "echo", "authorizer = \"tok\""),
        route("ANY", "/open/{p+}", "echo", ""),
    ]
    .concat();
    let mut all = vec!["--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    Gateway::start_with_args(&manifest, &all)
}

/// Opens a connection and sends the head of a chunked POST to `path` and its first chunk.
fn start_chunked_post(gw: &Gateway, path: &str, headers: &str) -> TcpStream {
    let mut stream = TcpStream::connect(gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\n{headers}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream
}

/// What the gateway answers, read until it closes or the head is in (at most 15 s).
fn answer(stream: &mut TcpStream) -> String {
    let answer = read_until(stream, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        text.split_once("\r\n\r\n")
            .is_some_and(|(head, body)| head.starts_with("HTTP/1.1") && body.contains('}'))
    });
    String::from_utf8_lossy(&answer).into_owned()
}

#[test]
fn an_unauthenticated_chunked_body_is_refused_while_it_is_still_coming() {
    // The idle timer between chunks is a minute: only an answer before the body is read
    // arrives within the test's 15 s.
    let gw = gateway(&[]);
    let started = Instant::now();
    let mut stream = start_chunked_post(&gw, "/secure/upload", "");
    let answer = answer(&mut stream);
    assert!(
        answer.starts_with("HTTP/1.1 401 Unauthorized"),
        "answer: {answer}"
    );
    assert!(answer.contains("\"error\":\"unauthorized\""), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[test]
fn a_body_that_trickles_in_meets_the_whole_body_deadline() {
    let gw = gateway(&["--body-timeout", "2", "--body-idle-timeout", "60"]);
    let stream = start_chunked_post(&gw, "/open/upload", "");
    let mut writer = stream.try_clone().expect("clone");
    // One byte every 300 ms: never idle long, never done.
    let trickle = std::thread::spawn(move || {
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(300));
            if writer.write_all(b"1\r\nx\r\n").is_err() {
                break;
            }
        }
    });
    let mut reader = stream;
    let answer = answer(&mut reader);
    assert!(
        answer.starts_with("HTTP/1.1 408 Request Timeout"),
        "answer: {answer}"
    );
    assert!(
        answer.contains("did not arrive in full within 2 s"),
        "{answer}"
    );
    drop(reader);
    trickle.join().expect("trickle thread");
}

#[test]
fn an_authorized_chunked_body_still_reaches_the_handler() {
    let gw = gateway(&[]);
    let mut stream =
        start_chunked_post(&gw, "/secure/upload", "Authorization: Bearer allow-ada\r\n");
    stream.write_all(b"0\r\n\r\n").expect("finish the body");
    let answer = answer(&mut stream);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "answer: {answer}");
    assert!(answer.contains("hello"), "the echoed body: {answer}");
}

/// A route that needs an API key, throttled per client (burst 2) and gateway-wide (burst 4).
fn keyed_gateway() -> Gateway {
    let manifest = [
        "[gateway]\nthrottle = { rate = 0.01, burst = 4 }\n".to_owned(),
        module("hello", guests::HELLO, ""),
        route(
            "GET",
            "/keyed/{name}",
            "hello",
            "api_key_required = true\nclient_throttle = { rate = 0.01, burst = 2 }",
        ),
        route("GET", "/open/{name}", "hello", ""),
    ]
    .concat();
    Gateway::start(&manifest)
}

#[tokio::test]
async fn invalid_api_keys_are_throttled_per_client_and_gateway_wide() {
    let gw = keyed_gateway();
    let http = crate::support::client();
    let mut statuses = Vec::new();
    for i in 0..4 {
        let response = http
            .get(gw.url("/keyed/x"))
            .header("x-api-key", format!("wg_bogus-{i}"))
            .send()
            .await
            .expect("send");
        statuses.push(response.status().as_u16());
    }
    // The client's bucket takes the first two; then a flood of bad keys is throttled.
    assert_eq!(statuses, [403, 403, 429, 429]);
    // The refused requests took gateway-wide tokens too: fewer than the bucket's four are
    // left for everyone else.
    let mut served = 0;
    for name in ["a", "b", "c", "d"] {
        let response = gw.get(&format!("/open/{name}")).await;
        match response.status().as_u16() {
            200 => served += 1,
            429 => assert!(response.headers().contains_key("retry-after")),
            other => panic!("/open/{name}: {other}"),
        }
    }
    assert!(
        served < 4,
        "the gateway-wide bucket was untouched: {served} served"
    );
}

/// Sends `count` concurrent GETs to `path` with `Bearer token`: their statuses and bodies.
async fn concurrent_calls(
    gw: &Gateway,
    path: &str,
    token: &str,
    count: usize,
) -> Vec<(u16, String, bool)> {
    let http = crate::support::client();
    let calls = (0..count).map(|_| {
        let request = http
            .get(gw.url(path))
            .header("authorization", format!("Bearer {token}"));
        async move {
            let response = request.send().await.expect("send");
            let status = response.status().as_u16();
            let retry_after = response.headers().contains_key("retry-after");
            (status, response.text().await.expect("body"), retry_after)
        }
    });
    futures_util::future::join_all(calls).await
}

#[tokio::test]
async fn concurrent_misses_for_one_identity_run_the_authorizer_once() {
    let gw = gateway(&[]);
    let answers = concurrent_calls(&gw, "/secure/x", "slow-ada", 8).await;
    assert!(
        answers.iter().all(|(status, _, _)| *status == 200),
        "{answers:?}"
    );
    gw.wait_for_log("authz: called with slow-ada");
    // Later calls would have been logged by now: the 8 requests waited for one run.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        gw.stderr().matches("authz: called with slow-ada").count(),
        1
    );
}

#[tokio::test]
async fn authorizer_runs_are_bounded_then_refused_with_503() {
    let manifest = [
        module("echo", guests::ECHO, ""),
        module("authz", guests::AUTHZ, ""),
        authorizer("one", "authz", "max_concurrency = 1\nttl_seconds = 0"),
        route("GET", "/one/{p+}", "echo", "authorizer = \"one\""),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    // Each run takes 300 ms; one runs at a time, four wait (at most 1 s), the rest are
    // refused at once.
    let answers = concurrent_calls(&gw, "/one/x", "slow-bob", 10).await;
    let served = answers
        .iter()
        .filter(|(status, _, _)| *status == 200)
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(status, _, _)| *status == 503)
        .collect();
    assert!(served >= 1, "{answers:?}");
    assert!(refused.len() >= 5, "{answers:?}");
    assert_eq!(served + refused.len(), 10, "{answers:?}");
    for (_, body, retry_after) in refused {
        assert!(body.contains("\"error\":\"concurrency_limit\""), "{body}");
        assert!(retry_after, "503 without Retry-After");
    }
}
