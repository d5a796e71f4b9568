use wasmgate_sdk::{Error, Request, Response, handler};

#[handler]
fn ok(req: Request) -> Result<Response, Error> {
    Ok(Response::text(req.method().to_owned()))
}

fn main() {}
