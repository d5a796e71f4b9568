//! `GET /hello/{name}` answers `Hello, {name}!`: the smallest wasmgate handler.

use wasmgate_sdk::{Request, Response, handler};

#[handler]
fn hello(req: Request) -> Response {
    let name = req.param("name").unwrap_or_else(|| "world".into());
    Response::text(format!("Hello, {name}!"))
}
