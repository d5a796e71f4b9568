//! Request validation: a route's JSON Schemas for its path, query and header parameters and
//! its JSON body, checked before any guest runs; each violation named by a JSON pointer.

use serde_json::{Value, json};

use crate::support::{AdminClient, Gateway, client, guests, module, route, run, write_manifest};

const VALIDATE: &str = r#"validate = { path = { id = { type = "integer", minimum = 1 } }, query = { page = { required = true, schema = { type = "integer" } } }, headers = { x-tenant = { schema = { type = "string", pattern = "^t[0-9]+$" } } }, body = { type = "object", required = ["sku", "quantity"], properties = { sku = { type = "string" }, quantity = { type = "integer", minimum = 1 } } } }"#;

fn validating_gateway() -> Gateway {
    Gateway::start(
        &[
            module("echo", guests::ECHO, ""),
            route("POST", "/orders/{id}", "echo", VALIDATE),
        ]
        .concat(),
    )
}

async fn order(gateway: &Gateway, path: &str, tenant: Option<&str>, body: &str) -> (u16, Value) {
    let mut request = client().post(gateway.url(path)).body(body.to_owned());
    if let Some(tenant) = tenant {
        request = request.header("x-tenant", tenant);
    }
    let response = request.send().await.expect("send");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON"))
}

fn pointers(body: &Value) -> Vec<&str> {
    body["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .map(|v| v["pointer"].as_str().expect("pointer"))
        .collect()
}

#[tokio::test]
async fn a_matching_request_reaches_the_guest_with_its_body_whole() {
    let gateway = validating_gateway();
    let body = r#"{"sku": "A-1", "quantity": 2}"#;
    let (status, seen) = order(&gateway, "/orders/7?page=1", Some("t42"), body).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["body"], body);
}

#[tokio::test]
async fn each_violation_is_named_by_its_pointer_and_no_guest_runs() {
    let gateway = validating_gateway();
    let good = r#"{"sku": "A-1", "quantity": 2}"#;
    // Parameters first: a request they refuse is answered without its body being read.
    let (status, body) = order(&gateway, "/orders/abc", Some("nope"), good).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(
        pointers(&body),
        ["/path/id", "/query/page", "/headers/x-tenant"]
    );
    let (status, body) = order(&gateway, "/orders/0?page=x", None, good).await;
    assert_eq!(status, 400);
    assert_eq!(pointers(&body), ["/path/id", "/query/page"]);

    let (status, body) = order(
        &gateway,
        "/orders/7?page=2",
        None,
        r#"{"sku": 5, "quantity": 0}"#,
    )
    .await;
    assert_eq!(status, 400, "{body}");
    let mut found = pointers(&body);
    found.sort_unstable();
    assert_eq!(found, ["/body/quantity", "/body/sku"]);
    let (status, body) = order(&gateway, "/orders/7?page=2", None, r#"{"sku": "A"}"#).await;
    assert_eq!(status, 400);
    assert_eq!(pointers(&body), ["/body"]);
    assert!(
        body["violations"][0]["message"]
            .as_str()
            .expect("message")
            .contains("quantity")
    );
    let (status, body) = order(&gateway, "/orders/7?page=2", None, "not json").await;
    assert_eq!(status, 400);
    assert!(
        body["violations"][0]["message"]
            .as_str()
            .expect("message")
            .starts_with("not JSON")
    );
    let metrics = crate::support::scrape(&gateway).await;
    assert!(
        !metrics.contains(r#"route="/orders/{id}",phase="guest""#),
        "no guest ran:\n{metrics}"
    );
}

#[test]
fn an_invalid_schema_stops_start_up_naming_it() {
    let (dir, path) = write_manifest(
        &[
            module("echo", guests::ECHO, ""),
            route(
                "POST",
                "/o",
                "echo",
                r#"validate = { body = { type = "no-such-type" } }"#,
            ),
        ]
        .concat(),
    );
    let (status, _, stderr) = run(&["up", path.to_str().expect("utf-8")], dir.path());
    assert!(!status.success());
    assert!(
        stderr.contains("routes[0].validate.body: not a valid JSON Schema"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_openapi_documents_own_schemas_validate_when_it_says_so() {
    let gateway = Gateway::start(&module("echo", guests::ECHO, ""));
    let admin = AdminClient::new(&gateway);
    let document = r#"
openapi: 3.1.0
info: { title: shop, version: "1" }
paths:
  /items/{id}:
    put:
      x-wasmgate-integration: { module: echo }
      x-wasmgate-validate: true
      parameters:
        - { name: id, in: path, required: true, schema: { type: integer } }
        - { name: dry-run, in: query, schema: { type: boolean } }
      requestBody:
        required: true
        content:
          application/json:
            schema: { type: object, required: [name], properties: { name: { type: string } } }
"#;
    let (status, body) = admin.post_text("/apis", document).await;
    assert_eq!(status, 200, "{body}");
    let put = |path: &'static str, body: &'static str| {
        let url = gateway.url(path);
        async move {
            client()
                .put(url)
                .body(body)
                .send()
                .await
                .expect("send")
                .status()
                .as_u16()
        }
    };
    assert_eq!(put("/items/3?dry-run=true", r#"{"name": "x"}"#).await, 200);
    assert_eq!(put("/items/three", r#"{"name": "x"}"#).await, 400);
    assert_eq!(put("/items/3?dry-run=maybe", r#"{"name": "x"}"#).await, 400);
    assert_eq!(put("/items/3", r#"{"title": "x"}"#).await, 400);
    // The route keeps the schemas; the export writes them as its extension.
    let (_, exported) = admin.get("/apis").await;
    let validate = &exported["paths"]["/items/{id}"]["put"]["x-wasmgate-validate"];
    assert_eq!(validate["path"]["id"], json!({ "type": "integer" }));
    assert_eq!(
        validate["query"]["dry-run"]["schema"],
        json!({ "type": "boolean" })
    );
}
