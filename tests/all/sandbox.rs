//! What guests can reach: environment variables and outbound HTTP only as their module's
//! configuration says; loopback and link-local targets only when named; and faults such
//! as a stack overflow end only the request that caused them.

use serde_json::json;

use crate::support::{AdminClient, DocumentServer, Gateway, assert_error_detail, get, guests};

/// `probe` three times: with an environment and one allowed upstream, with a `*` allow-list,
/// and with nothing.
fn sandbox_gateway(upstream: &DocumentServer) -> Gateway {
    let probe = guests::PROBE.to_owned();
    let route = |name: &str| {
        format!(
            "[[routes]]\nmethod = \"GET\"\npath = \"/{name}/{{action}}\"\nmodule = \"{name}\"\ntimeout_ms = 10000\n\n"
        )
    };
    Gateway::start(&format!(
        "[[modules]]\nname = \"configured\"\npath = \"{probe}\"\nenv = {{ GREETING = \"hi there\" }}\nallowed_outbound_hosts = [\"http://{upstream}\"]\n\n\
         [[modules]]\nname = \"wildcard\"\npath = \"{probe}\"\nallowed_outbound_hosts = [\"http://*:*\", \"https://*:*\"]\n\n\
         [[modules]]\nname = \"bare\"\npath = \"{probe}\"\n\n{}{}{}",
        route("configured"),
        route("wildcard"),
        route("bare"),
        upstream = upstream.addr,
    ))
}

async fn text(gw: &Gateway, path: &str) -> String {
    let (status, _, body) = get(&gw.url(path)).await;
    assert_eq!(status, 200, "{path}: {body}");
    body
}

#[tokio::test]
async fn guests_see_only_their_own_environment() {
    let upstream = DocumentServer::start("{}");
    let gw = sandbox_gateway(&upstream);
    assert_eq!(text(&gw, "/configured/env?name=GREETING").await, "hi there");
    assert_eq!(text(&gw, "/bare/env?name=GREETING").await, "(unset)");
    // Nothing of the gateway's own environment leaks in.
    assert_eq!(text(&gw, "/configured/env?name=PATH").await, "(unset)");
    assert_eq!(text(&gw, "/configured/env?name=HOME").await, "(unset)");
}

/// This machine's address on its default route: not loopback, yet its own.
fn non_loopback_address() -> std::net::IpAddr {
    // Connecting a UDP socket sends nothing; it only picks the route and its source address.
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").expect("bind");
    socket
        .connect("192.0.2.1:9")
        .expect("this test needs a default IPv4 route (any network interface)");
    let ip = socket.local_addr().expect("addr").ip();
    assert!(!ip.is_loopback() && !ip.is_unspecified(), "{ip}");
    ip
}

#[tokio::test]
async fn a_wildcard_entry_never_reaches_this_hosts_own_address() {
    // The gateway's own interface address (issue 13: a guest given `*` reached the host's
    // services through it); only a module that names it gets there.
    let upstream = DocumentServer::start_on(non_loopback_address(), "{}");
    let gw = sandbox_gateway(&upstream);
    let url = format!("http://{}/anything", upstream.addr);
    assert_eq!(
        text(&gw, &format!("/wildcard/fetch?url={url}")).await,
        "error: ErrorCode::HttpRequestDenied"
    );
    assert_eq!(upstream.fetches(), 0);
    assert_eq!(
        text(&gw, &format!("/configured/fetch?url={url}")).await,
        "status 200"
    );
    assert_eq!(upstream.fetches(), 1);
}

#[tokio::test]
async fn outbound_requests_follow_the_allow_list() {
    let upstream = DocumentServer::start("{}");
    let gw = sandbox_gateway(&upstream);
    let to = |module: &str, url: String| format!("/{module}/fetch?url={url}");
    let listed = format!("http://{}/anything", upstream.addr);
    assert_eq!(
        text(&gw, &to("configured", listed.clone())).await,
        "status 200"
    );
    // Not listed at all.
    assert_eq!(
        text(&gw, &to("bare", listed.clone())).await,
        "error: ErrorCode::HttpRequestDenied"
    );
    // Another port of the same host is another origin.
    let other_port = format!("http://127.0.0.1:{}/", upstream.addr.port().wrapping_add(1));
    assert_eq!(
        text(&gw, &to("configured", other_port)).await,
        "error: ErrorCode::HttpRequestDenied"
    );
    // A `*` never covers loopback or link-local targets, by address or by name.
    for internal in [
        listed.clone(),
        format!("http://localhost:{}/", upstream.addr.port()),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
    ] {
        assert_eq!(
            text(&gw, &to("wildcard", internal.clone())).await,
            "error: ErrorCode::HttpRequestDenied",
            "{internal}"
        );
    }
    let fetches = upstream.fetches();
    assert_eq!(fetches, 1, "only the allowed request reached the upstream");

    // The allow-list changes at run time.
    let admin = AdminClient::new(&gw);
    let (status, body) = admin
        .put(
            "/modules/bare/config",
            json!({ "allowed_outbound_hosts": [format!("http://{}", upstream.addr)] }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(text(&gw, &to("bare", listed)).await, "status 200");
    let (status, body) = admin
        .put(
            "/modules/bare/config",
            json!({ "allowed_outbound_hosts": ["ftp://x"] }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn a_stack_overflow_ends_only_its_request() {
    let upstream = DocumentServer::start("{}");
    let gw = sandbox_gateway(&upstream);
    let response = gw.get("/bare/recurse").await;
    assert_eq!(response.status(), 502);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_error_detail(&body, "handler_trapped", "call stack exhausted");
    assert_eq!(text(&gw, "/bare/count").await, "1");
}

fn fuel_manifest() -> String {
    format!(
        "[[modules]]\nname = \"probe\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/budget/{{action}}\"\nmodule = \"probe\"\nfuel = 50000000\ntimeout_ms = 20000\n",
        guests::PROBE
    )
}

#[tokio::test]
async fn a_fuel_budget_stops_a_busy_handler() {
    let gw = Gateway::start_with_args(
        &fuel_manifest(),
        &["--listen", "127.0.0.1:0", "--fuel-metering"],
    );
    assert_eq!(text(&gw, "/budget/count").await, "1");
    let response = gw.get("/budget/spin").await;
    assert_eq!(response.status(), 504);
    let body: serde_json::Value = response.json().await.expect("json");
    assert_eq!(body["error"], "handler_out_of_fuel");
}

#[test]
fn fuel_needs_fuel_metering() {
    let (dir, path) = crate::support::write_manifest(&fuel_manifest());
    let (status, _, stderr) =
        crate::support::run(&["up", path.to_str().expect("utf-8")], dir.path());
    assert!(!status.success());
    assert!(
        stderr.contains("routes[0].fuel: `fuel` needs the gateway started with --fuel-metering"),
        "{stderr}"
    );
}
