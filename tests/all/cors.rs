//! CORS: the gateway answers preflights itself and gives actual responses (its own errors
//! too) the CORS headers of the route's policy or the gateway's, following the Fetch
//! standard's CORS protocol (and `cors_browser.rs`: headless Chromium calls a route from a
//! page on another origin).

use reqwest::{Method, Response};
use serde_json::json;

use crate::support::{AdminClient, Gateway, client, guests, module, route, run, write_manifest};

const APP: &str = "https://app.example";

/// A gateway whose `/open/{action}` route (the probe) allows `APP` and subdomains of
/// `example.com`, with credentials, a custom header and an exposed one; `/closed/{action}`
/// has no policy; `/limited/{action}` allows any origin and has a burst of 2.
fn cors_gateway() -> Gateway {
    Gateway::start(
        &[
            module("probe", guests::PROBE, ""),
            route(
                "GET",
                "/open/{action}",
                "probe",
                r#"cors = { allow_origins = ["https://app.example", "https://*.example.com"], allow_methods = ["GET"], allow_headers = ["content-type", "x-trace"], expose_headers = ["x-request-id"], allow_credentials = true, max_age = 600 }"#,
            ),
            route("POST", "/open/{action}", "probe", ""),
            route("GET", "/closed/{action}", "probe", ""),
            route(
                "GET",
                "/limited/{action}",
                "probe",
                "throttle = { rate = 0.01, burst = 2 }\ncors = { allow_origins = [\"*\"] }",
            ),
        ]
        .concat(),
    )
}

async fn preflight(gateway: &Gateway, path: &str, origin: &str, method: &str) -> Response {
    preflight_with(gateway, path, origin, method, None).await
}

async fn preflight_with(
    gateway: &Gateway,
    path: &str,
    origin: &str,
    method: &str,
    headers: Option<&str>,
) -> Response {
    let mut request = client()
        .request(Method::OPTIONS, gateway.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method);
    if let Some(headers) = headers {
        request = request.header("access-control-request-headers", headers);
    }
    request.send().await.expect("send")
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("visible ASCII"))
}

#[tokio::test]
async fn an_allowed_preflight_is_answered_by_the_gateway_with_what_was_asked() {
    let gateway = cors_gateway();
    let response = preflight_with(
        &gateway,
        "/open/count",
        APP,
        "GET",
        Some("x-trace,content-type"),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&response, "access-control-allow-methods"),
        Some("GET")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers"),
        Some("x-trace, content-type")
    );
    assert_eq!(
        header(&response, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(header(&response, "access-control-max-age"), Some("600"));
    assert!(header(&response, "vary").expect("vary").contains("Origin"));
    assert!(response.headers().contains_key("x-request-id"));
    assert_eq!(response.text().await.expect("body"), "");

    let subdomain = preflight(&gateway, "/open/count", "https://eu.example.com", "GET").await;
    assert_eq!(
        header(&subdomain, "access-control-allow-origin"),
        Some("https://eu.example.com")
    );
}

#[tokio::test]
async fn a_refused_preflight_gets_no_cors_headers() {
    let gateway = cors_gateway();
    for (origin, method, headers, why) in [
        ("https://evil.example", "GET", None, "an origin not listed"),
        (
            "https://example.com",
            "GET",
            None,
            "the wildcard's own domain",
        ),
        ("http://app.example", "GET", None, "another scheme"),
        ("null", "GET", None, "the null origin"),
        (APP, "GET", Some("x-other"), "a header not listed"),
        (
            APP,
            "POST",
            None,
            "a method not listed (its route has no policy)",
        ),
    ] {
        let response = preflight_with(&gateway, "/open/count", origin, method, headers).await;
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-origin"),
            "{why}: {:?}",
            response.headers()
        );
        assert!(
            !response
                .headers()
                .contains_key("access-control-allow-methods"),
            "{why}"
        );
    }
}

#[tokio::test]
async fn preflights_to_paths_without_a_route_or_a_policy_are_what_they_were() {
    let gateway = cors_gateway();
    let nowhere = preflight(&gateway, "/nothing/here", APP, "GET").await;
    assert_eq!(nowhere.status(), 404);
    assert!(
        !nowhere
            .headers()
            .contains_key("access-control-allow-origin")
    );
    // No policy: an OPTIONS request is routed as any other (no OPTIONS route: 405).
    let closed = preflight(&gateway, "/closed/count", APP, "GET").await;
    assert_eq!(closed.status(), 405);
    assert!(!closed.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn preflights_spend_no_throttle_token_and_run_no_guest() {
    let gateway = cors_gateway();
    for _ in 0..10 {
        let response = preflight(&gateway, "/limited/count", APP, "GET").await;
        assert_eq!(response.status(), 204);
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert!(
            !response.headers().contains_key("x-wasmgate-version"),
            "no guest ran"
        );
    }
    // The burst of 2 is whole, then the third request is throttled.
    for expected in [200, 200, 429] {
        let response = client()
            .get(gateway.url("/limited/count"))
            .header("origin", APP)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), expected);
        // Also on the 429 the gateway made itself.
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    }
}

#[tokio::test]
async fn actual_responses_carry_the_policy_and_replace_the_guests_cors_headers() {
    let gateway = cors_gateway();
    let allowed = client()
        .get(gateway.url("/open/cors"))
        .header("origin", APP)
        .send()
        .await
        .expect("send");
    assert_eq!(allowed.status(), 200);
    assert_eq!(header(&allowed, "access-control-allow-origin"), Some(APP));
    assert_eq!(
        header(&allowed, "access-control-allow-credentials"),
        Some("true")
    );
    assert_eq!(
        header(&allowed, "access-control-expose-headers"),
        Some("x-request-id")
    );
    assert_eq!(header(&allowed, "vary"), Some("Origin"));
    assert_eq!(allowed.text().await.expect("body"), "wide open");

    // The guest's `*` and credentials are gone for an origin the policy does not allow.
    let refused = client()
        .get(gateway.url("/open/cors"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("send");
    assert_eq!(refused.status(), 200);
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-origin")
    );
    assert!(
        !refused
            .headers()
            .contains_key("access-control-allow-credentials")
    );
    assert_eq!(header(&refused, "vary"), Some("Origin"));

    // Without `Origin` (not a CORS request) the response still varies by it.
    let plain = gateway.get("/open/count").await;
    assert_eq!(header(&plain, "vary"), Some("Origin"));
    assert!(!plain.headers().contains_key("access-control-allow-origin"));

    // A route without a policy is left alone, the guest's headers included.
    let closed = client()
        .get(gateway.url("/closed/cors"))
        .header("origin", APP)
        .send()
        .await
        .expect("send");
    assert_eq!(header(&closed, "access-control-allow-origin"), Some("*"));
    assert!(!closed.headers().contains_key("vary"));
}

#[tokio::test]
async fn the_gateway_policy_covers_routes_without_their_own_and_its_own_errors() {
    let gateway = Gateway::start(
        &[
            "[gateway]\ncors = { allow_origins = [\"https://app.example\"], max_age = 60 }\n",
            &module("probe", guests::PROBE, ""),
            &route("GET", "/default/{action}", "probe", ""),
            &route(
                "GET",
                "/own/{action}",
                "probe",
                "cors = { allow_origins = [\"https://other.example\"] }",
            ),
        ]
        .concat(),
    );
    let by_default = preflight(&gateway, "/default/count", APP, "GET").await;
    assert_eq!(by_default.status(), 204);
    assert_eq!(
        header(&by_default, "access-control-allow-origin"),
        Some(APP)
    );
    assert_eq!(header(&by_default, "access-control-max-age"), Some("60"));
    // A route's own policy replaces the gateway's.
    let own = preflight(&gateway, "/own/count", APP, "GET").await;
    assert!(!own.headers().contains_key("access-control-allow-origin"));
    let other = preflight(&gateway, "/own/count", "https://other.example", "GET").await;
    assert_eq!(
        header(&other, "access-control-allow-origin"),
        Some("https://other.example")
    );
    // The guest's 418 and the gateway's own 404 let the page read why.
    for path in ["/default/fail", "/nothing/here"] {
        let response = client()
            .get(gateway.url(path))
            .header("origin", APP)
            .send()
            .await
            .expect("send");
        assert!(response.status().is_client_error(), "{path}");
        assert_eq!(
            header(&response, "access-control-allow-origin"),
            Some(APP),
            "{path}"
        );
    }
}

#[tokio::test]
async fn policies_set_through_the_admin_api_apply_at_once_and_bad_ones_are_refused() {
    let gateway = Gateway::start(&module("probe", guests::PROBE, ""));
    let admin = AdminClient::new(&gateway);
    let (status, body) = admin
        .put(
            "/routes",
            json!({"method": "GET", "path": "/p/{action}", "module": "probe",
                   "cors": {"allow_origins": [APP], "allow_headers": ["x-trace"]}}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let response = preflight_with(&gateway, "/p/count", APP, "GET", Some("x-trace")).await;
    assert_eq!(header(&response, "access-control-allow-origin"), Some(APP));

    admin
        .put_refused(
            "/routes",
            json!({"method": "GET", "path": "/q", "module": "probe",
                   "cors": {"allow_origins": ["*"], "allow_credentials": true}}),
            "cors.allow_origins: `*` cannot be combined with `allow_credentials = true`",
        )
        .await;
    admin
        .put_refused(
            "/gateway",
            json!({"cors": {"allow_origins": ["https://app.example/"]}}),
            "has a path",
        )
        .await;

    let (status, body) = admin
        .put("/gateway", json!({"cors": {"allow_origins": ["*"]}}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["cors"]["allow_origins"], json!(["*"]));
    let (_, settings) = admin.get("/gateway").await;
    assert_eq!(settings["cors"]["allow_origins"], json!(["*"]));
    // The route's own policy still governs it; the 404 now has the gateway's.
    let own = preflight(&gateway, "/p/count", "https://elsewhere.example", "GET").await;
    assert!(!own.headers().contains_key("access-control-allow-origin"));
    let missing = client()
        .get(gateway.url("/nothing"))
        .header("origin", "https://elsewhere.example")
        .send()
        .await
        .expect("send");
    assert_eq!(header(&missing, "access-control-allow-origin"), Some("*"));
}

#[test]
fn a_manifest_with_invalid_policies_names_each_problem() {
    let (dir, path) = write_manifest(
        &[
            "[gateway]\ncors = { allow_origins = [\"*\"], allow_credentials = true }\n",
            &module("probe", guests::PROBE, ""),
            &route(
                "GET",
                "/p",
                "probe",
                "cors = { allow_origins = [\"null\"], allow_methods = [\"get\"], max_age = 100000 }",
            ),
        ]
        .concat(),
    );
    let (status, _, stderr) = run(&["up", path.to_str().expect("utf-8")], dir.path());
    assert!(!status.success());
    for expected in [
        "gateway.cors.allow_origins: `*` cannot be combined with `allow_credentials = true`",
        "routes[0].cors.allow_origins: `null` is the origin of sandboxed frames",
        "routes[0].cors.allow_methods: `get` is not a method",
        "routes[0].cors.max_age: 100000 is out of range: 0 to 86400 s",
    ] {
        assert!(stderr.contains(expected), "{expected}\n{stderr}");
    }
}
