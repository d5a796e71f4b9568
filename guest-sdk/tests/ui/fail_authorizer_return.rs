use wasmgate_sdk::{AuthRequest, authorizer};

#[authorizer]
fn check(_req: AuthRequest) -> bool {
    true
}

fn main() {}
