use wasmgate_sdk::{Request, Response, handler};

#[handler(path = "/x")]
fn handle(_req: Request) -> Response {
    Response::new(200)
}

fn main() {}
