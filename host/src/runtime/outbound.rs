//! What guests may reach over `wasi:http/outgoing-handler`: nothing, unless their module
//! lists the origins (`allowed_outbound_hosts`, checked by [`crate::allowlist`]).
//!
//! The check uses the outgoing request's own scheme, host and port (a `Host` header cannot
//! change where it goes: guests may not set one). Requests to hosts an entry names are sent
//! by `wasmtime-wasi-http`'s client; requests only a `*` entry allows go to the addresses
//! the check vetted (`vetted_client.rs`). Both get bounded timeouts (wasmtime-wasi-http's
//! own default is 600 s).

use std::time::Duration;

use http_body_util::BodyExt;
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody};

use crate::allowlist::{AllowList, Destination, Refusal};

/// Default time to connect to an allowed host.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Default time to wait for the first byte, and between bytes, of a response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// The response of an allowed request, and the future reporting its I/O errors.
pub(super) type Sent = (
    http::Response<WasiBody>,
    Box<dyn Future<Output = Result<(), Error>> + Send>,
);

/// Checks and sends one outgoing request.
pub(super) async fn send(
    allowed: std::sync::Arc<AllowList>,
    request: http::Request<WasiBody>,
    options: Option<RequestOptions>,
) -> Result<Sent, Error> {
    let options = options.unwrap_or_default();
    let timeouts = super::vetted_client::Timeouts {
        connect: options.connect_timeout.unwrap_or(CONNECT_TIMEOUT),
        first_byte: options.first_byte_timeout.unwrap_or(RESPONSE_TIMEOUT),
        between_bytes: options.between_bytes_timeout.unwrap_or(RESPONSE_TIMEOUT),
    };
    // The check may look the name up: that counts towards connecting, as it does in
    // wasmtime-wasi-http's client.
    let checked = tokio::time::timeout(timeouts.connect, allowed.check(request.uri())).await;
    let destination = match checked {
        Ok(Ok(destination)) => destination,
        Ok(Err(Refusal::Denied(reason))) => {
            tracing::debug!(uri = %request.uri(), %reason, "outbound request denied");
            return Err(Error::HttpRequestDenied);
        }
        Ok(Err(Refusal::Unresolved(error))) => {
            tracing::debug!(uri = %request.uri(), %error, "outbound host has no address");
            return Err(Error::DnsError {
                rcode: Some("address not available".to_owned()),
                info_code: None,
            });
        }
        Err(_) => return Err(Error::DnsTimeout),
    };
    match destination {
        Destination::Named => {
            let options = RequestOptions {
                connect_timeout: Some(timeouts.connect),
                first_byte_timeout: Some(timeouts.first_byte),
                between_bytes_timeout: Some(timeouts.between_bytes),
            };
            let (response, io) =
                wasmtime_wasi_http::default_send_request(request, Some(options)).await?;
            Ok((response.map(BodyExt::boxed_unsync), Box::new(io)))
        }
        Destination::Vetted(addresses) => {
            super::vetted_client::send(request, &addresses, timeouts).await
        }
    }
}
