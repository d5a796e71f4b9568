//! A test OTLP/HTTP collector: takes `POST /v1/traces` (protobuf), decodes each
//! `ExportTraceServiceRequest` and keeps its spans for the test to read.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// A running collector (its thread ends with the test process).
pub struct OtlpCollector {
    pub addr: SocketAddr,
    spans: Arc<Mutex<Vec<Span>>>,
    /// `service.name` of every batch received.
    services: Arc<Mutex<Vec<String>>>,
}

impl OtlpCollector {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let spans = Arc::new(Mutex::new(Vec::new()));
        let services = Arc::new(Mutex::new(Vec::new()));
        let (kept, names) = (spans.clone(), services.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (kept, names) = (kept.clone(), names.clone());
                std::thread::spawn(move || serve(stream, &kept, &names));
            }
        });
        OtlpCollector {
            addr,
            spans,
            services,
        }
    }

    /// The endpoint to give the gateway (it appends `/v1/traces`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The spans received, once there are at least `count` (up to 15 s).
    pub fn spans(&self, count: usize) -> Vec<Span> {
        super::wait_until(&format!("{count} spans arrive"), || {
            let spans = self.spans.lock().expect("lock").clone();
            (spans.len() >= count).then_some(spans)
        })
    }

    /// The `service.name`s the batches named.
    pub fn services(&self) -> Vec<String> {
        self.services.lock().expect("lock").clone()
    }
}

/// Answers the requests of one keep-alive connection.
fn serve(stream: std::net::TcpStream, spans: &Mutex<Vec<Span>>, services: &Mutex<Vec<String>>) {
    let mut writer = stream.try_clone().expect("clone");
    let mut reader = BufReader::new(stream);
    loop {
        let mut length = 0;
        let mut line = String::new();
        let mut first = true;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            if first {
                assert!(line.starts_with("POST /v1/traces "), "{line}");
                first = false;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(value) = lower.strip_prefix("content-length:") {
                length = value.trim().parse().expect("content-length");
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("body");
        let request = ExportTraceServiceRequest::decode(body.as_slice()).expect("protobuf");
        for resource_spans in request.resource_spans {
            let service = resource_spans
                .resource
                .iter()
                .flat_map(|resource| &resource.attributes)
                .find(|attribute| attribute.key == "service.name")
                .and_then(|attribute| attribute.value.as_ref())
                .map(|value| format!("{:?}", value.value));
            services.lock().expect("lock").extend(service);
            for scope in resource_spans.scope_spans {
                spans.lock().expect("lock").extend(scope.spans);
            }
        }
        let ok =
            "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
        if writer.write_all(ok.as_bytes()).is_err() {
            return;
        }
    }
}
