//! Custom authorizers: identity sources (401), deny (403), failures (500, fail closed),
//! principal and context passed on to the handler, and the decision cache.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{
    AdminClient, Gateway, assert_message, authorizer, client, guests, module, route,
};

/// Echo behind a token authorizer (`tok`, 300 ms timeout) and behind a request
/// authorizer (`req`, identity = header `x-user` + query `key`).
fn authorized_gateway() -> Gateway {
    Gateway::start(
        &[
            module("echo", guests::ECHO, ""),
            module("authz", guests::AUTHZ, ""),
            authorizer("tok", "authz", "timeout_ms = 300"),
            authorizer(
                "req",
                "authz",
                "type = \"request\"\nidentity_sources = [\"header:x-user\", \"query:key\"]",
            ),
            route("ANY", "/secure/{p+}", "echo", "authorizer = \"tok\""),
            route("GET", "/other/{p+}", "echo", "authorizer = \"tok\""),
            route("GET", "/by-request/{id}", "echo", "authorizer = \"req\""),
        ]
        .concat(),
    )
}

async fn call(
    gw: &Gateway,
    path: &str,
    token: Option<&str>,
) -> (u16, Value, reqwest::header::HeaderMap) {
    let mut request = client().get(gw.url(path));
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, response.json().await.expect("json"), headers)
}

/// How many times the authorizer ran for `token`, once the gateway's log has caught up
/// with at least `at_least` of them.
fn calls(gw: &Gateway, token: &str, at_least: usize) -> usize {
    // The log line goes on after the guest's text (request id, stream).
    let line = format!("authz: called with {token} ");
    let count = || gw.stderr().matches(&line).count();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while count() < at_least && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    // Give a call that should not have happened the time to show up.
    std::thread::sleep(Duration::from_millis(200));
    count()
}

#[tokio::test]
async fn allowed_requests_reach_the_handler_with_principal_and_context() {
    let gw = authorized_gateway();
    let (status, body, _) = call(&gw, "/secure/x?key=k9", Some("allow-ada")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["principal"], "ada");
    assert_eq!(
        body["authorizer_context"],
        json!({ "route": "/secure/{p+}", "key": "k9" })
    );
}

#[tokio::test]
async fn missing_identity_is_401_without_calling_the_authorizer() {
    let gw = authorized_gateway();
    let (status, body, headers) = call(&gw, "/secure/x", None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["message"], "Unauthorized");
    assert_eq!(headers["www-authenticate"], "Bearer realm=\"wasmgate\"");
    // An empty header counts as missing too.
    let response = gw.get_with("/secure/x", "authorization", "").await;
    assert_eq!(response.status(), 401);
    assert!(!gw.stderr().contains("authz: called"), "{}", gw.stderr());
}

#[tokio::test]
async fn deny_is_403_and_failures_are_500_without_running_the_handler() {
    let gw = authorized_gateway();
    let (status, body, _) = call(&gw, "/secure/x", Some("deny")).await;
    assert_eq!((status, body), (403, json!({ "message": "Forbidden" })));
    for token in ["error", "trap", "huge", "spin"] {
        let (status, body, headers) = call(&gw, "/secure/x", Some(token)).await;
        assert_eq!(status, 500, "{token}: {body}");
        assert_eq!(body["error"], "authorizer_failed", "{token}");
        // The handler never ran: its response would carry the version that answered.
        assert!(!headers.contains_key("x-wasmgate-version"), "{token}");
    }
    // The reasons are in the gateway's log (which may lag the responses a little).
    gw.wait_for_log("the authorizer returned an error: the authorizer was asked to fail");
    gw.wait_for_log("over the limit of 8 KiB");
    gw.wait_for_log("did not respond within its timeout of 300 ms");
}

#[tokio::test]
async fn decisions_are_cached_per_identity() {
    let gw = authorized_gateway();
    for _ in 0..100 {
        let (status, _, _) = call(&gw, "/secure/x", Some("allow-cached")).await;
        assert_eq!(status, 200);
    }
    // The cached decision serves every route that uses the authorizer.
    let (status, _, _) = call(&gw, "/other/y", Some("allow-cached")).await;
    assert_eq!(status, 200);
    assert_eq!(calls(&gw, "allow-cached", 1), 1);
    // Another token is another identity.
    call(&gw, "/secure/x", Some("allow-other")).await;
    assert_eq!(calls(&gw, "allow-other", 1), 1);
    // Denials are cached as well.
    call(&gw, "/secure/x", Some("deny")).await;
    call(&gw, "/secure/x", Some("deny")).await;
    assert_eq!(calls(&gw, "deny", 1), 1);
}

#[tokio::test]
async fn a_decision_expires_after_its_ttl() {
    let gw = authorized_gateway();
    call(&gw, "/secure/x", Some("ttl-1")).await;
    call(&gw, "/secure/x", Some("ttl-1")).await;
    assert_eq!(calls(&gw, "ttl-1", 1), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, body, _) = call(&gw, "/secure/x", Some("ttl-1")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(calls(&gw, "ttl-1", 2), 2);
    // A TTL of 0 disables caching.
    call(&gw, "/secure/x", Some("ttl-0")).await;
    call(&gw, "/secure/x", Some("ttl-0")).await;
    assert_eq!(calls(&gw, "ttl-0", 2), 2);
}

#[tokio::test]
async fn request_authorizers_need_every_identity_source() {
    let gw = authorized_gateway();
    let send = |user: Option<&str>, query: &str| {
        let mut request = client().get(gw.url(&format!("/by-request/7{query}")));
        if let Some(user) = user {
            request = request.header("x-user", user);
        }
        request.send()
    };
    assert_eq!(send(Some("bo"), "").await.expect("send").status(), 401);
    assert_eq!(send(None, "?key=1").await.expect("send").status(), 401);
    let response = send(Some("bo"), "?key=1").await.expect("send");
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["principal"], "bo");
    assert_eq!(body["params"]["id"], "7");
}

#[tokio::test]
async fn authorizers_are_managed_through_the_admin_api() {
    let gw = authorized_gateway();
    let admin = AdminClient::new(&gw);
    let (status, list) = admin.get("/authorizers").await;
    assert_eq!(status, 200);
    assert_eq!(list["authorizers"].as_array().expect("list").len(), 2);

    admin
        .put_refused(
            "/authorizers",
            json!({ "name": "wrong", "module": "echo" }),
            "is not an authorizer (it is a handler)",
        )
        .await;
    admin
        .put_refused(
            "/routes",
            json!({ "method": "GET", "path": "/x", "module": "authz" }),
            "is not a handler (it is an authorizer)",
        )
        .await;
    let (status, body) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/x", "module": "echo", "authorizer": "nope" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    admin
        .put_refused(
            "/authorizers",
            json!({ "name": "t", "type": "request", "module": "authz" }),
            "at least one identity source",
        )
        .await;

    let (status, _) = admin.delete("/authorizers/tok").await;
    assert_eq!(status, 409);
    // Uploading an authorizer as the new latest version of a module a route runs would
    // leave the route without a handler: refused.
    let authz = std::fs::read(guests::AUTHZ).expect("authz");
    let (status, body) = admin.upload("echo", authz).await;
    assert_eq!(status, 409, "{body}");
    assert_message(&body, "would no longer run a handler");
    assert_eq!(
        gw.get_with("/secure/x", "authorization", "Bearer allow-a")
            .await
            .status(),
        200
    );
    // A new authorizer guards a new route at once.
    let (status, body) = admin
        .put(
            "/authorizers",
            json!({ "name": "hdr", "module": "authz", "header": "x-token", "ttl_seconds": 0 }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/new", "module": "echo", "authorizer": "hdr" }),
        )
        .await;
    assert_eq!(gw.get("/new").await.status(), 401);
    let response = gw.get_with("/new", "x-token", "allow-zed").await;
    assert_eq!(response.status(), 200);
}

/// `<user>.<hex HMAC-SHA256(user)>` under the example's demo secret.
fn demo_token(user: &str, secret: &[u8]) -> String {
    use hmac::Mac;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("key");
    mac.update(user.as_bytes());
    let signature: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{user}.{signature}")
}

#[tokio::test]
async fn the_example_token_authorizer_checks_hmac_tokens() {
    let gw = Gateway::start(
        &[
            module("echo", guests::ECHO, ""),
            module("token-authorizer", guests::TOKEN_AUTHORIZER, ""),
            authorizer("demo-token", "token-authorizer", ""),
            route(
                "GET",
                "/private/{name}",
                "echo",
                "authorizer = \"demo-token\"",
            ),
        ]
        .concat(),
    );
    let good = demo_token("ada", b"wasmgate-demo-secret");
    let (status, body, _) = call(&gw, "/private/ada", Some(&good)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["principal"], "ada");
    assert_eq!(body["authorizer_context"]["scheme"], "hmac-sha256");
    for bad in [
        demo_token("ada", b"another-secret"),
        good.replace("ada.", "bob."),
        "ada".to_string(),
        "ada.zz".to_string(),
    ] {
        let (status, _, _) = call(&gw, "/private/ada", Some(&bad)).await;
        assert_eq!(status, 403, "{bad}");
    }
}
