//! Configuration at scale (issue 12): a manifest of 10,000 routes is applied at start-up
//! and served, and one route changes through the admin API, without the quadratic
//! re-validation that made 1,000 routes take 87 s. The bounds are generous (the targets,
//! 2 s and 50 ms, are measured by the benchmark); they fail on quadratic behaviour.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{AdminClient, Gateway, client, guests};

const ROUTES: usize = 10_000;

fn manifest(routes: usize) -> String {
    let mut text = format!(
        "[[modules]]\nname = \"hello\"\npath = \"{}\"\n",
        guests::HELLO
    );
    for i in 0..routes {
        text += &format!(
            "\n[[routes]]\nmethod = \"GET\"\npath = \"/r{i}/items/{{name}}\"\nmodule = \"hello\"\n"
        );
    }
    text
}

#[tokio::test]
async fn ten_thousand_routes_are_applied_served_and_changed_quickly() {
    // A first start compiles the module into the data dir's cache: compiling is not what
    // this test measures.
    let first = Gateway::start(&manifest(1));
    let dir = first.stop_keeping_data();
    std::fs::write(dir.path().join("wasmgate.toml"), manifest(ROUTES)).expect("write manifest");

    let started = Instant::now();
    let gw = Gateway::start_in(dir, &["--listen", "127.0.0.1:0"]);
    let http = client();
    let response = http
        .get(gw.url(&format!("/r{}/items/ada", ROUTES - 1)))
        .send()
        .await
        .expect("send");
    let to_first_answer = started.elapsed();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "Hello, ada!");
    assert!(
        to_first_answer < Duration::from_secs(20),
        "{ROUTES} routes took {to_first_answer:?} from start to the first answer"
    );

    let admin = AdminClient::new(&gw);
    let (status, routes) = admin.get("/routes").await;
    assert_eq!(status, 200);
    assert_eq!(routes["routes"].as_array().map(Vec::len), Some(ROUTES));

    let changed = Instant::now();
    let (status, body) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/r0/items/{name}", "module": "hello", "timeout_ms": 1000 }),
        )
        .await;
    let to_change = changed.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(
        to_change < Duration::from_secs(2),
        "changing one of {ROUTES} routes took {to_change:?}"
    );
    admin.put_route("GET", "/new/{name}", "hello").await;
    let response = http.get(gw.url("/new/bob")).send().await.expect("send");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.expect("body"), "Hello, bob!");
}
