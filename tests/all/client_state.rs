//! State that clients control stays bounded (issue 13): distinct, long per-client keys do
//! not grow the gateway without limit.

use crate::support::{Gateway, guests, module, route};

#[tokio::test]
async fn thousands_of_long_client_keys_do_not_grow_the_gateway() {
    let manifest = [
        module("hello", guests::HELLO, ""),
        route(
            "GET",
            "/hello/{name}",
            "hello",
            "client_throttle = { rate = 0.001, burst = 5, key = \"header:x-client-id\" }",
        ),
    ]
    .concat();
    let gw = Gateway::start(&manifest);
    let http = crate::support::client();
    let send = |i: usize| {
        let id = format!("{i:08}-{}", "k".repeat(8 << 10));
        http.get(gw.url("/hello/x"))
            .header("x-client-id", id)
            .send()
    };
    // Warm up: the first requests allocate what any serving does.
    for i in 0..200 {
        assert_eq!(send(i).await.expect("send").status(), 200);
    }
    let before = gw.rss_kib();
    for i in 200..3_400 {
        assert_eq!(send(i).await.expect("send").status(), 200);
    }
    let grown_kib = gw.rss_kib().saturating_sub(before);
    // Before keys were bounded, 3,200 such clients grew it by 24-28 MB.
    assert!(grown_kib < 8 << 10, "the gateway grew by {grown_kib} KiB");
    // A key is still its own client: its bucket empties after its burst.
    let same = format!("{:08}-{}", 3_399, "k".repeat(8 << 10));
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = http
            .get(gw.url("/hello/x"))
            .header("x-client-id", &same)
            .send()
            .await
            .expect("send");
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 200, 200, 429]);
}
