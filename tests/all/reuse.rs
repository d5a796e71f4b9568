//! `isolation = "reuse"`: an instance that answered cleanly serves the next requests of its
//! route, up to `max_reuse`; one that trapped is never reused; a fresh route stays fresh.
//! The probe guest's `count` action answers how many requests its instance has seen.

use crate::support::{AdminClient, Gateway, assert_option_out_of_range, guests};

fn manifest() -> String {
    format!(
        "[[modules]]\nname = \"probe\"\npath = \"{}\"\n\n[[modules]]\nname = \"wagi\"\npath = \"{}\"\nexecutor = \"wagi\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/reused/{{action}}\"\nmodule = \"probe\"\nisolation = \"reuse\"\nmax_reuse = 3\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/warm/{{action}}\"\nmodule = \"probe\"\nisolation = \"reuse\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/fresh/{{action}}\"\nmodule = \"probe\"\n\n\
         [[modules]]\nname = \"plain\"\npath = \"{}\"\n\n\
         [[routes]]\nmethod = \"GET\"\npath = \"/plain/{{what}}\"\nmodule = \"plain\"\nisolation = \"reuse\"\n",
        guests::PROBE,
        guests::WAGI_PROBE,
        guests::PLAIN_STREAM,
    )
}

/// Waits until no instance is alive: the last request's instance went back to its pool,
/// or was dropped. It goes back just after the guest returns, which can be a moment after
/// the client has the whole response (longer on a loaded machine).
async fn settled(gw: &Gateway) {
    AdminClient::new(gw)
        .wait_for_metric("wasmgate_instances", 0.0)
        .await;
}

/// The body of `GET path` (one request at a time, each after the previous instance went
/// back to its pool).
async fn count(gw: &Gateway, path: &str) -> String {
    settled(gw).await;
    gw.get_text(path).await
}

#[tokio::test]
async fn a_reused_instance_serves_up_to_max_reuse_requests_and_never_after_a_trap() {
    let gw = Gateway::start(&manifest());
    let mut seen = Vec::new();
    for _ in 0..7 {
        seen.push(count(&gw, "/reused/count").await);
    }
    assert_eq!(seen, ["1", "2", "3", "1", "2", "3", "1"]);

    // The instance that trapped is dropped: the next request starts over.
    assert_eq!(count(&gw, "/reused/count").await, "2");
    assert_eq!(gw.get("/reused/trap").await.status(), 502);
    assert_eq!(count(&gw, "/reused/count").await, "1");

    // Without `isolation`, every request gets a fresh instance.
    for _ in 0..3 {
        assert_eq!(count(&gw, "/fresh/count").await, "1");
    }
}

#[tokio::test]
async fn a_reused_instance_logs_each_request_under_its_own_id() {
    let gw = Gateway::start(&manifest());
    assert_eq!(count(&gw, "/warm/count").await, "1");
    for id in ["reuse-first", "reuse-second"] {
        settled(&gw).await;
        let response = gw
            .get_with("/warm/chatter?lines=1", "x-request-id", id)
            .await;
        assert_eq!(response.status(), 200);
    }
    let line = gw.log_line("request_id=reuse-second");
    assert!(line.contains("probe: chatter 0"), "{line}");
    // One instance served them all.
    assert_eq!(count(&gw, "/warm/count").await, "2");
}

#[tokio::test]
async fn reuse_settings_are_checked() {
    let gw = Gateway::start(&manifest());
    let admin = AdminClient::new(&gw);
    let route = |extra: serde_json::Value| {
        let mut route = serde_json::json!({ "method": "GET", "path": "/x", "module": "probe" });
        route
            .as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        route
    };
    for (extra, problem) in [
        (
            serde_json::json!({ "max_reuse": 5 }),
            "`max_reuse` applies to routes with `isolation = \\\"reuse\\\"`",
        ),
        (
            serde_json::json!({ "isolation": "reuse", "max_reuse": 0 }),
            "0 is out of range: 1 to 1000000 requests",
        ),
    ] {
        let (status, body) = admin.put("/routes", route(extra)).await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(problem), "{body}");
    }
    let (status, body) = admin
        .put(
            "/routes",
            serde_json::json!({ "method": "GET", "path": "/x", "module": "wagi", "isolation": "reuse" }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body.to_string()
            .contains("version 1 of `wagi` is a WAGI command"),
        "{body}"
    );
    let (status, _) = admin
        .put(
            "/routes",
            route(serde_json::json!({ "isolation": "fresh" })),
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_module_that_cannot_answer_twice_is_served_fresh_after_its_first_reuse_fails() {
    let gw = Gateway::start(&manifest());
    let mut statuses = Vec::new();
    for _ in 0..5 {
        settled(&gw).await;
        statuses.push(gw.get("/plain/answers-once").await.status().as_u16());
    }
    // The first reuse fails (which request reuses the instance first depends on when it
    // went back to the pool); from then on every request has an instance of its own.
    let failed = statuses.iter().position(|&status| status == 502);
    let failed = failed.unwrap_or_else(|| panic!("no reuse failed: {statuses:?}"));
    assert!(
        failed >= 1,
        "the first request has a fresh instance: {statuses:?}"
    );
    assert!(
        statuses
            .iter()
            .enumerate()
            .all(|(i, &s)| i == failed || s == 200),
        "one failure, then fresh instances: {statuses:?}"
    );
    let warning = gw.log_line("cannot serve two requests from one instance");
    assert_eq!(
        gw.stderr().matches("cannot serve two requests").count(),
        1,
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_instances_never_take_the_slots_fresh_requests_need() {
    // Four instance slots: idle reusable instances may keep two of them.
    let manifest = format!(
        "{}\n[[modules]]\nname = \"hello\"\npath = \"{}\"\n\n[[routes]]\nmethod = \"GET\"\npath = \"/hello/{{name}}\"\nmodule = \"hello\"\n",
        manifest(),
        guests::HELLO
    );
    let gw = Gateway::start_with_args(
        &manifest,
        &["--listen", "127.0.0.1:0", "--max-instances", "4"],
    );
    let sleepers: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(
                crate::support::client()
                    .get(gw.url("/warm/sleep?ms=300"))
                    .send(),
            )
        })
        .collect();
    for sleeper in sleepers {
        let response = sleeper.await.expect("join").expect("send");
        assert_eq!(response.status(), 200);
    }
    settled(&gw).await;
    // Four instances served and two went back to the pool: two slots are free.
    let (first, second) = tokio::join!(gw.get("/hello/a"), gw.get("/hello/b"));
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    // And the pool still serves.
    assert_eq!(count(&gw, "/warm/count").await, "1");
    assert_eq!(count(&gw, "/warm/count").await, "2");
}

#[tokio::test]
async fn an_idle_instance_is_dropped_after_the_idle_timeout_though_no_request_comes() {
    let gw = Gateway::start_with_args(
        &manifest(),
        &["--listen", "127.0.0.1:0", "--reuse-idle-timeout", "1"],
    );
    let admin = AdminClient::new(&gw);
    assert_eq!(count(&gw, "/warm/count").await, "1");
    // It went back to its pool…
    admin.wait_for_metric("wasmgate_idle_instances", 1.0).await;
    // …and, with no request for it, it is dropped a little after a second.
    admin.wait_for_metric("wasmgate_idle_instances", 0.0).await;
    // The route's next request gets a fresh instance.
    assert_eq!(count(&gw, "/warm/count").await, "1");
    assert_option_out_of_range(&manifest(), "--reuse-idle-timeout", "0", "1..=86400");
}
