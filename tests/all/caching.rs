//! Response caching: a route's `GET` responses kept for its TTL and answered from memory,
//! counted by how often the guest really ran (its `guest` phase in the metrics); keys by
//! path, chosen query parameters and the principal; `ETag` / `If-None-Match`; what is never
//! kept; invalidation through the admin API and the CLI.

use reqwest::Response;
use serde_json::Value;

use crate::support::{
    AdminClient, Gateway, client, guests, module, route, run, scrape, tok_authorizer,
};

/// How often the probe's guest ran on route `GET /c/{action}`.
async fn guest_runs(gateway: &Gateway) -> u64 {
    let series =
        r#"wasmgate_phase_duration_seconds_count{method="GET",route="/c/{action}",phase="guest"} "#;
    scrape(gateway)
        .await
        .lines()
        .find_map(|line| line.strip_prefix(series))
        .map_or(0, |value| value.trim().parse().expect("a count"))
}

fn cached_gateway(extra: &str) -> Gateway {
    Gateway::start(
        &[
            module("probe", guests::PROBE, ""),
            tok_authorizer(""),
            route(
                "GET",
                "/c/{action}",
                "probe",
                &format!("cache = {{ ttl_seconds = 60, query = [\"v\"] }}\n{extra}"),
            ),
        ]
        .concat(),
    )
}

async fn get(gateway: &Gateway, path: &str) -> Response {
    gateway.get(path).await
}

fn x_cache(response: &Response) -> &str {
    response.headers()["x-cache"].to_str().expect("ascii")
}

#[tokio::test]
async fn a_repeated_get_is_answered_from_memory_without_running_the_guest() {
    let gateway = cached_gateway("");
    let first = get(&gateway, "/c/count?v=1").await;
    assert_eq!(x_cache(&first), "miss");
    assert_eq!(first.text().await.expect("body"), "1");
    let second = get(&gateway, "/c/count?v=1&ignored=x").await;
    assert_eq!(second.status(), 200);
    assert_eq!(x_cache(&second), "hit");
    assert!(
        second.headers()["x-wasmgate-version"]
            .to_str()
            .expect("ascii")
            .starts_with("probe@")
    );
    assert!(second.headers().contains_key("age"));
    let etag = second.headers()["etag"].clone();
    assert_eq!(second.text().await.expect("body"), "1", "the kept body");
    assert_eq!(guest_runs(&gateway).await, 1);

    // Another value of a keyed query parameter is another entry.
    assert_eq!(x_cache(&get(&gateway, "/c/count?v=2").await), "miss");
    assert_eq!(guest_runs(&gateway).await, 2);

    // A client that has the response gets 304, and HEAD is answered from memory too.
    let revalidated = client()
        .get(gateway.url("/c/count?v=1"))
        .header("if-none-match", etag.clone())
        .send()
        .await
        .expect("send");
    assert_eq!(revalidated.status(), 304);
    assert_eq!(revalidated.headers()["etag"], etag);
    let head = client()
        .head(gateway.url("/c/count?v=1"))
        .send()
        .await
        .expect("send");
    assert_eq!(x_cache(&head), "hit");
    assert_eq!(guest_runs(&gateway).await, 2);
    let text = scrape(&gateway).await;
    assert!(
        text.contains(
            r#"wasmgate_cache_lookups_total{method="GET",route="/c/{action}",outcome="hit"} 3"#
        ),
        "{text}"
    );
    let held: u64 = (text.lines())
        .find_map(|line| line.strip_prefix("wasmgate_cache_bytes "))
        .expect("wasmgate_cache_bytes")
        .trim()
        .parse()
        .expect("a number");
    assert!(held > 0, "two responses are kept");
}

#[tokio::test]
async fn responses_marked_private_or_no_store_cookies_and_errors_are_never_kept() {
    let gateway = cached_gateway("");
    for path in [
        "/c/cache-control?value=no-store",
        "/c/cache-control?value=private",
        "/c/cache-control?value=max-age%3D0",
        "/c/cookie",
        "/c/fail",
    ] {
        for _ in 0..2 {
            assert_eq!(x_cache(&get(&gateway, path).await), "miss", "{path}");
        }
    }
    assert_eq!(guest_runs(&gateway).await, 10);
    // `max-age` under the route's TTL is kept, for that long.
    for expected in ["miss", "hit"] {
        let response = get(&gateway, "/c/cache-control?value=max-age%3D30").await;
        assert_eq!(x_cache(&response), expected);
    }
}

#[tokio::test]
async fn one_principal_never_gets_anothers_response() {
    let gateway = cached_gateway("authorizer = \"tok\"");
    let call = |user: &'static str| {
        let url = gateway.url("/c/count");
        async move {
            client()
                .get(url)
                .header("authorization", format!("Bearer allow-{user}"))
                .send()
                .await
                .expect("send")
        }
    };
    assert_eq!(x_cache(&call("alice").await), "miss");
    assert_eq!(x_cache(&call("bob").await), "miss");
    assert_eq!(x_cache(&call("alice").await), "hit");
    // Unauthenticated requests are refused before the cache is looked at.
    assert_eq!(get(&gateway, "/c/count").await.status(), 401);
}

#[tokio::test]
async fn the_admin_api_and_the_cli_forget_kept_responses() {
    let gateway = cached_gateway("");
    let admin = AdminClient::new(&gateway);
    let (_, routes) = admin.get("/routes").await;
    let id = routes["routes"][0]["id"].as_str().expect("id").to_owned();
    for path in ["/c/count", "/c/count?v=1", "/c/headers"] {
        get(&gateway, path).await;
        assert_eq!(x_cache(&get(&gateway, path).await), "hit", "{path}");
    }
    // One path (every query of it).
    let (status, body): (u16, Value) = admin
        .delete(&format!("/routes/{id}/cache?path=/c/count"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(x_cache(&get(&gateway, "/c/count").await), "miss");
    assert_eq!(x_cache(&get(&gateway, "/c/count?v=1").await), "miss");
    assert_eq!(x_cache(&get(&gateway, "/c/headers").await), "hit");

    // The whole route, from the command line.
    let token = gateway.admin_token();
    let (status, stdout, stderr) = run(
        &[
            "cache",
            "clear",
            &id,
            "--admin-url",
            &gateway.admin_url(""),
            "--admin-token",
            &token,
        ],
        std::path::Path::new("."),
    );
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("kept responses forgotten"), "{stdout}");
    assert_eq!(x_cache(&get(&gateway, "/c/headers").await), "miss");

    let (status, _) = admin.delete("/routes/nope/cache").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn routes_without_a_cache_and_other_methods_are_not_cached() {
    let gateway = Gateway::start(
        &[
            module("probe", guests::PROBE, ""),
            route(
                "ANY",
                "/c/{action}",
                "probe",
                "cache = { ttl_seconds = 60 }",
            ),
            route("GET", "/plain/{action}", "probe", ""),
        ]
        .concat(),
    );
    for _ in 0..2 {
        let response = gateway.post("/c/count", "").await;
        assert!(!response.headers().contains_key("x-cache"));
        assert!(
            !get(&gateway, "/plain/count")
                .await
                .headers()
                .contains_key("x-cache")
        );
    }
    let (status, body) = AdminClient::new(&gateway)
        .put(
            "/routes",
            serde_json::json!({"method": "GET", "path": "/bad", "module": "probe",
                               "cache": {"ttl_seconds": 7200}}),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("cache.ttl_seconds: 7200 is out of range: 1 to 3600 s"),
        "{body}"
    );
}
