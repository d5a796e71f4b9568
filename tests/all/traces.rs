//! Traces over OTLP/HTTP: one request's span tree as a test collector decodes it, the
//! client's `traceparent` followed, and the guest span passed to the guest's request and
//! injected into its outbound calls.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;

use opentelemetry_proto::tonic::trace::v1::Span;
use serde_json::Value;

use crate::support::{Gateway, OtlpCollector, client, guests, module, route, tok_authorizer};

const CLIENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN: &str = "00f067aa0ba902b7";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A server that answers 200 and sends back each request's `traceparent` header.
fn traceparent_recorder() -> (u16, mpsc::Receiver<Option<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut traceparent = None;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("traceparent:") {
                    traceparent = Some(value.trim().to_owned());
                }
                line.clear();
            }
            let _ = tx.send(traceparent);
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (port, rx)
}

fn start(collector: &OtlpCollector, outbound_port: u16) -> Gateway {
    let manifest = [
        module("echo", guests::ECHO, ""),
        module(
            "probe",
            guests::PROBE,
            &format!("allowed_outbound_hosts = [\"http://127.0.0.1:{outbound_port}\"]"),
        ),
        tok_authorizer(""),
        route("GET", "/traced/{proxy+}", "echo", "authorizer = \"tok\""),
        route("GET", "/probe/{action}", "probe", ""),
    ]
    .concat();
    Gateway::start_with_env(
        &manifest,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint().as_str()),
            ("OTEL_BSP_SCHEDULE_DELAY", "50"),
        ],
    )
}

fn named<'a>(spans: &'a [Span], name: &str) -> &'a Span {
    spans
        .iter()
        .find(|span| span.name == name)
        .unwrap_or_else(|| {
            panic!(
                "no `{name}` span in {:?}",
                spans.iter().map(|s| &s.name).collect::<Vec<_>>()
            )
        })
}

#[tokio::test]
async fn one_request_is_one_span_tree_under_the_clients_trace() {
    let collector = OtlpCollector::start();
    let (port, _) = traceparent_recorder();
    let gw = start(&collector, port);
    let response = client()
        .get(gw.url("/traced/a/b"))
        .bearer_auth("allow-ada")
        .header("traceparent", format!("00-{CLIENT_TRACE}-{CLIENT_SPAN}-01"))
        .header("tracestate", "vendor=opaque")
        .header("x-request-id", "traced-1")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let echoed: Value = response.json().await.expect("json");

    // Eight phases and the request: route, key, throttle, authorize, body, admit,
    // instantiate, guest.
    let spans = collector.spans(9);
    assert_eq!(spans.len(), 9, "{spans:#?}");
    assert!(collector.services().iter().all(|s| s.contains("wasmgate")));
    let root = named(&spans, "GET /traced/{proxy+}");
    assert_eq!(hex(&root.trace_id), CLIENT_TRACE);
    assert_eq!(hex(&root.parent_span_id), CLIENT_SPAN);
    assert_eq!(root.trace_state, "vendor=opaque");
    let attribute = |span: &Span, key: &str| {
        span.attributes
            .iter()
            .find(|a| a.key == key)
            .and_then(|a| a.value.as_ref())
            .map(|v| format!("{:?}", v.value))
            .unwrap_or_default()
    };
    assert!(attribute(root, "wasmgate.request_id").contains("traced-1"));
    assert!(attribute(root, "http.response.status_code").contains("200"));
    for phase in [
        "route",
        "key",
        "throttle",
        "authorize",
        "body",
        "admit",
        "instantiate",
        "guest",
    ] {
        let span = named(&spans, phase);
        assert_eq!(span.trace_id, root.trace_id, "{phase}");
        assert_eq!(span.parent_span_id, root.span_id, "{phase}");
        assert!(
            span.start_time_unix_nano >= root.start_time_unix_nano,
            "{phase}"
        );
        assert!(
            span.end_time_unix_nano <= root.end_time_unix_nano,
            "{phase}"
        );
        assert!(
            span.end_time_unix_nano >= span.start_time_unix_nano,
            "{phase}"
        );
    }
    // The guest saw the guest span as its parent, in the client's trace.
    let guest = named(&spans, "guest");
    let seen = echoed["headers"]["traceparent"]
        .as_str()
        .expect("traceparent");
    assert_eq!(
        seen,
        format!("00-{CLIENT_TRACE}-{}-01", hex(&guest.span_id))
    );
    assert_eq!(echoed["headers"]["tracestate"], "vendor=opaque");
}

#[tokio::test]
async fn a_new_trace_starts_without_a_valid_traceparent_and_reaches_outbound_calls() {
    let collector = OtlpCollector::start();
    let (port, seen) = traceparent_recorder();
    let gw = start(&collector, port);
    let response = client()
        .get(gw.url(&format!("/probe/fetch?url=http://127.0.0.1:{port}/x")))
        .header("traceparent", "00-not-a-valid-header-01")
        .send()
        .await
        .expect("send");
    assert_eq!(response.text().await.expect("body"), "status 200");
    let outbound = seen
        .recv()
        .expect("the outbound request")
        .expect("a traceparent");

    let spans = collector.spans(1);
    let root = named(&spans, "GET /probe/{action}");
    assert_ne!(hex(&root.trace_id), CLIENT_TRACE);
    assert_eq!(root.trace_id.len(), 16);
    assert!(root.parent_span_id.is_empty(), "{root:?}");
    let guest = named(&spans, "guest");
    assert_eq!(
        outbound,
        format!("00-{}-{}-01", hex(&root.trace_id), hex(&guest.span_id))
    );
}
