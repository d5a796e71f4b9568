//! Capability-checked deploys: an upload's answer names what the new version imports that
//! an alias's versions do not; moving the alias there (or giving it a canary there) is
//! refused with 409 naming each new capability unless approved, through the admin API and
//! the CLI.

use serde_json::json;

use crate::cli_client::wasmgate;
use crate::support::{AdminClient, empty_gateway, guests};

const OUTBOUND: &str = "wasi:http/outgoing-handler";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_gains_outbound_http_only_when_approved() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let (status, first) = admin
        .upload("greet", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    assert_eq!(status, 201, "{first}");
    // A new alias gains nothing: it had no versions.
    let (status, answer) = admin
        .put("/modules/greet/aliases/prod", json!({ "version": 1 }))
        .await;
    assert_eq!(status, 200, "{answer}");
    admin.put_route("GET", "/p/{action}", "greet@prod").await;

    // The probe can make outbound HTTP requests; hello cannot.
    let (status, second) = admin
        .upload("greet", std::fs::read(guests::PROBE).expect("probe"))
        .await;
    assert_eq!(status, 201, "{second}");
    let gained = second["capabilities"]["prod"].to_string();
    assert!(gained.contains(OUTBOUND), "{second}");

    for body in [
        json!({ "version": 2 }),
        json!({ "version": 1, "canary": { "version": 2, "percent": 10 } }),
    ] {
        let (status, refused) = admin.put("/modules/greet/aliases/prod", body).await;
        assert_eq!(status, 409, "{refused}");
        let message = refused["message"].as_str().expect("message");
        assert!(message.contains(&format!("`{OUTBOUND}`")), "{message}");
        assert!(message.contains("approve_capabilities"), "{message}");
    }
    // Refused: the alias still runs version 1.
    let response = gw.get("/p/count").await;
    assert_eq!(response.headers()["x-wasmgate-version"], "greet@1");

    // The CLI says the same, and moves it with --approve-capabilities.
    let (ok, _, stderr) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["alias", "greet", "prod", "2"]));
    assert!(!ok);
    assert!(stderr.contains(OUTBOUND), "{stderr}");
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &["alias", "greet", "prod", "2", "--approve-capabilities"],
        )
    });
    assert!(ok, "{stderr}");
    assert!(stdout.contains("alias greet@prod → version 2"), "{stdout}");
    let response = gw.get("/p/count").await;
    assert_eq!(response.headers()["x-wasmgate-version"], "greet@2");

    // Back to fewer capabilities needs no approval.
    let (status, answer) = admin
        .put("/modules/greet/aliases/prod", json!({ "version": 1 }))
        .await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = admin
        .put(
            "/modules/greet/aliases/prod",
            json!({ "version": 1, "approve_capabilities": "yes" }),
        )
        .await;
    assert_eq!(status, 400, "{answer}");

    // A deploy that moves the alias is checked the same way, and changes nothing when refused.
    let deploy = [
        "deploy",
        guests::PROBE,
        "--name",
        "greet",
        "--alias",
        "prod",
    ];
    let (ok, _, stderr) = tokio::task::block_in_place(|| wasmgate(&gw, &deploy));
    assert!(!ok);
    assert!(stderr.contains(OUTBOUND), "{stderr}");
    let (_, module) = admin.get("/modules/greet").await;
    assert_eq!(module["aliases"]["prod"]["version"], 1, "{module}");
    let approved = [&deploy[..], &["--approve-capabilities"]].concat();
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| wasmgate(&gw, &approved));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("alias greet@prod → version 2"), "{stdout}");
}
