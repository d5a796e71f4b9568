//! Shadow authorizers: a stricter module decides beside the live authorizer on every
//! request; the responses stay as the live one decided, the disagreements are counted and
//! logged with their request ids, and `wasmgate authorizers promote` makes the shadow live.

use std::time::{Duration, Instant};

use crate::cli_client::wasmgate;
use crate::support::{Gateway, authorizer, client, guests, module, route, scrape};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shadow_that_denies_one_user_shows_exactly_those_disagreements() {
    let manifest = [
        module("authz", guests::AUTHZ, ""),
        // The same bytes, stricter through their environment: bob is denied.
        module("authz-next", guests::AUTHZ, "env = { DENY_USER = \"bob\" }"),
        authorizer("tok", "authz", "shadow = \"authz-next\"\nttl_seconds = 0"),
        route("GET", "/hello/{name}", "hello", "authorizer = \"tok\""),
        module("hello", guests::HELLO, ""),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    let http = client();
    let call = |user: &'static str| {
        let request = http
            .get(gw.url("/hello/x"))
            .header("authorization", format!("Bearer allow-{user}"));
        async move { request.send().await.expect("send") }
    };
    let mut bob_ids = Vec::new();
    for round in 0..10 {
        for user in ["ada", "bob"] {
            let response = call(user).await;
            // The live authorizer decides every answer.
            assert_eq!(response.status(), 200, "{user} in round {round}");
            if user == "bob" {
                bob_ids.push(
                    response.headers()["x-request-id"]
                        .to_str()
                        .expect("id")
                        .to_owned(),
                );
            }
        }
    }

    // The shadow's runs end after the responses: wait for all twenty to be counted.
    let outcome = |text: &str, outcome: &str| {
        let series = format!(
            "wasmgate_shadow_authorizer_decisions_total{{authorizer=\"tok\",outcome=\"{outcome}\"}}"
        );
        crate::metrics::value(text, &series).unwrap_or(0.0)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = scrape(&gw).await;
        if outcome(&text, "agree") + outcome(&text, "disagree") >= 20.0 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "the shadow's decisions were not counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(outcome(&text, "agree"), 10.0, "{text}");
    assert_eq!(outcome(&text, "disagree"), 10.0, "{text}");
    assert_eq!(outcome(&text, "failed"), 0.0, "{text}");
    // Each disagreement is logged with its request id: bob's, and only his. (The log is
    // read from the gateway's stderr as it comes: wait for the lines written before the
    // counts.)
    let disagreements = |log: &str| log.matches("shadow authorizer disagreed").count();
    while disagreements(&gw.stderr()) < 10 {
        assert!(
            Instant::now() < deadline,
            "the disagreements were not logged:\n{}",
            gw.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = gw.stderr();
    let disagreed: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("shadow authorizer disagreed"))
        .collect();
    assert_eq!(disagreed.len(), 10, "{log}");
    for id in &bob_ids {
        let line = disagreed.iter().find(|line| line.contains(id.as_str()));
        let line = line.unwrap_or_else(|| panic!("no disagreement logged for {id}:\n{log}"));
        assert!(
            line.contains("allow bob") && line.contains("deny"),
            "{line}"
        );
    }

    // Promoted, the shadow decides: bob is refused, ada still served.
    let (ok, stdout, stderr) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["authorizers", "promote", "tok"]));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("authorizer tok now runs authz-next"),
        "{stdout}"
    );
    assert_eq!(call("bob").await.status(), 403);
    assert_eq!(call("ada").await.status(), 200);
    let (ok, _, stderr) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["authorizers", "promote", "tok"]));
    assert!(!ok);
    assert!(stderr.contains("has no shadow to promote"), "{stderr}");
}
