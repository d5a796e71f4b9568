use wasmgate_sdk::{Request, Response, handler};

#[handler]
async fn handle(_req: Request) -> Response {
    Response::new(200)
}

fn main() {}
