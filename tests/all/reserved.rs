//! Reserved concurrency reserves (issue 13): a route's `concurrency` is taken out of the
//! instance pool for it alone, so a flood on routes without one cannot take its instances;
//! reservations that do not fit in the pool are refused, naming the routes.

use std::time::Duration;

use crate::support::{Gateway, client, guests, module, route, write_manifest};

fn manifest(reserved: u32) -> String {
    [
        module("probe", guests::PROBE, ""),
        route(
            "GET",
            "/reserved/{action}",
            "probe",
            &format!("timeout_ms = 10000\nconcurrency = {reserved}\nqueue = 0"),
        ),
        route("GET", "/free/{action}", "probe", "timeout_ms = 10000"),
    ]
    .concat()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flood_on_unreserved_routes_leaves_a_reservation_whole() {
    // A pool of 6: 3 reserved for /reserved, 3 shared by everything else.
    let gw = Gateway::start_with_args(
        &manifest(3),
        &["--listen", "127.0.0.1:0", "--max-instances", "6"],
    );
    let http = client();
    // 12 slow requests on the unreserved route: 3 run, the rest are refused at once.
    let flood: Vec<_> = (0..12)
        .map(|_| tokio::spawn(http.get(gw.url("/free/sleep?ms=2000")).send()))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile the reserved route has all three of its instances.
    let reserved: Vec<_> = (0..3)
        .map(|_| tokio::spawn(http.get(gw.url("/reserved/sleep?ms=200")).send()))
        .collect();
    for call in reserved {
        let response = call.await.expect("task").expect("send");
        assert_eq!(response.status(), 200, "a reserved instance was taken");
    }
    let mut statuses = Vec::new();
    for call in flood {
        let response = call.await.expect("task").expect("send");
        statuses.push(response.status().as_u16());
        if response.status() == 503 {
            assert!(response.headers().contains_key("retry-after"));
            let body = response.text().await.expect("body");
            assert!(body.contains("instance_pool_full"), "{body}");
        }
    }
    let served = statuses.iter().filter(|s| **s == 200).count();
    assert_eq!(served, 3, "{statuses:?}");
    assert_eq!(
        statuses.iter().filter(|s| **s == 503).count(),
        9,
        "{statuses:?}"
    );
}

#[test]
fn reservations_beyond_the_pool_are_refused_naming_the_routes() {
    let (dir, path) = write_manifest(&manifest(8));
    let output = std::process::Command::new(crate::support::binary())
        .arg("up")
        .arg(&path)
        .args(["--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"])
        .args(["--max-instances", "4", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run wasmgate");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("reserve 8 instances in all (GET /reserved/{action} (8))"),
        "{stderr}"
    );
    assert!(stderr.contains("more than the 4 of the pool"), "{stderr}");
}
