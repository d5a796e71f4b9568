use wasmgate_sdk::{AuthRequest, Decision, authorizer};

#[authorizer]
fn check(req: AuthRequest) -> Result<Decision, String> {
    match req.bearer_token() {
        Some(token) if !token.is_empty() => Ok(Decision::allow(token)),
        _ => Ok(Decision::deny()),
    }
}

fn main() {}
