//! API keys and usage plans: keys required by a route (403 without a valid, enabled one),
//! per-key rate limits and quotas (429, their usage kept across restarts), disabling and
//! rotating keys without a restart.

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, client, guests};

fn keyed_gateway() -> Gateway {
    Gateway::start(&format!(
        "[[modules]]\nname = \"hello\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/keyed/{{name}}\"\nmodule = \"hello\"\napi_key_required = true\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/open/{{name}}\"\nmodule = \"hello\"\n",
        guests::HELLO
    ))
}

async fn call(gw: &Gateway, key: Option<&str>) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = client().get(gw.url("/keyed/k"));
    if let Some(key) = key {
        request = request.header("x-api-key", key);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    (
        status,
        headers,
        serde_json::from_str(&body).unwrap_or(Value::String(body)),
    )
}

async fn new_key(admin: &AdminClient, plan: Option<&str>) -> (String, String) {
    let (status, body) = admin
        .post_json("/keys", json!({ "name": "test", "plan": plan }))
        .await;
    assert_eq!(status, 201, "{body}");
    (
        body["id"].as_str().expect("id").to_owned(),
        body["key"].as_str().expect("secret").to_owned(),
    )
}

#[tokio::test]
async fn routes_that_need_a_key_refuse_requests_without_a_valid_one() {
    let gw = keyed_gateway();
    let admin = AdminClient::new(&gw);
    let (status, _, body) = call(&gw, None).await;
    assert_eq!(status, 403);
    assert_eq!(body["message"], "Forbidden");
    assert_eq!(call(&gw, Some("wg_not-a-key")).await.0, 403);
    // Other routes need no key.
    assert_eq!(gw.get("/open/x").await.status(), 200);

    let (id, secret) = new_key(&admin, None).await;
    let (status, _, body) = call(&gw, Some(&secret)).await;
    assert_eq!((status, body), (200, Value::String("Hello, k!".into())));

    // Listings never show the secret or its hash.
    let (_, keys) = admin.get("/keys").await;
    let listed = keys.to_string();
    assert!(
        !listed.contains(&secret) && !listed.contains("hash"),
        "{listed}"
    );
    assert_eq!(keys["keys"][0]["id"], id.as_str());

    // Disabled: refused; enabled again: served. No restart.
    let (status, _) = admin
        .put(&format!("/keys/{id}"), json!({ "enabled": false }))
        .await;
    assert_eq!(status, 200);
    assert_eq!(call(&gw, Some(&secret)).await.0, 403);
    admin
        .put(&format!("/keys/{id}"), json!({ "enabled": true }))
        .await;
    assert_eq!(call(&gw, Some(&secret)).await.0, 200);

    // Rotated: the old secret stops working, the new one works.
    let (status, rotated) = admin
        .post_json(&format!("/keys/{id}/rotate"), json!({}))
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new_secret = rotated["key"].as_str().expect("secret");
    assert_ne!(new_secret, secret);
    assert_eq!(call(&gw, Some(&secret)).await.0, 403);
    assert_eq!(call(&gw, Some(new_secret)).await.0, 200);

    let (status, _) = admin.delete(&format!("/keys/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(call(&gw, Some(new_secret)).await.0, 403);
}

#[tokio::test]
async fn a_plan_limits_each_key_by_rate_and_quota() {
    let gw = keyed_gateway();
    let admin = AdminClient::new(&gw);
    let (status, body) = admin
        .put(
            "/plans/gold",
            json!({ "throttle": { "rate": 0.1, "burst": 2 } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    admin
        .put(
            "/plans/small",
            json!({ "quota": { "limit": 3, "period": "day" } }),
        )
        .await;

    let (_, gold_a) = new_key(&admin, Some("gold")).await;
    let (_, gold_b) = new_key(&admin, Some("gold")).await;
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(call(&gw, Some(&gold_a)).await.0);
        }
        statuses
    };
    assert_eq!(statuses, [200, 200, 429]);
    // Each key has its own bucket.
    let (status, headers, _) = call(&gw, Some(&gold_b)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["ratelimit-limit"], "2");

    let (small_id, small) = new_key(&admin, Some("small")).await;
    // The quota is the only limit here: the headers say what is left of it, and the admin
    // API what is used of it.
    for (left, used) in [("2", 1), ("1", 2), ("0", 3)] {
        let (status, headers, _) = call(&gw, Some(&small)).await;
        assert_eq!(status, 200);
        assert_eq!(headers["ratelimit-limit"], "3");
        assert_eq!(headers["ratelimit-remaining"], left);
        let (_, key) = admin.get(&format!("/keys/{small_id}")).await;
        assert_eq!(key["quota"]["used"], used, "{key}");
        assert_eq!(key["quota"]["limit"], 3, "{key}");
        assert_eq!(key["quota"]["period"], "day", "{key}");
    }
    let (_, listed) = admin.get("/keys").await;
    let gold = listed["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["plan"] == "gold");
    assert!(
        gold.expect("a gold key").get("quota").is_none(),
        "no quota, no use: {listed}"
    );
    let (status, headers, body) = call(&gw, Some(&small)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "quota_exceeded");
    let reset = body["reset"].as_str().expect("reset");
    assert!(
        reset.ends_with("T00:00:00Z"),
        "resets at the next UTC midnight: {reset}"
    );
    let retry: u64 = headers["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=86_400).contains(&retry));
    // The headers describe the limit that refused: the quota, nothing left until it resets.
    assert_eq!(headers["ratelimit-limit"], "3");
    assert_eq!(headers["ratelimit-remaining"], "0");
    let reset: u64 = headers["ratelimit-reset"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!(
        reset.abs_diff(retry) <= 1,
        "reset {reset}, retry-after {retry}"
    );

    // A plan in use cannot be deleted; invalid plans are refused.
    let (status, _) = admin.delete("/plans/small").await;
    assert_eq!(status, 409);
    let (status, body) = admin
        .put(
            "/plans/bad",
            json!({ "quota": { "limit": 0, "period": "day" } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = admin
        .put(
            "/plans/bad",
            json!({ "quota": { "limit": 5, "period": "fortnight" } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = admin
        .post_json("/keys", json!({ "name": "x", "plan": "nope" }))
        .await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn quota_usage_survives_a_restart_and_a_crash() {
    let gw = keyed_gateway();
    let admin = AdminClient::new(&gw);
    let (status, body) = admin
        .put(
            "/plans/small",
            json!({ "quota": { "limit": 2, "period": "month" } }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, key) = new_key(&admin, Some("small")).await;
    let (crash_id, crash_key) = new_key(&admin, Some("small")).await;
    assert_eq!(call(&gw, Some(&key)).await.0, 200);

    // A clean stop saves the count: one request left after the restart.
    let gw = Gateway::start_in(gw.stop_keeping_data(), &["--listen", "127.0.0.1:0"]);
    assert_eq!(call(&gw, Some(&key)).await.0, 200);
    let (status, _, body) = call(&gw, Some(&key)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "quota_exceeded");

    // After a crash, what was saved (every second) still counts.
    assert_eq!(call(&gw, Some(&crash_key)).await.0, 200);
    let saved = gw.data_dir().join("quota-usage.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let usage: Value = std::fs::read(&saved)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        if usage[&crash_id]["used"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the count was never saved: {usage}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let gw = Gateway::start_in(gw.kill_keeping_data(), &["--listen", "127.0.0.1:0"]);
    assert_eq!(call(&gw, Some(&crash_key)).await.0, 200);
    assert_eq!(call(&gw, Some(&crash_key)).await.0, 429);
    assert_eq!(call(&gw, Some(&key)).await.0, 429);
}
