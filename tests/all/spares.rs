//! Spare instances (`--spare-instances`): after a request on an idle gateway, a fresh
//! instance of the same version is made ahead, and the next request takes it. A spare has
//! served nothing (the probe's `count` answers 1), is taken only with the sandbox it was
//! made with, never costs a request its instance slot, and the setting is bounded.

use std::time::Duration;

use serde_json::json;

use crate::support::{
    AdminClient, Gateway, assert_option_out_of_range, client, guests, module, route,
    standard_manifest,
};

const SPARES: &str = "wasmgate_spare_instances";
const TAKEN: &str = "wasmgate_spare_instances_taken_total";

fn manifest() -> String {
    [
        module("probe", guests::PROBE, ""),
        route("GET", "/fresh/{action}", "probe", ""),
    ]
    .concat()
}

#[tokio::test]
async fn a_request_on_an_idle_gateway_takes_a_spare_that_has_served_nothing() {
    let gw = Gateway::start(&manifest());
    let admin = AdminClient::new(&gw);
    let taken_before = admin.metric(TAKEN).await.expect("the counter");
    assert_eq!(gw.get_text("/fresh/count").await, "1");
    for taken in 1..=3 {
        admin.wait_for_metric(SPARES, 1.0).await;
        // A fresh instance each time: the spare counted no request before this one.
        assert_eq!(gw.get_text("/fresh/count").await, "1");
        assert_eq!(
            admin.metric(TAKEN).await,
            Some(taken_before + f64::from(taken))
        );
    }
}

#[tokio::test]
async fn a_spare_made_before_the_module_config_changed_is_not_taken() {
    let gw = Gateway::start(&manifest());
    let admin = AdminClient::new(&gw);
    assert_eq!(gw.get_text("/fresh/env?name=GREETING").await, "(unset)");
    admin.wait_for_metric(SPARES, 1.0).await;
    let taken = admin.metric(TAKEN).await;

    let (status, body) = admin
        .put(
            "/modules/probe/config",
            json!({ "env": { "GREETING": "hi" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(gw.get_text("/fresh/env?name=GREETING").await, "hi");
    assert_eq!(admin.metric(TAKEN).await, taken, "the old spare served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spares_never_cost_a_request_its_instance_slot() {
    // Eight slots: one spare may hold one of them.
    let gw = Gateway::start_with_args(
        &standard_manifest(),
        &["--listen", "127.0.0.1:0", "--max-instances", "8"],
    );
    let admin = AdminClient::new(&gw);
    assert_eq!(gw.get_text("/hello/ada").await, "Hello, ada!");
    admin.wait_for_metric(SPARES, 1.0).await;

    // Eight requests at once on another route: the eighth finds the slots full but for
    // the spare, which is dropped for it.
    let client = client();
    let requests: Vec<_> = (0..8)
        .map(|_| tokio::spawn(client.get(gw.url("/slow/sleep?ms=500")).send()))
        .collect();
    for request in requests {
        let response = request.await.expect("join").expect("send");
        assert_eq!(response.status(), 200, "{:?}", response.text().await);
    }
}

#[tokio::test]
async fn no_spares_with_spare_instances_0() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--spare-instances", "0"],
    );
    let admin = AdminClient::new(&gw);
    for _ in 0..3 {
        assert_eq!(gw.get_text("/fresh/count").await, "1");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(admin.metric(SPARES).await, Some(0.0));
    assert_eq!(admin.metric(TAKEN).await, Some(0.0));
}

#[test]
fn at_most_64_spare_instances() {
    assert_option_out_of_range(&manifest(), "--spare-instances", "65", "0..=64");
}
