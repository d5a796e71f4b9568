//! Outbound HTTP requests of a taped invocation: sent to the network with each response
//! recorded (its body as the guest reads it), or answered from the recording in order.

use std::sync::Arc;

use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error, WasiBody};

use super::super::outbound::Sent;
use super::{
    Capture, Exchange, MAX_BODY_BYTES, MAX_OUTBOUND, PendingExchange, Player, Recorder, TeeBody,
    header_pairs,
};

/// Records what sending `method uri` ended with, and hands it on to the guest.
pub(in crate::runtime) fn record_outbound(
    recorder: &Recorder,
    method: &http::Method,
    uri: &http::Uri,
    sent: Result<Sent, Error>,
) -> Result<Sent, Error> {
    let mut exchange = Exchange {
        method: method.to_string(),
        uri: uri.to_string(),
        status: None,
        error: None,
        headers: Vec::new(),
        body: Default::default(),
    };
    let (sent, body) = match sent {
        Err(error) => {
            exchange.error = Some(error.to_string());
            (Err(error), None)
        }
        Ok((response, io)) => {
            exchange.status = Some(response.status().as_u16());
            exchange.headers = header_pairs(response.headers(), &recorder.redacted);
            let capture = Capture::new(MAX_BODY_BYTES);
            let response =
                response.map(|body| TeeBody::new(body, capture.clone(), None).boxed_unsync());
            (Ok((response, io)), Some(capture))
        }
    };
    recorder.record(
        || format!("over {MAX_OUTBOUND} outbound requests were sent"),
        |state| {
            state.outbound.push(PendingExchange { exchange, body });
            state.outbound.len() <= MAX_OUTBOUND
        },
    );
    sent
}

/// The recorded answer to the guest's next outbound request (`method uri`); a request
/// that differs from the recorded one is noted, and one past the recording is refused.
pub(in crate::runtime) async fn play_outbound(
    player: Arc<Player>,
    request: http::Request<WasiBody>,
) -> Result<Sent, Error> {
    let (method, uri) = (request.method().to_string(), request.uri().to_string());
    // The guest may still be writing the request's body: take it all, as a server would.
    let _ = request.into_body().collect().await;
    let exchange = {
        let mut cursor = player.lock();
        let exchange = player.inputs.outbound.get(cursor.outbound).cloned();
        cursor.outbound += 1;
        let index = cursor.outbound;
        match &exchange {
            None => Player::note(
                &mut cursor,
                format!("outbound request {index} ({method} {uri}) was not recorded: refused"),
            ),
            Some(recorded) if recorded.method != method || recorded.uri != uri => Player::note(
                &mut cursor,
                format!(
                    "outbound request {index} is {method} {uri}, recorded as {} {}: answered as recorded",
                    recorded.method, recorded.uri
                ),
            ),
            Some(_) => {}
        }
        exchange
    };
    let Some(exchange) = exchange else {
        return Err(Error::ConnectionRefused);
    };
    let Some(status) = exchange.status else {
        return Err(recorded_error(exchange.error.as_deref().unwrap_or("")));
    };
    let mut response = http::Response::new(
        Full::new(exchange.body.0)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    for (name, value) in &exchange.headers {
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name.as_bytes()),
            http::HeaderValue::from_str(value),
        ) {
            response.headers_mut().append(name, value);
        }
    }
    let io: Box<dyn Future<Output = Result<(), Error>> + Send> =
        Box::new(std::future::ready(Ok(())));
    Ok((response, io))
}

/// The error a recorded failure names (by its message), else a terminated connection.
fn recorded_error(message: &str) -> Error {
    let known = [
        Error::DnsTimeout,
        Error::DestinationNotFound,
        Error::DestinationUnavailable,
        Error::DestinationIpProhibited,
        Error::DestinationIpUnroutable,
        Error::ConnectionRefused,
        Error::ConnectionTimeout,
        Error::ConnectionReadTimeout,
        Error::ConnectionWriteTimeout,
        Error::ConnectionLimitReached,
        Error::TlsProtocolError,
        Error::TlsCertificateError,
        Error::HttpRequestDenied,
        Error::HttpResponseIncomplete,
    ];
    known
        .into_iter()
        .find(|error| error.to_string() == message)
        .unwrap_or(Error::ConnectionTerminated)
}
