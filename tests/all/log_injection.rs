//! What clients and guests send cannot forge log lines or leak back through error bodies
//! (issue 13): every event of the gateway's log is one line, with control characters
//! escaped; a bad token's details go to the log only.

use base64::Engine;

use crate::support::{Gateway, guests, module, route};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn a_token_cannot_forge_log_lines_or_echo_into_the_answer() {
    let manifest = [
        module("echo", guests::ECHO, ""),
        "[[authorizers]]\nname = \"jwt\"\ntype = \"jwt\"\nalgorithms = [\"HS256\"]\nsecret = \"a-secret-of-thirty-two-characters\"\n\n".to_owned(),
        route("GET", "/api/{p+}", "echo", "authorizer = \"jwt\""),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    let header =
        r#"{"alg":"\n2099-01-01T00:00:00Z  INFO wasmgate: FORGED\r\u001b[2J","typ":"JWT"}"#;
    let token = format!("{}.{}.{}", b64(header.as_bytes()), b64(b"{}"), b64(b"sig"));
    let response = gw
        .get_with("/api/x", "authorization", &format!("Bearer {token}"))
        .await;
    assert_eq!(response.status(), 401);
    let body = response.text().await.expect("body");
    assert!(
        !body.contains("FORGED"),
        "the answer echoes the token: {body}"
    );
    assert!(body.contains("the token is not valid"), "{body}");

    gw.wait_for_log("token refused");
    let log = gw.stderr();
    // The token's text reached the log (so the check below means something)…
    assert!(log.contains("FORGED"), "{log}");
    // …inside the event that logged it, escaped.
    for line in log.lines().filter(|line| line.contains("FORGED")) {
        assert!(line.contains("token refused"), "a forged line: {line:?}");
        assert!(!line.contains('\r') && !line.contains('\u{1b}'), "{line:?}");
    }
    assert!(
        !log.lines().any(|line| line.starts_with("2099-01-01")),
        "{log}"
    );
}

#[tokio::test]
async fn text_access_lines_quote_and_escape_what_clients_choose() {
    use std::io::Write;

    let manifest = [
        module("echo", guests::ECHO, ""),
        route("ANY", "/echo/{proxy+}", "echo", ""),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    // A raw request: a quote, an `=` and an encoded line break in the path, and a request id
    // that is well-formed (kept) but full of quotes and backslashes.
    let mut stream = std::net::TcpStream::connect(gw.addr).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(
            b"GET /echo/a\"b=c%0A HTTP/1.1\r\nhost: x\r\nx-request-id: id-\"q\"\\b=x\r\nconnection: close\r\n\r\n",
        )
        .expect("write");
    let answer = crate::support::read_until(&mut stream, |_| false);
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    let line = gw.log_line("wasmgate::access");
    // Values that are one plain word stay bare; the others are quoted and escaped, so no
    // client text can pose as a field of its own.
    assert!(line.contains(" method=GET route=/echo/{proxy+} "), "{line}");
    assert!(line.contains(r#" path="/echo/a\"b=c%0A" "#), "{line}");
    assert!(line.contains(r#" request_id="id-\"q\"\\b=x" "#), "{line}");
    assert!(line.contains(" status=200 "), "{line}");
}
