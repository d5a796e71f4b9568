//! `POST /invoke`, the test invoke: runs a synthetic request through the gateway's real
//! path (routing, limits, rejections) without an HTTP client, and returns the response with
//! the handler's stdout and stderr and the time each step took.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, ApiResult};
use crate::gateway::{EXECUTED_VERSION, Gateway};
use crate::runtime::Observation;
use crate::server::ConnectionInfo;
use crate::server::response::REQUEST_ID;

/// The synthetic request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct InvokeRequest {
    /// Defaults to GET.
    #[serde(default = "default_method")]
    method: String,
    /// Path and query, e.g. `/hello/ada?loud=1`.
    path: String,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// A UTF-8 body…
    #[serde(default)]
    body: Option<String>,
    /// …or any bytes, base64-encoded.
    #[serde(default)]
    body_base64: Option<String>,
}

fn default_method() -> String {
    "GET".into()
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, message)
}

fn millis(duration: Option<Duration>) -> Value {
    duration.map_or(Value::Null, |d| json!(d.as_secs_f64() * 1000.0))
}

/// A body as JSON: `body` if it is UTF-8 text, else `body_base64`.
fn body_fields(bytes: &[u8]) -> (&'static str, Value) {
    match std::str::from_utf8(bytes) {
        Ok(text) => ("body", json!(text)),
        Err(_) => (
            "body_base64",
            json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    }
}

pub(super) async fn invoke(gateway: &Arc<Gateway>, body: &[u8]) -> ApiResult {
    let spec: InvokeRequest = super::endpoints::parse_json(body)?;
    if !spec.path.starts_with('/') {
        return Err(bad(format!(
            "`path` must start with `/`, not `{}`",
            spec.path
        )));
    }
    let body = match (spec.body, spec.body_base64) {
        (Some(_), Some(_)) => return Err(bad("give `body` or `body_base64`, not both")),
        (Some(text), None) => Bytes::from(text),
        (None, Some(encoded)) => Bytes::from(
            base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|e| bad(format!("`body_base64` is not base64: {e}")))?,
        ),
        (None, None) => Bytes::new(),
    };
    let mut request = hyper::Request::builder()
        .method(spec.method.as_str())
        .uri(spec.path.as_str())
        .header(http::header::HOST, "wasmgate-test-invoke");
    for (name, value) in &spec.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let mut request = request
        .body(Full::new(body).map_err(
            |never: std::convert::Infallible| -> wasmtime_wasi_http::Error { match never {} },
        ))
        .map_err(|e| bad(format!("invalid request: {e}")))?;

    // A test invoke comes from the gateway itself.
    request.extensions_mut().insert(ConnectionInfo {
        peer: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        over_tls: false,
    });
    let observation = Arc::new(Observation::default());
    let started = Instant::now();
    let response = gateway
        .handle_observed(request, Some(observation.clone()))
        .await;
    let (parts, response_body) = response.into_parts();
    let response_bytes = match response_body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return Ok((
                StatusCode::OK,
                json!({ "error": format!("the response body broke off: {error}") }),
            ));
        }
    };
    let total = started.elapsed();

    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    let header = |name: &http::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (body_key, body_value) = body_fields(&response_bytes);
    let mut response_json = json!({ "status": parts.status.as_u16(), "headers": headers });
    response_json[body_key] = body_value;
    let route = observation
        .route()
        .map(|(id, template)| json!({ "id": id, "path": template }));
    let (stdout, stderr) = (observation.stdout(), observation.stderr());
    Ok((
        StatusCode::OK,
        json!({
            "request_id": header(&REQUEST_ID),
            "route": route,
            "version": header(&EXECUTED_VERSION),
            "response": response_json,
            "stdout": String::from_utf8_lossy(&stdout),
            "stderr": String::from_utf8_lossy(&stderr),
            "timing_ms": {
                "authorize": millis(observation.authorize_time()),
                "instantiate": millis(observation.instantiate_time()),
                "run": millis(observation.handle_time()),
                "total": total.as_secs_f64() * 1000.0,
            },
        }),
    ))
}
