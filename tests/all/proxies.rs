//! Behind a load balancer (issue 13): only a trusted proxy may say who the client is, and
//! then the client is the rightmost hop it does not trust — for throttling and for what
//! handlers see (WAGI's `REMOTE_ADDR`).

use crate::support::{Gateway, guests, module, route};

fn gateway(trusted: &str) -> Gateway {
    let manifest = [
        format!("[gateway]\nlisten = \"127.0.0.1:1\"\ntrusted_proxies = [{trusted}]\n"),
        module("probe", guests::WAGI_PROBE, "executor = \"wagi\""),
        route(
            "GET",
            "/wagi/{action}",
            "probe",
            "client_throttle = { rate = 0.01, burst = 1 }",
        ),
    ]
    .concat();
    Gateway::start(&manifest)
}

/// `REMOTE_ADDR` as the program saw it, and the status, for a request with `xff`.
async fn remote_addr(gw: &Gateway, xff: &str) -> (u16, String) {
    let response = gw.get_with("/wagi/env", "x-forwarded-for", xff).await;
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    let addr = body
        .lines()
        .find_map(|line| line.strip_prefix("REMOTE_ADDR="))
        .unwrap_or_default()
        .to_owned();
    (status, addr)
}

#[tokio::test]
async fn a_trusted_proxy_says_who_the_client_is() {
    let gw = gateway("\"127.0.0.0/8\"");
    // The client wrote 1.1.1.1 itself; the (loopback) proxy appended 203.0.113.9.
    assert_eq!(
        remote_addr(&gw, "1.1.1.1, 203.0.113.9").await,
        (200, "203.0.113.9".to_owned())
    );
    // Each client has its own bucket (burst 1), told apart by the forwarded address.
    assert_eq!(remote_addr(&gw, "203.0.113.10").await.0, 200);
    assert_eq!(remote_addr(&gw, "203.0.113.9").await.0, 429);
}

#[tokio::test]
async fn anyone_else_cannot() {
    let gw = gateway("\"10.0.0.0/8\"");
    assert_eq!(
        remote_addr(&gw, "203.0.113.9").await,
        (200, "127.0.0.1".to_owned())
    );
    // One client, one bucket, whatever it claims.
    assert_eq!(remote_addr(&gw, "203.0.113.10").await.0, 429);
}

#[test]
fn a_bad_network_is_refused_with_its_key() {
    let (dir, path) =
        crate::support::write_manifest("[gateway]\ntrusted_proxies = [\"10.0.0.0/33\"]\n");
    let (status, _, stderr) = crate::support::run(
        &[
            "up",
            path.to_str().expect("utf-8"),
            "--listen",
            "127.0.0.1:0",
        ],
        dir.path(),
    );
    assert!(!status.success());
    assert!(
        stderr.contains("gateway.trusted_proxies: `10.0.0.0/33` is not a network"),
        "{stderr}"
    );
}
