use wasmgate_sdk::{Request, Response, handler};

#[handler]
fn handle(_req: Request, _extra: u32) -> Response {
    Response::new(200)
}

fn main() {}
