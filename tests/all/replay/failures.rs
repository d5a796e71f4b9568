//! Replaying failures: a trap is recorded as the error the client got and replays as it; a
//! body too large to record is served unrecorded; cookies are stored redacted; bad replay
//! requests are refused.

use serde_json::json;

use super::{recording_gateway, route_id, stored};
use crate::support::{AdminClient, DocumentServer, client};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_replay_too_and_bad_requests_are_refused() {
    let upstream = DocumentServer::start("{}");
    let gw = recording_gateway(&upstream);
    let admin = AdminClient::new(&gw);

    // A trap is recorded as the error the client got, and replays as the same error.
    let response = client()
        .get(gw.url("/rec/trap"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 502);
    let request_id = (response.headers().get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .expect("request id")
        .to_owned();
    // A body over what a recording keeps is served, not recorded.
    let big = "x".repeat(1_500_000);
    let response = (client()
        .post(gw.url("/rec/snapshot"))
        .body(big)
        .send()
        .await)
        .expect("send");
    assert_eq!(response.status(), 200);
    // A response's cookie is stored redacted, and not compared.
    let response = client()
        .get(gw.url("/rec/cookie"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let cookie_id = (response.headers().get("x-request-id"))
        .and_then(|v| v.to_str().ok())
        .expect("request id")
        .to_owned();
    let id = route_id(&admin, "/rec/{action}").await;
    let recordings = stored(&admin, &id, &[request_id.clone(), cookie_id.clone()]).await;
    let by_id = |wanted: &str| {
        (recordings.iter())
            .find(|r| r["context"]["request_id"] == wanted)
            .expect("recorded")
    };
    assert_eq!(by_id(&request_id)["response"]["error"], "handler_trapped");
    let headers = by_id(&cookie_id)["response"]["headers"]
        .as_array()
        .expect("headers")
        .clone();
    assert!(
        headers.contains(&json!(["set-cookie", "[redacted]"])),
        "{headers:?}"
    );
    let (status, report) = admin
        .post_json(
            &format!("/routes/{id}/replay"),
            json!({ "against": "probe@1" }),
        )
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["replayed"], &report["differing"]),
        (&json!(2), &json!(0)),
        "{report}"
    );
    assert!(!report.to_string().contains("session=1"), "{report}");

    // A recorded invocation gets a fresh instance, also on a route that reuses them.
    for _ in 0..3 {
        let count = client()
            .get(gw.url("/reused/count"))
            .send()
            .await
            .expect("send");
        assert_eq!(count.text().await.expect("body"), "1");
    }

    // The recording setting is checked.
    for (record, problem) in [
        (json!({ "sample_percent": 0 }), "record.sample_percent"),
        (json!({ "max": 100000 }), "record.max"),
        (
            json!({ "redact_headers": ["not a header"] }),
            "record.redact_headers",
        ),
        (json!({ "every": 1 }), "unknown field"),
    ] {
        let (status, body) = admin
            .put(
                "/routes",
                json!({ "method": "GET", "path": "/x", "module": "probe", "record": record }),
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(problem), "{problem}: {body}");
    }
    let (status, body) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/m", "mock": { "status": 200 }, "record": {} }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("`record` applies to routes that run a module"),
        "{body}"
    );

    // Replays name what is missing or malformed.
    for (path, body, expected, message) in [
        (
            format!("/routes/{id}/replay"),
            json!({ "against": "nothing@1" }),
            404,
            "nothing",
        ),
        (
            format!("/routes/{id}/replay"),
            json!({ "against": "probe@9" }),
            404,
            "probe@9",
        ),
        (
            format!("/routes/{id}/replay"),
            json!({ "against": "Bad Name" }),
            400,
            "against",
        ),
        (
            "/routes/000000000000/replay".into(),
            json!({ "against": "probe" }),
            404,
            "000000000000",
        ),
        (
            "/replay".into(),
            json!({ "against": "probe" }),
            400,
            "recordings",
        ),
        (
            "/replay".into(),
            json!({ "against": "probe", "recordings": [{}] }),
            400,
            "invalid JSON",
        ),
    ] {
        let (status, answer) = admin.post_json(&path, body).await;
        assert_eq!(status, expected, "{path}: {answer}");
        assert!(
            answer["message"].as_str().unwrap_or("").contains(message),
            "{answer}"
        );
    }
    let (status, answer) = admin.get(&format!("/routes/{id}/recordings/../../x")).await;
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = admin
        .get(&format!("/routes/{id}/recordings/0000000000000-00000000"))
        .await;
    assert_eq!(status, 404, "{answer}");
}
