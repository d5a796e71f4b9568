//! `Hello, world!` as a plain `wasi:http` component: only the `wasi` crate's `http::proxy`
//! export, no SDK and no gateway import, so every server in the benchmark runs the same
//! bytes (`wasmtime serve` included).

use std::io::Write;

use wasi::http::types::{
    Fields, IncomingRequest, OutgoingBody, OutgoingResponse, ResponseOutparam,
};

wasi::http::proxy::export!(PlainHello);

struct PlainHello;

impl wasi::exports::http::incoming_handler::Guest for PlainHello {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let headers = Fields::new();
        let _ = headers.append("content-type", b"text/plain; charset=utf-8");
        let response = OutgoingResponse::new(headers);
        let Ok(body) = response.body() else {
            return;
        };
        ResponseOutparam::set(response_out, Ok(response));
        if let Ok(mut stream) = body.write() {
            let _ = stream.write_all(b"Hello, world!");
            let _ = stream.flush();
        }
        let _ = OutgoingBody::finish(body, None);
    }
}
