//! What guests may reach over `wasi:http/outgoing-handler`: nothing, unless their module
//! lists the origins (`allowed_outbound_hosts`, checked by [`crate::allowlist`]).
//!
//! The check uses the outgoing request's own scheme, host and port (a `Host` header cannot
//! change where it goes: guests may not set one). Allowed requests are sent by
//! `wasmtime-wasi-http`'s client with bounded timeouts (its own default is 600 s).

use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::allowlist::AllowList;

/// Default time to connect to an allowed host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time to wait for the first byte, and between bytes, of a response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The response of an allowed request, and the future reporting its I/O errors.
type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// Checks and sends one outgoing request.
pub(super) async fn send(
    allowed: std::sync::Arc<AllowList>,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, Error> {
    if let Err(reason) = allowed.check(request.uri()).await {
        tracing::debug!(uri = %request.uri(), %reason, "outbound request denied");
        return Err(Error::HttpRequestDenied);
    }
    let options = options.unwrap_or_default();
    let options = RequestOptions {
        connect_timeout: Some(options.connect_timeout.unwrap_or(CONNECT_TIMEOUT)),
        first_byte_timeout: Some(options.first_byte_timeout.unwrap_or(RESPONSE_TIMEOUT)),
        between_bytes_timeout: Some(options.between_bytes_timeout.unwrap_or(RESPONSE_TIMEOUT)),
    };
    let (response, io) = wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
    Ok((response.map(BodyExt::boxed_unsync), Box::new(io)))
}
