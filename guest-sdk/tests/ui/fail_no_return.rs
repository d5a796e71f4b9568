use wasmgate_sdk::{Request, handler};

#[handler]
fn handle(_req: Request) {}

fn main() {}
