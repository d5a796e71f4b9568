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
