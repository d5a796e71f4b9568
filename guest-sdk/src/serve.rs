//! The glue between `wasi:http/incoming-handler` and a plain handler function: read the
//! request, call the function, write its response. Used by the `#[handler]` macro.

use std::io::Write;

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};
use wasi::io::streams::StreamError;

use crate::error::Error;
use crate::request::{IncomingParts, Request};
use crate::response::{IntoResponse, Response};

/// Runs `handler` for one request and sends its response.
pub fn serve<R: IntoResponse>(
    incoming: IncomingRequest,
    response_out: ResponseOutparam,
    handler: impl FnOnce(Request) -> R,
) {
    let response = match read_request(incoming) {
        Ok(request) => handler(request).into_response(),
        Err(error) => error.into_response(),
    };
    send(response_out, response);
}

fn read_request(incoming: IncomingRequest) -> Result<Request, Error> {
    let body = match incoming.consume() {
        Ok(incoming_body) => read_body(&incoming_body)?,
        Err(()) => Vec::new(),
    };
    Ok(Request::from_incoming(IncomingParts::of(incoming), body))
}

/// Most bytes asked of the host in one read of the request body.
const READ_CHUNK: u64 = 64 * 1024;

/// The whole request body, read before the handler runs (so a body that breaks off is a
/// 400, never a handler acting on part of it). Each call takes what the host has, up to
/// 64 KiB: an empty body costs one read, a small one two. The body's resource is dropped
/// unfinished by the caller: handlers see no trailers.
fn read_body(incoming_body: &IncomingBody) -> Result<Vec<u8>, Error> {
    let Ok(stream) = incoming_body.stream() else {
        return Ok(Vec::new());
    };
    let mut body = Vec::new();
    loop {
        match stream.blocking_read(READ_CHUNK) {
            Ok(chunk) if body.is_empty() => body = chunk,
            Ok(chunk) => body.extend_from_slice(&chunk),
            Err(StreamError::Closed) => return Ok(body),
            Err(StreamError::LastOperationFailed(error)) => {
                let error = error.to_debug_string();
                return Err(Error::bad_request(format!(
                    "cannot read the request body: {error}"
                )));
            }
        }
    }
}

fn send(response_out: ResponseOutparam, response: Response) {
    let status = response.status();
    // All the headers in one call; only when the host refuses one are they added one by
    // one, to name it.
    let fields = match Fields::from_list(response.headers()) {
        Ok(fields) => fields,
        Err(_) => {
            let message = invalid_header(response.headers());
            return send(response_out, Error::internal(message).into_response());
        }
    };
    let outgoing = OutgoingResponse::new(fields);
    // A new response's status is 200 already.
    if status != 200 && outgoing.set_status_code(status).is_err() {
        let message = format!("the handler set an invalid status {status}");
        return send(response_out, Error::internal(message).into_response());
    }
    let Ok(outgoing_body) = outgoing.body() else {
        // `body` fails only when called twice; this is the first call.
        return;
    };
    ResponseOutparam::set(response_out, Ok(outgoing));
    write_body(&outgoing_body, response.body());
    let _ = OutgoingBody::finish(outgoing_body, None);
}

/// Why the host refuses `headers`: the first it will not take, named.
fn invalid_header(headers: &[(String, Vec<u8>)]) -> String {
    let fields = Fields::new();
    headers
        .iter()
        .find_map(|(name, value)| {
            let error = fields.append(name, value).err()?;
            Some(format!(
                "the handler set an invalid header `{name}`: {error:?}"
            ))
        })
        .unwrap_or_else(|| "the handler set an invalid header".into())
}

/// The most `blocking-write-and-flush` takes in one call (`wasi:io/streams`).
const ONE_CALL_WRITE: usize = 4096;

/// Writes `body` to the response, in as few calls to the host as it takes: none for an
/// empty body, one for a small one. A write fails only when the client went away, with
/// nothing left to tell anyone, so failures end the writing quietly.
fn write_body(outgoing_body: &OutgoingBody, body: &[u8]) {
    if body.is_empty() {
        return;
    }
    let Ok(mut stream) = outgoing_body.write() else {
        return;
    };
    if body.len() <= ONE_CALL_WRITE {
        let _ = stream.blocking_write_and_flush(body);
    } else {
        let _ = stream
            .write_all(body)
            .and_then(|()| Write::flush(&mut stream));
    }
}
