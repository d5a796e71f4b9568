//! The admin API: authentication, uploads (and every way one can be refused), module
//! listings, routes.

use serde_json::json;

use crate::support::{AdminClient, client, empty_gateway, get, guests, standard_gateway};

#[tokio::test]
async fn admin_api_needs_the_token() {
    let gw = empty_gateway();
    let url = gw.admin_url("/modules");
    let response = client().get(&url).send().await.expect("send");
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let response = client()
        .get(&url)
        .bearer_auth("not-the-token")
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 401);
    let (status, body) = AdminClient::new(&gw).get("/modules").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({ "modules": [] }));
    // The token file is private to the gateway's user.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(gw.data_dir().join("admin-token"))
            .expect("token file")
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn admin_and_user_listeners_are_separate() {
    let gw = standard_gateway();
    let admin = AdminClient::new(&gw);
    let (status, _) = admin.get("/hello/ada").await;
    assert_eq!(status, 404);
    let (status, _, body) = get(&gw.url("/modules")).await;
    assert_eq!(status, 404);
    assert_eq!(body, r#"{"message":"Not Found"}"#);
}

#[tokio::test]
async fn upload_creates_immutable_versions_by_content() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    let echo = std::fs::read(guests::ECHO).expect("echo.wasm");

    let (status, first) = admin.upload("greeter", hello.clone()).await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(first["version"], 1);
    assert_eq!(first["created"], true);
    // Identical bytes: the same version.
    let (status, again) = admin.upload("greeter", hello.clone()).await;
    assert_eq!(status, 200);
    assert_eq!(again["version"], 1);
    assert_eq!(again["created"], false);
    assert_eq!(again["sha256"], first["sha256"]);
    let (status, second) = admin.upload("greeter", echo.clone()).await;
    assert_eq!(status, 201);
    assert_eq!(second["version"], 2);

    let (status, module) = admin.get("/modules/greeter").await;
    assert_eq!(status, 200);
    assert_eq!(module["latest"], 2);
    let versions = module["versions"].as_array().expect("versions");
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["size"], hello.len());
    assert_eq!(versions[1]["size"], echo.len());
    assert_eq!(versions[0]["sha256"].as_str().expect("sha").len(), 64);
    assert!(
        versions[0]["created"]
            .as_str()
            .expect("created")
            .ends_with('Z')
    );
    // What each version imports and exports.
    let names = |list: &serde_json::Value| -> Vec<String> {
        let names = list.as_array().expect("names").iter();
        names
            .map(|n| n.as_str().expect("name").to_owned())
            .collect()
    };
    let imports = names(&versions[0]["imports"]);
    assert!(
        imports
            .iter()
            .any(|n| n.starts_with("wasi:http/types@0.2.")),
        "{imports:?}"
    );
    let exports = names(&versions[0]["exports"]);
    assert!(
        exports
            .iter()
            .any(|n| n.starts_with("wasi:http/incoming-handler@0.2.")),
        "{exports:?}"
    );
    let (status, _) = admin.get("/modules/nobody").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn bad_uploads_are_refused_and_what_was_deployed_keeps_serving() {
    let gw = standard_gateway();
    let admin = AdminClient::new(&gw);
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"hello, not wasm".to_vec(), "is not a WebAssembly file"),
        (
            hello[..hello.len() / 2].to_vec(),
            "is not a valid component",
        ),
        (
            b"\0asm\x01\0\0\0".to_vec(),
            "is a core WebAssembly module (such as `wasm32-wasip1` output), not a component",
        ),
        (
            b"\0asm\x0d\0\x01\0".to_vec(),
            "does not export `wasi:http/incoming-handler@0.2.x`",
        ),
    ];
    for (bytes, expected) in cases {
        // Uploaded over an existing module: the running version must stay.
        let (status, body) = admin.upload("hello", bytes).await;
        assert_eq!(status, 400, "{body}");
        let message = body["message"].as_str().expect("message");
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("the upload of `hello`"), "{message}");
        let (status, _, body) = get(&gw.url("/hello/still")).await;
        assert_eq!((status, body.as_str()), (200, "Hello, still!"));
    }
    // A component importing what the gateway does not provide: the import is named.
    let foreign = std::fs::read(guests::FOREIGN_IMPORT).expect("foreign_import.wasm");
    let (status, body) = admin.upload("hello", foreign).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().expect("message");
    assert!(
        message.contains("imports what wasmgate does not provide: `acme:kv/store`"),
        "{message}"
    );

    let (_, module) = admin.get("/modules/hello").await;
    assert_eq!(module["versions"].as_array().expect("versions").len(), 1);

    let (status, body) = admin.upload("bad name!", hello).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn upload_over_the_size_limit_is_413() {
    let gw = crate::support::Gateway::start_with_args(
        "",
        &["--listen", "127.0.0.1:0", "--max-upload-mb", "1"],
    );
    let (status, body) = AdminClient::new(&gw)
        .upload("big", vec![0u8; 2 << 20])
        .await;
    assert_eq!(status, 413, "{body}");
    let (_, modules) = AdminClient::new(&gw).get("/modules").await;
    assert_eq!(modules["modules"], json!([]));
}

#[tokio::test]
async fn compilation_over_its_time_limit_is_422_but_the_manifests_own_modules_compile() {
    // The manifest's module takes longer than the limit too: it is the operator's file,
    // not an upload, and compiles anyway.
    let manifest = crate::support::module("echo", guests::ECHO, "")
        + &crate::support::route("GET", "/echo/{proxy+}", "echo", "");
    let gw = crate::support::Gateway::start_with_args(
        &manifest,
        &["--listen", "127.0.0.1:0", "--compile-timeout-ms", "1"],
    );
    let url = gw.url("/echo/x");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while get(&url).await.0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "the manifest's module never served"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    let (status, body) = AdminClient::new(&gw).upload("slow", hello).await;
    assert_eq!(status, 422, "{body}");
    let (status, _) = AdminClient::new(&gw).get("/modules/slow").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn routes_are_created_listed_and_deleted_at_run_time() {
    let gw = empty_gateway();
    let admin = AdminClient::new(&gw);
    let hello = std::fs::read(guests::HELLO).expect("hello.wasm");
    admin.upload("hi", hello).await;

    let (status, _, _) = get(&gw.url("/hi/ada")).await;
    assert_eq!(status, 404);
    let (status, route) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/hi/{name}", "module": "hi", "timeout_ms": 2000 }),
        )
        .await;
    assert_eq!(status, 200, "{route}");
    assert_eq!(route["source"], "api");
    let id = route["id"].as_str().expect("id").to_owned();
    // Served at once, without a restart.
    let (status, version, body) = get(&gw.url("/hi/ada")).await;
    assert_eq!((status, body.as_str()), (200, "Hello, ada!"));
    assert_eq!(version.as_deref(), Some("hi@1"));

    let (_, routes) = admin.get("/routes").await;
    assert_eq!(routes["routes"][0]["id"], id.as_str());
    assert_eq!(routes["routes"][0]["timeout_ms"], 2000);
    let (status, one) = admin.get(&format!("/routes/{id}")).await;
    assert_eq!((status, one["path"].as_str()), (200, Some("/hi/{name}")));

    for (bad, expected) in [
        (
            json!({ "method": "GET", "path": "/x", "module": "nobody" }),
            "no module `nobody` has been deployed",
        ),
        (
            json!({ "method": "GET", "path": "/x", "module": "hi@prod" }),
            "module `hi` has no alias `prod`",
        ),
        (
            json!({ "method": "GET", "path": "/x", "module": "hi@9" }),
            "module `hi` has no version 9",
        ),
        (
            json!({ "method": "FETCH", "path": "x", "module": "hi" }),
            "method: `FETCH` is not a method",
        ),
        (
            json!({ "method": "GET", "path": "/x", "module": "hi", "throtle": 1 }),
            "unknown field `throtle`",
        ),
    ] {
        admin.put_refused("/routes", bad, expected).await;
    }
    let (status, body) = admin
        .put(
            "/routes",
            json!({ "method": "GET", "path": "/hi/{other}", "module": "hi" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    let (status, _) = admin.delete(&format!("/routes/{id}")).await;
    assert_eq!(status, 200);
    let (status, _, _) = get(&gw.url("/hi/ada")).await;
    assert_eq!(status, 404);
    let (status, _) = admin.delete(&format!("/routes/{id}")).await;
    assert_eq!(status, 404);
}
