//! Test guest: imports `acme:kv/store`, which wasmgate does not provide, so uploading it
//! must be refused with that import named.

wit_bindgen::generate!({
    inline: "
        package acme:kv;
        interface store {
            get: func(key: string) -> option<string>;
        }
        world uses-store {
            import store;
        }
    ",
});

use wasi::http::types::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};

wasi::http::proxy::export!(UsesStore);

struct UsesStore;

impl wasi::exports::http::incoming_handler::Guest for UsesStore {
    fn handle(_request: IncomingRequest, response_out: ResponseOutparam) {
        let response = OutgoingResponse::new(Fields::new());
        let status = if acme::kv::store::get("key").is_some() {
            200
        } else {
            404
        };
        let _ = response.set_status_code(status);
        ResponseOutparam::set(response_out, Ok(response));
    }
}
