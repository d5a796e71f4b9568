//! Outbound HTTP requests of a taped invocation: sent to the network with each response
//! recorded (its body as the guest reads it), or answered from the recording.
//!
//! A request's slot is taken when the guest sends it, so requests the guest runs at once
//! are recorded in the order it sent them, whatever order their responses came in; a
//! replay answers each with the first unanswered recorded request of the same method and
//! URI. URIs are kept without user info and with their query values redacted: guests
//! often carry API keys there.

use std::fmt::Write as _;
use std::sync::Arc;

use http_body::Body as _;
use http_body_util::{BodyExt, Full};
use wasmtime_wasi_http::{Error, WasiBody};

use super::super::outbound::Sent;
use super::{
    Exchange, MAX_OUTBOUND, PendingExchange, Player, REDACTED_VALUE, Recorder, Tape, TeeBody,
    header_pairs,
};

/// `uri` as a recording keeps it: scheme, host, port and path, and the query with every
/// value redacted.
pub fn recorded_uri(uri: &http::Uri) -> String {
    let mut text = String::new();
    if let Some(scheme) = uri.scheme_str() {
        let _ = write!(text, "{scheme}://");
    }
    if let Some(authority) = uri.authority() {
        text.push_str(authority.host());
        if let Some(port) = authority.port_u16() {
            let _ = write!(text, ":{port}");
        }
    }
    text.push_str(uri.path());
    if let Some(query) = uri.query() {
        text.push('?');
        for (n, pair) in query.split('&').enumerate() {
            if n > 0 {
                text.push('&');
            }
            match pair.split_once('=') {
                Some((name, _)) => {
                    let _ = write!(text, "{name}={REDACTED_VALUE}");
                }
                None => text.push_str(pair),
            }
        }
    }
    text
}

/// Where one outbound request's response comes from and goes.
pub(in crate::runtime) enum OutboundSlot {
    /// The network's, recorded in the recorder's slot (none: past what a recording keeps).
    Record(Arc<Recorder>, Option<usize>),
    /// The recorded one (none: the recording has no such request).
    Replay(Option<Exchange>),
}

impl Tape {
    /// Takes the slot of the outbound request `method uri`, as the guest sends it.
    pub(in crate::runtime) fn outbound(
        &self,
        method: &http::Method,
        uri: &http::Uri,
    ) -> OutboundSlot {
        match self {
            Tape::Record(recorder) => {
                OutboundSlot::Record(recorder.clone(), recorder.reserve(method, uri))
            }
            Tape::Replay(player) => OutboundSlot::Replay(player.answer(method, uri)),
        }
    }
}

impl Recorder {
    /// A slot for the response of `method uri`, in send order.
    fn reserve(&self, method: &http::Method, uri: &http::Uri) -> Option<usize> {
        let mut index = None;
        self.record(
            || format!("over {MAX_OUTBOUND} outbound requests were sent"),
            |state| {
                if state.outbound.len() >= MAX_OUTBOUND {
                    return false;
                }
                index = Some(state.outbound.len());
                state.outbound.push(PendingExchange {
                    exchange: Exchange {
                        method: method.to_string(),
                        uri: recorded_uri(uri),
                        status: None,
                        error: None,
                        headers: Vec::new(),
                        body: Default::default(),
                        body_complete: true,
                    },
                    body: None,
                });
                true
            },
        );
        index
    }

    /// Records what the request of slot `index` ended with, and hands it on to the guest.
    pub(in crate::runtime) fn fill(
        &self,
        index: Option<usize>,
        sent: Result<Sent, Error>,
    ) -> Result<Sent, Error> {
        let mut state = self.lock();
        let Some(pending) = index.and_then(|index| state.outbound.get_mut(index)) else {
            // Past what a recording keeps (or the recording overflowed since).
            return sent;
        };
        match sent {
            Err(error) => {
                pending.exchange.error = Some(error.to_string());
                Err(error)
            }
            Ok((response, io)) => {
                pending.exchange.status = Some(response.status().as_u16());
                pending.exchange.headers = header_pairs(response.headers(), &self.redacted);
                let capture = self.capture();
                pending.body = Some(capture.clone());
                let response =
                    response.map(|body| TeeBody::new(body, capture, None).boxed_unsync());
                Ok((response, io))
            }
        }
    }
}

impl Player {
    /// The recorded answer to the guest's outbound request `method uri`: the first
    /// unanswered recorded request like it, else the next unanswered one (noted), else
    /// none (noted: the request is refused).
    fn answer(&self, method: &http::Method, uri: &http::Uri) -> Option<Exchange> {
        let (method, uri) = (method.to_string(), recorded_uri(uri));
        let mut cursor = self.lock();
        let recorded = &self.inputs.outbound;
        let open = |i: &usize| !cursor.answered[*i];
        let alike = (0..recorded.len())
            .filter(open)
            .find(|&i| recorded[i].method == method && recorded[i].uri == uri);
        let Some(index) = alike.or_else(|| (0..recorded.len()).find(open)) else {
            Player::note(
                &mut cursor,
                format!("the outbound request {method} {uri} was not recorded: refused"),
            );
            return None;
        };
        cursor.answered[index] = true;
        let exchange = recorded[index].clone();
        if alike.is_none() {
            Player::note(
                &mut cursor,
                format!(
                    "the outbound request {method} {uri} was not recorded: answered as {} {} was",
                    exchange.method, exchange.uri
                ),
            );
        }
        if !exchange.body_complete {
            Player::note(
                &mut cursor,
                format!(
                    "the recorded response to {} {} holds only the {} bytes the recorded version read",
                    exchange.method,
                    exchange.uri,
                    exchange.body.0.len()
                ),
            );
        }
        Some(exchange)
    }
}

/// Answers `request` from the recording: the response `exchange` recorded, the error it
/// recorded, or a refused connection without one.
pub(in crate::runtime) async fn play_outbound(
    exchange: Option<Exchange>,
    request: http::Request<WasiBody>,
) -> Result<Sent, Error> {
    // The guest may still be writing the request's body: take it, as a server would,
    // without keeping it and without waiting for it.
    let mut body = request.into_body();
    if !body.is_end_stream() {
        tokio::spawn(async move { while let Some(Ok(_)) = body.frame().await {} });
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_uris_keep_no_user_info_or_query_values() {
        let uri: http::Uri = "https://user:pw@api.example:8443/v1/items?key=s3cret&page=2&flag"
            .parse()
            .expect("uri");
        assert_eq!(
            recorded_uri(&uri),
            "https://api.example:8443/v1/items?key=[redacted]&page=[redacted]&flag"
        );
    }

    #[test]
    fn requests_sent_at_once_get_the_responses_recorded_for_them() {
        let exchange = |uri: &str, body: &str| Exchange {
            method: "GET".into(),
            uri: uri.into(),
            status: Some(200),
            error: None,
            headers: Vec::new(),
            body: super::super::Payload(bytes::Bytes::from(body.to_owned())),
            body_complete: true,
        };
        let inputs = super::super::Inputs {
            outbound: vec![exchange("http://a/x", "a"), exchange("http://b/y", "b")],
            ..Default::default()
        };
        let player = Player::new(inputs, 0);
        let get = http::Method::GET;
        let b = player.answer(&get, &"http://b/y".parse().expect("uri"));
        let a = player.answer(&get, &"http://a/x".parse().expect("uri"));
        assert_eq!(b.map(|e| e.body.0), Some(bytes::Bytes::from("b")));
        assert_eq!(a.map(|e| e.body.0), Some(bytes::Bytes::from("a")));
        assert!(
            player
                .answer(&get, &"http://c/".parse().expect("uri"))
                .is_none()
        );
        assert_eq!(
            player.notes(),
            ["the outbound request GET http://c/ was not recorded: refused"]
        );
    }
}
