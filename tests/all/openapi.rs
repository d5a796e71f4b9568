//! OpenAPI import and export: the live API written as an OpenAPI 3.1 document, read back
//! by another gateway to the byte, all or nothing with every problem by JSON pointer.

use serde_json::{Value, json};

use crate::support::{
    AdminClient, Gateway, guests, module, route, run, tok_authorizer, write_manifest,
};

/// The modules both gateways have.
fn modules() -> String {
    [
        module("hello", guests::HELLO, ""),
        module("probe", guests::PROBE, ""),
        tok_authorizer(""),
        "[[authorizers]]\nname = \"jwt\"\ntype = \"jwt\"\nalgorithms = [\"RS256\"]\njwks_url = \"http://127.0.0.1:1/jwks.json\"\nissuer = \"https://issuer.example\"\n".to_owned(),
    ]
    .concat()
}

fn cli(gateway: &Gateway, args: &[&str], dir: &std::path::Path) -> String {
    let token = gateway.admin_token();
    let admin_url = gateway.admin_url("");
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--admin-url", &admin_url, "--admin-token", &token]);
    let (status, stdout, stderr) = run(&all, dir);
    assert!(status.success(), "{args:?}: {stderr}");
    stdout
}

#[tokio::test]
async fn export_import_export_is_byte_identical_and_the_import_serves() {
    let source = Gateway::start(
        &[
            modules(),
            route(
                "GET",
                "/hello/{name}",
                "hello",
                "authorizer = \"tok\"\ntimeout_ms = 2000\nthrottle = { rate = 50, burst = 10 }\ncors = { allow_origins = [\"https://app.example\"] }\ncache = { ttl_seconds = 30 }",
            ),
            route("POST", "/jwt/{id}", "probe", "authorizer = \"jwt\"\nscopes = [\"orders:write\"]\napi_key_required = true"),
            "[[routes]]\nmethod = \"ANY\"\npath = \"/status/{proxy+}\"\nmock = { status = 203, body = \"up\" }\n".to_owned(),
            "[[routes]]\nmethod = \"GET\"\npath = \"/up/{proxy+}\"\nproxy = \"http://127.0.0.1:9/v1/{proxy}\"\n".to_owned(),
        ]
        .concat(),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    cli(&source, &["export", "-o", "api.yaml"], dir.path());
    let first = std::fs::read_to_string(dir.path().join("api.yaml")).expect("exported");
    assert!(first.contains("openapi: 3.1.0"), "{first}");
    assert!(first.contains("x-wasmgate-integration"), "{first}");
    assert!(first.contains("x-wasmgate-any-method"), "{first}");

    // Another gateway with the same modules and authorizers, and no routes.
    let target = Gateway::start(&modules());
    let stdout = cli(&target, &["import", "api.yaml"], dir.path());
    assert!(stdout.contains("4 routes and 2 authorizers"), "{stdout}");
    cli(&target, &["export", "-o", "again.yaml"], dir.path());
    let again = std::fs::read_to_string(dir.path().join("again.yaml")).expect("exported");
    assert_eq!(
        first, again,
        "export → import → export changed the document"
    );

    // What was imported serves as it did.
    let response = target
        .get_with("/hello/ada", "authorization", "Bearer allow-ada")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-cache"], "miss");
    assert_eq!(target.get("/hello/ada").await.status(), 401);
    let mock = target.get("/status/anything").await;
    assert_eq!(mock.status(), 203);
    assert_eq!(
        target.post("/jwt/1", "").await.status(),
        403,
        "needs an API key"
    );

    // JSON too, and the admin API's own document.
    cli(&target, &["export", "-o", "api.json"], dir.path());
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("api.json")).expect("json"))
            .expect("JSON");
    assert_eq!(
        json["paths"]["/jwt/{id}"]["post"]["security"],
        json!([{ "jwt": ["orders:write"], "api_key": [] }])
    );
    let (status, document) = AdminClient::new(&target).get("/apis").await;
    assert_eq!(status, 200);
    assert_eq!(document, json);
}

#[tokio::test]
async fn an_import_with_problems_changes_nothing_and_names_each_by_pointer() {
    let gateway = Gateway::start(&modules());
    let admin = AdminClient::new(&gateway);
    let document = r#"
openapi: 3.0.3
info: { title: shop, version: "2" }
components:
  securitySchemes:
    keys: { type: apiKey, in: header, name: x-api-key }
paths:
  /ok/{id}:
    get:
      security: [ { keys: [] } ]
      x-wasmgate-integration: { module: hello }
  /missing:
    get:
      x-wasmgate-integration: { module: nowhere }
  /cors:
    get:
      x-wasmgate-integration: { module: hello }
      x-wasmgate-cors: { allow_origins: ["null"] }
  /nothing:
    put: {}
"#;
    let (status, body) = admin.post_text("/apis", document).await;
    assert_eq!(status, 400, "{body}");
    let message = body["message"].as_str().expect("message");
    for expected in [
        "/paths/~1missing/get: ",
        "/paths/~1cors/get/x-wasmgate-cors/allow_origins: `null`",
        "/paths/~1nothing/put/x-wasmgate-integration: missing",
    ] {
        assert!(message.contains(expected), "{expected}: {message}");
    }
    let (_, routes) = admin.get("/routes").await;
    assert_eq!(routes["routes"], json!([]), "nothing was stored");

    // Without the bad ones it goes in, and the apiKey scheme means a key is needed.
    let good = document.split("  /missing:").next().expect("head");
    let (status, body) = admin.post_text("/apis", good).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["routes"], 1);
    assert_eq!(gateway.get("/ok/1").await.status(), 403);

    let (status, body) = admin.post_text("/apis", "not: [an, api").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .expect("message")
            .contains("not an OpenAPI 3 document")
    );
    let (status, body) = admin
        .post_text(
            "/apis",
            "openapi: 2.0.0\ninfo: { title: t, version: '1' }\npaths: {}\n",
        )
        .await;
    assert_eq!(status, 400, "{body}");
}

#[test]
fn import_of_a_missing_file_says_so() {
    let (dir, _) = write_manifest("");
    let (status, _, stderr) = run(
        &[
            "import",
            "nope.yaml",
            "--admin-url",
            "http://127.0.0.1:1",
            "--admin-token",
            "x",
        ],
        dir.path(),
    );
    assert!(!status.success());
    assert!(stderr.contains("cannot read nope.yaml"), "{stderr}");
}
