use wasmgate_sdk::{IntoResponse, Request, handler};

#[handler]
fn text(_req: Request) -> impl IntoResponse {
    "hi"
}

fn main() {}
