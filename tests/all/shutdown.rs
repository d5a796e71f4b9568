//! Graceful shutdown: SIGTERM stops accepting, lets requests in flight finish, then exits 0.

use std::time::Duration;

use crate::support::{client, standard_gateway};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_requests_in_flight_then_exits() {
    let mut gw = standard_gateway();
    let in_flight = tokio::spawn(client().get(gw.url("/probe/sleep?ms=800")).send());
    // Let the request reach the handler, then ask the gateway to stop.
    tokio::time::sleep(Duration::from_millis(200)).await;
    gw.terminate();

    let response = in_flight
        .await
        .expect("join")
        .expect("in-flight request completes");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "slept 800 ms");

    let status = tokio::task::block_in_place(|| gw.wait_exit(Duration::from_secs(10)))
        .expect("the gateway exits after draining");
    assert!(status.success(), "{status:?}");
    gw.wait_for_log("shutting down");
}
