//! Test guest: an authorizer driven by its token (`Bearer <what>`). Each call prints
//! `authz: called with <token>` to stderr, so tests can count calls in the gateway's log.
//! With the environment variable `DENY_USER`, that user's `allow-` token is denied.

use wasmgate_sdk::{AuthRequest, AuthorizerKind, Decision, authorizer};

#[authorizer]
fn authorize(req: AuthRequest) -> Result<Decision, String> {
    let token = match req.kind {
        AuthorizerKind::Token => req.bearer_token().unwrap_or_default().to_owned(),
        // A request authorizer: identity from the `x-user` header and the `key` query.
        AuthorizerKind::Request => format!("allow-{}", req.header("x-user").unwrap_or("nobody")),
    };
    // One write for the whole line, so lines from concurrent calls never interleave.
    let line = format!("authz: called with {token}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    if let Some(user) = token.strip_prefix("allow-") {
        // A stricter version (for shadow tests): the module's `DENY_USER` is denied.
        if std::env::var("DENY_USER").is_ok_and(|denied| denied == user) {
            return Ok(Decision::deny());
        }
        let mut decision = Decision::allow(user).with_context("route", req.route.clone());
        if let Some(key) = req.query("key") {
            decision = decision.with_context("key", key);
        }
        return Ok(decision);
    }
    if let Some(user) = token.strip_prefix("slow-") {
        // A slow identity provider: allows after 300 ms.
        std::thread::sleep(std::time::Duration::from_millis(300));
        return Ok(Decision::allow(user));
    }
    if let Some(seconds) = token.strip_prefix("ttl-") {
        let ttl: u32 = seconds.parse().map_err(|_| "bad ttl".to_string())?;
        return Ok(Decision::allow("short-lived").with_ttl(ttl));
    }
    match token.as_str() {
        "deny" => Ok(Decision::deny()),
        "error" => Err("the authorizer was asked to fail".into()),
        "trap" => panic!("the authorizer was asked to trap"),
        "spin" => loop {
            std::hint::spin_loop();
        },
        "huge" => Ok(Decision::allow("big").with_context("blob", "x".repeat(9000))),
        _ => Ok(Decision::deny()),
    }
}
