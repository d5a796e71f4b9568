//! `--busy-poll-us`: after a response, a worker keeps polling its sockets for the window
//! before it sleeps. It serves as before, counts the time it polled in
//! `wasmgate_busy_poll_seconds_total`, stops once a window passes with no response (an idle
//! gateway polls nothing), is off by default, and the window is bounded.

use std::time::{Duration, Instant};

use crate::support::{AdminClient, Gateway, assert_option_out_of_range, client, guests};

const POLLED: &str = "wasmgate_busy_poll_seconds_total";

fn manifest() -> String {
    format!(
        "[[modules]]\nname = \"hello\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/hello/{{name}}\"\nmodule = \"hello\"\n",
        guests::HELLO
    )
}

/// Twenty requests on one kept-alive connection of `client`, each answered as usual; how
/// long they took from the first request to the last response.
async fn twenty_requests(gw: &Gateway, client: &reqwest::Client) -> Duration {
    let started = Instant::now();
    for _ in 0..20 {
        let response = client.get(gw.url("/hello/ada")).send().await.expect("send");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.expect("body"), "Hello, ada!");
    }
    started.elapsed()
}

#[tokio::test]
async fn a_worker_polls_for_the_window_after_its_responses_and_then_sleeps() {
    let window = Duration::from_millis(10);
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--busy-poll-us", "10000"],
    );
    let admin = AdminClient::new(&gw);
    // The start-up check's request had its window: long past, and counted.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let before = admin.metric(POLLED).await.expect("the counter");

    // One connection, kept open through the idle time below.
    let client = client();
    let took = twenty_requests(&gw, &client).await;
    // The window after the last response has passed, and was counted when it did.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let counted = admin.metric(POLLED).await.expect("the counter");
    let polled = counted - before;
    assert!(
        polled >= window.as_secs_f64(),
        "at least the window after the last response: {polled} s"
    );
    assert!(
        polled <= (took + window + Duration::from_millis(200)).as_secs_f64(),
        "never more than the time from the first response to the last window's end: {polled} s in {took:?}"
    );

    // Idle: no response, no polling.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        admin.metric(POLLED).await,
        Some(counted),
        "an idle gateway polls"
    );
}

#[tokio::test]
async fn busy_polling_is_off_by_default() {
    let gw = Gateway::start(&manifest());
    twenty_requests(&gw, &client()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(AdminClient::new(&gw).metric(POLLED).await, Some(0.0));
}

#[test]
fn the_window_is_at_most_ten_milliseconds() {
    assert_option_out_of_range(&manifest(), "--busy-poll-us", "10001", "0..=10000");
}
