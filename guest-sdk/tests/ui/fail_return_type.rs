use wasmgate_sdk::{Request, handler};

#[handler]
fn handle(_req: Request) -> u32 {
    7
}

fn main() {}
