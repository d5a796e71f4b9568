//! The glue between `wasi:http/incoming-handler` and a plain handler function: read the
//! request, call the function, write its response. Used by the `#[handler]` macro.

use std::io::{Read, Write};

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, Method, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

use crate::error::Error;
use crate::request::{IncomingHeaders, Request};
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
    let method = method_name(incoming.method());
    let path_with_query = incoming.path_with_query().unwrap_or_else(|| "/".into());
    let mut body = Vec::new();
    if let Ok(incoming_body) = incoming.consume() {
        if let Ok(mut stream) = incoming_body.stream() {
            stream
                .read_to_end(&mut body)
                .map_err(|e| Error::bad_request(format!("cannot read the request body: {e}")))?;
        }
        IncomingBody::finish(incoming_body);
    }
    let headers = IncomingHeaders::of(incoming);
    Ok(Request::from_incoming(
        method,
        path_with_query,
        headers,
        body,
    ))
}

fn method_name(method: Method) -> String {
    match method {
        Method::Get => "GET".into(),
        Method::Head => "HEAD".into(),
        Method::Post => "POST".into(),
        Method::Put => "PUT".into(),
        Method::Delete => "DELETE".into(),
        Method::Connect => "CONNECT".into(),
        Method::Options => "OPTIONS".into(),
        Method::Trace => "TRACE".into(),
        Method::Patch => "PATCH".into(),
        Method::Other(other) => other,
    }
}

fn send(response_out: ResponseOutparam, response: Response) {
    let status = response.status();
    let fields = Fields::new();
    for (name, value) in response.headers() {
        if let Err(error) = fields.append(name, value) {
            let message = format!("the handler set an invalid header `{name}`: {error:?}");
            return send(response_out, Error::internal(message).into_response());
        }
    }
    let outgoing = OutgoingResponse::new(fields);
    if outgoing.set_status_code(status).is_err() {
        let message = format!("the handler set an invalid status {status}");
        return send(response_out, Error::internal(message).into_response());
    }
    let Ok(outgoing_body) = outgoing.body() else {
        // `body` fails only when called twice; this is the first call.
        return;
    };
    ResponseOutparam::set(response_out, Ok(outgoing));
    if let Ok(mut stream) = outgoing_body.write() {
        // A write fails only when the client went away: nothing left to tell anyone.
        if stream
            .write_all(response.body())
            .and_then(|()| Write::flush(&mut stream))
            .is_err()
        {
            return;
        }
    }
    let _ = OutgoingBody::finish(outgoing_body, None);
}
