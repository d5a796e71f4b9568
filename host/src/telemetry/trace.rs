//! Traces: every request becomes a span tree — a server span carrying its request id, one
//! child per phase (route, key, throttle, authorize, body, admit, instantiate, guest) —
//! exported over OTLP/HTTP (protobuf) in batches from a thread of its own when
//! `--otlp-endpoint` (or `OTEL_EXPORTER_OTLP_ENDPOINT`) is set. Off by default, at no cost.
//!
//! The spans are written after the fact, from the times the request recorded, and handed to
//! the batch processor: the request path never builds a span, takes a lock for one, or waits
//! for the collector. Only the ids are chosen as the request arrives, so that the guest's
//! request, and its outbound calls, can name the guest span as their parent (`traceparent`).
//! A client's W3C `traceparent` is followed (its trace id, its span as the parent, its
//! sampled flag); an invalid one is ignored and a new trace starts; `tracestate` is passed
//! on as it came.

use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, HeaderValue};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceContextExt, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, IdGenerator, RandomIdGenerator, SpanData, SpanEvents,
    SpanLinks, SpanProcessor,
};

/// The batch processor spans go to, once [`start`] set one up.
static EXPORTER: OnceLock<BatchSpanProcessor> = OnceLock::new();

/// How long an export to the collector may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// Flushes and stops the exporter when dropped (at the end of `wasmgate up`).
#[derive(Debug)]
pub struct TraceExport(());

impl Drop for TraceExport {
    fn drop(&mut self) {
        if let Some(processor) = EXPORTER.get()
            && let Err(error) = processor.shutdown()
        {
            tracing::warn!(%error, "traces not all exported at shutdown");
        }
    }
}

/// The OTLP/HTTP URL spans are posted to: `endpoint` as given when it already ends in
/// `/v1/traces`, else with that path appended (as `OTEL_EXPORTER_OTLP_ENDPOINT` is read).
pub fn traces_url(endpoint: &str) -> String {
    let endpoint = endpoint.trim_end_matches('/');
    if endpoint.ends_with("/v1/traces") {
        endpoint.to_owned()
    } else {
        format!("{endpoint}/v1/traces")
    }
}

/// Starts exporting traces to the OTLP/HTTP collector at `endpoint` (see [`traces_url`]),
/// as service `wasmgate`. Call it once, outside any async runtime (the exporter's HTTP
/// client runs one of its own), before the gateway serves.
pub fn start(endpoint: &str) -> Result<TraceExport, String> {
    let url = traces_url(endpoint);
    // No proxy from the environment: the collector is named, and only it gets the spans.
    let client = reqwest::blocking::Client::builder()
        .no_proxy()
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot make the OTLP HTTP client: {e}"))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot export traces to {url}: {e}"))?;
    // Batch size, delay and queue follow the standard OTEL_BSP_* variables.
    let mut processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(BatchConfigBuilder::default().build())
        .build();
    processor.set_resource(&Resource::builder().with_service_name("wasmgate").build());
    EXPORTER
        .set(processor)
        .map_err(|_| "traces are already exported".to_owned())?;
    tracing::info!(%url, "exporting traces over OTLP/HTTP");
    Ok(TraceExport(()))
}

/// A request's place in its trace, chosen as it arrives.
#[derive(Debug, Clone)]
pub struct RequestTrace {
    trace_id: TraceId,
    /// The client's span, when it sent a valid `traceparent`.
    parent: Option<SpanId>,
    /// The request's server span.
    span_id: SpanId,
    /// The guest's span: the parent of the guest's request and of its outbound calls.
    guest_span_id: SpanId,
    sampled: bool,
    state: TraceState,
}

/// Reads W3C trace context from request headers.
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

impl RequestTrace {
    /// The trace of a request with these headers; `None` when traces are not exported.
    pub fn begin(headers: &HeaderMap) -> Option<Self> {
        EXPORTER.get()?;
        let ids = RandomIdGenerator::default();
        let context = TraceContextPropagator::new().extract(&Headers(headers));
        let remote = context.span().span_context().clone();
        let (trace_id, parent, sampled, state) = if remote.is_valid() {
            let sampled = remote.is_sampled();
            (
                remote.trace_id(),
                Some(remote.span_id()),
                sampled,
                remote.trace_state().clone(),
            )
        } else {
            (ids.new_trace_id(), None, true, TraceState::default())
        };
        Some(RequestTrace {
            trace_id,
            parent,
            span_id: ids.new_span_id(),
            guest_span_id: ids.new_span_id(),
            sampled,
            state,
        })
    }

    /// The `traceparent` naming the guest span, for the guest's request and outbound calls.
    pub fn guest_traceparent(&self) -> HeaderValue {
        let flags = if self.sampled { "01" } else { "00" };
        let text = format!("00-{}-{}-{flags}", self.trace_id, self.guest_span_id);
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The client's `tracestate`, to pass on.
    pub fn tracestate(&self) -> Option<HeaderValue> {
        let header = self.state.header();
        (!header.is_empty())
            .then(|| HeaderValue::from_str(&header).ok())
            .flatten()
    }

    /// Exports the request's span (`root`) and its phases' (`children`), if sampled.
    pub fn export(&self, root: SpanRecord, children: Vec<SpanRecord>) {
        let Some(processor) = EXPORTER.get() else {
            return;
        };
        if !self.sampled {
            return;
        }
        let flags = TraceFlags::SAMPLED;
        let context =
            |span_id| SpanContext::new(self.trace_id, span_id, flags, false, self.state.clone());
        let scope = InstrumentationScope::builder("wasmgate").build();
        let data = |record: SpanRecord, span_id, parent: Option<SpanId>, kind| SpanData {
            span_context: context(span_id),
            parent_span_id: parent.unwrap_or(SpanId::INVALID),
            parent_span_is_remote: parent.is_some() && span_id == self.span_id,
            span_kind: kind,
            name: record.name,
            start_time: record.start,
            end_time: record.end,
            attributes: record.attributes,
            dropped_attributes_count: 0,
            events: SpanEvents::default(),
            links: SpanLinks::default(),
            status: if record.failed {
                Status::error("")
            } else {
                Status::Unset
            },
            instrumentation_scope: scope.clone(),
        };
        let ids = RandomIdGenerator::default();
        for child in children {
            let span_id = if child.name == "guest" {
                self.guest_span_id
            } else {
                ids.new_span_id()
            };
            processor.on_end(data(child, span_id, Some(self.span_id), SpanKind::Internal));
        }
        processor.on_end(data(root, self.span_id, self.parent, SpanKind::Server));
    }
}

/// One span, as recorded.
#[derive(Debug)]
pub struct SpanRecord {
    /// Its name (a phase, or `METHOD /template` for the request).
    pub name: Cow<'static, str>,
    /// When it started…
    pub start: SystemTime,
    /// …and ended.
    pub end: SystemTime,
    /// Its attributes.
    pub attributes: Vec<KeyValue>,
    /// Whether it ended in an error.
    pub failed: bool,
}
