//! The client commands (`deploy`, `modules`, `routes`, `alias`, `invoke`) against a running
//! gateway, and the admin API's test invoke behind `invoke`.

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, binary, empty_gateway, get, guests, run};

/// Runs a client command against `gw`: (success, stdout, stderr).
pub(crate) fn wasmgate(gw: &Gateway, args: &[&str]) -> (bool, String, String) {
    let token_file = gw.data_dir().join("admin-token");
    let mut all: Vec<&str> = args.to_vec();
    let url = gw.admin_url("");
    all.extend([
        "--admin-url",
        &url,
        "--admin-token-file",
        token_file.to_str().expect("utf-8"),
    ]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (status, stdout, stderr) = run(&all, dir.path());
    (status.success(), stdout, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_with_alias_and_route_serves_at_once() {
    let gw = empty_gateway();
    let hello = guests::HELLO.to_owned();
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[
                "deploy",
                &hello,
                "--name",
                "greet",
                "--alias",
                "prod",
                "--route",
                "GET /greet/{name}",
            ],
        )
    });
    assert!(ok, "{stderr}");
    assert!(stderr.contains("uploading"), "{stderr}");
    assert!(stdout.contains("greet@1: new version"), "{stdout}");
    assert!(stdout.contains("alias greet@prod → version 1"), "{stdout}");
    assert!(
        stdout.contains("route GET /greet/{name} → greet@prod"),
        "{stdout}"
    );
    let (status, version, body) = get(&gw.url("/greet/cli")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("greet@1"), "Hello, cli!")
    );

    let (ok, stdout, _) = tokio::task::block_in_place(|| wasmgate(&gw, &["modules"]));
    assert!(ok);
    assert!(stdout.starts_with("NAME"), "{stdout}");
    assert!(
        stdout.contains("greet") && stdout.contains("prod→1"),
        "{stdout}"
    );
    let (ok, stdout, _) = tokio::task::block_in_place(|| wasmgate(&gw, &["routes", "--json"]));
    assert!(ok);
    let routes: Value = serde_json::from_str(&stdout).expect("--json prints JSON");
    assert_eq!(routes["routes"][0]["module"], "greet@prod");

    // Same bytes again: no new version.
    let (ok, stdout, _) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["deploy", &hello, "--name", "greet"]));
    assert!(ok);
    assert!(stdout.contains("greet@1: already deployed"), "{stdout}");
}

/// On a terminal, an upload draws `indicatif`'s bar on stderr; piped (the other tests), it
/// draws nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_shows_a_progress_bar_on_a_terminal_only() {
    let gw = empty_gateway();
    let token_file = gw.data_dir().join("admin-token");
    let command = format!(
        "{} deploy {} --name greet --admin-url {} --admin-token-file {}",
        binary(),
        guests::HELLO,
        gw.admin_url(""),
        token_file.display()
    );
    // script(1) (util-linux) runs the command on a pseudo-terminal and prints what it drew.
    let drawn = tokio::task::block_in_place(|| {
        std::process::Command::new("script")
            .args(["--quiet", "--return", "--command", &command, "/dev/null"])
            .env_remove("RUST_BACKTRACE")
            .output()
            .expect("run script(1)")
    });
    let text = String::from_utf8_lossy(&drawn.stdout);
    assert!(drawn.status.success(), "{text}");
    assert!(text.contains("uploading ["), "{text:?}");
    assert!(text.contains("greet@1: new version"), "{text:?}");

    let (ok, _, stderr) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["deploy", guests::ECHO, "--name", "greet"]));
    assert!(ok, "{stderr}");
    assert!(!stderr.contains('['), "{stderr:?}");
}

/// A deploy whose alias or route is refused uploads nothing: the version it would have
/// made never serves the routes that follow the module's latest version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_deploy_changes_nothing() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let (hello, echo) = (guests::HELLO.to_owned(), guests::ECHO.to_owned());
    let deploy = |args: &[&str]| {
        let all = [&["deploy", echo.as_str(), "--name", "greet"][..], args].concat();
        tokio::task::block_in_place(|| wasmgate(&gw, &all))
    };
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[
                "deploy",
                &hello,
                "--name",
                "greet",
                "--route",
                "GET /greet/{name}",
            ],
        )
    });
    assert!(ok, "{stderr}");
    // A route that follows the latest version.
    let (status, _) = admin
        .put(
            "/routes",
            json!({"method": "GET", "path": "/latest/{name}", "module": "greet"}),
        )
        .await;
    assert_eq!(status, 200);

    let refusals: [(&[&str], &str); 4] = [
        (&["--route", "GET bad"], "path"),
        (&["--route", "GET /greet/{other}"], "/greet/{name}"),
        (&["--route", "FETCH /x"], "method"),
        (&["--alias", "no spaces"], "alias"),
    ];
    for (args, named) in refusals {
        let (ok, stdout, stderr) = deploy(args);
        assert!(!ok, "{args:?} was accepted: {stdout}");
        assert!(stderr.contains(named), "{args:?}: {stderr}");
    }
    // Refused only once compiled: an authorizer cannot serve a route.
    let authorizer = guests::TOKEN_AUTHORIZER.to_owned();
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[
                "deploy",
                &authorizer,
                "--name",
                "greet",
                "--alias",
                "prod",
                "--route",
                "GET /a",
            ],
        )
    });
    assert!(!ok);
    assert!(stderr.contains("authorizer"), "{stderr}");
    let (_, module) = admin.get("/modules/greet").await;
    assert_eq!(
        module["versions"].as_array().map(Vec::len),
        Some(1),
        "{module}"
    );
    assert_eq!(module["aliases"], json!({}), "{module}");
    let (status, version, body) = get(&gw.url("/latest/ada")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("greet@1"), "Hello, ada!")
    );
    let (_, routes) = admin.get("/routes").await;
    assert_eq!(
        routes["routes"].as_array().map(Vec::len),
        Some(2),
        "{routes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploy_executor_wagi_serves_a_preview1_program() {
    let gw = empty_gateway();
    let program = guests::RUST_WAGI.to_owned();
    let route = ["--route", "GET /w/{name}"];

    // Without the flag the core module is refused, and the message says what to pass.
    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[&["deploy", &program, "--name", "w"][..], &route].concat(),
        )
    });
    assert!(!ok);
    assert!(stderr.contains("--executor wagi"), "{stderr}");

    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &[
                &["deploy", &program, "--name", "w", "--executor", "wagi"][..],
                &route,
            ]
            .concat(),
        )
    });
    assert!(ok, "{stderr}");
    assert!(stdout.contains("w@1: new version"), "{stdout}");
    let (status, version, body) = get(&gw.url("/w/cli")).await;
    assert_eq!(
        (status, version.as_deref(), body.as_str()),
        (200, Some("w@1"), "Hello from Rust on WAGI, cli! (GET)\n")
    );

    let (ok, _, stderr) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &["deploy", &program, "--name", "w", "--executor", "cgi"],
        )
    });
    assert!(!ok);
    assert!(stderr.contains("wagi"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alias_command_sets_a_canary() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    admin
        .upload("m", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    admin
        .upload("m", std::fs::read(guests::ECHO).expect("echo"))
        .await;
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        wasmgate(&gw, &["alias", "m", "live", "1", "--canary", "2:25"])
    });
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout.trim(),
        "alias m@live → version 1 (canary: version 2 at 25%)"
    );
    let (_, module) = admin.get("/modules/m").await;
    assert_eq!(
        module["aliases"]["live"],
        json!({ "version": 1, "canary": { "version": 2, "percent": 25 } })
    );

    let (ok, _, stderr) =
        tokio::task::block_in_place(|| wasmgate(&gw, &["alias", "m", "live", "9"]));
    assert!(!ok);
    assert!(
        stderr.contains("400 Bad Request: module `m` has no version 9"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_runs_a_request_without_an_http_client() {
    let gw = crate::support::standard_gateway();
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| {
        wasmgate(&gw, &["invoke", "GET /slow/sleep?ms=5", "-H", "x-trace: 7"])
    });
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("HTTP 200 from probe@1 in "), "{stdout}");
    assert!(stdout.contains("slept 5 ms"), "{stdout}");
    // The handler's stderr is captured, not logged.
    assert!(
        stdout.contains("--- handler stderr ---\nprobe: sleeping 5 ms"),
        "{stdout}"
    );
    assert!(!gw.stderr().contains("probe: sleeping 5 ms"));

    let (ok, stdout, _) = tokio::task::block_in_place(|| {
        wasmgate(
            &gw,
            &["invoke", "POST /echo/x?q=1", "-d", "payload", "--json"],
        )
    });
    assert!(ok);
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(answer["response"]["status"], 200);
    let echoed: Value = serde_json::from_str(answer["response"]["body"].as_str().expect("body"))
        .expect("echo JSON");
    assert_eq!(echoed["body"], "payload");
    assert_eq!(echoed["method"], "POST");
    assert_eq!(echoed["request_id"], answer["request_id"]);
    assert_eq!(answer["route"]["path"], "/echo/{proxy+}");
    assert!(
        answer["timing_ms"]["instantiate"]
            .as_f64()
            .expect("instantiate")
            > 0.0
    );
    assert!(answer["timing_ms"]["run"].as_f64().expect("run") > 0.0);
    // The route has no authorizer.
    assert_eq!(answer["timing_ms"]["authorize"], Value::Null);

    // A failing handler: the gateway's answer, and what the guest printed.
    let admin = AdminClient::new(&gw);
    let answer = admin_invoke(&admin, json!({ "path": "/probe/trap" })).await;
    assert_eq!(answer["response"]["status"], 502);
    assert!(
        answer["stderr"]
            .as_str()
            .expect("stderr")
            .contains("the probe was asked to trap")
    );
    let answer = admin_invoke(&admin, json!({ "path": "/nowhere" })).await;
    assert_eq!(answer["response"]["status"], 404);
    assert_eq!(answer["route"], Value::Null);
}

async fn admin_invoke(admin: &AdminClient, body: Value) -> Value {
    let (status, answer) = admin.post_json("/invoke", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[test]
fn a_wrong_token_is_refused() {
    let gw = empty_gateway();
    let dir = tempfile::tempdir().expect("tempdir");
    let url = gw.admin_url("");
    let (status, _, stderr) = run(
        &[
            "modules",
            "--admin-url",
            &url,
            "--admin-token",
            "wrong-token-wrong-token",
        ],
        dir.path(),
    );
    assert!(!status.success());
    assert!(stderr.contains("401 Unauthorized"), "{stderr}");
    let (status, _, stderr) = run(&["routes", "--admin-url", &url], dir.path());
    assert!(!status.success());
    assert!(stderr.contains("cannot read the admin token"), "{stderr}");
    // Pointed at the gateway's own listener, the CLI says that it is not an admin API.
    let gateway_url = gw.url("");
    let (status, _, stderr) = run(
        &["routes", "--admin-url", &gateway_url, "--admin-token", "t"],
        dir.path(),
    );
    assert!(!status.success());
    assert!(stderr.contains("is not a wasmgate admin API"), "{stderr}");
    assert!(stderr.contains("--admin-listen"), "{stderr}");
}

#[test]
fn the_admin_token_never_goes_through_a_proxy_from_the_environment() {
    let gw = empty_gateway();
    let proxy = crate::support::DocumentServer::start("{}");
    let via = format!("http://{}", proxy.addr);
    let token_file = gw.data_dir().join("admin-token");
    let output = std::process::Command::new(crate::support::binary())
        .args([
            "routes",
            "--admin-url",
            &gw.admin_url(""),
            "--admin-token-file",
        ])
        .arg(&token_file)
        .envs(["HTTP_PROXY", "http_proxy", "ALL_PROXY"].map(|name| (name, via.as_str())))
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run wasmgate");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(
        proxy.fetches(),
        0,
        "the admin request went through the proxy"
    );
}
