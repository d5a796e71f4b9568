//! The rest of the admin API from the command line: routes, modules' configuration,
//! authorizers, keys, plans and the gateway's settings, `invoke -d @file`, completions,
//! man pages and profiles — each command against a running gateway, its output and its
//! effect seen over HTTP.

use serde_json::{Value, json};

use crate::cli_client::wasmgate;
use crate::support::{AdminClient, Gateway, empty_gateway, get, guests, run};

/// Runs a command that must succeed; its stdout.
fn ok(gw: &Gateway, args: &[&str]) -> String {
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| wasmgate(gw, args));
    assert!(ok, "{args:?} failed: {stderr}");
    stdout
}

/// Runs a command that must fail; its stderr.
fn refused(gw: &Gateway, args: &[&str]) -> String {
    let (ok, stdout, stderr) = tokio::task::block_in_place(|| wasmgate(gw, args));
    assert!(!ok, "{args:?} succeeded: {stdout}");
    stderr
}

/// The value after `label` on a line of `stdout` (`id:  abc` → `abc`).
fn field(stdout: &str, label: &str) -> String {
    let line = stdout.lines().find(|l| l.starts_with(label));
    let line = line.unwrap_or_else(|| panic!("no `{label}` in {stdout}"));
    line[label.len()..].trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_added_shown_counted_and_deleted() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    admin
        .upload("hello", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    let stdout = ok(
        &gw,
        &[
            "routes",
            "add",
            "GET /h/{name}",
            "--module",
            "hello",
            "--timeout-ms",
            "2000",
            "--set",
            r#"throttle={"rate": 100, "burst": 10}"#,
        ],
    );
    assert!(
        stdout.starts_with("route GET /h/{name} → hello (id "),
        "{stdout}"
    );
    let id = stdout
        .trim_end()
        .rsplit("(id ")
        .next()
        .expect("id")
        .trim_end_matches(')');
    let (status, _, body) = get(&gw.url("/h/ada")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, ada!"));

    let shown: Value = serde_json::from_str(&ok(&gw, &["routes", "show", id, "--json"]))
        .expect("--json prints JSON");
    assert_eq!(shown["timeout_ms"], 2000);
    assert_eq!(shown["throttle"], json!({"rate": 100.0, "burst": 10}));
    let stats = ok(&gw, &["routes", "stats", id]);
    assert!(stats.contains("in_flight: 0"), "{stats}");
    let listed = ok(&gw, &["routes"]);
    assert!(listed.starts_with("ID"), "{listed}");
    assert!(listed.contains("/h/{name}"), "{listed}");

    // The admin API's refusals, with its message and a failing exit.
    let stderr = refused(&gw, &["routes", "add", "GET /x", "--module", "nope"]);
    assert!(stderr.contains("no module `nope`"), "{stderr}");
    let stderr = refused(&gw, &["routes", "add", "GET /x", "--set", "timeout_ms"]);
    assert!(stderr.contains("--set takes KEY=JSON"), "{stderr}");
    let stderr = refused(&gw, &["routes", "show", "nosuch"]);
    assert!(stderr.contains("404"), "{stderr}");

    let stdout = ok(&gw, &["routes", "delete", id]);
    assert_eq!(
        stdout.trim(),
        format!("deleted route GET /h/{{name}} (id {id})")
    );
    let (status, _, _) = get(&gw.url("/h/ada")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modules_configuration_versions_and_aliases_are_managed() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    admin
        .upload("m", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    admin
        .upload("m", std::fs::read(guests::ECHO).expect("echo"))
        .await;

    let stdout = ok(&gw, &["modules", "env", "m", "A=1", "B=two"]);
    assert!(stdout.contains("m: environment A, B"), "{stdout}");
    // The outbound hosts are set without losing the environment (whose values are never
    // shown back).
    let stdout = ok(
        &gw,
        &["modules", "outbound", "m", "https://api.example.com"],
    );
    assert!(stdout.contains("m: environment A, B"), "{stdout}");
    assert!(
        stdout.contains("outbound hosts https://api.example.com"),
        "{stdout}"
    );
    let stderr = refused(&gw, &["modules", "outbound", "m", "ftp://x"]);
    assert!(stderr.contains("400"), "{stderr}");
    let shown = ok(&gw, &["modules", "m"]);
    assert!(
        shown.contains("environment: A, B (values not shown)"),
        "{shown}"
    );
    assert!(!shown.contains("two"), "{shown}");
    ok(&gw, &["modules", "env", "m", "--clear"]);
    let (_, module) = admin.get("/modules/m").await;
    assert_eq!(module["config"]["env"], Value::Null, "{module}");
    assert_eq!(
        module["config"]["allowed_outbound_hosts"],
        json!(["https://api.example.com"])
    );

    ok(&gw, &["alias", "m", "live", "1"]);
    let stderr = refused(&gw, &["modules", "delete-version", "m", "1"]);
    assert!(stderr.contains("409"), "{stderr}");
    let stdout = ok(&gw, &["modules", "delete-alias", "m", "live"]);
    assert_eq!(stdout.trim(), "deleted alias m@live");
    let stdout = ok(&gw, &["modules", "delete-version", "m", "1"]);
    assert_eq!(stdout.trim(), "deleted m@1");
    let (_, module) = admin.get("/modules/m").await;
    assert_eq!(
        module["versions"].as_array().map(Vec::len),
        Some(1),
        "{module}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_plans_authorizers_and_the_gateway_throttle_are_managed() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    admin
        .upload("hello", std::fs::read(guests::HELLO).expect("hello"))
        .await;
    ok(
        &gw,
        &[
            "routes",
            "add",
            "GET /k/{name}",
            "--module",
            "hello",
            "--api-key-required",
        ],
    );

    let stdout = ok(
        &gw,
        &[
            "plans", "set", "gold", "--rate", "50", "--burst", "50", "--quota", "100", "--period",
            "day",
        ],
    );
    assert_eq!(
        stdout.trim(),
        "plan gold: throttle 50/s (burst 50), quota 100/day"
    );
    assert!(ok(&gw, &["plans"]).contains("gold"));
    assert!(ok(&gw, &["plans", "show", "gold"]).contains("quota 100/day"));

    let stdout = ok(&gw, &["keys", "create", "alice", "--plan", "gold"]);
    let (id, secret) = (field(&stdout, "id:"), field(&stdout, "key:"));
    let call = |key: String| {
        let url = gw.url("/k/ada");
        async move {
            let response = crate::support::client()
                .get(url)
                .header("x-api-key", key)
                .send()
                .await
                .expect("call");
            response.status().as_u16()
        }
    };
    assert_eq!(call(secret.clone()).await, 200);
    let listed = ok(&gw, &["keys"]);
    assert!(listed.contains(&id) && listed.contains("alice"), "{listed}");
    assert!(!listed.contains(&secret), "a listing never shows a secret");

    assert!(ok(&gw, &["keys", "disable", &id]).contains("disabled"));
    assert_eq!(call(secret.clone()).await, 403);
    assert!(ok(&gw, &["keys", "enable", &id]).contains("enabled"));
    assert_eq!(call(secret.clone()).await, 200);
    let rotated = field(&ok(&gw, &["keys", "rotate", &id]), "key:");
    assert_eq!(call(secret).await, 403);
    assert_eq!(call(rotated.clone()).await, 200);
    assert!(ok(&gw, &["keys", "update", &id, "--no-plan"]).contains("plan -"));
    let stderr = refused(&gw, &["plans", "delete", "nosuch"]);
    assert!(stderr.contains("404"), "{stderr}");
    assert_eq!(
        ok(&gw, &["keys", "delete", &id]).trim(),
        format!("deleted key {id}")
    );
    assert_eq!(call(rotated).await, 403);
    assert_eq!(
        ok(&gw, &["plans", "delete", "gold"]).trim(),
        "deleted plan gold"
    );

    // An authorizer: set (its secret never shown back), listed, shown, deleted.
    let stdout = ok(
        &gw,
        &[
            "authorizers",
            "set",
            "j",
            "--type",
            "jwt",
            "--issuer",
            "https://issuer.example",
            "--set",
            "secret=s3cret-s3cret-s3cret-s3cret-s3cret",
            "--set",
            r#"algorithms=["HS256"]"#,
        ],
    );
    assert_eq!(stdout.trim(), "authorizer j set");
    let listed = ok(&gw, &["authorizers"]);
    assert!(
        listed.contains("jwt") && listed.contains("https://issuer.example"),
        "{listed}"
    );
    let shown = ok(&gw, &["authorizers", "show", "j"]);
    assert!(!shown.contains("s3cret"), "{shown}");
    let stderr = refused(&gw, &["authorizers", "set", "bad", "--type", "jwt"]);
    assert!(stderr.contains("400"), "{stderr}");
    assert_eq!(
        ok(&gw, &["authorizers", "delete", "j"]).trim(),
        "deleted authorizer j"
    );

    // The throttle every route shares.
    ok(
        &gw,
        &["routes", "add", "GET /open/{name}", "--module", "hello"],
    );
    let stdout = ok(
        &gw,
        &["gateway", "throttle", "--rate", "0.5", "--burst", "1"],
    );
    assert!(stdout.contains("throttle: 0.5/s (burst 1)"), "{stdout}");
    assert!(ok(&gw, &["gateway"]).contains("throttle: 0.5/s (burst 1)"));
    let (first, _, _) = get(&gw.url("/open/a")).await;
    let (second, _, _) = get(&gw.url("/open/a")).await;
    assert_eq!((first, second), (200, 429));
    assert!(ok(&gw, &["gateway", "throttle", "--clear"]).contains("throttle: -"));
    let (status, _, _) = get(&gw.url("/open/a")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_sends_a_files_bytes_as_the_body() {
    let gw = crate::support::standard_gateway();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("body.bin");
    // Not UTF-8: sent as base64, received by the guest as these bytes.
    std::fs::write(&file, [0xff, b'h', b'i']).expect("write");
    let data = format!("@{}", file.display());
    let stdout = ok(&gw, &["invoke", "POST /echo/x", "-d", &data, "--json"]);
    let answer: Value = serde_json::from_str(&stdout).expect("JSON");
    let echoed: Value = serde_json::from_str(answer["response"]["body"].as_str().expect("body"))
        .expect("echo JSON");
    assert_eq!(echoed["body"], "\u{fffd}hi");
    let stderr = refused(&gw, &["invoke", "POST /echo/x", "-d", "@/no/such/file"]);
    assert!(
        stderr.contains("cannot read the body from /no/such/file"),
        "{stderr}"
    );
}

#[test]
fn completions_and_man_pages_cover_every_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, marker) in [
        ("bash", "_wasmgate()"),
        ("zsh", "#compdef wasmgate"),
        ("fish", "complete -c wasmgate"),
    ] {
        let (status, stdout, stderr) = run(&["completions", shell], dir.path());
        assert!(status.success(), "{stderr}");
        assert!(stdout.contains(marker), "{shell}: {stdout}");
        assert!(stdout.contains("delete-version"), "{shell}");
    }
    let (status, _, stderr) = run(&["completions", "tcsh"], dir.path());
    assert!(!status.success());
    assert!(stderr.contains("possible values"), "{stderr}");

    let (status, stdout, stderr) = run(&["man", "pages"], dir.path());
    assert!(status.success(), "{stderr}");
    assert!(stdout.contains("man pages written to pages"), "{stdout}");
    for page in [
        "wasmgate.1",
        "wasmgate-up.1",
        "wasmgate-keys.1",
        "wasmgate-routes-add.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join("pages").join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
}

#[test]
fn profiles_name_admin_apis_and_flags_win() {
    let gw = empty_gateway();
    let dir = tempfile::tempdir().expect("tempdir");
    let token = gw.data_dir().join("admin-token");
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profiles.default]\nadmin_url = \"http://127.0.0.1:1\"\n\n\
             [profiles.test]\nadmin_url = \"{}\"\nadmin_token_file = \"{}\"\n",
            gw.admin_url(""),
            token.display()
        ),
    )
    .expect("write");
    let wasmgate = |args: &[&str]| {
        let output = std::process::Command::new(crate::support::binary())
            .args(args)
            .env("WASMGATE_CONFIG", &config)
            .env_remove("WASMGATE_ADMIN_URL")
            .env_remove("WASMGATE_ADMIN_TOKEN")
            .current_dir(dir.path())
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr,
        )
    };
    let (ok, stdout, stderr) = wasmgate(&["routes", "--json", "--profile", "test"]);
    assert!(ok, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).expect("JSON")["routes"],
        json!([])
    );
    // Without --profile, `default` is used (an address nothing listens on).
    let (ok, _, stderr) = wasmgate(&["routes", "--admin-token", "t"]);
    assert!(!ok);
    assert!(
        stderr.contains("cannot reach the admin API at http://127.0.0.1:1"),
        "{stderr}"
    );
    // A flag wins over the profile.
    let url = gw.admin_url("");
    let token = token.display().to_string();
    let (ok, _, stderr) = wasmgate(&["routes", "--admin-url", &url, "--admin-token-file", &token]);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = wasmgate(&["routes", "--profile", "prod"]);
    assert!(!ok);
    assert!(stderr.contains("no profile `prod`"), "{stderr}");
    assert!(stderr.contains("(it has: default, test)"), "{stderr}");
}
