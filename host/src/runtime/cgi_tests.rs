//! Tests of CGI environment building and output parsing.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;

use super::{CgiRequest, parse_response, split_authority};
use crate::runtime::InvocationFacts;

fn parse(text: &str) -> Result<super::CgiResponse, String> {
    parse_response(Bytes::copy_from_slice(text.as_bytes()))
}

#[test]
fn content_type_and_body() {
    let response = parse("Content-Type: text/plain\n\nhello\n").expect("valid");
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.headers["content-type"], "text/plain");
    assert_eq!(response.body, "hello\n");
}

#[test]
fn crlf_status_and_repeated_headers() {
    let response =
        parse("status: 404 Not Found\r\ncontent-type: text/html\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n<p>no</p>")
            .expect("valid");
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.headers.get_all("set-cookie").iter().count(), 2);
    assert_eq!(response.body, "<p>no</p>");
}

#[test]
fn location_alone_redirects() {
    let response = parse("Location: https://example.com/\n\n").expect("valid");
    assert_eq!(response.status, StatusCode::FOUND);
    assert_eq!(response.headers["location"], "https://example.com/");
}

#[test]
fn framing_headers_are_the_gateways() {
    let response =
        parse("content-type: text/plain\ncontent-length: 999\ntransfer-encoding: chunked\n\nabc")
            .expect("valid");
    assert!(response.headers.get("content-length").is_none());
    assert!(response.headers.get("transfer-encoding").is_none());
    let response =
        parse("content-type: text/plain\nkeep-alive: timeout=0\nupgrade: h2c\n\n").expect("valid");
    assert!(response.headers.get("keep-alive").is_none());
    assert!(response.headers.get("upgrade").is_none());
}

#[test]
fn spaced_status_and_non_ascii_values_are_read() {
    let response =
        parse("Status : 404\ncontent-disposition: attachment; filename=\"résumé.pdf\"\n\n")
            .expect("valid");
    assert_eq!(response.status, 404);
    assert_eq!(
        response.headers["content-disposition"].as_bytes(),
        "attachment; filename=\"résumé.pdf\"".as_bytes()
    );
}

#[test]
fn malformed_outputs_say_what_is_wrong() {
    for (output, expected) in [
        ("", "wrote nothing"),
        ("content-type: text/plain\nhello", "no blank line"),
        ("hello world\n\n", "has no `:`"),
        ("x-only: 1\n\nbody", "none of `content-type`"),
        ("status: abc\n\n", "not a status code"),
        ("status: 99\n\n", "not a status code"),
        ("status: 101\n\n", "not a status code"),
        ("bad name: 1\ncontent-type: a\n\n", "not a header name"),
    ] {
        let error = parse(output).expect_err("an error");
        assert!(error.contains(expected), "{output:?}: {error}");
    }
}

#[test]
fn authority_splits_into_name_and_port() {
    assert_eq!(
        split_authority("example.com:8080", false),
        ("example.com", "8080")
    );
    assert_eq!(split_authority("example.com", false), ("example.com", "80"));
    assert_eq!(split_authority("example.com", true), ("example.com", "443"));
    assert_eq!(split_authority("[::1]:9", true), ("[::1]", "9"));
    assert_eq!(split_authority("[::1]", false), ("[::1]", "80"));
}

fn request() -> http::request::Parts {
    let (parts, ()) = http::Request::post("/files/a%20b?x=1&y=two+words&&z=%2F")
        .header("host", "api.test:8080")
        .header("content-type", "application/json")
        .header("x-trace", "1")
        .header("x-trace", "2")
        .header("content-length", "2")
        .header("api-base", "https://client.example")
        .header("x_user", "admin")
        .header("x.role", "admin")
        .header("x-role", "viewer")
        .body(())
        .expect("valid")
        .into_parts();
    parts
}

fn facts() -> InvocationFacts {
    InvocationFacts {
        request_id: "req-1".into(),
        route: Arc::from("/files/{name}"),
        path_params: vec![("name".into(), "a b".into())],
        principal: Some("alice".into()),
        authorizer_context: vec![("tenant-id".into(), "t9".into())],
        client_ip: Some("127.0.0.1".parse().expect("valid")),
        over_tls: false,
        stage_variables: Arc::from(vec![("database".to_owned(), "prod-db".to_owned())]),
        traceparent: None,
    }
}

#[test]
fn environment_describes_the_request() {
    let parts = request();
    let facts = facts();
    let cgi = CgiRequest {
        parts: &parts,
        body_len: 2,
        facts: &facts,
    };
    let env = cgi.environment(&[
        ("GREETING".into(), "hi".into()),
        ("REQUEST_METHOD".into(), "forged".into()),
        ("HTTP_API_BASE".into(), "https://module.example".into()),
    ]);
    let get = |name: &str| {
        let found: Vec<&str> = env
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert!(found.len() <= 1, "{name} is set {} times", found.len());
        found.first().map(|v| v.to_string())
    };
    let expected = [
        ("GREETING", "hi"),
        ("REQUEST_METHOD", "POST"),
        ("PATH_INFO", "/files/a b"),
        ("X_RAW_PATH_INFO", "/files/a%20b"),
        ("QUERY_STRING", "x=1&y=two+words&&z=%2F"),
        ("SERVER_NAME", "api.test"),
        ("SERVER_PORT", "8080"),
        ("SERVER_PROTOCOL", "HTTP/1.1"),
        ("CONTENT_LENGTH", "2"),
        ("CONTENT_TYPE", "application/json"),
        ("HTTP_X_TRACE", "1, 2"),
        ("HTTP_HOST", "api.test:8080"),
        // The module's variable beats the client's header.
        ("HTTP_API_BASE", "https://module.example"),
        // `X.Role` beside `X-Role`: only the plain name gets a variable, and only once.
        ("HTTP_X_ROLE", "viewer"),
        ("X_MATCHED_ROUTE", "/files/{name}"),
        ("X_PARAM_NAME", "a b"),
        ("X_REQUEST_ID", "req-1"),
        ("REMOTE_USER", "alice"),
        ("X_AUTHORIZER_TENANT_ID", "t9"),
        ("X_STAGE_DATABASE", "prod-db"),
        ("REMOTE_ADDR", "127.0.0.1"),
        (
            "X_FULL_URL",
            "http://api.test:8080/files/a%20b?x=1&y=two+words&&z=%2F",
        ),
    ];
    for (name, value) in expected {
        assert_eq!(get(name).as_deref(), Some(value), "{name}");
    }
    // `Content-Type` is `CONTENT_TYPE` only; `_` in a header name drops the header.
    for absent in ["HTTP_CONTENT_TYPE", "HTTP_X_USER"] {
        assert_eq!(get(absent), None, "{absent}");
    }
    assert_eq!(cgi.arguments(), ["/files/a b", "x=1", "y=two words", "z=/"]);
}

#[test]
fn nul_bytes_never_reach_the_program() {
    let facts = facts();
    let check = |uri: &str, facts: &InvocationFacts| {
        let (parts, ()) = http::Request::get(uri)
            .body(())
            .expect("valid")
            .into_parts();
        let cgi = CgiRequest {
            parts: &parts,
            body_len: 0,
            facts,
        };
        cgi.refuse_nul_bytes()
    };
    assert!(check("/files/a%20b?x=1", &facts).is_ok());
    let path = check("/files/a%00b", &facts).expect_err("NUL in the path");
    assert!(path.contains("path"), "{path}");
    let query = check("/files/a?x=%00", &facts).expect_err("NUL in the query");
    assert!(query.contains("query"), "{query}");
    let mut with_nul = facts.clone();
    with_nul.path_params = vec![("name".into(), "a\0b".into())];
    let param = check("/files/x", &with_nul).expect_err("NUL in a parameter");
    assert!(param.contains("`name`"), "{param}");
}
