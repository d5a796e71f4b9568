//! Manifests for the tests: the standard one most tests serve, and the `[[modules]]`,
//! `[[authorizers]]` and `[[routes]]` blocks the others are made of.

use super::guests;

/// `[[modules]]`: `name` served from the file at `path`, then `extra` (TOML lines).
pub fn module(name: &str, path: &str, extra: &str) -> String {
    format!("[[modules]]\nname = \"{name}\"\npath = \"{path}\"\n{extra}\n")
}

/// `[[authorizers]]`: `name` run by `module`, then `extra` (TOML lines).
pub fn authorizer(name: &str, module: &str, extra: &str) -> String {
    format!("[[authorizers]]\nname = \"{name}\"\nmodule = \"{module}\"\n{extra}\n")
}

/// `[[routes]]`: `method path` served by `module`, then `extra` (TOML lines).
pub fn route(method: &str, path: &str, module: &str, extra: &str) -> String {
    format!(
        "[[routes]]\nmethod = \"{method}\"\npath = \"{path}\"\nmodule = \"{module}\"\n{extra}\n"
    )
}

/// The `authz` test guest (`tests/guests/authz`), as module `authz` behind the token
/// authorizer `tok`, then `extra` lines for `tok`.
pub fn tok_authorizer(extra: &str) -> String {
    module("authz", guests::AUTHZ, "") + &authorizer("tok", "authz", extra)
}

/// The manifest most tests serve: every test guest behind a route.
pub fn standard_manifest() -> String {
    [
        "[gateway]\n# Tests pass --listen 127.0.0.1:0; this address is never used.\nlisten = \"127.0.0.1:1\"\n",
        &module("hello", guests::HELLO, ""),
        &module("echo", guests::ECHO, ""),
        &module("probe", guests::PROBE, ""),
        &module("plain", guests::PLAIN_STREAM, ""),
        &route("GET", "/hello/{name}", "hello", ""),
        &route("ANY", "/echo/{proxy+}", "echo", ""),
        &route("GET", "/items/{id}", "echo", ""),
        &route("DELETE", "/items/{id}", "echo", ""),
        &route(
            "ANY",
            "/probe/{action}",
            "probe",
            "timeout_ms = 1000\nmemory_mb = 32",
        ),
        &route("ANY", "/slow/{action}", "probe", "timeout_ms = 10000"),
        &route("POST", "/stream", "plain", "max_body_mb = 25"),
        &route("GET", "/plain/{action}", "plain", "timeout_ms = 1000"),
    ]
    .concat()
}
