//! Test guest built without the wasmgate SDK, only the `wasi` crate's `http::proxy` export:
//! the response body is the request body, copied chunk by chunk as it arrives, so neither
//! side is ever held whole in memory.
//!
//! Paths ending in `/partial-then-trap` or `/partial-then-spin` instead send the head and a
//! few bytes, then trap or loop forever: a failure after the response has started.
//! `/plain/huge-N` answers N MiB. A path ending in `/answers-once` is answered by an
//! instance's first call only; later calls return without a response, as a runtime that
//! cannot be called twice (componentize-js's) does.

use std::io::Write;

use wasi::http::types::{
    Fields, IncomingBody, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(PlainStream);

struct PlainStream;

impl wasi::exports::http::incoming_handler::Guest for PlainStream {
    fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
        static CALLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        let called_before = CALLED.swap(true, std::sync::atomic::Ordering::Relaxed);
        let path = request.path_with_query().unwrap_or_default();
        if called_before && path.ends_with("/answers-once") {
            return;
        }
        let headers = Fields::new();
        let _ = headers.append("content-type", b"application/octet-stream");
        let _ = headers.append("x-plain-component", b"yes");
        let response = OutgoingResponse::new(headers);
        let Ok(response_body) = response.body() else {
            return;
        };
        // The head goes out first; the body follows as it streams in.
        ResponseOutparam::set(response_out, Ok(response));

        if let Some(mb) = path.strip_prefix("/plain/huge-") {
            // A large body, written as fast as the client takes it.
            let mb: usize = mb.parse().unwrap_or(1);
            if let Ok(mut output) = response_body.write() {
                let chunk = vec![b'x'; 64 * 1024];
                for _ in 0..mb * 16 {
                    if output.write_all(&chunk).is_err() {
                        return;
                    }
                }
                let _ = output.flush();
            }
            let _ = OutgoingBody::finish(response_body, None);
            return;
        }
        if path.ends_with("/partial-then-trap") || path.ends_with("/partial-then-spin") {
            if let Ok(mut output) = response_body.write() {
                let _ = output.write_all(b"partial");
                let _ = output.flush();
            }
            if path.ends_with("trap") {
                std::process::abort();
            }
            let mut x: u64 = 0;
            loop {
                x = std::hint::black_box(x.wrapping_add(1));
            }
        }

        let Ok(request_body) = request.consume() else {
            return;
        };
        {
            let (Ok(mut input), Ok(mut output)) = (request_body.stream(), response_body.write())
            else {
                return;
            };
            if std::io::copy(&mut input, &mut output).is_err() {
                return;
            }
        }
        IncomingBody::finish(request_body);
        let _ = OutgoingBody::finish(response_body, None);
    }
}
